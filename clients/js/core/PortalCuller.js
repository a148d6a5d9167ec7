import { Box3, Frustum, Matrix4, Plane, Vector3 } from 'three';

/**
 * Portal culling by recursive frustum clipping (Luebke & Georges, "Portals and
 * Mirrors: Simple, Fast Evaluation of Potentially Visible Sets", I3D 1995).
 *
 * From the camera's cell, every portal of the cell is clipped against the current
 * clip planes (Sutherland–Hodgman); when something is left, the cell behind it is
 * visible and the walk continues there with a narrower frustum: one plane through
 * the eye and each edge of the clipped polygon, the portal plane as the new near
 * plane, and the camera's far plane. The precomputed PVS of the camera's cell is the
 * first filter: a cell outside it is never entered.
 *
 * - The walk starts from every cell that holds the eye (`PortalScene.findCells`): a cell with a
 *   `floor` outline (rooms turned off the axes, L-shaped or hexagonal, whose boxes overlap their
 *   neighbours') holds the points of its box within the outline, any other cell its whole box.
 *   `stats.cameraCell` is the smallest. An eye in such a box but outside its room (an L's notch
 *   outside the building) is outside that cell, as below.
 * - Portals are clipped by the view volume's planes through the eye (its sides) and ahead of it
 *   (the far plane), never by one the eye lies behind (the near plane): sight lines start at the
 *   eye, and one through a doorway closer than the near plane goes on into the room behind it.
 * - A camera standing in a doorway (eye within `doorwayEpsilon` of the portal's
 *   polygon) sees through that portal with its whole current frustum: the portal
 *   is treated as fully open instead of being clipped to a sliver by the near plane.
 * - A cell reachable along several paths is the union of what each path sees. Cycles
 *   are cut per path (a cell already on the current path is not re-entered), and
 *   `maxDepth` / `maxPortalVisits` bound the work; when the visit budget runs out, or a
 *   chain would go on past `maxDepth`, the answer falls back to the whole PVS, which stays
 *   conservative.
 * - A one-way portal passes sight only from its `from` cell into its `to` cell.
 * - An eye outside every cell (farther than `outsideTolerance` from the nearest cell: an
 *   orbit view of the whole level) sees the cells from outside, through their walls'
 *   outer faces, not through portals: every cell whose box meets the view volume is
 *   visible and `stats.cameraCell` is -1. Within the tolerance (an eye grazing a wall)
 *   the walk starts from the nearest cell, and the cells whose boxes meet the view volume
 *   are visible too (the outer faces of the walls along a facade beside the eye).
 *
 * - An orthographic camera (`cullCamera`) has parallel sight lines starting all over its near
 *   plane, not at one eye: every cell whose box meets its view volume is visible (`cullVolume`).
 *
 * Cost: O(portal visits × planes) per frame; every scratch object (planes, polygon
 * buffers) lives in pools owned by the culler, so a frame allocates nothing once
 * the pools have grown to the scene's deepest path.
 *
 * Pure math on three's Vector3/Plane: no renderer code, so the same culler serves
 * WebGLRenderer, WebGPURenderer and node.
 */

const _frustum = new Frustum();
const _projScreen = new Matrix4();
const _edgeA = new Vector3();
const _edgeB = new Vector3();
const _normal = new Vector3();
const _centroid = new Vector3();
const _portalBox = new Box3();

/** Points at most this far outside a clip plane still count as inside (metres). */
const CLIP_EPSILON = 1e-7;
/**
 * A view-volume plane the eye lies farther behind than this (relative to the eye's largest
 * coordinate, at least 1 m) bounds where drawing starts, not which sight lines there are.
 */
const NEAR_SLACK = 1e-9;
/** Edge planes from edges shorter than this (or seen end-on) are dropped: conservative. */
const MIN_EDGE_CROSS = 1e-12;

/**
 * @typedef {Object} CullStats
 * @property {number} cameraCell index of the camera's cell (-1 for an empty scene or an eye outside every cell)
 * @property {boolean} outside the eye was outside every cell: the result is the cells in the view volume
 * @property {number} cellsVisible cells in the result
 * @property {number} portalsTested portals clipped this frame
 * @property {number} portalsPassed portals something was seen through
 * @property {number} maxDepth deepest portal chain followed
 * @property {boolean} budgetExceeded true when the visit budget ran out (result = PVS)
 * @property {boolean} depthExceeded true when a portal chain went on past `maxDepth` (result = PVS)
 * @property {number} timeMs time spent in the last cull
 */

export class PortalCuller {

	/**
	 * @param {import('./PortalScene.js').PortalScene} scene
	 * @param {Object} [options]
	 * @param {boolean} [options.usePvs=true] skip cells outside the camera cell's PVS
	 * @param {number} [options.maxDepth=64] longest portal chain followed
	 * @param {number} [options.maxPortalVisits=20000] portal clips per frame before falling back to the PVS
	 * @param {number} [options.doorwayEpsilon=0.15] eye this close to a portal's polygon (metres) sees through it unclipped
	 * @param {number} [options.outsideTolerance=0.5] eye farther than this from every cell box (metres) is outside the level
	 */
	constructor( scene, options = {} ) {

		const { usePvs = true, maxDepth = 64, maxPortalVisits = 20000, doorwayEpsilon = 0.15, outsideTolerance = 0.5 } = options;
		if ( ! scene || ! Array.isArray( scene.cells ) ) throw new Error( 'PortalCuller: needs a PortalScene' );
		if ( ! ( maxDepth >= 1 ) ) throw new Error( 'PortalCuller: maxDepth must be at least 1' );
		if ( ! ( maxPortalVisits >= 1 ) ) throw new Error( 'PortalCuller: maxPortalVisits must be at least 1' );
		if ( ! ( doorwayEpsilon >= 0 ) ) throw new Error( 'PortalCuller: doorwayEpsilon must be >= 0' );
		if ( ! ( outsideTolerance >= 0 ) ) throw new Error( 'PortalCuller: outsideTolerance must be >= 0' );

		/** @type {import('./PortalScene.js').PortalScene} */
		this.scene = scene;
		this.usePvs = usePvs;
		this.maxDepth = maxDepth;
		this.maxPortalVisits = maxPortalVisits;
		this.doorwayEpsilon = doorwayEpsilon;
		this.outsideTolerance = outsideTolerance;

		const n = scene.cells.length;
		/** visible[i] === 1 when cell i was found visible by the last cull. */
		this.visible = new Uint8Array( n );
		/** The visible cell indices, first `stats.cellsVisible` entries valid. */
		this.visibleList = new Int32Array( n );
		/** @type {CullStats} */
		this.stats = { cameraCell: - 1, outside: false, cellsVisible: 0, portalsTested: 0, portalsPassed: 0, maxDepth: 0, budgetExceeded: false, depthExceeded: false, timeMs: 0 };

		this._onPath = new Uint8Array( n );
		/** @type {Plane[]} a stack: each level's planes sit above its parent's */
		this._planes = [];
		/** @type {Vector3[][]} two polygon buffers per depth */
		this._polys = [];
		/** @type {Plane|null} */
		this._far = null;
		this._eye = new Vector3();
		this._pvs = /** @type {Uint8Array|null} */ ( null );
		this._budget = 0;
		/** @type {number[]} the cells the last walk started from */
		this._starts = [];

	}

	/**
	 * Cull for a three.js camera (world matrices must be current). Honours the camera's
	 * coordinate system (WebGL or WebGPU clip space) and reversed depth.
	 * @param {import('three').Camera} camera
	 * @returns {number} the number of visible cells
	 */
	cullCamera( camera ) {

		_projScreen.multiplyMatrices( camera.projectionMatrix, camera.matrixWorldInverse );
		_frustum.setFromProjectionMatrix( _projScreen, camera.coordinateSystem, camera.reversedDepth === true );
		if ( camera.isOrthographicCamera ) return this.cullVolume( _frustum.planes );
		_edgeA.setFromMatrixPosition( camera.matrixWorld );
		return this.cull( _edgeA, _frustum.planes, _frustum.planes[ 4 ] );

	}

	/**
	 * Cull from an eye point and a convex view volume.
	 * @param {Vector3} eye the viewpoint (world space)
	 * @param {Plane[]} planes the view volume's planes, normals pointing inwards (as three's Frustum); a plane the eye lies
	 *   behind (the near plane) is not used to clip portals
	 * @param {Plane|null} [farPlane=null] a plane kept at every depth (the camera's far plane)
	 * @returns {number} the number of visible cells
	 */
	cull( eye, planes, farPlane = null ) {

		const t0 = performance.now();
		const stats = this.stats;
		const scene = this.scene;
		this._clear();

		let start = scene.findCell( eye );
		if ( start >= 0 && scene.distanceToCell( start, eye ) > this.outsideTolerance ) {

			stats.outside = true;
			start = - 1;
			for ( const cell of scene.cells ) if ( boxMeetsPlanes( cell.aabb, planes ) ) this._mark( cell.index );

		}
		stats.cameraCell = start;
		if ( start < 0 ) {

			stats.timeMs = performance.now() - t0;
			return stats.cellsVisible;

		}

		this._eye.copy( eye );
		this._far = farPlane;
		this._budget = this.maxPortalVisits;
		// Portals are clipped by the planes through the eye (the frustum's sides) and those ahead of
		// it (the far plane), not by a plane the eye lies behind (the near plane): a sight line that
		// passes a portal between the eye and the near plane goes on into the cell behind it, which
		// is on screen (a near plane of 1 m hid the rooms seen through a doorway 0.5 m ahead).
		const behind = - NEAR_SLACK * Math.max( 1, Math.abs( eye.x ), Math.abs( eye.y ), Math.abs( eye.z ) );
		let planeCount = 0;
		for ( let i = 0; i < planes.length; i ++ ) {

			if ( planes[ i ].distanceToPoint( eye ) >= behind ) this._plane( planeCount ++ ).copy( planes[ i ] );

		}

		// The walk starts from every cell that holds the eye: the boxes of turned, L-shaped or
		// hexagonal rooms overlap, and the eye may be in any of them (the smallest box alone hid
		// the room the camera stood in). An eye near but outside every cell starts from the nearest.
		const starts = scene.findCells( eye, 1e-4, this._starts );
		if ( starts.length === 0 ) {

			// Outside every cell, within the tolerance: the walls' outer faces in view are seen as
			// from farther out (the cells along a facade beside the eye), besides the nearest cell's walk.
			starts.push( start );
			for ( const cell of scene.cells ) if ( boxMeetsPlanes( cell.aabb, planes ) ) this._mark( cell.index );

		}
		for ( const s of starts ) {

			this._pvs = this.usePvs ? scene.cells[ s ].pvs : null;
			this._mark( s );
			this._onPath[ s ] = 1;
			this._walk( s, 0, planeCount, 0 );
			this._onPath[ s ] = 0;

		}

		if ( stats.budgetExceeded || stats.depthExceeded ) {

			for ( const s of starts ) {

				const pvs = scene.cells[ s ].pvs;
				for ( let i = 0; i < pvs.length; i ++ ) if ( pvs[ i ] ) this._mark( i );

			}

		}
		stats.timeMs = performance.now() - t0;
		return stats.cellsVisible;

	}

	/**
	 * Cull for parallel sight lines (an orthographic camera): every cell whose box meets the view
	 * volume is visible. Sight lines do not meet at an eye but start all over the near plane,
	 * in whichever rooms it crosses, so a walk from one cell through narrowing portal volumes does
	 * not hold; `stats.cameraCell` is -1 and `stats.outside` true, as for an eye outside the level.
	 * @param {Plane[]} planes the view volume's planes, normals pointing inwards
	 * @returns {number} the number of visible cells
	 */
	cullVolume( planes ) {

		const t0 = performance.now();
		const stats = this.stats;
		this._clear();
		stats.outside = true;
		stats.cameraCell = - 1;
		for ( const cell of this.scene.cells ) if ( boxMeetsPlanes( cell.aabb, planes ) ) this._mark( cell.index );
		stats.timeMs = performance.now() - t0;
		return stats.cellsVisible;

	}

	/** Start a cull: no cell visible, the walk's counters and flags cleared. */
	_clear() {

		const stats = this.stats;
		this.visible.fill( 0 );
		stats.cellsVisible = 0;
		stats.portalsTested = 0;
		stats.portalsPassed = 0;
		stats.maxDepth = 0;
		stats.budgetExceeded = false;
		stats.depthExceeded = false;
		stats.outside = false;

	}

	/**
	 * The ids of the cells found visible by the last cull.
	 * @returns {string[]}
	 */
	visibleIds() {

		const ids = [];
		for ( let i = 0; i < this.stats.cellsVisible; i ++ ) ids.push( this.scene.cells[ this.visibleList[ i ] ].id );
		return ids;

	}

	/** Drop the pools (the culler stays usable; they grow again on demand). */
	dispose() {

		this._planes.length = 0;
		this._polys.length = 0;
		this._far = null;
		this._pvs = null;

	}

	/** @param {number} i */
	_mark( i ) {

		if ( this.visible[ i ] ) return;
		this.visible[ i ] = 1;
		this.visibleList[ this.stats.cellsVisible ++ ] = i;

	}

	/**
	 * @param {number} i
	 * @returns {Plane}
	 */
	_plane( i ) {

		while ( this._planes.length <= i ) this._planes.push( new Plane() );
		return this._planes[ i ];

	}

	/**
	 * @param {number} depth
	 * @param {number} which 0 or 1
	 * @param {number} size
	 * @returns {Vector3[]}
	 */
	_poly( depth, which, size ) {

		while ( this._polys.length <= depth ) this._polys.push( [ [], [] ] );
		const buffer = this._polys[ depth ][ which ];
		while ( buffer.length < size ) buffer.push( new Vector3() );
		return buffer;

	}

	/**
	 * Visit the portals of `cellIndex` seen through planes [planeStart, planeStart + planeCount).
	 * @param {number} cellIndex
	 * @param {number} planeStart
	 * @param {number} planeCount
	 * @param {number} depth
	 */
	_walk( cellIndex, planeStart, planeCount, depth ) {

		const scene = this.scene;
		const stats = this.stats;
		if ( depth > stats.maxDepth ) stats.maxDepth = depth;
		const eye = this._eye;
		const cell = scene.cells[ cellIndex ];
		if ( depth >= this.maxDepth ) {

			// The chain goes on past the depth limit: what lies beyond is unknown, so the answer
			// falls back to the PVS, as when the visit budget runs out (a straight corridor of
			// 100 rooms showed 65 of them).
			for ( let k = 0; k < cell.portals.length; k ++ ) {

				const portal = scene.portals[ cell.portals[ k ] ];
				const other = portal.from === cellIndex ? portal.to : portal.from;
				if ( ! this._onPath[ other ] && ( this._pvs === null || this._pvs[ other ] ) ) stats.depthExceeded = true;

			}
			return;

		}

		for ( let k = 0; k < cell.portals.length; k ++ ) {

			if ( stats.budgetExceeded ) return;
			const portal = scene.portals[ cell.portals[ k ] ];
			const forward = portal.from === cellIndex;
			const other = forward ? portal.to : portal.from;
			if ( other === cellIndex || this._onPath[ other ] ) continue;
			if ( portal.oneWay && ! forward ) continue;
			if ( this._pvs !== null && this._pvs[ other ] === 0 ) continue;

			if ( -- this._budget < 0 ) {

				stats.budgetExceeded = true;
				return;

			}
			stats.portalsTested ++;

			// signed distance of the eye from the portal plane, positive on `other`'s side
			const side = forward ? portal.plane.distanceToPoint( eye ) : - portal.plane.distanceToPoint( eye );

			if ( Math.abs( side ) <= this.doorwayEpsilon && this._inDoorway( portal ) ) {

				// standing in the doorway: everything the current volume holds passes
				stats.portalsPassed ++;
				this._mark( other );
				this._onPath[ other ] = 1;
				this._walk( other, planeStart, planeCount, depth + 1 );
				this._onPath[ other ] = 0;
				continue;

			}
			if ( side >= 0 ) continue; // the portal faces away from the eye (or is seen edge-on)

			const count = this._clip( portal, planeStart, planeCount, depth );
			if ( count < 3 ) continue;

			stats.portalsPassed ++;
			this._mark( other );
			const childStart = planeStart + planeCount;
			const childCount = this._buildPlanes( portal, forward, depth, count, childStart );
			this._onPath[ other ] = 1;
			this._walk( other, childStart, childCount, depth + 1 );
			this._onPath[ other ] = 0;

		}

	}

	/**
	 * Is the eye within `doorwayEpsilon` of the portal polygon's bounds?
	 * @param {import('./PortalScene.js').Portal} portal
	 * @returns {boolean}
	 */
	_inDoorway( portal ) {

		_portalBox.setFromPoints( portal.quad );
		return _portalBox.distanceToPoint( this._eye ) <= this.doorwayEpsilon;

	}

	/**
	 * Clip the portal polygon against the current planes; the result lands in
	 * `_polys[depth][0]`.
	 * @returns {number} the number of vertices left
	 */
	_clip( portal, planeStart, planeCount, depth ) {

		const maxSize = 4 + planeCount;
		let src = this._poly( depth, 0, maxSize );
		let dst = this._poly( depth, 1, maxSize );
		for ( let i = 0; i < 4; i ++ ) src[ i ].copy( portal.quad[ i ] );
		let count = 4;

		for ( let p = 0; p < planeCount && count >= 3; p ++ ) {

			const plane = this._planes[ planeStart + p ];
			let out = 0;
			let a = src[ count - 1 ];
			let da = plane.distanceToPoint( a );
			for ( let i = 0; i < count; i ++ ) {

				const b = src[ i ];
				const db = plane.distanceToPoint( b );
				const aIn = da >= - CLIP_EPSILON, bIn = db >= - CLIP_EPSILON;
				if ( aIn !== bIn ) {

					const t = da / ( da - db );
					dst[ out ++ ].copy( a ).lerp( b, t );

				}
				if ( bIn ) dst[ out ++ ].copy( b );
				a = b;
				da = db;

			}
			count = out;
			const swap = src;
			src = dst;
			dst = swap;

		}
		if ( src !== this._polys[ depth ][ 0 ] ) {

			const target = this._polys[ depth ][ 0 ];
			for ( let i = 0; i < count; i ++ ) target[ i ].copy( src[ i ] );

		}
		return count;

	}

	/**
	 * Write the child volume at `childStart`: the portal plane (facing into the next
	 * cell), one plane through the eye and each clipped edge, the far plane.
	 * @returns {number} the number of planes written
	 */
	_buildPlanes( portal, forward, depth, count, childStart ) {

		const eye = this._eye;
		const poly = this._polys[ depth ][ 0 ];
		let n = 0;

		const near = this._plane( childStart + n ++ ).copy( portal.plane );
		if ( ! forward ) near.negate();

		_centroid.set( 0, 0, 0 );
		for ( let i = 0; i < count; i ++ ) _centroid.add( poly[ i ] );
		_centroid.multiplyScalar( 1 / count );

		for ( let i = 0; i < count; i ++ ) {

			_edgeA.subVectors( poly[ i ], eye );
			_edgeB.subVectors( poly[ ( i + 1 ) % count ], eye );
			_normal.crossVectors( _edgeA, _edgeB );
			const lengthSq = _normal.lengthSq();
			if ( lengthSq < MIN_EDGE_CROSS ) continue;
			const plane = this._plane( childStart + n );
			plane.setFromNormalAndCoplanarPoint( _normal.multiplyScalar( 1 / Math.sqrt( lengthSq ) ), eye );
			if ( plane.distanceToPoint( _centroid ) < 0 ) plane.negate();
			n ++;

		}
		if ( this._far !== null ) this._plane( childStart + n ++ ).copy( this._far );
		return n;

	}

}

/**
 * Does `box` reach the inner side of every plane (normals pointing inwards)? Conservative:
 * a box straddling a corner of the volume outside it still counts.
 * @param {Box3} box
 * @param {Plane[]} planes
 * @returns {boolean}
 */
function boxMeetsPlanes( box, planes ) {

	for ( let i = 0; i < planes.length; i ++ ) {

		const n = planes[ i ].normal;
		_edgeB.set( n.x > 0 ? box.max.x : box.min.x, n.y > 0 ? box.max.y : box.min.y, n.z > 0 ? box.max.z : box.min.z );
		if ( planes[ i ].distanceToPoint( _edgeB ) < 0 ) return false;

	}
	return true;

}
