import { PerspectiveCamera, Vector3 } from 'three';

/**
 * Hand-made cell/portal layouts for the tests. Rooms are boxes from y = 0 to 3;
 * doorways are quads on the wall two rooms share, wound so the normal points into `to`.
 */

/**
 * @param {string} cellId
 * @param {number} x0
 * @param {number} z0
 * @param {number} x1
 * @param {number} z1
 */
export function room( cellId, x0, z0, x1, z1 ) {

	return { cellId, aabb: [ x0, 0, z0, x1, 3, z1 ] };

}

/**
 * Doorway on the plane x = `x`, spanning z0..z1, y 0..2.2; normal +x (from the low-x room into the high-x room).
 */
export function doorX( from, to, x, z0, z1, extra = {} ) {

	return { from, to, quad: [ x, 0, z1, x, 2.2, z1, x, 2.2, z0, x, 0, z0 ], ...extra };

}

/**
 * Doorway on the plane z = `z`, spanning x0..x1, y 0..2.2; normal +z.
 */
export function doorZ( from, to, z, x0, x1, extra = {} ) {

	return { from, to, quad: [ x0, 0, z, x0, 2.2, z, x1, 2.2, z, x1, 0, z ], ...extra };

}

/**
 * A meta-shaped object; with no `pvs` a cell sees every cell.
 */
export function meta( cells, portals, pvs = null ) {

	return {
		sceneId: 'test',
		visibility: {
			cells: cells.map( ( c ) => ( pvs ? { ...c, pvs: pvs[ c.cellId ] } : { ...c } ) ),
			portals,
		},
	};

}

/**
 * A camera at `eye` looking at `target`, matrices current.
 * @returns {PerspectiveCamera}
 */
export function camera( eye, target, fov = 90, near = 0.05 ) {

	const cam = new PerspectiveCamera( fov, 1, near, 1000 );
	cam.position.set( eye[ 0 ], eye[ 1 ], eye[ 2 ] );
	cam.lookAt( new Vector3( target[ 0 ], target[ 1 ], target[ 2 ] ) );
	cam.updateMatrixWorld( true );
	cam.updateProjectionMatrix();
	return cam;

}
