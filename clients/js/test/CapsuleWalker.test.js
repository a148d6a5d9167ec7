import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoxGeometry, BufferAttribute, BufferGeometry, Group, Mesh, Vector3 } from 'three';
import { Collision } from '../core/Collision.js';
import { CapsuleWalker } from '../core/CapsuleWalker.js';
import { PortalScene } from '../core/PortalScene.js';
import { doorX, meta, room } from './fixtures.js';

/**
 * Two 4 × 3 × 4 m rooms side by side — A: x 0..4, B: x 4..8, z -2..2 — with 0.1 m walls
 * centred on the room bounds, a 0.1 m floor slab under y = 0, and a doorway in the
 * shared wall at x = 4 (z -0.6..0.6, y 0..2.2). `sill` adds a ledge across the doorway.
 */
function twoRooms( sill = 0 ) {

	const group = new Group();
	const box = ( x0, y0, z0, x1, y1, z1 ) => {

		const mesh = new Mesh( new BoxGeometry( x1 - x0, y1 - y0, z1 - z0 ) );
		mesh.position.set( ( x0 + x1 ) / 2, ( y0 + y1 ) / 2, ( z0 + z1 ) / 2 );
		group.add( mesh );

	};
	const t = 0.05;
	box( - t, - 0.1, - 2 - t, 8 + t, 0, 2 + t ); // floor
	box( - t, 3, - 2 - t, 8 + t, 3.1, 2 + t ); // ceiling
	box( - t, 0, - 2 - t, 8 + t, 3, - 2 + t ); // south wall
	box( - t, 0, 2 - t, 8 + t, 3, 2 + t ); // north wall
	box( - t, 0, - 2, t, 3, 2 ); // west wall
	box( 8 - t, 0, - 2, 8 + t, 3, 2 ); // east wall
	box( 4 - t, 0, - 2, 4 + t, 3, - 0.6 ); // shared wall, south of the door
	box( 4 - t, 0, 0.6, 4 + t, 3, 2 ); // shared wall, north of the door
	box( 4 - t, 2.2, - 0.6, 4 + t, 3, 0.6 ); // lintel
	if ( sill > 0 ) box( 4 - t, 0, - 0.6, 4 + t, sill, 0.6 );
	return group;

}

const cells = PortalScene.fromMeta( meta( [ room( 'A', 0, - 2, 4, 2 ), room( 'B', 4, - 2, 8, 2 ) ], [ doorX( 'A', 'B', 4, - 0.6, 0.6 ) ] ) );

function walk( walker, seconds, vx, vz, fps = 60 ) {

	const v = new Vector3( vx, 0, vz );
	let maxX = - Infinity;
	for ( let t = 0; t < seconds; t += 1 / fps ) {

		walker.update( 1 / fps, v );
		maxX = Math.max( maxX, walker.position.x );

	}
	return maxX;

}

function settled( collision, x, z, options ) {

	const walker = new CapsuleWalker( collision, options ).teleport( x, 0.5, z );
	walk( walker, 0.5, 0, 0 );
	return walker;

}

test( 'CapsuleWalker falls under gravity and comes to rest on the floor', () => {

	const collision = new Collision( twoRooms() );
	const walker = new CapsuleWalker( collision ).teleport( 2, 1.5, 0 );
	walk( walker, 1, 0, 0 );
	assert.ok( Math.abs( walker.position.y ) < 0.01, `feet at ${ walker.position.y }` );
	assert.equal( walker.onGround, true );
	assert.equal( walker.velocity.y, 0 );
	collision.dispose();

} );

test( 'CapsuleWalker walking into a wall stops at the wall', () => {

	const collision = new Collision( twoRooms() );
	const walker = settled( collision, 2, 1.4 );
	const maxX = walk( walker, 3, 3, 0 );
	// wall face at x = 3.95, radius 0.3: the capsule's axis stops at 3.65
	assert.ok( maxX < 3.66, `went through to x = ${ maxX }` );
	assert.ok( walker.position.x > 3.6, `stopped early at x = ${ walker.position.x }` );
	assert.ok( Math.abs( walker.position.z - 1.4 ) < 0.01 );
	assert.equal( cells.cells[ cells.findCell( walker.position ) ].id, 'A' );

} );

test( 'CapsuleWalker slides along a wall it walks into at an angle', () => {

	const collision = new Collision( twoRooms() );
	const walker = settled( collision, 3, 1.0 );
	walk( walker, 0.5, 3, 0.6 );
	assert.ok( walker.position.x < 3.66 );
	// 0.5 s at 0.6 m/s along the wall: ~0.3 m of slide, not stuck against it
	assert.ok( walker.position.z > 1.25, `z = ${ walker.position.z }` );
	assert.ok( walker.position.z < 1.71 );

} );

test( 'CapsuleWalker walks through the doorway into the other cell', () => {

	const collision = new Collision( twoRooms() );
	const walker = settled( collision, 2, 0 );
	assert.equal( cells.cells[ cells.findCell( walker.position ) ].id, 'A' );
	walk( walker, 1.5, 3, 0 );
	assert.ok( walker.position.x > 5.5, `x = ${ walker.position.x }` );
	assert.ok( Math.abs( walker.position.y ) < 0.01 );
	assert.equal( cells.cells[ cells.findCell( walker.position ) ].id, 'B' );

} );

test( 'CapsuleWalker never passes a wall, whatever the heading', () => {

	const collision = new Collision( twoRooms() );
	for ( const z of [ - 1.6, - 1.2, 1.0, 1.6 ] ) {

		const walker = settled( collision, 1, z );
		const maxX = walk( walker, 4, 6, 0 );
		assert.ok( maxX < 3.66, `z = ${ z }: reached x = ${ maxX }` );

	}

} );

test( 'CapsuleWalker steps over a ledge lower than stepHeight, and not over a higher one', () => {

	// 0.4 m is above the capsule's radius: the rounded bottom alone does not ride over it
	const sill = new Collision( twoRooms( 0.4 ) );
	const walker = settled( sill, 2, 0, { stepHeight: 0.45 } );
	walk( walker, 2, 2, 0 );
	assert.ok( walker.position.x > 5.5, `stuck at the sill, x = ${ walker.position.x }` );
	assert.ok( Math.abs( walker.position.y ) < 0.01 );

	const noStep = settled( sill, 2, 0, { stepHeight: 0 } );
	assert.ok( walk( noStep, 2, 2, 0 ) < 3.7, 'climbed without stepping' );

	const high = new Collision( twoRooms( 0.6 ) );
	const blocked = settled( high, 2, 0, { stepHeight: 0.45 } );
	const maxX = walk( blocked, 2, 2, 0 );
	// it may lean over the corner, but its axis never passes the ledge's face at x = 3.95
	assert.ok( maxX < 3.95, `climbed a 0.6 m ledge, x = ${ maxX }` );
	assert.ok( blocked.position.y < 0.6, `stands on the ledge, y = ${ blocked.position.y }` );

} );

test( 'Collision raycasts hit the first wall, and pass through the doorway', () => {

	const collision = new Collision( twoRooms() );
	const hit = collision.raycast( new Vector3( 2, 1, 0 ), new Vector3( 0, 0, 1 ) );
	assert.ok( hit );
	assert.ok( Math.abs( hit.distance - 1.95 ) < 1e-5 );
	assert.ok( Math.abs( hit.normal.z + 1 ) < 1e-6 );
	const through = collision.raycast( new Vector3( 2, 1, 0 ), new Vector3( 1, 0, 0 ) );
	assert.ok( Math.abs( through.distance - 5.95 ) < 1e-5 );
	assert.equal( collision.raycast( new Vector3( 2, 1, 0 ), new Vector3( 0, 0, 1 ), 1 ), null );
	assert.equal( collision.lineOfSight( new Vector3( 1, 1, 0 ), new Vector3( 7, 1, 0 ) ), true );
	assert.equal( collision.lineOfSight( new Vector3( 1, 1, 1.5 ), new Vector3( 7, 1, 1.5 ) ), false );
	assert.ok( collision.triangleCount > 100 );

} );

test( 'Collision and CapsuleWalker reject bad input with their names', () => {

	assert.throws( () => new Collision( null ), /^Error: Collision: needs an Object3D/ );
	const collision = new Collision( twoRooms() );
	assert.throws( () => new CapsuleWalker( collision, { radius: 1, height: 1 } ), /^Error: CapsuleWalker: height/ );

} );

test( 'a world without triangles has nothing to hit: rays pass, the walker moves freely', () => {

	const collision = new Collision( new Group() );
	assert.equal( collision.triangleCount, 0 );
	assert.equal( collision.raycast( new Vector3( 0, 1, 0 ), new Vector3( 0, - 1, 0 ) ), null );
	assert.ok( collision.lineOfSight( new Vector3( 0, 0, 0 ), new Vector3( 5, 0, 0 ) ) );
	const walker = new CapsuleWalker( collision ).teleport( 0, 1, 0 );
	walk( walker, 0.5, 1, 0 );
	assert.ok( walker.position.x > 0.3 && walker.position.y < 1 );
	collision.dispose();

} );

test( 'an update of minutes, or of Infinity, simulates at most maxFrame: no frozen page, no endless loop', () => {

	const collision = new Collision( new Group() );
	const walker = new CapsuleWalker( collision ).teleport( 0, 100, 0 );
	// the first frame after a tab was hidden for a minute: 7,200 substeps, a 60 m walk
	walker.update( 60, new Vector3( 1, 0, 0 ) );
	assert.ok( Math.abs( walker.position.x - 0.25 ) < 1e-9, `walked to x = ${ walker.position.x }` );
	const t0 = performance.now();
	walker.update( Infinity, new Vector3( 1, 0, 0 ) );
	assert.ok( Math.abs( walker.position.x - 0.5 ) < 1e-9 && performance.now() - t0 < 1000 );
	assert.throws( () => new CapsuleWalker( collision, { maxFrame: 0 } ), /maxFrame must be positive/ );
	collision.dispose();

} );

test( 'a capsule thinner than a substep\'s move still stops at the wall, never inside or past it', () => {

	const collision = new Collision( twoRooms() );
	// 3 m/s at 1/120 s is 2.5 cm a substep, past a 1 cm radius: the capsule was inside the wall,
	// with no triangle within its radius, and walked on through it
	const walker = settled( collision, 2, 1.4, { radius: 0.01, stepHeight: 0 } );
	assert.ok( Math.abs( walker.position.y ) < 0.01, `feet at ${ walker.position.y }` );
	const maxX = walk( walker, 2, 3, 0 );
	assert.ok( maxX < 3.95, `went into the wall to x = ${ maxX }` );
	assert.ok( walker.position.x > 3.9, `stopped early at x = ${ walker.position.x }` );
	collision.dispose();

} );

test( 'triangles of no area (a point, a line) are no obstacle to the walker, as they are none to rays', () => {

	const world = twoRooms();
	// corners on one point, and corners on one line, across the walk at knee height: drawn as nothing
	const flat = new BufferGeometry();
	flat.setAttribute( 'position', new BufferAttribute( new Float32Array( [ 2.5, 0.5, 0, 2.5, 0.5, 0, 2.5, 0.5, 0, 3, 0.5, - 1, 3, 0.5, 0, 3, 0.5, 1 ] ), 3 ) );
	world.add( new Mesh( flat ) );
	const collision = new Collision( world );
	assert.ok( Math.abs( collision.raycast( new Vector3( 3, 1, 0.5 ), new Vector3( 0, - 1, 0 ) ).point.y ) < 1e-6, 'a ray passes them to the floor' );
	// fallen onto them, it stood in the air on an invisible point, or rail
	for ( const [ x, z ] of [ [ 2.5, 0 ], [ 3, 0.5 ] ] ) {

		const walker = new CapsuleWalker( collision ).teleport( x, 2, z );
		walk( walker, 1.5, 0, 0 );
		assert.ok( Math.abs( walker.position.y ) < 0.01, `feet at ${ walker.position.y } over (${ x }, ${ z })` );

	}
	// and walked into, they did not stop it
	const walker = settled( collision, 1.5, 0 );
	walk( walker, 2, 1.5, 0 );
	assert.ok( walker.position.x > 3.3, `stopped at x = ${ walker.position.x }` );
	collision.dispose();

} );

test( 'Collision.lineOfSight between points that are not finite answers not visible', () => {

	// a NaN endpoint (a camera at NaN, an AI target never set) answered clear, through every wall
	const collision = new Collision( twoRooms() );
	const inside = new Vector3( 1, 1, 1.5 );
	for ( const bad of [ new Vector3( NaN, 1, 0 ), new Vector3( 7, Infinity, 1.5 ), new Vector3( - Infinity, 1, 0 ) ] ) {

		assert.equal( collision.lineOfSight( bad, inside ), false, bad.toArray().join() );
		assert.equal( collision.lineOfSight( inside, bad ), false, bad.toArray().join() );

	}
	// finite points whose distance overflows a double are not visible either
	assert.equal( collision.lineOfSight( new Vector3( - 1.7e308, 1, 0 ), new Vector3( 1.7e308, 1, 0 ) ), false );
	assert.equal( collision.lineOfSight( inside, inside.clone() ), true );
	assert.equal( collision.lineOfSight( new Vector3( 1, 1, 0 ), new Vector3( 7, 1, 0 ) ), true );

} );

test( 'CapsuleWalker refuses a position or a walk velocity that is not finite, naming it, rather than falling through the floor', () => {

	const collision = new Collision( twoRooms() );
	const walker = new CapsuleWalker( collision ).teleport( 2, 0.01, 0 );
	// a walk of Infinity m/s put the feet at x = Infinity, below the floor; a teleport to NaN kept NaN for ever
	assert.throws( () => walker.update( 1 / 60, new Vector3( Infinity, 0, 0 ) ), /^Error: CapsuleWalker: walk must be a finite velocity, got Infinity, 0, 0/ );
	assert.throws( () => walker.update( 1 / 60, new Vector3( 0, 0, NaN ) ), /^Error: CapsuleWalker: walk must be a finite velocity/ );
	assert.deepEqual( walker.position.toArray(), [ 2, 0.01, 0 ] );
	assert.throws( () => walker.teleport( NaN, 0, 0 ), /^Error: CapsuleWalker: teleport needs finite coordinates, got NaN, 0, 0/ );
	assert.throws( () => walker.teleport( 0, - Infinity, 0 ), /^Error: CapsuleWalker: teleport needs finite coordinates/ );
	assert.deepEqual( walker.position.toArray(), [ 2, 0.01, 0 ] );
	// y of the walk is ignored, as documented: a NaN there is no harm
	walker.update( 1 / 60, new Vector3( 1, NaN, 0 ) );
	assert.ok( Number.isFinite( walker.position.x ) && walker.position.x > 2 );

} );

test( 'a walk of huge finite speed never passes a wall: a frame moves at most radius / 2 × 4,096', () => {

	const collision = new Collision( twoRooms() );
	// 1e300 m/s took 4,096 substeps of 4e294 m each: the feet were 1.7e298 m beyond the east wall
	// 72 m/s was 4 substeps of a whole radius each, the last one onto the wall's face, and through
	for ( const speed of [ 72, 1e5, 1e300, Number.MAX_VALUE ] ) {

		// headings into walls of room A away from its doorway (into a corner, along a wall)
		for ( const [ vx, vz ] of [ [ speed, 0 ], [ speed, speed ], [ - speed, 0 ], [ 0, - speed ], [ - speed, speed ] ] ) {

			const walker = settled( collision, 2, 1.4 );
			const inA = () => walker.position.x > 0.34 && walker.position.x < 3.66 && Math.abs( walker.position.z ) < 1.66;
			walker.update( 1 / 60, new Vector3( vx, 0, vz ) );
			assert.ok( inA(), `${ vx }, ${ vz }: reached ${ walker.position.toArray() }` );
			// not under the floor, nor over the 3 m ceiling
			assert.ok( walker.position.y > - 0.01 && walker.position.y < 1.31, `${ vx }, ${ vz }: feet at ${ walker.position.y }` );
			// more frames pressing on the wall (at 1e5 m/s and more a frame is 4,096 substeps: one does)
			walk( walker, speed > 100 ? 1 / 60 : 0.5, vx, vz );
			assert.ok( inA(), `${ vx }, ${ vz }: walked to ${ walker.position.toArray() }` );

		}

	}
	// in the open the frame's move is clamped to what its substeps resolve, in the walk's direction
	const open = new Collision( new Group() );
	const walker = new CapsuleWalker( open ).teleport( 0, 0, 0 );
	walker.update( 1 / 60, new Vector3( 1e300, 0, - 1e300 ) );
	assert.ok( Math.abs( walker.position.x - 0.15 * 4096 / Math.SQRT2 ) < 1e-6, `x = ${ walker.position.x }` );
	assert.ok( Math.abs( walker.position.z + 0.15 * 4096 / Math.SQRT2 ) < 1e-6, `z = ${ walker.position.z }` );
	collision.dispose();
	open.dispose();

} );

test( 'CapsuleWalker refuses a gravity, jump speed or eye height that is not a finite number, naming it', () => {

	const collision = new Collision( twoRooms() );
	// gravity NaN froze the walker where it stood, -Infinity put its feet at y = -Infinity; an eye at NaN
	for ( const [ name, value ] of [ [ 'gravity', NaN ], [ 'gravity', - Infinity ], [ 'jumpSpeed', Infinity ], [ 'eyeHeight', NaN ], [ 'gravity', '-20' ] ] ) {

		assert.throws( () => new CapsuleWalker( collision, { [ name ]: value } ), new RegExp( `^Error: CapsuleWalker: ${ name } must be a finite number, got ${ value }` ), `${ name } ${ value }` );

	}
	const walker = new CapsuleWalker( collision, { gravity: 0, jumpSpeed: 0 } ).teleport( 2, 1, 0 );
	walker.update( 1 / 60, new Vector3( 1, 0, 0 ) );
	assert.equal( walker.position.y, 1 );
	collision.dispose();

} );

test( 'a walk into a wall or a corner keeps the feet on the floor: the walk pushed back is no rise', () => {

	const collision = new Collision( twoRooms() );
	// the slide took the walk's speed into the surface off along the push: a push a hair off the horizontal
	// (the floor's touch with the wall's) put it into y. 1e5 m/s into the west wall lifted the feet 1.3 m;
	// 10 m/s into a corner 1.1 m, and 3 m/s 0.13 m
	const runs = [ [ 3, 1, 0 ], [ 3, - 1, 1 ], [ 3, 1, - 1 ], [ 10, - 1, 1 ], [ 10, 1, - 1 ] ];
	for ( const speed of [ 3e4, 1e5, 1e7 ] ) runs.push( [ speed, 1, 0 ], [ speed, - 1, 0 ], [ speed, 0, - 1 ] );
	for ( const [ speed, dx, dz ] of runs ) {

		const walker = settled( collision, 2, 1.4 );
		let highest = walker.position.y;
		// a second of walking; at 3e4 m/s and more a frame is 4,096 substeps against the wall, and 3 frames do
		for ( let t = 0; t < ( speed > 100 ? 3 : 60 ); t ++ ) {

			walker.update( 1 / 60, new Vector3( speed * dx, 0, speed * dz ) );
			highest = Math.max( highest, walker.position.y );

		}
		assert.ok( highest < 0.01, `${ speed } m/s along ${ dx }, ${ dz }: feet rose to ${ highest }` );

	}
	collision.dispose();

} );

test( 'one very long frame into a wall, or into a corner, leaves the walker standing: the floor\'s push is counted apart from the walls\'', () => {

	const collision = new Collision( twoRooms() );
	// the wall's deep push made the floor's under half of the whole: 3,000 m/s for a frame, and a walker stood against
	// a wall could not jump; at 1e5 m/s a substep's fall was under the 1e-9 m that counted as a push
	for ( const [ dt, vx, vz ] of [ [ 1 / 60, 3000, 0 ], [ 1 / 60, 0, 3000 ], [ 1 / 60, 100, 100 ], [ 1 / 60, 1e5, 0 ], [ 10, 2, 0 ], [ 10, 30, - 30 ] ] ) {

		const walker = settled( collision, 2, 0.5 );
		walker.update( dt, new Vector3( vx, 0, vz ) );
		assert.equal( walker.onGround, true, `${ dt } s at ${ vx }, ${ vz }` );
		assert.ok( Math.abs( walker.position.y ) < 0.01, `${ dt } s at ${ vx }, ${ vz }: feet at ${ walker.position.y }` );
		walker.update( 1 / 60, new Vector3( vx, 0, vz ), true );
		assert.ok( walker.position.y > 0.05, `${ dt } s at ${ vx }, ${ vz }: no jump, feet at ${ walker.position.y }` );

	}
	collision.dispose();

} );

test( 'a fast walk diagonally into a room\'s corner keeps the feet on the floor: a wall\'s inner diagonal edge pushes no one up', () => {

	const collision = new Collision( twoRooms() );
	// 30 m/s and more into the north-west corner rose 0.16 m: a substep 0.15 m into the wall met the face's other
	// triangle at their shared diagonal, whose push pointed up the wall
	for ( const speed of [ 30, 50, 100, 300, 1000 ] ) for ( const [ dx, dz ] of [ [ 1, 1 ], [ - 1, 1 ], [ 1, - 1 ], [ - 1, - 1 ] ] ) {

		const walker = settled( collision, 2, 0.5 );
		let highest = walker.position.y;
		for ( let t = 0; t < 60; t ++ ) {

			walker.update( 1 / 60, new Vector3( speed * dx, 0, speed * dz ) );
			highest = Math.max( highest, walker.position.y );

		}
		assert.ok( highest < 0.01, `${ speed } m/s along ${ dx }, ${ dz }: feet rose to ${ highest }` );
		assert.equal( walker.onGround, true, `${ speed } m/s along ${ dx }, ${ dz }` );

	}
	collision.dispose();

} );
