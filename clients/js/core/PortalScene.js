import { Box3, Plane, Vector3 } from 'three';
import { BoxTree } from './BoxTree.js';
import { PassageIndex } from './PassageIndex.js';
import {
	checkAabb, checkPlaneHoldsQuad, checkPortalQuad, farFloor, floorFromPairs, isPlane, polygonPlane,
} from './MetaChecks.js';

// the meta checks live in MetaChecks.js; these are exported here too, where importers have found them
export { PASSAGE_DEPTH } from './PassageIndex.js';
export { MAX_COORDINATE, MIN_PORTAL_AREA, PLANE_SLACK, floorFromPairs, polygonPlane, quadPlane } from './MetaChecks.js';

/**
 * The cell/portal model of a compiled sceneforge scene: cells (rooms) with
 * their bounds, objects and potentially-visible sets, joined by portals
 * (convex doorway polygons). Built from the visibility block of the meta JSON
 * (docs/meta.md) and, when a GLB was loaded, bound to the glTF scene graph by the
 * node extras (`userData.type === 'cell'`, `userData.cellId`), never by names.
 *
 * Pure data: nothing here touches a renderer, so it runs in node as well.
 */

/**
 * @typedef {Object} Cell
 * @property {number} index position in `PortalScene.cells`
 * @property {string} id the cellId
 * @property {Box3} aabb world-space bounds
 * @property {Float64Array|null} floor the room's outer outline in plan (x0, z0, x1, z1, …) when it is
 *   not its box (an L-shaped, turned or hexagonal room: the meta's `floor`), else null
 * @property {number[]} portals indices into `PortalScene.portals` (either side)
 * @property {Uint8Array} pvs pvs[j] === 1 when cell j is potentially visible from this cell (the cells
 *   without a PVS in the meta share one array of ones: read it, never write it; the others' arrays
 *   are made when first read, and only the last PVS_KEPT read are kept)
 * @property {string[]} pvsIds the PVS as cell ids, as written in the meta (shared likewise)
 * @property {import('three').Object3D|null} object the cell's node in the loaded GLB
 */

/**
 * @typedef {Object} Portal
 * @property {number} index position in `PortalScene.portals`
 * @property {number} from cell index
 * @property {number} to cell index
 * @property {Vector3[]} quad the 4 corners, in order
 * @property {Plane} plane the quad's plane, normal pointing into `to`
 * @property {Vector3} center the quad's centroid
 * @property {boolean} oneWay sight passes from `from` into `to` only
 * @property {import('three').Object3D|null} object the portal's node in the loaded GLB
 */

const _e2 = new Vector3();
const _size = new Vector3();

/**
 * Cells whose PVS arrays (`Cell.pvs`, n bytes each) a scene keeps made: one per cell was n² bytes
 * (20,000 cells: 400 MB and seconds to open), when a frame reads those of the cells holding the eye.
 */
const PVS_KEPT = 32;

export class PortalScene {

	/**
	 * @param {Object} options
	 * @param {string} options.sceneId
	 * @param {Cell[]} options.cells
	 * @param {Portal[]} options.portals
	 * @param {import('three').Object3D|null} [options.root] the loaded glTF scene
	 */
	constructor( { sceneId, cells, portals, root = null } ) {

		/** @type {string} */
		this.sceneId = sceneId;
		/** @type {Cell[]} */
		this.cells = cells;
		/** @type {Portal[]} */
		this.portals = portals;
		/** @type {import('three').Object3D|null} */
		this.root = root;
		/** @type {Map<string, number>} */
		this.cellIndex = new Map( cells.map( ( c ) => [ c.id, c.index ] ) );

	}

	/**
	 * Build the model from the visibility data alone: `{cells:[{cellId, aabb, floor?, portals?, pvs?}],
	 * portals:[{from, to, quad, plane?, oneWay?}]}` — the `visibility` block of the meta JSON, or the whole
	 * meta JSON. Cells without a `pvs` see every cell (PVS filtering is then a no-op). A portal's
	 * `plane` is taken as given (a build's normal points into `to`); without one, the quad's
	 * right-hand plane is used, turned to face `to` only when the cell centres clearly say it faces
	 * `from`: `to`'s centre behind it and `from`'s in front.
	 * @param {Object} meta
	 * @returns {PortalScene}
	 */
	static fromMeta( meta ) {

		const vis = meta && meta.visibility ? meta.visibility : meta;
		if ( ! vis || ! Array.isArray( vis.cells ) || ! Array.isArray( vis.portals ) ) {

			throw new Error( 'PortalScene: meta has no visibility.cells / visibility.portals' );

		}
		const sceneId = ( meta && ( meta.sceneId || ( meta.Meta && meta.Meta.sceneId ) ) ) || '';
		const n = vis.cells.length;
		/** @type {Map<string, number>} */
		const index = new Map();
		const cells = vis.cells.map( ( c, i ) => {

			if ( ! c || typeof c.cellId !== 'string' ) throw new Error( `PortalScene: cell ${ i } has no cellId` );
			if ( index.has( c.cellId ) ) throw new Error( `PortalScene: duplicate cellId "${ c.cellId }"` );
			index.set( c.cellId, i );
			const a = checkAabb( c.aabb, c.cellId );
			return /** @type {Cell} */ ( {
				index: i, id: c.cellId,
				aabb: new Box3( new Vector3( a[ 0 ], a[ 1 ], a[ 2 ] ), new Vector3( a[ 3 ], a[ 4 ], a[ 5 ] ) ),
				floor: c.floor === undefined || c.floor === null ? null : farFloor( floorFromPairs( c.floor, c.cellId ), c.cellId ),
				portals: [], pvs: null, pvsIds: [], object: null,
			} );

		} );

		const portals = vis.portals.map( ( p, i ) => {

			const from = index.get( p.from ), to = index.get( p.to );
			if ( from === undefined || to === undefined ) {

				throw new Error( `PortalScene: portal ${ i } joins unknown cells "${ p.from }" -> "${ p.to }"` );

			}
			const quad = checkPortalQuad( p, i );
			const plane = new Plane();
			if ( isPlane( p.plane ) ) {

				// the build's plane (docs/meta.md): its normal points into `to`, judged by the build
				// from the cells themselves, which the boxes here cannot second-guess (interlocking
				// L-shaped rooms can have both box centres on the wrong sides of a correct plane)
				plane.normal.set( p.plane[ 0 ], p.plane[ 1 ], p.plane[ 2 ] );
				plane.constant = p.plane[ 3 ];
				plane.normalize();
				checkPlaneHoldsQuad( plane, quad, p, i );

			} else {

				// a hand-written quad may be wound the other way (a one-way portal would then pass
				// sight backwards)
				try {

					polygonPlane( quad, plane );

				} catch {

					throw new Error( `PortalScene: portal ${ i } ("${ p.from }" -> "${ p.to }") has a quad of no area, so no plane` );

				}
				orientTowards( plane, cells[ from ].aabb, cells[ to ].aabb );

			}
			const center = new Vector3();
			for ( const v of quad ) center.add( v );
			center.multiplyScalar( 0.25 );
			cells[ from ].portals.push( i );
			if ( to !== from ) cells[ to ].portals.push( i );
			return /** @type {Portal} */ ( { index: i, from, to, quad, plane, center, oneWay: p.oneWay === true, object: null } );

		} );

		// Cells without a PVS share one all-cells PVS: one per cell was n² entries (a 5,000-cell file
		// built --no-pvs, or rebuilt from GLB extras, took 600 ms and 200 MB to open; 20,000 cells, gigabytes).
		let every = null;
		/** @type {Map<Cell, Uint8Array>} the PVS arrays made, least recently read first */
		const made = new Map();
		vis.cells.forEach( ( c, i ) => {

			const cell = cells[ i ];
			if ( ! Array.isArray( c.pvs ) ) {

				every = every || { pvs: new Uint8Array( n ).fill( 1 ), ids: cells.map( ( o ) => o.id ) };
				cell.pvs = every.pvs;
				cell.pvsIds = every.ids;
				return;

			}
			const row = new Int32Array( c.pvs.length + 1 );
			c.pvs.forEach( ( id, k ) => {

				const j = index.get( id );
				if ( j === undefined ) throw new Error( `PortalScene: cell "${ cell.id }" lists unknown cell "${ id }" in its pvs` );
				row[ k ] = j;

			} );
			row[ c.pvs.length ] = i;
			Object.defineProperty( cell, 'pvs', {
				enumerable: true, configurable: true,
				get() {

					let pvs = made.get( cell );
					if ( pvs ) made.delete( cell );
					else {

						pvs = new Uint8Array( n );
						for ( const j of row ) pvs[ j ] = 1;
						if ( made.size >= PVS_KEPT ) made.delete( made.keys().next().value );

					}
					made.set( cell, pvs );
					return pvs;

				},
				set( value ) {

					Object.defineProperty( cell, 'pvs', { value, writable: true, enumerable: true, configurable: true } );

				},
			} );
			cell.pvsIds = c.pvs.slice();

		} );

		return new PortalScene( { sceneId, cells, portals } );

	}

	/**
	 * Bind the cells and portals to the nodes of a loaded glTF scene, by their extras.
	 * Cells found in the GLB but missing from the meta are ignored; cells of the meta
	 * without a node keep `object === null`.
	 * @param {import('three').Object3D} root
	 * @returns {this}
	 */
	bindObjects( root ) {

		this.root = root;
		const portalsByKey = new Map();
		for ( const p of this.portals ) {

			const key = `${ this.cells[ p.from ].id }\u0000${ this.cells[ p.to ].id }`;
			if ( ! portalsByKey.has( key ) ) portalsByKey.set( key, [] );
			portalsByKey.get( key ).push( p );

		}
		root.traverse( ( node ) => {

			const data = node.userData;
			if ( ! data ) return;
			if ( data.type === 'cell' && typeof data.cellId === 'string' ) {

				const i = this.cellIndex.get( data.cellId );
				if ( i !== undefined && this.cells[ i ].object === null ) this.cells[ i ].object = node;

			} else if ( data.type === 'portal' ) {

				const list = portalsByKey.get( `${ data.from }\u0000${ data.to }` );
				const free = list && list.find( ( p ) => p.object === null );
				if ( free ) free.object = node;

			}

		} );
		return this;

	}

	/**
	 * The cell containing `point`: the smallest containing AABB (volume), or — when
	 * no cell contains it — the nearest cell. A cell with a `floor` outline contains the points of
	 * its box that lie within the outline (`distanceToCell`). -1 for a scene with no cells, or a point that
	 * is not finite. O(log n) for a point in few boxes: a tree over the boxes (`BoxTree`), built by the
	 * first query from the boxes as they are then.
	 * @param {Vector3} point
	 * @param {number} [tolerance=1e-4] how far outside a box still counts as inside (negative: how far inside it
	 * must be); not a number throws
	 * @returns {number}
	 */
	findCell( point, tolerance = 1e-4 ) {

		checkTolerance( 'findCell', tolerance );
		const query = this._query();
		query.point = point;
		query.tolerance = tolerance;
		query.best = - 1;
		query.bestVolume = Infinity;
		query.tree.within( point.x, point.y, point.z, tolerance, query.smallest );
		if ( query.best >= 0 ) return query.best;
		// the box is never farther than the room it bounds: the outline only when it can matter
		return query.tree.nearest( point.x, point.y, point.z, query.distance ).index;

	}

	/**
	 * The tree over the cell boxes (`BoxTree`: a frame's queries visit O(log n) cells, where a scan of
	 * 20,000 cells took 1 ms) and the visitors of the queries, made on the first query; the boxes are read
	 * then and not again.
	 */
	_query() {

		if ( this._cellQuery ) return this._cellQuery;
		const cells = this.cells;
		const query = {
			tree: new BoxTree( cells.map( ( c ) => c.aabb ) ),
			point: null, tolerance: 0, best: - 1, bestVolume: Infinity, target: null,
			// the smallest box holding the point (ties: the lowest index)
			smallest: ( i ) => {

				if ( cells[ i ].floor && this.distanceToCell( i, query.point ) > query.tolerance ) return;
				const v = volume( cells[ i ].aabb );
				if ( v < query.bestVolume || ( v === query.bestVolume && i < query.best ) ) {

					query.bestVolume = v;
					query.best = i;

				}

			},
			distance: ( i, box ) => ( cells[ i ].floor ? this.distanceToCell( i, query.point ) : box ),
			holding: ( i ) => {

				if ( cells[ i ].floor && this.distanceToCell( i, query.point ) > query.tolerance ) return;
				query.target.push( i );

			},
		};
		this._cellQuery = query;
		return query;

	}

	/**
	 * Every cell that holds `point` (within `tolerance`: `distanceToCell`), smallest box first. The
	 * boxes of rooms turned off the axes, L-shaped or hexagonal overlap their neighbours': the meta
	 * gives those rooms their outline (`floor`), and a point in such a box but outside the outline is
	 * not in the room. Cells with a box only (tagged-GLB cells) hold every point of their box, so a
	 * point in several boxes may lie in any of those cells, and `findCell`'s smallest box is not
	 * always the cell that holds it. A point in no cell lies in those within one float32 step of its
	 * largest coordinate (boxes and plans read back from a GLB's vertices are that coarse), else, in the
	 * passage of a doorway (within `PASSAGE_DEPTH` of its portal's polygon, across its plane), in the
	 * doorway's two cells: the plan of a cell rebuilt from its meshes may leave such a passage out. The
	 * passages are found in O(log portals) (`PassageIndex`, made by the first such point from the portals
	 * as they are then), where a scan of every portal took O(portals) a frame for a camera outside the level.
	 * @param {Vector3} point
	 * @param {number} [tolerance=1e-4] how far outside a box still counts as inside (negative: how far inside it
	 * must be); not a number throws
	 * @param {number[]} [target] filled and returned (cleared first)
	 * @returns {number[]} cell indices; empty when no cell and no doorway holds the point
	 */
	findCells( point, tolerance = 1e-4, target = [] ) {

		checkTolerance( 'findCells', tolerance );
		target.length = 0;
		this._holding( point, tolerance, target );
		// In no cell, but within a float32 step of one (7.8 mm at 100 km): the boxes and plans of a file rebuilt
		// from a GLB are its float32 vertices, which may lie that far inside where the rooms were drawn.
		const coarse = float32Step( point );
		if ( target.length === 0 && coarse > tolerance ) this._holding( point, coarse, target );
		// In no cell, but in a doorway's passage through its wall: in the doorway's cells. The plan of a cell
		// made of meshes (a tagged GLB's) may leave out the passage of a doorway drawn past its wall's corners.
		// (The passages of the portals near the point: a tree over their boxes, made on the first miss.)
		if ( target.length === 0 ) {

			if ( ! this._passages ) this._passages = new PassageIndex( this.portals );
			this._passages.holding( point, tolerance, target );

		}
		if ( target.length > 1 ) target.sort( ( a, b ) => volume( this.cells[ a ].aabb ) - volume( this.cells[ b ].aabb ) || a - b );
		return target;

	}

	/**
	 * Push the cells within `tolerance` of `point` onto `target`.
	 * @param {Vector3} point
	 * @param {number} tolerance
	 * @param {number[]} target
	 */
	_holding( point, tolerance, target ) {

		const query = this._query();
		query.point = point;
		query.tolerance = tolerance;
		query.target = target;
		query.tree.within( point.x, point.y, point.z, tolerance, query.holding );
		query.target = null;

	}

	/**
	 * Distance (metres) from `point` to cell `index`: to its box, or, for a cell with a `floor`
	 * outline, to the prism of that outline between the box's lowest and highest y. 0 inside.
	 * @param {number} index
	 * @param {Vector3} point
	 * @returns {number}
	 */
	distanceToCell( index, point ) {

		const cell = this.cells[ index ];
		const floor = cell.floor;
		if ( ! floor ) return cell.aabb.distanceToPoint( point );
		const y = point.y, lo = cell.aabb.min.y, hi = cell.aabb.max.y;
		const dy = y < lo ? lo - y : ( y > hi ? y - hi : 0 );
		const edge = outlineDistance( floor, point.x, point.z );
		const dxz = edge < 0 ? 0 : edge;
		return Math.sqrt( dxz * dxz + dy * dy );

	}

	/**
	 * A point inside cell `index`, at the height of its box's centre (where a walker is put): the box's
	 * centre, or for a cell with a `floor` outline, the middle of the widest span of the outline along
	 * the line through the centre parallel to x when that lies farther from the outline's edges than the
	 * centre does. The centre may lie outside the outline (an L's notch), or on it: the box of a square
	 * with a quarter cut out has its centre on the notch's inner corner, in the walls, where a walker
	 * put down is pushed out of the building and falls.
	 * @param {number} index
	 * @param {Vector3} target
	 * @returns {Vector3}
	 */
	interiorPoint( index, target ) {

		const cell = this.cells[ index ];
		cell.aabb.getCenter( target );
		const floor = cell.floor;
		if ( ! floor ) return target;
		const centre = clearance( floor, target.x, target.z );
		// a line a hair off the centre, so that it passes through no corner of the outline
		const z = target.z + 1e-7 * ( cell.aabb.max.z - cell.aabb.min.z );
		const xs = [];
		for ( let i = 0, k = floor.length, j = k - 2; i < k; j = i, i += 2 ) {

			const az = floor[ j + 1 ], bz = floor[ i + 1 ];
			if ( ( az > z ) !== ( bz > z ) ) xs.push( floor[ j ] + ( z - az ) * ( floor[ i ] - floor[ j ] ) / ( bz - az ) );

		}
		xs.sort( ( a, b ) => a - b );
		let best = - 1;
		for ( let k = 0; k + 1 < xs.length; k += 2 ) if ( best < 0 || xs[ k + 1 ] - xs[ k ] > xs[ best + 1 ] - xs[ best ] ) best = k;
		if ( best < 0 ) return target;
		const x = ( xs[ best ] + xs[ best + 1 ] ) / 2;
		if ( clearance( floor, x, z ) > centre ) target.set( x, target.y, z );
		return target;

	}

	/**
	 * Show exactly the cells listed in `visible` (cell indices), hide the others.
	 * @param {Uint8Array} visible visible[i] === 1 when cell i is drawn
	 */
	applyVisibility( visible ) {

		for ( const cell of this.cells ) if ( cell.object ) cell.object.visible = visible[ cell.index ] === 1;

	}

	/** Show every cell. */
	showAll() {

		for ( const cell of this.cells ) if ( cell.object ) cell.object.visible = true;

	}

	/**
	 * Release the GPU resources of the bound glTF scene (geometries, materials, textures).
	 */
	dispose() {

		if ( ! this.root ) return;
		this.root.traverse( ( node ) => {

			if ( node.geometry ) node.geometry.dispose();
			const materials = node.material ? ( Array.isArray( node.material ) ? node.material : [ node.material ] ) : [];
			for ( const m of materials ) {

				for ( const key in m ) {

					const value = m[ key ];
					if ( value && value.isTexture ) value.dispose();

				}
				m.dispose();

			}

		} );
		if ( this.root.parent ) this.root.parent.remove( this.root );
		this.root = null;
		for ( const c of this.cells ) c.object = null;
		for ( const p of this.portals ) p.object = null;

	}

}

/**
 * How far the point (x, z) lies from the nearest edge of a flat outline `[x0, z0, x1, z1, …]`:
 * negative inside it (minus that distance), positive outside.
 * @param {number[]} floor
 * @param {number} x
 * @param {number} z
 * @returns {number}
 */
function outlineDistance( floor, x, z ) {

	let inside = false, nearest = Infinity;
	for ( let i = 0, k = floor.length, j = k - 2; i < k; j = i, i += 2 ) {

		const ax = floor[ j ], az = floor[ j + 1 ], bx = floor[ i ], bz = floor[ i + 1 ];
		// crossing number along +x, each edge half-open in z
		if ( ( az > z ) !== ( bz > z ) && x < ax + ( z - az ) * ( bx - ax ) / ( bz - az ) ) inside = ! inside;
		const ex = bx - ax, ez = bz - az;
		const len2 = ex * ex + ez * ez;
		const t = len2 > 0 ? Math.min( 1, Math.max( 0, ( ( x - ax ) * ex + ( z - az ) * ez ) / len2 ) ) : 0;
		const px = ax + t * ex - x, pz = az + t * ez - z;
		nearest = Math.min( nearest, px * px + pz * pz );

	}
	return inside ? - Math.sqrt( nearest ) : Math.sqrt( nearest );

}

/**
 * How far the point (x, z) lies inside a flat outline from its nearest edge; -1 outside it.
 * @param {number[]} floor
 * @param {number} x
 * @param {number} z
 * @returns {number}
 */
function clearance( floor, x, z ) {

	const d = outlineDistance( floor, x, z );
	return d < 0 || Object.is( d, - 0 ) ? - d : - 1; // -0: inside, on an edge

}

/**
 * How far a position stored as float32 (a GLB's vertices, the boxes and plans a build reads from them) may
 * lie from where it was meant, near `point`: one float32 step of its largest coordinate (7.8 mm at 100 km).
 * @param {Vector3} point
 * @returns {number}
 */
function float32Step( point ) {

	const m = Math.max( Math.abs( point.x ), Math.abs( point.y ), Math.abs( point.z ) );
	return m > 0 && Number.isFinite( m ) ? Math.pow( 2, Math.floor( Math.log2( m ) ) - 23 ) : 0;

}

/** @param {Box3} box */
function volume( box ) {

	box.getSize( _size );
	return _size.x * _size.y * _size.z;

}

/**
 * Flip a quad's own plane when the cell centres say its normal points out of `to`. The description
 * promises "normal points into `to`", but a hand-written quad may be wound the other way; the centres decide only
 * when they sit on clearly different sides, `to`'s behind the plane and `from`'s in front. (The
 * boxes of a room nested in a U, or of rooms turned off the axes, can have both centres on one side:
 * comparing their distances flipped portals that were wound right.)
 * @param {Plane} plane
 * @param {Box3} fromBox
 * @param {Box3} toBox
 */
function orientTowards( plane, fromBox, toBox ) {

	const dTo = plane.distanceToPoint( toBox.getCenter( _e2 ) );
	const dFrom = plane.distanceToPoint( fromBox.getCenter( _e2 ) );
	if ( dTo < 0 && dFrom > 0 ) plane.negate();

}

/**
 * A tolerance that is not a number made every comparison with it false: any point near a doorway counted as in
 * its passage. Refused, naming the method.
 * @param {string} method
 * @param {number} tolerance
 */
function checkTolerance( method, tolerance ) {

	if ( typeof tolerance !== 'number' || Number.isNaN( tolerance ) ) throw new Error( `PortalScene.${ method }: tolerance must be a number, got ${ tolerance }` );

}
