import { Vector3 } from 'three';
import { BoxTree } from './BoxTree.js';

/**
 * The passages of a scene's doorways, for `PortalScene.findCells` of a point that no cell holds (a
 * camera outside the level, or in a wall between two rooms): the slab within PASSAGE_DEPTH of a
 * portal's plane whose foot on the plane lies in the portal's polygon, within a tolerance (`inPassage`).
 *
 * Cost: a scan of every portal was O(portals) per miss, per frame (1,104 portals: 2,208 plane reads each
 * time). Here a `BoxTree` over boxes that hold each passage answers in O(log portals): a passage's box
 * is that of the region `inPassage` accepts at a tolerance T — the feet whose distance from every edge's
 * line lies on one side within T, a convex polygon clipped out of a square in the plane's coordinates —
 * swept PASSAGE_DEPTH either way along every axis. The region grows with T, so the boxes made for T hold
 * the passages of every smaller tolerance; a query of a larger one makes them again for the next power
 * of two up (built on the first miss, then once per doubling). A region that reaches the square's edge
 * (no bound: a polygon thinner than 2T turns its edge tests inside out) is tested on every query, as is
 * every portal for a tolerance that is not a number of metres up to MAX_INDEXED_TOLERANCE.
 *
 * The portals' quads and planes are read when the boxes are made, and not again: change them, make a new
 * index. A query's answer is exactly the scan's (the index only skips portals whose passage cannot hold
 * the point); a query allocates nothing.
 */

/** How deep a doorway's passage through its wall reaches from the portal's polygon, either side (metres). */
export const PASSAGE_DEPTH = 0.6;

/** The least tolerance the boxes are made for (metres): findCells' own is 1e-4; a centimetre covers that with room. */
const LEAST_TOLERANCE = 0.01;
/** Past this tolerance (metres) every portal is tested: a passage that wide is no longer a doorway's. */
const MAX_INDEXED_TOLERANCE = 1024;
/** Half the side of the square the regions are clipped from, in plane coordinates (metres): 4× the coordinate bound. */
const SQUARE = 4e6;

const _e1 = new Vector3();
const _e2 = new Vector3();
const _p = new Vector3();

/**
 * Does `point` lie in the passage of `portal`: within PASSAGE_DEPTH of its plane, and its foot on the
 * plane inside the (convex) polygon, within `tolerance`?
 * @param {import('./PortalScene.js').Portal} portal
 * @param {Vector3} point
 * @param {number} tolerance
 * @returns {boolean}
 */
export function inPassage( portal, point, tolerance ) {

	const n = portal.plane.normal;
	const d = portal.plane.distanceToPoint( point );
	if ( ! ( Math.abs( d ) <= PASSAGE_DEPTH ) ) return false;
	_p.copy( point ).addScaledVector( n, - d );
	const q = portal.quad;
	// the polygon's winding about its plane's normal: the inside is on one side of every edge
	let sign = 0;
	for ( let i = 0; i < q.length; i ++ ) {

		const a = q[ i ], b = q[ ( i + 1 ) % q.length ];
		_e1.subVectors( b, a );
		_e2.subVectors( _p, a );
		const length = _e1.length();
		if ( length === 0 ) continue;
		const side = _e1.cross( _e2 ).dot( n ) / length; // the foot's distance from the edge's line
		if ( side > tolerance ) {

			if ( sign < 0 ) return false;
			sign = 1;

		} else if ( side < - tolerance ) {

			if ( sign > 0 ) return false;
			sign = - 1;

		}

	}
	return true;

}

export class PassageIndex {

	/**
	 * @param {import('./PortalScene.js').Portal[]} portals
	 */
	constructor( portals ) {

		this.portals = portals;
		/** The tolerance the boxes were made for; 0 before the first query. */
		this.reach = 0;
		/** @type {BoxTree|null} */
		this.tree = null;
		/** @type {Int32Array} the portal of each box of the tree */
		this.boxed = new Int32Array( 0 );
		/** @type {number[]} the portals whose passage has no box (tested on every query) */
		this.loose = [];
		this._point = null;
		this._tolerance = 0;
		this._target = null;
		this._visit = ( k ) => this._test( this.boxed[ k ] );

	}

	/**
	 * Push onto `target` the two cells of every portal whose passage holds `point` within `tolerance`
	 * (each cell once), as a scan of the portals in order would find them, up to their order.
	 * @param {Vector3} point
	 * @param {number} tolerance
	 * @param {number[]} target
	 */
	holding( point, tolerance, target ) {

		this._point = point;
		this._tolerance = tolerance;
		this._target = target;
		// a negative tolerance takes the feet within its size of an edge too (inPassage's tests, one way or the other)
		const size = Math.abs( tolerance );
		if ( ! ( size <= MAX_INDEXED_TOLERANCE ) ) {

			for ( let i = 0; i < this.portals.length; i ++ ) this._test( i );

		} else {

			if ( size > this.reach || this.tree === null ) this._make( size > LEAST_TOLERANCE ? Math.pow( 2, Math.ceil( Math.log2( size ) ) ) : LEAST_TOLERANCE );
			for ( const i of this.loose ) this._test( i );
			this.tree.within( point.x, point.y, point.z, 0, this._visit );

		}
		this._point = null;
		this._target = null;

	}

	/** @param {number} i */
	_test( i ) {

		const portal = this.portals[ i ], target = this._target;
		if ( ! inPassage( portal, this._point, this._tolerance ) ) return;
		if ( ! target.includes( portal.from ) ) target.push( portal.from );
		if ( ! target.includes( portal.to ) ) target.push( portal.to );

	}

	/**
	 * Make the boxes of the passages at tolerance `reach`.
	 * @param {number} reach
	 */
	_make( reach ) {

		const boxes = [], boxed = [], loose = [];
		this.portals.forEach( ( portal, i ) => {

			const box = passageBox( portal, reach );
			if ( box === null ) return;
			if ( box === LOOSE ) loose.push( i );
			else {

				boxes.push( box );
				boxed.push( i );

			}

		} );
		this.tree = new BoxTree( boxes );
		this.boxed = Int32Array.from( boxed );
		this.loose = loose;
		this.reach = reach;

	}

}

/** `passageBox` of a passage whose region has no bound within the square. */
const LOOSE = Symbol( 'loose' );

/**
 * A box holding every point `inPassage( portal, point, t )` accepts for t ≤ `reach`; null when it
 * accepts none, LOOSE when the region of the feet reaches the square's edge.
 * @param {import('./PortalScene.js').Portal} portal
 * @param {number} reach
 * @returns {{min: Vector3, max: Vector3}|null|typeof LOOSE}
 */
function passageBox( portal, reach ) {

	const n = portal.plane.normal;
	// u, v, n: a right-handed orthonormal frame, so that (e1 × e2)·n = e1u e2v - e1v e2u
	const u = Math.abs( n.x ) < 0.9 ? new Vector3( 1, 0, 0 ) : new Vector3( 0, 1, 0 );
	u.addScaledVector( n, - u.dot( n ) ).normalize();
	const v = new Vector3().crossVectors( n, u );
	// the edges' lines as side(f) = α fu + β fv + γ, the foot's distance from the line (inPassage's)
	const lines = [];
	const q = portal.quad;
	for ( let i = 0; i < q.length; i ++ ) {

		const a = q[ i ], b = q[ ( i + 1 ) % q.length ];
		const e = new Vector3().subVectors( b, a );
		const length = e.length();
		if ( length === 0 ) continue;
		const eu = e.dot( u ) / length, ev = e.dot( v ) / length, au = a.dot( u ), av = a.dot( v );
		lines.push( [ - ev, eu, ev * au - eu * av ] );

	}
	// the feet inPassage accepts: every side ≥ -reach (inside), or every side ≤ reach (the other winding)
	const min = new Vector3( Infinity, Infinity, Infinity ), max = new Vector3( - Infinity, - Infinity, - Infinity );
	const origin = new Vector3().copy( n ).multiplyScalar( - portal.plane.constant );
	let any = false;
	for ( const s of [ 1, - 1 ] ) {

		let poly = [ [ - SQUARE, - SQUARE ], [ SQUARE, - SQUARE ], [ SQUARE, SQUARE ], [ - SQUARE, SQUARE ] ];
		for ( const [ a, b, c ] of lines ) poly = clip( poly, s * a, s * b, s * c + reach );
		for ( const [ fu, fv ] of poly ) {

			if ( ! ( Math.abs( fu ) < SQUARE * 0.999 && Math.abs( fv ) < SQUARE * 0.999 ) ) return LOOSE;
			const x = origin.x + fu * u.x + fv * v.x, y = origin.y + fu * u.y + fv * v.y, z = origin.z + fu * u.z + fv * v.z;
			min.set( Math.min( min.x, x ), Math.min( min.y, y ), Math.min( min.z, z ) );
			max.set( Math.max( max.x, x ), Math.max( max.y, y ), Math.max( max.z, z ) );
			any = true;

		}

	}
	if ( ! any ) return null;
	// the slab either side of the plane, and the rounding of the plane coordinates (0.1 mm, and 0.1 µm a metre
	// from the origin: far more than the ulps the two ways of reckoning differ by, also where two edges meet
	// at a sharp angle)
	const slack = PASSAGE_DEPTH + 1e-4 + 1e-7 * Math.max( Math.abs( min.x ), Math.abs( min.y ), Math.abs( min.z ), Math.abs( max.x ), Math.abs( max.y ), Math.abs( max.z ) );
	min.subScalar( slack );
	max.addScalar( slack );
	return { min, max };

}

/**
 * The part of the convex polygon `poly` ([u, v] corners) where a u + b v + c ≥ 0 (Sutherland–Hodgman).
 * @param {number[][]} poly
 * @param {number} a
 * @param {number} b
 * @param {number} c
 * @returns {number[][]}
 */
function clip( poly, a, b, c ) {

	const out = [];
	for ( let i = 0; i < poly.length; i ++ ) {

		const p = poly[ i ], r = poly[ ( i + 1 ) % poly.length ];
		const dp = a * p[ 0 ] + b * p[ 1 ] + c, dr = a * r[ 0 ] + b * r[ 1 ] + c;
		if ( dp >= 0 ) out.push( p );
		if ( ( dp >= 0 ) !== ( dr >= 0 ) ) {

			const t = dp / ( dp - dr );
			out.push( [ p[ 0 ] + t * ( r[ 0 ] - p[ 0 ] ), p[ 1 ] + t * ( r[ 1 ] - p[ 1 ] ) ] );

		}

	}
	return out;

}
