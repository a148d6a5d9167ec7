/**
 * A static bounding-volume hierarchy over axis-aligned boxes (a scene's cell boxes), for the two
 * point queries `PortalScene` asks every frame: the boxes within a distance of a point, and the
 * box nearest to it under a distance of the caller's that never falls below the box distance (a
 * room's outline inside its box).
 *
 * Built once, in O(n log n): median splits on the longest axis of the box centres, leaves of at
 * most LEAF_SIZE boxes. A query visits O(log n) nodes for a point in few boxes; the nearest search
 * is depth-first, nearer child first, pruned by the best distance so far.
 * Measured on 20,000 cells in a grid, a seventh of them L-shaped (node 20, a busy 2-core machine): the
 * scan of every cell it replaces took 0.9–1.5 ms per `findCell` and 0.5–1.2 ms per `findCells`; the
 * tree answers in 5–11 µs and 0.6–6 µs, and is built in 40–70 ms (300–400 ms before the JIT warms).
 * Sorting each node's run with a comparator instead of selecting its median took 2–5 times as long.
 *
 * Pure: no three.js objects are kept (the boxes are copied into one Float64Array), and a query
 * allocates nothing.
 */

/** Most boxes in a leaf. */
const LEAF_SIZE = 4;

export class BoxTree {

	/**
	 * @param {ArrayLike<{min: {x: number, y: number, z: number}, max: {x: number, y: number, z: number}}>} boxes
	 *   finite boxes (min ≤ max), by index
	 */
	constructor( boxes ) {

		const n = boxes.length;
		/** @type {Float64Array} box i's min x, y, z, max x, y, z at 6i */
		this.boxes = new Float64Array( 6 * n );
		/** @type {Int32Array} the box indices, each leaf's a run of them */
		this.order = new Int32Array( n );
		/** Twice box i's centre at 3i (while building). */
		const centres = new Float64Array( 3 * n );
		for ( let i = 0; i < n; i ++ ) {

			const { min, max } = boxes[ i ];
			const at = 6 * i;
			this.boxes[ at ] = min.x;
			this.boxes[ at + 1 ] = min.y;
			this.boxes[ at + 2 ] = min.z;
			this.boxes[ at + 3 ] = max.x;
			this.boxes[ at + 4 ] = max.y;
			this.boxes[ at + 5 ] = max.z;
			centres[ 3 * i ] = min.x + max.x;
			centres[ 3 * i + 1 ] = min.y + max.y;
			centres[ 3 * i + 2 ] = min.z + max.z;
			this.order[ i ] = i;

		}
		// a tree of n leaves has 2n - 1 nodes (median splits leave at least one box per leaf)
		const most = Math.max( 1, 2 * n - 1 );
		/** @type {Float64Array} node k's bounds at 6k */
		this.bounds = new Float64Array( 6 * most );
		/** @type {Int32Array} node k at 2k, 2k + 1: its two children (an inner node), or -1 - start and count (a leaf) */
		this.nodes = new Int32Array( 2 * most );
		this.count = 0;
		this._stack = new Int32Array( 64 );
		if ( n ) this._build( 0, n, centres );

	}

	/**
	 * Build the node over `order[start, end)`; returns its index.
	 * @param {number} start
	 * @param {number} end
	 * @param {Float64Array} centres
	 * @returns {number}
	 */
	_build( start, end, centres ) {

		const node = this.count ++;
		const b = this.boxes, order = this.order;
		let x0 = Infinity, y0 = Infinity, z0 = Infinity, x1 = - Infinity, y1 = - Infinity, z1 = - Infinity;
		let c0 = Infinity, c1 = Infinity, c2 = Infinity, d0 = - Infinity, d1 = - Infinity, d2 = - Infinity;
		for ( let k = start; k < end; k ++ ) {

			const j = order[ k ], i = 6 * j;
			if ( b[ i ] < x0 ) x0 = b[ i ];
			if ( b[ i + 1 ] < y0 ) y0 = b[ i + 1 ];
			if ( b[ i + 2 ] < z0 ) z0 = b[ i + 2 ];
			if ( b[ i + 3 ] > x1 ) x1 = b[ i + 3 ];
			if ( b[ i + 4 ] > y1 ) y1 = b[ i + 4 ];
			if ( b[ i + 5 ] > z1 ) z1 = b[ i + 5 ];
			const x = centres[ 3 * j ], y = centres[ 3 * j + 1 ], z = centres[ 3 * j + 2 ];
			if ( x < c0 ) c0 = x;
			if ( x > d0 ) d0 = x;
			if ( y < c1 ) c1 = y;
			if ( y > d1 ) d1 = y;
			if ( z < c2 ) c2 = z;
			if ( z > d2 ) d2 = z;

		}
		const at = 6 * node;
		this.bounds[ at ] = x0;
		this.bounds[ at + 1 ] = y0;
		this.bounds[ at + 2 ] = z0;
		this.bounds[ at + 3 ] = x1;
		this.bounds[ at + 4 ] = y1;
		this.bounds[ at + 5 ] = z1;
		if ( end - start <= LEAF_SIZE ) {

			this.nodes[ 2 * node ] = - 1 - start;
			this.nodes[ 2 * node + 1 ] = end - start;
			return node;

		}
		// the longest axis of the centres; boxes of one centre split in halves as well
		const axis = d0 - c0 >= d1 - c1 && d0 - c0 >= d2 - c2 ? 0 : ( d1 - c1 >= d2 - c2 ? 1 : 2 );
		const middle = start + ( ( end - start ) >> 1 );
		select( order, centres, axis, start, end, middle );
		const left = this._build( start, middle, centres );
		const right = this._build( middle, end, centres );
		this.nodes[ 2 * node ] = left;
		this.nodes[ 2 * node + 1 ] = right;
		return node;

	}

	/**
	 * Call `visit(i)` for every box within `distance` of the point (x, y, z), in no set order.
	 * Nothing for a point that is not finite.
	 * @param {number} x
	 * @param {number} y
	 * @param {number} z
	 * @param {number} distance
	 * @param {(i: number) => void} visit
	 */
	within( x, y, z, distance, visit ) {

		if ( ! this.count || ! Number.isFinite( x + y + z ) ) return;
		const stack = this._stack;
		let top = 0;
		stack[ top ++ ] = 0;
		while ( top ) {

			const node = stack[ -- top ];
			// distances compared as three's Box3.distanceToPoint gives them (the square root's rounding included)
			if ( Math.sqrt( boxDistanceSq( this.bounds, 6 * node, x, y, z ) ) > distance ) continue;
			const first = this.nodes[ 2 * node ];
			if ( first >= 0 ) {

				stack[ top ++ ] = first;
				stack[ top ++ ] = this.nodes[ 2 * node + 1 ];
				continue;

			}
			for ( let k = - 1 - first, end = k + this.nodes[ 2 * node + 1 ]; k < end; k ++ ) {

				const i = this.order[ k ];
				if ( Math.sqrt( boxDistanceSq( this.boxes, 6 * i, x, y, z ) ) <= distance ) visit( i );

			}

		}

	}

	/**
	 * The box nearest to the point (x, y, z) by `distance(i, boxDistance)`, which is never less than the
	 * point's distance to box i; ties go to the lowest index. -1 for no boxes, or a point that is not finite.
	 * @param {number} x
	 * @param {number} y
	 * @param {number} z
	 * @param {(i: number, boxDistance: number) => number} distance
	 * @returns {{index: number, distance: number}} (one object, reused)
	 */
	nearest( x, y, z, distance ) {

		const out = this._nearest || ( this._nearest = { index: - 1, distance: Infinity } );
		out.index = - 1;
		out.distance = Infinity;
		if ( ! this.count || ! Number.isFinite( x + y + z ) ) return out;
		const stack = this._stack;
		let top = 0;
		stack[ top ++ ] = 0;
		while ( top ) {

			const node = stack[ -- top ];
			// a node as far as the best so far may still hold a box of a lower index at that distance
			if ( Math.sqrt( boxDistanceSq( this.bounds, 6 * node, x, y, z ) ) > out.distance ) continue;
			const first = this.nodes[ 2 * node ];
			if ( first >= 0 ) {

				// the nearer child on top of the stack: visited first, it narrows the search soonest
				const second = this.nodes[ 2 * node + 1 ];
				const a = boxDistanceSq( this.bounds, 6 * first, x, y, z ), b = boxDistanceSq( this.bounds, 6 * second, x, y, z );
				stack[ top ++ ] = a <= b ? second : first;
				stack[ top ++ ] = a <= b ? first : second;
				continue;

			}
			for ( let k = - 1 - first, end = k + this.nodes[ 2 * node + 1 ]; k < end; k ++ ) {

				const i = this.order[ k ];
				const box = Math.sqrt( boxDistanceSq( this.boxes, 6 * i, x, y, z ) );
				if ( box > out.distance ) continue;
				const d = distance( i, box );
				if ( d < out.distance || ( d === out.distance && i < out.index ) ) {

					out.distance = d;
					out.index = i;

				}

			}

		}
		return out;

	}

}

/**
 * Reorder `order[start, end)` so that `order[k]` is the box whose centre is k-th along `axis` (ties:
 * the lower index first), those before it none after it, those after it none before it (Hoare's
 * quickselect, median-of-three pivots: O(end - start) expected, where sorting each node's run with a
 * comparator took 5 times as long).
 * @param {Int32Array} order
 * @param {Float64Array} centres
 * @param {number} axis
 * @param {number} start
 * @param {number} end
 * @param {number} k
 */
function select( order, centres, axis, start, end, k ) {

	const before = ( i, j ) => {

		const a = centres[ 3 * i + axis ], b = centres[ 3 * j + axis ];
		return a < b || ( a === b && i < j );

	};
	let lo = start, hi = end - 1;
	while ( hi > lo ) {

		// the median of the first, middle and last as the pivot
		const mid = ( lo + hi ) >> 1;
		let p = order[ mid ];
		const a = order[ lo ], c = order[ hi ];
		if ( before( p, a ) !== before( p, c ) ) {} // p is between a and c
		else if ( before( a, p ) !== before( a, c ) ) p = a;
		else p = c;
		let i = lo, j = hi;
		while ( i <= j ) {

			while ( before( order[ i ], p ) ) i ++;
			while ( before( p, order[ j ] ) ) j --;
			if ( i <= j ) {

				const t = order[ i ];
				order[ i ] = order[ j ];
				order[ j ] = t;
				i ++;
				j --;

			}

		}
		if ( k <= j ) hi = j;
		else if ( k >= i ) lo = i;
		else return;

	}

}

/**
 * The squared distance from (x, y, z) to the box at `at` in `array` (min xyz, max xyz); 0 inside.
 * @param {Float64Array} array
 * @param {number} at
 */
function boxDistanceSq( array, at, x, y, z ) {

	const dx = x < array[ at ] ? array[ at ] - x : ( x > array[ at + 3 ] ? x - array[ at + 3 ] : 0 );
	const dy = y < array[ at + 1 ] ? array[ at + 1 ] - y : ( y > array[ at + 4 ] ? y - array[ at + 4 ] : 0 );
	const dz = z < array[ at + 2 ] ? array[ at + 2 ] - z : ( z > array[ at + 5 ] ? z - array[ at + 5 ] : 0 );
	return dx * dx + dy * dy + dz * dz;

}
