import { BufferAttribute, BufferGeometry, DoubleSide, Mesh, MeshBasicMaterial, Ray, Vector3 } from 'three';
import { acceleratedRaycast, computeBoundsTree, disposeBoundsTree } from 'three-mesh-bvh';

/**
 * A static collision world: every mesh under a root merged into one world-space
 * triangle soup with a three-mesh-bvh bounds tree, for raycasts and for the
 * capsule walker's shapecasts.
 *
 * Merging costs one pass over the vertices (quantized KHR_mesh_quantization
 * attributes are denormalized by `fromBufferAttribute`'s getters, node scales
 * undo the quantization through matrixWorld). The BVH build is O(n log n);
 * about 40 ms for 100k triangles on a laptop core.
 *
 * No prototype patching: `computeBoundsTree` is called on the merged geometry
 * only, and `acceleratedRaycast` is set on the collider mesh instance only.
 */

const _v = new Vector3();
const _ray = new Ray();

/** The bounds tree of a world without triangles: no ray hits it, no shape touches it. */
const EMPTY_WORLD = Object.freeze( {
	raycastFirst: () => null,
	shapecast: () => false,
} );

/**
 * @typedef {Object} RayHit
 * @property {number} distance along the ray
 * @property {Vector3} point world-space hit point
 * @property {Vector3} normal the hit face's normal (world space, facing the ray's origin)
 */

/**
 * Merge the world-space positions of every visible mesh under `root` into one indexed geometry.
 * @param {import('three').Object3D} root
 * @param {(mesh: Mesh) => boolean} [filter] which meshes collide (default: every Mesh)
 * @returns {BufferGeometry}
 */
export function mergeWorldGeometry( root, filter = () => true ) {

	root.updateMatrixWorld( true );
	/** @type {Mesh[]} */
	const meshes = [];
	root.traverse( ( node ) => {

		if ( node.isMesh && node.geometry && node.geometry.attributes.position && ! node.isInstancedMesh && filter( node ) ) meshes.push( node );

	} );
	let vertexCount = 0, indexCount = 0;
	for ( const m of meshes ) {

		const g = m.geometry;
		vertexCount += g.attributes.position.count;
		indexCount += g.index ? g.index.count : g.attributes.position.count;

	}
	const positions = new Float32Array( vertexCount * 3 );
	const index = new Uint32Array( indexCount );
	let vOffset = 0, iOffset = 0;
	for ( const m of meshes ) {

		const g = m.geometry;
		const pos = g.attributes.position;
		for ( let i = 0; i < pos.count; i ++ ) {

			_v.fromBufferAttribute( pos, i ).applyMatrix4( m.matrixWorld );
			positions[ 3 * ( vOffset + i ) ] = _v.x;
			positions[ 3 * ( vOffset + i ) + 1 ] = _v.y;
			positions[ 3 * ( vOffset + i ) + 2 ] = _v.z;

		}
		if ( g.index ) {

			for ( let i = 0; i < g.index.count; i ++ ) index[ iOffset + i ] = vOffset + g.index.getX( i );
			iOffset += g.index.count;

		} else {

			for ( let i = 0; i < pos.count; i ++ ) index[ iOffset + i ] = vOffset + i;
			iOffset += pos.count;

		}
		vOffset += pos.count;

	}
	const merged = new BufferGeometry();
	merged.setAttribute( 'position', new BufferAttribute( positions, 3 ) );
	merged.setIndex( new BufferAttribute( index, 1 ) );
	return merged;

}

export class Collision {

	/**
	 * @param {import('three').Object3D|BufferGeometry} source a scene graph (its meshes are merged in world
	 *   space) or a world-space geometry (used as is; the collision world then owns it)
	 * @param {Object} [options]
	 * @param {(mesh: Mesh) => boolean} [options.filter] which meshes of a scene graph collide
	 */
	constructor( source, options = {} ) {

		if ( ! source ) throw new Error( 'Collision: needs an Object3D or a BufferGeometry' );
		const geometry = source.isBufferGeometry ? source : mergeWorldGeometry( source, options.filter );
		// A world without triangles (a file of instanced meshes, points or lines only) has nothing to hit:
		// rays and the walker's capsule pass through (three-mesh-bvh builds no tree over nothing).
		const empty = ! geometry.attributes.position || geometry.attributes.position.count === 0;
		if ( ! empty ) computeBoundsTree.call( geometry );
		/** @type {BufferGeometry} */
		this.geometry = geometry;
		/** @type {import('three-mesh-bvh').MeshBVH|typeof EMPTY_WORLD} */
		this.bvh = empty ? EMPTY_WORLD : geometry.boundsTree;
		/** A mesh over the collision geometry, raycastable with three's Raycaster (BVH-accelerated). */
		this.mesh = new Mesh( geometry, new MeshBasicMaterial( { side: DoubleSide, wireframe: true } ) );
		this.mesh.raycast = acceleratedRaycast;
		this.mesh.visible = false;

	}

	/** @returns {number} */
	get triangleCount() {

		if ( this.bvh === EMPTY_WORLD ) return 0;
		return this.geometry.index ? this.geometry.index.count / 3 : this.geometry.attributes.position.count / 3;

	}

	/**
	 * The first hit along a ray, either face side.
	 * @param {Vector3} origin
	 * @param {Vector3} direction need not be normalized
	 * @param {number} [far=Infinity]
	 * @param {RayHit} [target] filled and returned when given (no allocation)
	 * @returns {RayHit|null}
	 */
	raycast( origin, direction, far = Infinity, target ) {

		_ray.origin.copy( origin );
		_ray.direction.copy( direction ).normalize();
		const hit = this.bvh.raycastFirst( _ray, DoubleSide, 0, far );
		if ( ! hit ) return null;
		const out = target || { distance: 0, point: new Vector3(), normal: new Vector3() };
		out.distance = hit.distance;
		out.point.copy( hit.point );
		if ( hit.face ) {

			out.normal.copy( hit.face.normal );
			if ( out.normal.dot( _ray.direction ) > 0 ) out.normal.negate();

		} else {

			out.normal.set( 0, 0, 0 );

		}
		return out;

	}

	/**
	 * Is there a clear straight line between two points? False when either point is not finite
	 * (NaN, infinite) or their distance overflows: no line joins them, so none is clear.
	 * @param {Vector3} a
	 * @param {Vector3} b
	 * @returns {boolean}
	 */
	lineOfSight( a, b ) {

		_v.subVectors( b, a );
		const length = _v.length();
		// a NaN ray hits nothing, and answered clear through every wall
		if ( ! Number.isFinite( length ) ) return false;
		if ( length === 0 ) return true;
		return this.raycast( a, _v, length ) === null;

	}

	/** Release the BVH, the geometry and the helper material. */
	dispose() {

		disposeBoundsTree.call( this.geometry );
		this.geometry.dispose();
		this.mesh.material.dispose();

	}

}
