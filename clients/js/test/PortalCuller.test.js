import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Frustum, Matrix4, OrthographicCamera, Ray, Vector3 } from 'three';
import { PortalScene } from '../core/PortalScene.js';
import { PortalCuller } from '../core/PortalCuller.js';
import { camera, doorX, doorZ, meta, room } from './fixtures.js';

function visibleFrom( m, eye, target, options = {}, cameraOptions = [] ) {

	const scene = PortalScene.fromMeta( m );
	const culler = new PortalCuller( scene, options );
	culler.cullCamera( camera( eye, target, ...cameraOptions ) );
	return { ids: culler.visibleIds().sort(), culler, scene };

}

// A — B — C along +x, doorways lined up at z = 0.
const corridor = ( extraAB = {} ) => meta(
	[ room( 'A', 0, - 2, 4, 2 ), room( 'B', 4, - 2, 8, 2 ), room( 'C', 8, - 2, 12, 2 ) ],
	[ doorX( 'A', 'B', 4, - 0.5, 0.5, extraAB ), doorX( 'B', 'C', 8, - 0.5, 0.5 ) ],
);

test( 'PortalCuller corridor: looking down aligned doorways sees every cell', () => {

	assert.deepEqual( visibleFrom( corridor(), [ 2, 1.5, 0 ], [ 10, 1.5, 0 ] ).ids, [ 'A', 'B', 'C' ] );

} );

test( 'PortalCuller corridor: a portal behind the camera is culled', () => {

	assert.deepEqual( visibleFrom( corridor(), [ 2, 1.5, 0 ], [ - 10, 1.5, 0 ] ).ids, [ 'A' ] );
	assert.deepEqual( visibleFrom( corridor(), [ 6, 1.5, 0 ], [ 20, 1.5, 0 ] ).ids, [ 'B', 'C' ] );

} );

test( 'PortalCuller corridor: a portal outside the view frustum is culled', () => {

	// looking at the side wall of A with a narrow field of view: the doorway at x = 4 is out of view
	assert.deepEqual( visibleFrom( corridor(), [ 2, 1.5, 0 ], [ 2, 1.5, 10 ], {}, [ 40 ] ).ids, [ 'A' ] );

} );

test( 'PortalCuller: edge planes cut a cell the PVS alone would keep (offset doorways)', () => {

	const m = meta(
		[ room( 'A', 0, - 2, 4, 2 ), room( 'B', 4, - 2, 8, 2 ), room( 'C', 8, - 2, 12, 2 ) ],
		[ doorX( 'A', 'B', 4, 1, 1.8 ), doorX( 'B', 'C', 8, - 1.8, - 1 ) ],
	);
	const { ids, culler } = visibleFrom( m, [ 0.5, 1, 1.4 ], [ 10, 1, 1.4 ] );
	assert.deepEqual( ids, [ 'A', 'B' ] );
	assert.equal( culler.stats.portalsTested, 2 );
	assert.equal( culler.stats.portalsPassed, 1 );

} );

// L-bend: A — B along +x, then C north of B (z > 2).
const lBend = () => meta(
	[ room( 'A', 0, - 2, 4, 2 ), room( 'B', 4, - 2, 8, 2 ), room( 'C', 4, 2, 8, 6 ) ],
	[ doorX( 'A', 'B', 4, - 0.5, 0.5 ), doorZ( 'B', 'C', 2, 5.5, 6.5 ) ],
);

test( 'PortalCuller L-bend: the room round the corner is hidden from the first room', () => {

	assert.deepEqual( visibleFrom( lBend(), [ 1, 1.5, 0 ], [ 10, 1.5, 0 ] ).ids, [ 'A', 'B' ] );

} );

test( 'PortalCuller L-bend: from the corner room both neighbours show', () => {

	assert.deepEqual( visibleFrom( lBend(), [ 6, 1.5, - 1.5 ], [ 6, 1.5, 10 ], {}, [ 60 ] ).ids, [ 'B', 'C' ] );
	assert.deepEqual( visibleFrom( lBend(), [ 7.5, 1.5, 1.5 ], [ 0, 1.5, - 1.5 ], {}, [ 60 ] ).ids, [ 'A', 'B' ] );

} );

test( 'PortalCuller: a camera standing in a doorway sees both rooms', () => {

	// eye on the portal plane, looking along the wall: the near plane would clip the portal away
	const along = visibleFrom( corridor(), [ 4, 1.5, 0 ], [ 4, 1.5, 10 ] );
	assert.deepEqual( along.ids, [ 'A', 'B' ] );
	// eye a hair before the portal, closer than the near plane, looking through it
	const through = visibleFrom( corridor(), [ 3.98, 1.5, 0 ], [ 10, 1.5, 0 ], {}, [ 60, 0.1 ] );
	assert.deepEqual( through.ids, [ 'A', 'B', 'C' ] );
	// the same eye with doorway handling off sees through it too: the near plane, beyond the portal,
	// does not clip it (the sight lines through the portal go on past the near plane)
	const strict = visibleFrom( corridor(), [ 3.98, 1.5, 0 ], [ 10, 1.5, 0 ], { doorwayEpsilon: 0 }, [ 60, 0.1 ] );
	assert.deepEqual( strict.ids, [ 'A', 'B', 'C' ] );

} );

test( 'PortalCuller: a doorway between the eye and the near plane passes the rooms behind it', () => {

	// eye 0.5 m before the doorway at x = 4 with a near plane of 1 m: the near plane lies beyond the
	// doorway, yet the sight lines through it go on into B and C, which are on screen. Clipping the
	// doorway by the near plane left nothing of it and hid both.
	assert.deepEqual( visibleFrom( corridor(), [ 3.5, 1.5, 0 ], [ 10, 1.5, 0 ], {}, [ 60, 1 ] ).ids, [ 'A', 'B', 'C' ] );
	// at a slant, past the doorway-distance rule (0.15 m), the near plane crossing B
	assert.deepEqual( visibleFrom( corridor(), [ 3.7, 1.2, - 0.3 ], [ 10, 1.8, 0.4 ], {}, [ 90, 1 ] ).ids, [ 'A', 'B', 'C' ] );
	// turned away, the doorway stays culled
	assert.deepEqual( visibleFrom( corridor(), [ 3.5, 1.5, 0 ], [ 3.5, 1.5, 10 ], {}, [ 60, 1 ] ).ids, [ 'A' ] );

} );

// A ring of four rooms: A-B, A-C, B-D, C-D — D is reachable along two paths.
const ring = () => meta(
	[ room( 'A', 0, 0, 4, 4 ), room( 'B', 4, 0, 8, 4 ), room( 'C', 0, 4, 4, 8 ), room( 'D', 4, 4, 8, 8 ) ],
	[ doorX( 'A', 'B', 4, 1, 3 ), doorZ( 'A', 'C', 4, 1, 3 ), doorZ( 'B', 'D', 4, 4.5, 6.5 ), doorX( 'C', 'D', 4, 4.5, 6.5 ) ],
);

test( 'PortalCuller: a cell reachable along two paths is found once, and cycles terminate', () => {

	const { ids, culler } = visibleFrom( ring(), [ 1, 1.5, 1 ], [ 8, 1.5, 8 ] );
	assert.deepEqual( ids, [ 'A', 'B', 'C', 'D' ] );
	assert.equal( culler.stats.cellsVisible, 4 );
	assert.ok( culler.stats.maxDepth <= 4, `depth ${ culler.stats.maxDepth }` );
	assert.equal( culler.stats.budgetExceeded, false );

} );

test( 'PortalCuller: the visit budget falls back to the PVS', () => {

	const { ids, culler } = visibleFrom( ring(), [ 1, 1.5, 1 ], [ - 8, 1.5, - 8 ], { maxPortalVisits: 1 } );
	assert.equal( culler.stats.budgetExceeded, true );
	assert.deepEqual( ids, [ 'A', 'B', 'C', 'D' ] );

} );

test( 'PortalCuller: a portal chain longer than maxDepth falls back to the PVS', () => {

	// 12 rooms in a row, walls fully open: all are in view down the row; a depth limit of 5 hid 6 of them.
	const rooms = [], doors = [];
	for ( let i = 0; i < 12; i ++ ) rooms.push( room( `r${ i }`, 4 * i, - 2, 4 * i + 4, 2 ) );
	for ( let i = 1; i < 12; i ++ ) doors.push( doorX( `r${ i - 1 }`, `r${ i }`, 4 * i, - 2, 2 ) );
	const pvs = Object.fromEntries( rooms.map( ( r ) => [ r.cellId, rooms.map( ( o ) => o.cellId ) ] ) );
	const { ids, culler } = visibleFrom( meta( rooms, doors, pvs ), [ 1, 1.5, 0 ], [ 100, 1.5, 0 ], { maxDepth: 5 } );
	assert.equal( ids.length, 12 );
	assert.equal( culler.stats.depthExceeded, true );
	// a chain that ends within the limit keeps the walk's answer
	const short = visibleFrom( meta( rooms, doors, pvs ), [ 1, 1.5, 0 ], [ 100, 1.5, 0 ], { maxDepth: 64 } );
	assert.equal( short.ids.length, 12 );
	assert.equal( short.culler.stats.depthExceeded, false );
	// looking away, the limit is never reached
	const back = visibleFrom( meta( rooms, doors, pvs ), [ 1, 1.5, 0 ], [ - 100, 1.5, 0 ], { maxDepth: 5 } );
	assert.deepEqual( back.ids, [ 'r0' ] );

} );

test( 'PortalCuller: an orthographic camera sees along parallel lines, not from one eye', () => {

	// The parallel line at z = 0 passes both doorways; the lines from the camera's position
	// (z = 1.8) through the first doorway miss the second, which hid C.
	const m = meta(
		[ room( 'A', 0, - 2, 4, 2 ), room( 'B', 4, - 2, 8, 2 ), room( 'C', 8, - 2, 12, 2 ), room( 'D', 0, 10, 4, 14 ) ],
		[ doorX( 'A', 'B', 4, - 0.5, 0.5 ), doorX( 'B', 'C', 8, - 0.4, 0.4 ) ],
	);
	const culler = new PortalCuller( PortalScene.fromMeta( m ) );
	const cam = new OrthographicCamera( - 3, 3, 3, - 3, 0.05, 100 );
	cam.position.set( 1, 1.5, 1.8 );
	cam.lookAt( 10, 1.5, 1.8 );
	cam.updateMatrixWorld( true );
	cam.updateProjectionMatrix();
	culler.cullCamera( cam );
	assert.deepEqual( culler.visibleIds().sort(), [ 'A', 'B', 'C' ] );
	assert.equal( culler.stats.outside, true );

} );

test( 'PortalCuller: a one-way portal passes sight from `from` into `to` only', () => {

	const m = corridor( { oneWay: true } );
	assert.deepEqual( visibleFrom( m, [ 2, 1.5, 0 ], [ 10, 1.5, 0 ] ).ids, [ 'A', 'B', 'C' ] );
	assert.deepEqual( visibleFrom( m, [ 6, 1.5, 0 ], [ - 10, 1.5, 0 ] ).ids, [ 'B' ] );
	assert.deepEqual( visibleFrom( corridor(), [ 6, 1.5, 0 ], [ - 10, 1.5, 0 ] ).ids, [ 'A', 'B' ] );

} );

test( 'PortalCuller: the PVS is the first filter', () => {

	const cells = [ room( 'A', 0, - 2, 4, 2 ), room( 'B', 4, - 2, 8, 2 ), room( 'C', 8, - 2, 12, 2 ) ];
	const portals = [ doorX( 'A', 'B', 4, - 0.5, 0.5 ), doorX( 'B', 'C', 8, - 0.5, 0.5 ) ];
	const m = meta( cells, portals, { A: [ 'A', 'B' ], B: [ 'A', 'B', 'C' ], C: [ 'B', 'C' ] } );
	assert.deepEqual( visibleFrom( m, [ 2, 1.5, 0 ], [ 10, 1.5, 0 ] ).ids, [ 'A', 'B' ] );
	assert.deepEqual( visibleFrom( m, [ 2, 1.5, 0 ], [ 10, 1.5, 0 ], { usePvs: false } ).ids, [ 'A', 'B', 'C' ] );

} );

test( 'PortalScene: cells without a PVS share one all-cells PVS (not one per cell: n² for a scene of 5,000 cells)', () => {

	const n = 5000;
	const cells = Array.from( { length: n }, ( _, i ) => room( `r${ i }`, 4 * i, - 2, 4 * i + 4, 2 ) );
	const portals = cells.slice( 1 ).map( ( c, i ) => doorX( `r${ i }`, c.cellId, 4 * i + 4, - 0.5, 0.5 ) );
	// one cell with a PVS of its own among them
	cells[ 2 ] = { ...cells[ 2 ], pvs: [ 'r1', 'r2', 'r3' ] };
	const scene = PortalScene.fromMeta( meta( cells, portals ) );
	assert.equal( scene.cells[ 0 ].pvs, scene.cells[ n - 1 ].pvs );
	assert.equal( scene.cells[ 0 ].pvsIds, scene.cells[ n - 1 ].pvsIds );
	assert.equal( scene.cells[ 0 ].pvsIds.length, n );
	assert.ok( scene.cells[ 0 ].pvs.every( ( v ) => v === 1 ) );
	assert.deepEqual( scene.cells[ 2 ].pvsIds, [ 'r1', 'r2', 'r3' ] );
	assert.equal( scene.cells[ 2 ].pvs.reduce( ( a, b ) => a + b, 0 ), 3 );
	// and the culler walks it as before: down the corridor, every room in view
	const culler = new PortalCuller( scene, { maxDepth: n } );
	culler.cullCamera( camera( [ 2, 1.5, 0 ], [ 100, 1.5, 0 ] ) );
	assert.ok( culler.stats.cellsVisible > 3 );
	assert.equal( culler.visible[ 2 ], 1 );

} );

test( 'PortalCuller: portals wound against the convention are reoriented by the cell centres', () => {

	const m = meta(
		[ room( 'A', 0, - 2, 4, 2 ), room( 'B', 4, - 2, 8, 2 ) ],
		[ { from: 'A', to: 'B', quad: [ 4, 0, - 0.5, 4, 2.2, - 0.5, 4, 2.2, 0.5, 4, 0, 0.5 ] } ],
	);
	const scene = PortalScene.fromMeta( m );
	assert.ok( scene.portals[ 0 ].plane.normal.x > 0.99 );
	assert.deepEqual( visibleFrom( m, [ 2, 1.5, 0 ], [ 10, 1.5, 0 ] ).ids, [ 'A', 'B' ] );

} );

test( 'PortalCuller: a room nested in a U sees through its doorway (the portal keeps the plane it was built with)', () => {

	// inU sits in the U's notch: both boxes' centres lie on inU's side of the doorway at x = 15,
	// and comparing their distances turned the doorway to face the U.
	const cells = [ room( 'U', 12, 0, 24, 9 ), room( 'inU', 15, 3, 18, 9 ) ];
	const eye = [ 13, 1.5, 4.5 ], target = [ 20, 1.5, 4.5 ];
	// wound by the convention: the right-hand normal points into inU (+x)
	const quad = [ 15, 0, 4, 15, 2.2, 4, 15, 2.2, 5, 15, 0, 5 ];
	const written = meta( cells, [ { from: 'U', to: 'inU', quad } ] );
	assert.ok( PortalScene.fromMeta( written ).portals[ 0 ].plane.normal.x > 0.99 );
	assert.deepEqual( visibleFrom( written, eye, target ).ids, [ 'U', 'inU' ] );
	// as a build writes it, with its plane: the plane is taken as given, whatever the winding
	const built = meta( cells, [ doorX( 'U', 'inU', 15, 4, 5, { plane: [ 1, 0, 0, - 15 ] } ) ] );
	assert.ok( PortalScene.fromMeta( built ).portals[ 0 ].plane.normal.x > 0.99 );
	assert.deepEqual( visibleFrom( built, eye, target ).ids, [ 'U', 'inU' ] );

} );

test( 'PortalCuller: a one-way portal wound against the convention still passes sight from `from` into `to`', () => {

	// A hand-written quad wound the other way, no plane: its right-hand normal faces `from` (d, x > 8).
	const m = meta(
		[ room( 'b', 4, 0, 8, 4 ), room( 'd', 8, 0, 12, 4 ) ],
		[ { from: 'd', to: 'b', quad: [ 8, 0.6, 3.5, 8, 2.6, 3.5, 8, 2.6, 2.5, 8, 0.6, 2.5 ], oneWay: true } ],
	);
	assert.ok( PortalScene.fromMeta( m ).portals[ 0 ].plane.normal.x < - 0.99 );
	assert.deepEqual( visibleFrom( m, [ 11, 1.5, 3 ], [ 0, 1.5, 3 ] ).ids, [ 'b', 'd' ] );
	assert.deepEqual( visibleFrom( m, [ 5, 1.5, 3 ], [ 12, 1.5, 3 ] ).ids, [ 'b' ] );

} );

test( 'PortalCuller: a built plane is kept when interlocking rooms put both box centres on its wrong sides', () => {

	// Two L-shaped rooms wrapped round each other: `hall`'s box reaches far past the doorway at
	// x = 10 (centre x = 15) and `den`'s far behind it (centre x = 1), yet the build's plane, +x
	// into `den`, is right: the one-way doorway must pass sight from hall into den.
	const cells = [ room( 'hall', 0, 0, 30, 10 ), room( 'den', - 10, 4, 12, 20 ) ];
	const door = doorX( 'hall', 'den', 10, 4.5, 5.5, { plane: [ 1, 0, 0, - 10 ], oneWay: true } );
	const m = meta( cells, [ door ] );
	assert.ok( PortalScene.fromMeta( m ).portals[ 0 ].plane.normal.x > 0.99 );
	assert.deepEqual( visibleFrom( m, [ 5, 1.5, 2 ], [ 11, 1.5, 5 ] ).ids, [ 'den', 'hall' ] );

} );

test( 'PortalCuller: an eye in several overlapping boxes walks from each of them', () => {

	// The boxes of rooms turned off the axes or L-shaped overlap: the eye at (8, 1.5, 7) is in both
	// boxes and may stand in A, whose doorway into B is behind it; starting from the smaller box (B)
	// alone hid A, the room around the camera.
	const m = meta( [ room( 'A', 0, 0, 10, 10 ), room( 'B', 6, 6, 12, 12 ) ], [ doorX( 'A', 'B', 6, 10, 11 ) ] );
	const { ids, culler } = visibleFrom( m, [ 8, 1.5, 7 ], [ 20, 1.5, 7 ] );
	assert.equal( culler.stats.cameraCell, 1 );
	assert.deepEqual( ids, [ 'A', 'B' ] );
	assert.deepEqual( PortalScene.fromMeta( m ).findCells( new Vector3( 8, 1.5, 7 ) ), [ 1, 0 ] );

} );

test( 'PortalCuller: an eye in an L-shaped room\'s box but outside the room is outside that cell', () => {

	// A is an L (its floor outline); its box's notch (x 4..10, z 4..10) is outside the building.
	// B lies east of A's lower arm, C north of B. From the notch, looking east, C's west wall is in
	// plain view; walking from A (whose box holds the eye) saw A alone, through no doorway of A's.
	const A = { ...room( 'A', 0, 0, 10, 10 ), floor: [ [ 0, 0 ], [ 10, 0 ], [ 10, 4 ], [ 4, 4 ], [ 4, 10 ], [ 0, 10 ] ] };
	const m = meta( [ A, room( 'B', 10, 0, 14, 4 ), room( 'C', 10, 4, 14, 10 ) ], [ doorX( 'A', 'B', 10, 1, 3 ), doorZ( 'B', 'C', 4, 11, 13 ) ] );
	const notch = visibleFrom( m, [ 8, 1.5, 8 ], [ 20, 1.5, 8 ] );
	assert.equal( notch.culler.stats.outside, true );
	assert.equal( notch.culler.stats.cameraCell, - 1 );
	assert.ok( notch.ids.includes( 'C' ), notch.ids.join() );
	assert.equal( notch.scene.distanceToCell( 0, new Vector3( 8, 1.5, 8 ) ), 4 );
	assert.deepEqual( notch.scene.findCells( new Vector3( 8, 1.5, 8 ) ), [] );
	// 0.2 m from the L's inner wall, in its notch: outside A, within the tolerance (nearest A)
	assert.ok( Math.abs( notch.scene.distanceToCell( 0, new Vector3( 4.2, 1.5, 8 ) ) - 0.2 ) < 1e-12 );
	assert.equal( notch.scene.findCell( new Vector3( 4.2, 1.5, 8 ) ), 0 );
	// in the L's arm the eye is in A, as before: walking from A, C is behind walls
	const arm = visibleFrom( m, [ 2, 1.5, 8 ], [ 2, 1.5, 20 ] );
	assert.equal( arm.culler.stats.outside, false );
	assert.equal( arm.culler.stats.cameraCell, 0 );
	assert.deepEqual( arm.ids, [ 'A' ] );
	// above the L's notch (outside its prism, over the box's top): distance from the corner edge
	assert.ok( Math.abs( arm.scene.distanceToCell( 0, new Vector3( 4, 7, 4 ) ) - 4 ) < 1e-12 );
	// a point inside A (where a walker is put): its box's centre (5, 5) is in the notch
	const inA = notch.scene.interiorPoint( 0, new Vector3() );
	assert.equal( notch.scene.distanceToCell( 0, inA ), 0 );
	assert.ok( inA.x > 0 && inA.x < 4 && Math.abs( inA.z - 5 ) < 1e-5 && inA.y === 1.5, inA.toArray().join() );
	assert.deepEqual( notch.scene.interiorPoint( 1, new Vector3() ).toArray(), [ 12, 1.5, 2 ] );
	// a floor that is not [[x, z], …] is refused with the cell named
	assert.throws( () => PortalScene.fromMeta( meta( [ { ...A, floor: [ [ 0, 0 ], [ 1, 'x' ], [ 2, 2 ] ] } ], [] ) ), /cell "A" has a floor/ );

} );

test( 'PortalCuller: an eye just outside every cell starts from the nearest one', () => {

	const { ids, culler } = visibleFrom( corridor(), [ - 0.2, 1.5, 0 ], [ 10, 1.5, 0 ] );
	assert.equal( culler.stats.cameraCell, 0 );
	assert.equal( culler.stats.outside, false );
	assert.deepEqual( ids, [ 'A', 'B', 'C' ] );

} );

test( 'PortalCuller: an eye in a doorway\'s passage that a cell\'s plan leaves out is in the doorway\'s cells', () => {

	// B's plan as a build reads it back from a GLB: its west wall (x 4..4.1) cut from corner to corner by a
	// doorway drawn past both corners, and the passage left out. C lies south of B, behind B's wall: in no PVS
	// of A's or B's. An eye in the passage was in no cell: it saw the level's outer walls, C among them.
	const B = { ...room( 'B', 4, 0, 8, 4 ), floor: [ [ 4, 0 ], [ 8, 0 ], [ 8, 4 ], [ 4, 4 ], [ 4, 3.9 ], [ 4.1, 3.9 ], [ 4.1, 0.1 ], [ 4, 0.1 ] ] };
	const m = meta(
		[ room( 'A', 0, 0, 4, 4 ), B, room( 'C', 4, - 4, 8, 0 ) ],
		[ { from: 'A', to: 'B', quad: [ 4, 0, 4.5, 4, 3, 4.5, 4, 3, - 0.5, 4, 0, - 0.5 ] } ],
		{ A: [ 'A', 'B' ], B: [ 'A', 'B' ], C: [ 'C' ] },
	);
	const eye = [ 4.05, 1.5, 2 ];
	const { ids, culler, scene } = visibleFrom( m, eye, [ 6, 1.5, - 6 ], {}, [ 120 ] );
	assert.deepEqual( scene.findCells( new Vector3( ...eye ) ).sort(), [ 0, 1 ] );
	assert.equal( culler.stats.outside, false );
	assert.deepEqual( ids, [ 'A', 'B' ] );
	// farther than a wall's thickness from the doorway, or beside it, a point is in no cell as before
	assert.deepEqual( scene.findCells( new Vector3( 3.3, 1.5, - 0.2 ) ), [] );
	assert.deepEqual( scene.findCells( new Vector3( 4.05, 1.5, 5 ) ), [] );

} );

test( 'PortalCuller: an eye within a float32 step of a cell far from the origin is in it', () => {

	// Boxes read back from a GLB's float32 vertices 100 km out lie up to a float32 step (7.8 mm) inside where the
	// rooms were drawn: an eye 3 mm outside A's box there was outside every cell and saw C's outer walls.
	const far = ( c, dx ) => ( { ...c, aabb: [ c.aabb[ 0 ] + dx, c.aabb[ 1 ], c.aabb[ 2 ], c.aabb[ 3 ] + dx, c.aabb[ 4 ], c.aabb[ 5 ] ] } );
	const level = ( dx ) => meta(
		[ far( room( 'A', 0, - 2, 4, 2 ), dx ), far( room( 'C', - 10, - 2, - 6, 2 ), dx ) ], [], { A: [ 'A' ], C: [ 'C' ] },
	);
	const out = visibleFrom( level( 1e5 ), [ 1e5 - 0.003, 1.5, 0 ], [ 1e5 - 20, 1.5, 0 ] );
	assert.deepEqual( out.scene.findCells( new Vector3( 1e5 - 0.003, 1.5, 0 ) ), [ 0 ] );
	assert.equal( out.culler.stats.cameraCell, 0 );
	assert.deepEqual( out.ids, [ 'A' ] );
	// at the origin a float32 step is far finer: 3 mm outside A is outside it, and C's outer wall is in view
	assert.deepEqual( visibleFrom( level( 0 ), [ - 0.003, 1.5, 0 ], [ - 20, 1.5, 0 ] ).ids, [ 'A', 'C' ] );

} );

test( 'PortalCuller: an eye just outside a facade sees the outer walls along it', () => {

	// 0.3 m outside A's wall (z = -2), looking along the corridor's side: B's and C's outer walls are
	// in plain view, though no doorway of A's shows C.
	const { ids, culler } = visibleFrom( corridor(), [ 2, 1.5, - 2.3 ], [ 12, 1.5, - 2.2 ] );
	assert.equal( culler.stats.cameraCell, 0 );
	assert.equal( culler.stats.outside, false );
	assert.deepEqual( ids, [ 'A', 'B', 'C' ] );
	// looking away from the level, only the nearest cell
	assert.deepEqual( visibleFrom( corridor(), [ 2, 1.5, - 2.3 ], [ 2, 1.5, - 10 ] ).ids, [ 'A' ] );

} );

test( 'PortalCuller: an eye far outside sees the cells in its view volume, not through portals', () => {

	// above the corridor, looking down at B: all three boxes are in view, none through a doorway
	const above = visibleFrom( corridor(), [ 6, 30, 0.1 ], [ 6, 0, 0 ] );
	assert.equal( above.culler.stats.cameraCell, - 1 );
	assert.equal( above.culler.stats.outside, true );
	assert.deepEqual( above.ids, [ 'A', 'B', 'C' ] );
	// beyond C, looking away from the level: nothing in view
	const away = visibleFrom( corridor(), [ 20, 1.5, 0 ], [ 40, 1.5, 0 ] );
	assert.equal( away.culler.stats.outside, true );
	assert.deepEqual( away.ids, [] );
	// close above A looking straight down with a narrow view: only A
	assert.deepEqual( visibleFrom( corridor(), [ 2, 6, 0.01 ], [ 2, 0, 0 ], {}, [ 30 ] ).ids, [ 'A' ] );

} );

/**
 * Reference answer by brute force: follow sight rays cell to cell through the portal
 * polygons; every cell a ray reaches must be in the culler's answer (conservative).
 */
function traceRay( scene, ray ) {

	const reached = new Set();
	let cell = scene.findCell( ray.origin );
	let tEnter = 0;
	const hit = new Vector3();
	const point = new Vector3();
	for ( let steps = 0; cell >= 0 && steps < 64; steps ++ ) {

		reached.add( cell );
		const c = scene.cells[ cell ];
		if ( ! ray.intersectBox( c.aabb, hit ) && steps > 0 ) break;
		// where the ray leaves the cell's box
		const inv = new Vector3( 1 / ray.direction.x, 1 / ray.direction.y, 1 / ray.direction.z );
		const tx = Math.max( ( c.aabb.min.x - ray.origin.x ) * inv.x, ( c.aabb.max.x - ray.origin.x ) * inv.x );
		const ty = Math.max( ( c.aabb.min.y - ray.origin.y ) * inv.y, ( c.aabb.max.y - ray.origin.y ) * inv.y );
		const tz = Math.max( ( c.aabb.min.z - ray.origin.z ) * inv.z, ( c.aabb.max.z - ray.origin.z ) * inv.z );
		const tExit = Math.min( tx, ty, tz );
		let next = - 1;
		for ( const pi of c.portals ) {

			const p = scene.portals[ pi ];
			const other = p.from === cell ? p.to : p.from;
			if ( p.oneWay && p.to === cell ) continue;
			const t = ray.distanceToPlane( p.plane );
			if ( t === null || t < tEnter - 1e-9 || Math.abs( t - tExit ) > 1e-6 ) continue;
			ray.at( t, point );
			const q = p.quad;
			const lo = new Vector3().copy( q[ 0 ] ).min( q[ 1 ] ).min( q[ 2 ] ).min( q[ 3 ] );
			const hi = new Vector3().copy( q[ 0 ] ).max( q[ 1 ] ).max( q[ 2 ] ).max( q[ 3 ] );
			if ( point.x >= lo.x - 1e-9 && point.x <= hi.x + 1e-9 && point.y >= lo.y - 1e-9 && point.y <= hi.y + 1e-9 &&
				point.z >= lo.z - 1e-9 && point.z <= hi.z + 1e-9 ) {

				next = other;
				tEnter = t;

			}

		}
		cell = next;
		if ( cell >= 0 && reached.has( cell ) ) break;

	}
	return reached;

}

function lcg( seed ) {

	let s = seed >>> 0;
	return () => ( s = ( Math.imul( s, 1664525 ) + 1013904223 ) >>> 0 ) / 4294967296;

}

test( 'PortalCuller is conservative against sampled sight rays on a 4×4 grid of rooms', () => {

	const rnd = lcg( 12345 );
	const cells = [];
	const portals = [];
	const id = ( i, j ) => `r${ i }_${ j }`;
	for ( let i = 0; i < 4; i ++ ) for ( let j = 0; j < 4; j ++ ) cells.push( room( id( i, j ), 4 * i, 4 * j, 4 * i + 4, 4 * j + 4 ) );
	for ( let i = 0; i < 4; i ++ ) for ( let j = 0; j < 4; j ++ ) {

		const c = 0.5 + rnd() * 2.5, w = 0.6 + rnd() * 0.8;
		if ( i < 3 && rnd() < 0.7 ) portals.push( doorX( id( i, j ), id( i + 1, j ), 4 * i + 4, 4 * j + c, 4 * j + c + w ) );
		if ( j < 3 && rnd() < 0.7 ) portals.push( doorZ( id( i, j ), id( i, j + 1 ), 4 * j + 4, 4 * i + c, 4 * i + c + w ) );

	}
	const scene = PortalScene.fromMeta( meta( cells, portals ) );
	const culler = new PortalCuller( scene );
	const frustum = new Frustum();
	const m = new Matrix4();
	const ray = new Ray();
	let raysThroughPortals = 0;
	let tighterThanAll = 0;
	for ( let v = 0; v < 60; v ++ ) {

		const eye = [ 0.3 + rnd() * 15.4, 0.3 + rnd() * 2.4, 0.3 + rnd() * 15.4 ];
		const yaw = rnd() * Math.PI * 2;
		const cam = camera( eye, [ eye[ 0 ] + Math.cos( yaw ), eye[ 1 ] + ( rnd() - 0.5 ) * 0.4, eye[ 2 ] + Math.sin( yaw ) ] );
		culler.cullCamera( cam );
		if ( culler.stats.cellsVisible < cells.length ) tighterThanAll ++;
		m.multiplyMatrices( cam.projectionMatrix, cam.matrixWorldInverse );
		frustum.setFromProjectionMatrix( m );
		for ( let r = 0; r < 400; r ++ ) {

			ray.origin.set( eye[ 0 ], eye[ 1 ], eye[ 2 ] );
			ray.direction.set( rnd() * 2 - 1, rnd() * 2 - 1, rnd() * 2 - 1 ).normalize();
			if ( ! frustum.containsPoint( ray.at( 0.2, new Vector3() ) ) ) continue;
			const reached = traceRay( scene, ray );
			if ( reached.size > 1 ) raysThroughPortals ++;
			for ( const cell of reached ) {

				assert.equal( culler.visible[ cell ], 1, `eye ${ eye } yaw ${ yaw }: ray reaches ${ scene.cells[ cell ].id } but it was culled` );

			}

		}

	}
	assert.ok( raysThroughPortals > 100, `only ${ raysThroughPortals } rays crossed a portal` );
	assert.ok( tighterThanAll > 40, `culling removed cells in only ${ tighterThanAll } of 60 views` );

} );

test( 'PortalCuller allocates its pools once: a second identical cull grows nothing', () => {

	const scene = PortalScene.fromMeta( ring() );
	const culler = new PortalCuller( scene );
	const cam = camera( [ 1, 1.5, 1 ], [ 8, 1.5, 8 ] );
	culler.cullCamera( cam );
	const planes = culler._planes.length, polys = culler._polys.length;
	culler.cullCamera( cam );
	assert.equal( culler._planes.length, planes );
	assert.equal( culler._polys.length, polys );
	culler.dispose();
	assert.equal( culler.cullCamera( cam ), 4 );

} );

test( 'PortalCuller rejects bad options with its name in the message', () => {

	const scene = PortalScene.fromMeta( corridor() );
	assert.throws( () => new PortalCuller( scene, { maxDepth: 0 } ), /^Error: PortalCuller: maxDepth/ );
	assert.throws( () => new PortalCuller( null ), /^Error: PortalCuller:/ );

} );

test( 'PortalScene names a portal whose quad has no area, read from a meta or from a streaming index', async () => {

	const { visibilityFromIndex } = await import( '../core/StreamIndex.js' );
	const cells = [ room( 'A', 0, - 2, 4, 2 ), room( 'B', 4, - 2, 8, 2 ) ];
	const flat = [ 4, 0, 0, 4, 2, 0, 4, 2, 0, 4, 0, 0 ];
	const named = /^Error: PortalScene: portal 0 \("A" -> "B"\) has a quad of no area/;
	assert.throws( () => PortalScene.fromMeta( meta( cells, [ { from: 'A', to: 'B', quad: flat } ] ) ), named );
	const index = { cells: [ [ 'A', 0, 0, cells[ 0 ].aabb ], [ 'B', 0, 0, cells[ 1 ].aabb ] ], portals: [ [ 0, 1, ...flat ] ] };
	assert.throws( () => PortalScene.fromMeta( visibilityFromIndex( index ) ), named );

} );

test( 'PortalScene.interiorPoint: a square with a quarter cut out gives a point clear of its walls', () => {

	// The box's centre (3, 3) is the notch's inner corner: the point where two walls meet. A walker
	// put down there was pushed out into the notch, outside the building, and fell for ever.
	const L = { ...room( 'L', 0, 0, 6, 6 ), floor: [ [ 0, 0 ], [ 6, 0 ], [ 6, 3 ], [ 3, 3 ], [ 3, 6 ], [ 0, 6 ] ] };
	const scene = PortalScene.fromMeta( meta( [ L ], [] ) );
	const p = scene.interiorPoint( 0, new Vector3() );
	assert.equal( scene.distanceToCell( 0, p ), 0 );
	assert.ok( Math.abs( p.x - 1.5 ) < 1e-6 && Math.abs( p.z - 3 ) < 1e-5 && p.y === 1.5, p.toArray().join() );
	// a room whose centre is well inside keeps it
	const hex = { ...room( 'H', 0, 0, 4, 4 ), floor: [ [ 1, 0 ], [ 3, 0 ], [ 4, 2 ], [ 3, 4 ], [ 1, 4 ], [ 0, 2 ] ] };
	assert.deepEqual( PortalScene.fromMeta( meta( [ hex ], [] ) ).interiorPoint( 0, new Vector3() ).toArray(), [ 2, 1.5, 2 ] );

} );

test( 'PortalScene.fromMeta: a box or a portal quad not of finite numbers is refused, naming it, not culled wrongly', () => {

	const rooms = () => [ room( 'a', 0, 0, 4, 4 ), room( 'b', 4, 0, 8, 4 ) ];
	// a box of strings: the camera in "a" was found in "b"
	const boxed = meta( [ { cellId: 'a', aabb: [ 'NaN', 0, 0, 4, 3, 4 ] }, room( 'b', 4, 0, 8, 4 ) ], [ doorX( 'a', 'b', 4, 1, 3 ) ] );
	assert.throws( () => PortalScene.fromMeta( boxed ), /cell "a" has no aabb of 6 finite numbers/ );
	assert.throws( () => PortalScene.fromMeta( meta( [ { cellId: 'a', aabb: [ 0, 0, 0, 4, 3, null ] } ], [] ) ), /cell "a" has no aabb/ );
	// a quad of strings or with a NaN: the doorway straight ahead hid the room behind it
	const strings = doorX( 'a', 'b', 4, 1, 3 );
	strings.quad = strings.quad.map( String );
	assert.throws( () => PortalScene.fromMeta( meta( rooms(), [ strings ] ) ), /portal 0 \("a" -> "b"\): a portal quad needs 12 finite numbers/ );
	const nan = doorX( 'a', 'b', 4, 1, 3, { plane: [ 1, 0, 0, - 4 ] } );
	nan.quad[ 2 ] = NaN;
	assert.throws( () => PortalScene.fromMeta( meta( rooms(), [ nan ] ) ), /portal 0 \("a" -> "b"\): a portal quad needs 12 finite numbers/ );
	assert.throws( () => PortalScene.fromMeta( { visibility: { cells: [ null ], portals: [] } } ), /cell 0 has no cellId/ );
	// the same rooms, well formed, see each other
	const culler = new PortalCuller( PortalScene.fromMeta( meta( rooms(), [ doorX( 'a', 'b', 4, 1, 3 ) ] ) ) );
	culler.cullCamera( camera( [ 2, 1.5, 2 ], [ 3, 1.5, 2.3 ] ) );
	assert.deepEqual( Array.from( culler.visible ), [ 1, 1 ] );

} );

test( 'PortalScene: cells with PVSs of their own cost their PVS, not n bytes each (20,000 cells were 400 MB)', () => {

	const n = 10000;
	const cells = Array.from( { length: n }, ( _, i ) => ( {
		...room( `r${ i }`, 4 * i, - 2, 4 * i + 4, 2 ),
		pvs: [ i - 1, i + 1 ].filter( ( j ) => j >= 0 && j < n ).map( ( j ) => `r${ j }` ),
	} ) );
	const portals = cells.slice( 1 ).map( ( c, i ) => doorX( `r${ i }`, c.cellId, 4 * i + 4, - 0.5, 0.5 ) );
	const before = process.memoryUsage().arrayBuffers;
	const scene = PortalScene.fromMeta( meta( cells, portals ) );
	const grown = process.memoryUsage().arrayBuffers - before;
	assert.ok( grown < 0.2 * n * n, `${ grown } bytes of arrays for ${ n } cells` );
	// every cell's PVS reads as before, in any order, also once more than the kept ones were read
	for ( const i of [ 0, 5, n - 1, ...Array.from( { length: 100 }, ( _, k ) => 37 * k + 1 ), 5, 0 ] ) {

		const pvs = scene.cells[ i ].pvs;
		assert.equal( pvs.length, n );
		assert.deepEqual( [ ...pvs.keys() ].filter( ( j ) => pvs[ j ] ), [ i - 1, i, i + 1 ].filter( ( j ) => j >= 0 && j < n ) );

	}
	const culler = new PortalCuller( scene );
	culler.cullCamera( camera( [ 2 + 4 * 500, 1.5, 0 ], [ 100 + 4 * 500, 1.5, 0 ] ) );
	assert.deepEqual( culler.visibleIds().sort(), [ 'r500', 'r501' ] );

} );
