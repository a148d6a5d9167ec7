import { Plane, Vector3 } from 'three';

/**
 * The checks `PortalScene.fromMeta` makes of a meta's visibility block (docs/meta.md): cell boxes
 * and floor outlines, portal quads and planes, all finite and within ±MAX_COORDINATE. Each refusal
 * is an Error naming the cell or portal and the number at fault, as `PortalScene: …`.
 *
 * Pure data, like PortalScene: it runs in node as well.
 */

const _center = new Vector3();
const _e1 = new Vector3();

/**
 * How far from the origin (metres, on every axis) a meta's boxes, outlines and portal quads may lie: the
 * compiler's bound (docs/limits.md, "Geometry"; `out_of_range`). Far past it the plane and clip
 * arithmetic loses the room's size to rounding (a corridor 1e20 m out was seen whole through walls).
 */
export const MAX_COORDINATE = 1e6;
/**
 * The least area (m²) of a portal quad. The compiler refuses quads under 1 mm² (`AREA_EPS`,
 * `degenerate`); half of it here leaves room for the 1 µm rounding of the numbers a build writes.
 * A quad of less (a segment, a point) has no inside: clipped, its corners still count as a polygon.
 */
export const MIN_PORTAL_AREA = 0.5e-6;
/**
 * How far (metres) a quad's corner may lie off the `plane` a meta gives its portal: the compiler lets
 * a corner lie 1 mm off the plane of the others (`PLANARITY_EPS`), and writes the plane from the quad.
 */
export const PLANE_SLACK = 0.01;

/**
 * The first number of `values` beyond ±MAX_COORDINATE, or undefined.
 * @param {ArrayLike<number>} values
 */
function beyond( values ) {

	return Array.prototype.find.call( values, ( v ) => ! ( Math.abs( v ) <= MAX_COORDINATE ) );

}

/**
 * The area of a planar quad (m²), from its corners' offsets to the first one (exact far from the origin).
 * @param {Vector3[]} quad
 */
function quadArea( quad ) {

	let nx = 0, ny = 0, nz = 0;
	const o = quad[ 0 ];
	for ( let i = 1; i + 1 < quad.length; i ++ ) {

		const a = quad[ i ], b = quad[ i + 1 ];
		const ax = a.x - o.x, ay = a.y - o.y, az = a.z - o.z, bx = b.x - o.x, by = b.y - o.y, bz = b.z - o.z;
		nx += ay * bz - az * by;
		ny += az * bx - ax * bz;
		nz += ax * by - ay * bx;

	}
	return Math.sqrt( nx * nx + ny * ny + nz * nz ) / 2;

}

/**
 * @param {ArrayLike<number>} flat 12 floats
 * @returns {Vector3[]}
 */
function quadFromFloats( flat ) {

	// a NaN, an Infinity or a string clipped the view to nothing, or to what lay beside the doorway
	if ( ! flat || flat.length !== 12 || ! Array.prototype.every.call( flat, Number.isFinite ) ) throw new Error( 'PortalScene: a portal quad needs 12 finite numbers' );
	const quad = [];
	for ( let i = 0; i < 4; i ++ ) quad.push( new Vector3( flat[ 3 * i ], flat[ 3 * i + 1 ], flat[ 3 * i + 2 ] ) );
	return quad;

}

/**
 * Plane of a convex polygon (Newell's method, robust to a degenerate corner).
 * @param {Vector3[]} poly
 * @param {Plane} target
 * @returns {Plane}
 */
export function polygonPlane( poly, target ) {

	let nx = 0, ny = 0, nz = 0;
	_center.set( 0, 0, 0 );
	for ( let i = 0; i < poly.length; i ++ ) {

		const a = poly[ i ], b = poly[ ( i + 1 ) % poly.length ];
		nx += ( a.y - b.y ) * ( a.z + b.z );
		ny += ( a.z - b.z ) * ( a.x + b.x );
		nz += ( a.x - b.x ) * ( a.y + b.y );
		_center.add( a );

	}
	_center.multiplyScalar( 1 / poly.length );
	_e1.set( nx, ny, nz );
	if ( _e1.lengthSq() === 0 ) throw new Error( 'PortalScene: degenerate portal polygon' );
	return target.setFromNormalAndCoplanarPoint( _e1.normalize(), _center );

}

/**
 * A cell's `aabb` as the meta writes it (`[minX, minY, minZ, maxX, maxY, maxZ]`), refused unless it
 * is 6 finite numbers within ±MAX_COORDINATE, each min at most its max.
 * @param {unknown} a
 * @param {string} cellId
 * @returns {number[]}
 */
export function checkAabb( a, cellId ) {

	// strings ("NaN", "1") or nulls made a box that held no camera, or another cell's camera
	if ( ! Array.isArray( a ) || a.length !== 6 || ! a.every( Number.isFinite ) ) throw new Error( `PortalScene: cell "${ cellId }" has no aabb of 6 finite numbers` );
	const far = beyond( a );
	if ( far !== undefined ) throw new Error( `PortalScene: cell "${ cellId }" has an aabb beyond ±${ MAX_COORDINATE } m (${ far })` );
	// an inverted box bounds no room: three's Box3 measures a point's distance to its min on that
	// axis, and its negative volume made it the smallest box holding the points of that plane
	for ( let k = 0; k < 3; k ++ ) {

		if ( a[ k ] > a[ k + 3 ] ) throw new Error( `PortalScene: cell "${ cellId }" has an aabb whose min ${ 'xyz'[ k ] } ${ a[ k ] } passes its max ${ a[ k + 3 ] }` );

	}
	return a;

}

/**
 * A portal's `quad` (12 finite numbers within ±MAX_COORDINATE, of MIN_PORTAL_AREA or more) as its
 * four corners; refused naming the portal `i` and its cells.
 * @param {{from: unknown, to: unknown, quad: unknown}} p the meta's portal
 * @param {number} i its index
 * @returns {Vector3[]}
 */
export function checkPortalQuad( p, i ) {

	let quad;
	try {

		quad = quadFromFloats( /** @type {ArrayLike<number>} */ ( p.quad ) );

	} catch ( error ) {

		throw new Error( `PortalScene: portal ${ i } ("${ p.from }" -> "${ p.to }"): ${ error.message.replace( 'PortalScene: ', '' ) }` );

	}
	const far = beyond( /** @type {ArrayLike<number>} */ ( p.quad ) );
	if ( far !== undefined ) throw new Error( `PortalScene: portal ${ i } ("${ p.from }" -> "${ p.to }") has a quad beyond ±${ MAX_COORDINATE } m (${ far })` );
	// with a plane given too: a quad of no area has no inside, and clipped it still counted as open
	const area = quadArea( quad );
	if ( ! ( area >= MIN_PORTAL_AREA ) ) throw new Error( `PortalScene: portal ${ i } ("${ p.from }" -> "${ p.to }") has a quad of no area (${ area.toPrecision( 3 ) } m², under ${ MIN_PORTAL_AREA } m²), so no plane` );
	return quad;

}

/**
 * Refuse a portal's given plane when a corner of its quad lies more than PLANE_SLACK off it.
 * @param {Plane} plane the meta's plane, normalized
 * @param {Vector3[]} quad
 * @param {{from: unknown, to: unknown}} p the meta's portal
 * @param {number} i its index
 */
export function checkPlaneHoldsQuad( plane, quad, p, i ) {

	// a plane beside its quad (another wall's, moved): the eye's side of it hid the room behind the doorway
	let off = 0;
	for ( const v of quad ) off = Math.max( off, Math.abs( plane.distanceToPoint( v ) ) );
	if ( ! ( off <= PLANE_SLACK ) ) throw new Error( `PortalScene: portal ${ i } ("${ p.from }" -> "${ p.to }") has a plane that does not hold its quad (a corner ${ +off.toPrecision( 3 ) } m off it)` );

}

/**
 * A room outline as the meta writes it (`[[x, z], …]`, at least three finite points), flat.
 * @param {unknown} pairs
 * @param {string} cellId
 * @returns {Float64Array}
 */
export function floorFromPairs( pairs, cellId ) {

	const ok = Array.isArray( pairs ) && pairs.length >= 3 &&
		pairs.every( ( p ) => Array.isArray( p ) && p.length === 2 && Number.isFinite( p[ 0 ] ) && Number.isFinite( p[ 1 ] ) );
	if ( ! ok ) throw new Error( `PortalScene: cell "${ cellId }" has a floor that is not [[x, z], …] (3 points or more)` );
	return Float64Array.from( pairs.flat() );

}

/**
 * `floor`, refused when it reaches beyond ±MAX_COORDINATE.
 * @param {Float64Array} floor
 * @param {string} cellId
 * @returns {Float64Array}
 */
export function farFloor( floor, cellId ) {

	const far = beyond( floor );
	if ( far !== undefined ) throw new Error( `PortalScene: cell "${ cellId }" has a floor beyond ±${ MAX_COORDINATE } m (${ far })` );
	return floor;

}

/**
 * `[a, b, c, d]`, four finite numbers with a non-zero normal?
 * @param {unknown} value
 */
export function isPlane( value ) {

	return Array.isArray( value ) && value.length === 4 && value.every( Number.isFinite ) && ( value[ 0 ] !== 0 || value[ 1 ] !== 0 || value[ 2 ] !== 0 );

}

/**
 * The plane `[a, b, c, d]` of a portal quad as a build writes it (12 floats, wound so that its
 * right-hand normal points into `to`: docs/scene-format.md).
 * @param {ArrayLike<number>} flat
 * @returns {number[]|null} null for a quad of no area, or not of 12 finite numbers
 */
export function quadPlane( flat ) {

	// a quad of no area (or not of 12 finite numbers) has no plane: left to `fromMeta`, which names the portal
	let plane;
	try {

		plane = polygonPlane( quadFromFloats( flat ), new Plane() );

	} catch {

		return null;

	}
	return [ plane.normal.x, plane.normal.y, plane.normal.z, plane.constant ];

}
