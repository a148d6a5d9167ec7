import { Box3, DoubleSide, Ray, Vector3 } from 'three';
import { ExtendedTriangle } from 'three-mesh-bvh';

const _ray = new Ray();
const _local = new Ray();
const _box = new Box3();
const _tri = new ExtendedTriangle();
const _v = new Vector3();

/**
 * Collision over the loaded cells' shipped BVHs, with `Collision`'s surface (`raycast`,
 * `lineOfSight`, and `bvh.shapecast` in world space for the capsule walker).
 */
export class CellCollision {

	/** @param {import('./StreamingScene.js').StreamingScene} streaming */
	constructor( streaming ) {

		this.streaming = streaming;
		this.bvh = { shapecast: ( callbacks ) => this.shapecast( callbacks ) };

	}

	/**
	 * The first hit along a ray through the loaded cells, either face side.
	 * @param {Vector3} origin
	 * @param {Vector3} direction
	 * @param {number} [far=Infinity]
	 * @param {Object} [target]
	 * @returns {{distance: number, point: Vector3, normal: Vector3, cellIndex: number}|null}
	 */
	raycast( origin, direction, far = Infinity, target ) {

		const { position, scale } = this.streaming._transform;
		_ray.origin.copy( origin );
		_ray.direction.copy( direction ).normalize();
		let best = null, bestDistance = far;
		this.streaming.meshes.forEach( ( mesh, i ) => {

			if ( ! mesh || ! mesh.geometry.boundsTree ) return;
			const box = this.streaming.portalScene.cells[ i ].aabb;
			if ( ! box.containsPoint( _ray.origin ) && ! _ray.intersectsBox( box, _v ) ) return;
			_local.origin.set( ( origin.x - position[ 0 ] ) / scale, ( origin.y - position[ 1 ] ) / scale, ( origin.z - position[ 2 ] ) / scale );
			_local.direction.copy( _ray.direction );
			const hit = mesh.geometry.boundsTree.raycastFirst( _local, DoubleSide, 0, bestDistance / scale );
			if ( hit && hit.distance * scale < bestDistance ) {

				bestDistance = hit.distance * scale;
				best = { hit, i };

			}

		} );
		if ( ! best ) return null;
		const out = target || { distance: 0, point: new Vector3(), normal: new Vector3(), cellIndex: - 1 };
		out.distance = bestDistance;
		out.point.copy( _ray.origin ).addScaledVector( _ray.direction, bestDistance );
		out.normal.copy( best.hit.face.normal );
		if ( out.normal.dot( _ray.direction ) > 0 ) out.normal.negate();
		out.cellIndex = best.i;
		return out;

	}

	/**
	 * Is there a clear straight line between two points (through loaded cells)? False when either
	 * point is not finite (NaN, infinite) or their distance overflows, as `Collision.lineOfSight`.
	 * @param {Vector3} a
	 * @param {Vector3} b
	 */
	lineOfSight( a, b ) {

		_v.subVectors( b, a );
		const length = _v.length();
		// a NaN ray meets no cell's box, and answered clear through every wall
		if ( ! Number.isFinite( length ) ) return false;
		// raycast copies the direction before it uses _v again
		return length === 0 || this.raycast( a, _v, length ) === null;

	}

	/**
	 * three-mesh-bvh `shapecast` over every loaded cell, with world-space boxes and triangles.
	 * @param {{intersectsBounds: Function, intersectsTriangle: Function}} callbacks
	 */
	shapecast( callbacks ) {

		const { position, scale } = this.streaming._transform;
		let stop = false;
		for ( const mesh of this.streaming.meshes ) {

			if ( stop ) break;
			if ( ! mesh || ! mesh.geometry.boundsTree ) continue;
			stop = mesh.geometry.boundsTree.shapecast( {
				intersectsBounds: ( box, isLeaf, score, depth, nodeIndex ) => {

					_box.min.set( box.min.x * scale + position[ 0 ], box.min.y * scale + position[ 1 ], box.min.z * scale + position[ 2 ] );
					_box.max.set( box.max.x * scale + position[ 0 ], box.max.y * scale + position[ 1 ], box.max.z * scale + position[ 2 ] );
					return callbacks.intersectsBounds( _box, isLeaf, score, depth, nodeIndex );

				},
				intersectsTriangle: ( tri, index, contained, depth ) => {

					// per triangle of every substep's shapecast: set in place, no arrays made
					toWorld( tri.a, _tri.a, position, scale );
					toWorld( tri.b, _tri.b, position, scale );
					toWorld( tri.c, _tri.c, position, scale );
					_tri.needsUpdate = true;
					return callbacks.intersectsTriangle( _tri, index, contained, depth );

				},
			} ) === true;

		}
		return stop;

	}

	/** Nothing to release: the BVHs belong to the cells. */
	dispose() {}

}

/**
 * `target` = `local` scaled by `scale` and moved by `position` (a cell's transform).
 * @param {Vector3} local
 * @param {Vector3} target
 * @param {number[]} position
 * @param {number} scale
 */
function toWorld( local, target, position, scale ) {

	target.set( local.x * scale + position[ 0 ], local.y * scale + position[ 1 ], local.z * scale + position[ 2 ] );

}
