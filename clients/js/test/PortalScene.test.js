import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Vector3 } from 'three';
import { PortalScene } from '../core/PortalScene.js';
import { PortalCuller } from '../core/PortalCuller.js';
import { visibilityFromIndex } from '../core/StreamIndex.js';
import { camera, doorX, meta, room } from './fixtures.js';

/** A — B — C along +x, moved `dx` along x. */
function corridor( dx ) {

	const shift = ( c ) => ( { ...c, aabb: c.aabb.map( ( v, k ) => ( k % 3 === 0 ? v + dx : v ) ) } );
	const door = ( p ) => ( { ...p, quad: p.quad.map( ( v, k ) => ( k % 3 === 0 ? v + dx : v ) ) } );
	return meta(
		[ shift( room( 'A', 0, - 2, 4, 2 ) ), shift( room( 'B', 4, - 2, 8, 2 ) ), shift( room( 'C', 8, - 2, 12, 2 ) ) ],
		[ door( doorX( 'A', 'B', 4, - 0.5, 0.5 ) ), door( doorX( 'B', 'C', 8, - 0.5, 0.5 ) ) ],
	);

}

function seen( scene, eye, target ) {

	const culler = new PortalCuller( scene );
	culler.cullCamera( camera( eye, target ) );
	return culler.visibleIds().sort();

}

test( 'PortalScene.fromMeta refuses coordinates past the ±1e6 m a build writes, naming the cell or portal, rather than culling wrongly', () => {

	// at 1e6 m (the compiler's bound, docs/limits.md) the corridor culls as at the origin
	const edge = PortalScene.fromMeta( corridor( 1e6 - 12 ) );
	assert.deepEqual( seen( edge, [ 1e6 - 10, 1.5, 0 ], [ 1e6, 1.5, 0 ] ), [ 'A', 'B', 'C' ] );
	assert.deepEqual( seen( edge, [ 1e6 - 10, 1.5, 0 ], [ 1e6 - 30, 1.5, 0 ] ), [ 'A' ] );
	// 1e20 m out, the camera in A looking away from every doorway saw all three rooms
	assert.throws( () => PortalScene.fromMeta( corridor( 1e20 ) ), /^Error: PortalScene: cell "A" has an aabb beyond ±1000000 m \(100000000000000000000\)/ );
	const far = corridor( 0 );
	far.visibility.portals[ 1 ].quad[ 2 ] = - 1e20;
	assert.throws( () => PortalScene.fromMeta( far ), /^Error: PortalScene: portal 1 \("B" -> "C"\) has a quad beyond ±1000000 m \(-100000000000000000000\)/ );
	const wide = meta( [ { ...room( 'L', 0, 0, 6, 6 ), floor: [ [ 0, 0 ], [ 6, 0 ], [ 6, 3 ], [ 2e6, 6 ] ] } ], [] );
	assert.throws( () => PortalScene.fromMeta( wide ), /^Error: PortalScene: cell "L" has a floor beyond ±1000000 m \(2000000\)/ );

} );

test( 'PortalScene.fromMeta refuses a portal quad of no area even when it has a plane, naming it, rather than seeing through it', () => {

	const cells = [ room( 'A', 0, - 2, 4, 2 ), room( 'B', 4, - 2, 8, 2 ) ];
	const named = /^Error: PortalScene: portal 0 \("A" -> "B"\) has a quad of no area/;
	// a segment, a point, and a sliver of 0.1 mm² (the compiler refuses quads under 1 mm²: `degenerate`)
	const quads = [
		[ 4, 0, 0.5, 4, 2.2, 0.5, 4, 2.2, 0.5, 4, 0, 0.5 ],
		[ 4, 1, 0, 4, 1, 0, 4, 1, 0, 4, 1, 0 ],
		[ 4, 0, 0, 4, 0.01, 0, 4, 0.01, 0.00001, 4, 0, 0.00001 ],
	];
	for ( const quad of quads ) {

		assert.throws( () => PortalScene.fromMeta( meta( cells, [ { from: 'A', to: 'B', quad, plane: [ 1, 0, 0, - 4 ] } ] ) ), named, quad.join() );
		assert.throws( () => PortalScene.fromMeta( meta( cells, [ { from: 'A', to: 'B', quad } ] ) ), named, quad.join() );

	}
	// 1 mm × 1 mm, at the compiler's bound, is a doorway
	const small = [ 4, 1, 0, 4, 1.001, 0, 4, 1.001, 0.001, 4, 1, 0.001 ];
	assert.equal( PortalScene.fromMeta( meta( cells, [ { from: 'A', to: 'B', quad: small, plane: [ 1, 0, 0, - 4 ] } ] ) ).portals.length, 1 );

} );

test( 'PortalScene.fromMeta refuses a cell box whose min passes its max, naming the cell and axis', () => {

	const inverted = meta( [ room( 'A', 0, - 2, 4, 2 ), { cellId: 'B', aabb: [ 8, 0, - 2, 4, 3, 2 ] } ], [] );
	assert.throws( () => PortalScene.fromMeta( inverted ), /^Error: PortalScene: cell "B" has an aabb whose min x 8 passes its max 4/ );
	const index = { cells: [ [ 'A', 0, 0, [ 0, 3, 0, 4, 0, 4 ] ] ], portals: [] };
	assert.throws( () => PortalScene.fromMeta( visibilityFromIndex( index ) ), /cell "A" has an aabb whose min y 3 passes its max 0/ );
	// a flat box (min = max) is a box
	assert.equal( PortalScene.fromMeta( meta( [ { cellId: 'F', aabb: [ 0, 0, 0, 4, 0, 4 ] } ], [] ) ).cells.length, 1 );
	assert.equal( PortalScene.fromMeta( meta( [ { cellId: 'F', aabb: [ 0, 0, 0, 4, 0, 4 ] } ], [] ) ).findCell( new Vector3( 1, 0, 1 ) ), 0 );

} );
