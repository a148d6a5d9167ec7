import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Vector3 } from 'three';
import { PortalScene } from '../core/PortalScene.js';
import { PortalCuller } from '../core/PortalCuller.js';
import { PASSAGE_DEPTH, inPassage } from '../core/PassageIndex.js';
import { visibilityFromIndex } from '../core/StreamIndex.js';
import { camera, doorX, doorZ, meta, room } from './fixtures.js';

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

/** A seeded generator of numbers in [0, 1). */
function random( seed ) {

	let s = seed;
	return () => ( s = ( s * 1103515245 + 12345 ) & 0x7fffffff ) / 0x80000000;

}

/**
 * A scene of `n` random cells: boxes that overlap, nest, repeat (equal volumes: ties) or stand apart,
 * a third of them with an L-shaped or triangular outline inside their box.
 */
function randomScene( n, rand ) {

	const cells = [];
	for ( let i = 0; i < n; i ++ ) {

		const grid = rand() < 0.3; // whole metres: equal boxes and shared faces
		const q = ( v ) => ( grid ? Math.round( v ) : v );
		const x = q( rand() * 60 - 30 ), y = q( rand() * 6 - 3 ), z = q( rand() * 60 - 30 );
		const w = Math.max( grid ? 1 : 0.01, q( rand() * 12 ) ), h = Math.max( grid ? 1 : 0.01, q( rand() * 4 ) ), d = Math.max( grid ? 1 : 0.01, q( rand() * 12 ) );
		const cell = { cellId: `c${ i }`, aabb: [ x, y, z, x + w, y + h, z + d ] };
		const shape = rand();
		if ( shape < 0.15 ) cell.floor = [ [ x, z ], [ x + w, z ], [ x + w, z + d / 2 ], [ x + w / 2, z + d / 2 ], [ x + w / 2, z + d ], [ x, z + d ] ];
		else if ( shape < 0.3 ) cell.floor = [ [ x, z ], [ x + w, z ], [ x, z + d ] ];
		cells.push( cell );
		if ( rand() < 0.1 && i + 1 < n ) cells.push( { ...cell, cellId: `c${ ++ i }` } ); // the same box again

	}
	return PortalScene.fromMeta( meta( cells, [] ) );

}

/** `findCell` by its definition, cell by cell: the smallest box holding the point (first of equals), else the nearest cell (first of equals). */
function findCellLinear( scene, point, tolerance ) {

	let best = - 1, bestVolume = Infinity, nearest = - 1, nearestDistance = Infinity;
	for ( const cell of scene.cells ) {

		const d = scene.distanceToCell( cell.index, point );
		const size = cell.aabb.getSize( new Vector3() );
		const volume = size.x * size.y * size.z;
		if ( d <= tolerance ) {

			if ( volume < bestVolume ) [ best, bestVolume ] = [ cell.index, volume ];

		} else if ( d < nearestDistance ) [ nearest, nearestDistance ] = [ cell.index, d ];

	}
	return best >= 0 ? best : nearest;

}

test( 'PortalScene.findCell and findCells answer as a scan of every cell does, on random scenes (a tree over the boxes: 20,000 cells took 1 ms a query)', () => {

	const rand = random( 12345 );
	for ( const n of [ 0, 1, 2, 3, 5, 9, 40, 300, 1500 ] ) {

		const scene = randomScene( n, rand );
		const boxes = scene.cells.map( ( c ) => c.aabb );
		for ( let k = 0; k < 400; k ++ ) {

			let point;
			const kind = rand();
			if ( kind < 0.4 ) point = new Vector3( rand() * 80 - 40, rand() * 10 - 4, rand() * 80 - 40 );
			else if ( kind < 0.7 && n ) {

				// on a face, an edge or a corner of a box, or within the tolerance of one
				const b = boxes[ Math.floor( rand() * n ) ];
				const pick = ( lo, hi ) => [ lo, hi, lo + ( hi - lo ) * rand(), lo - 5e-5, hi + 5e-5, hi + 2e-4 ][ Math.floor( rand() * 6 ) ];
				point = new Vector3( pick( b.min.x, b.max.x ), pick( b.min.y, b.max.y ), pick( b.min.z, b.max.z ) );

			} else if ( kind < 0.97 ) point = new Vector3( rand() * 2000 - 1000, rand() * 2000 - 1000, rand() * 2000 - 1000 );
			else point = new Vector3( [ NaN, Infinity, - Infinity ][ k % 3 ], 0, 0 );
			for ( const tolerance of [ 1e-4, 0.5 ] ) {

				assert.equal( scene.findCell( point, tolerance ), findCellLinear( scene, point, tolerance ), `${ n } cells, ${ point.toArray() }, ${ tolerance }` );
				const holding = [];
				for ( const cell of scene.cells ) if ( Number.isFinite( point.x + point.y + point.z ) && scene.distanceToCell( cell.index, point ) <= tolerance ) holding.push( cell.index );
				const found = [];
				scene._holding( point, tolerance, found );
				assert.deepEqual( found.sort( ( a, b ) => a - b ), holding, `${ n } cells, ${ point.toArray() }, ${ tolerance }` );

			}

		}

	}

} );

test( 'PortalScene.findCells of a point that is not finite is empty (a NaN point was in every cell)', () => {

	const scene = PortalScene.fromMeta( meta( [ room( 'a', 0, 0, 4, 4 ), room( 'b', 4, 0, 8, 4 ) ], [] ) );
	for ( const bad of [ new Vector3( NaN, 1, 1 ), new Vector3( 1, NaN, 1 ), new Vector3( Infinity, 1, 1 ) ] ) {

		assert.deepEqual( scene.findCells( bad ), [], bad.toArray().join() );
		assert.equal( scene.findCell( bad ), - 1, bad.toArray().join() );

	}

} );

test( 'PortalScene.fromMeta refuses a portal plane that does not hold its quad, naming the portal, rather than hiding the room behind it', () => {

	const cells = [ room( 'A', 0, - 2, 4, 2 ), room( 'B', 4, - 2, 8, 2 ), room( 'C', 8, - 2, 12, 2 ) ];
	const named = /^Error: PortalScene: portal 0 \("A" -> "B"\) has a plane that does not hold its quad \(a corner \d+(\.\d+)? m off it\)/;
	// the z = 0 plane, the x = 4 plane moved 36 m, the floor's: B (and C) were hidden from A looking through the doorway
	for ( const plane of [ [ 0, 0, 1, 0 ], [ 1, 0, 0, - 40 ], [ 0, 1, 0, 0 ] ] ) {

		assert.throws( () => PortalScene.fromMeta( meta( cells, [ doorX( 'A', 'B', 4, - 0.5, 0.5, { plane } ), doorX( 'B', 'C', 8, - 0.5, 0.5 ) ] ) ), named, plane.join() );

	}
	// a plane a millimetre off its quad (the compiler lets quad corners lie that far off their plane), or scaled, holds it
	for ( const plane of [ [ 1, 0, 0, - 4.001 ], [ 2, 0, 0, - 8 ] ] ) {

		const scene = PortalScene.fromMeta( meta( cells, [ doorX( 'A', 'B', 4, - 0.5, 0.5, { plane } ), doorX( 'B', 'C', 8, - 0.5, 0.5 ) ] ) );
		assert.deepEqual( seen( scene, [ 2, 1.5, 0 ], [ 10, 1.5, 0 ] ), [ 'A', 'B', 'C' ], plane.join() );

	}

} );

/**
 * A `g` × `g` grid of 4 m rooms whose boxes stop 0.1 m short of the walls between them (a wall's
 * thickness: the gaps no cell holds), a doorway in every inner wall.
 */
function gridWithWalls( g ) {

	const cells = [], portals = [];
	for ( let i = 0; i < g; i ++ ) for ( let j = 0; j < g; j ++ ) {

		cells.push( room( `r${ i }_${ j }`, 4 * i + 0.1, 4 * j + 0.1, 4 * i + 3.9, 4 * j + 3.9 ) );
		if ( i + 1 < g ) portals.push( doorX( `r${ i }_${ j }`, `r${ i + 1 }_${ j }`, 4 * i + 4, 4 * j + 1.5, 4 * j + 2.5 ) );
		if ( j + 1 < g ) portals.push( doorZ( `r${ i }_${ j }`, `r${ i }_${ j + 1 }`, 4 * j + 4, 4 * i + 1.5, 4 * i + 2.5 ) );

	}
	return PortalScene.fromMeta( meta( cells, portals ) );

}

/** Count the reads of every portal's plane (the passage test reads it first) into `counter.reads`. */
function countPlaneReads( scene, counter ) {

	for ( const portal of scene.portals ) {

		const plane = portal.plane;
		Object.defineProperty( portal, 'plane', { get() {

			counter.reads ++;
			return plane;

		} } );

	}

}

test( 'PortalScene.findCells of a point in no cell examines the few portals near it, not every portal of the scene (a scan per frame)', () => {

	const scene = gridWithWalls( 24 ); // 1,104 portals
	assert.equal( scene.portals.length, 1104 );
	// in a doorway's passage through the wall: its two rooms
	assert.deepEqual( scene.findCells( new Vector3( 8, 1, 6 ) ).map( ( i ) => scene.cells[ i ].id ).sort(), [ 'r1_1', 'r2_1' ] );
	const counter = { reads: 0 };
	countPlaneReads( scene, counter );
	const misses = [
		new Vector3( - 50, 1, - 50 ), new Vector3( 500, 1, 40 ), new Vector3( 40, 30, 40 ), new Vector3( 40, - 5, 40 ), // outside the level
		new Vector3( 8, 1, 5 ), new Vector3( 40, 1, 40 ), new Vector3( 41, 2.5, 44 ), // in a wall, beside a doorway or past its top
	];
	for ( const point of misses ) {

		counter.reads = 0;
		assert.deepEqual( scene.findCells( point ), [], point.toArray().join() );
		assert.ok( counter.reads <= 16, `${ point.toArray() }: ${ counter.reads } portals examined` );

	}
	counter.reads = 0;
	assert.deepEqual( scene.findCells( new Vector3( 44, 1, 42 ) ).map( ( i ) => scene.cells[ i ].id ).sort(), [ 'r10_10', 'r11_10' ] );
	assert.ok( counter.reads <= 16, `${ counter.reads } portals examined` );

} );

/** `findCells` of a point in no cell by its definition: the cells of every portal whose passage holds it, by a scan. */
function passageCellsLinear( scene, point, tolerance ) {

	const cells = new Set();
	for ( const portal of scene.portals ) {

		if ( ! inPassage( portal, point, tolerance ) ) continue;
		cells.add( portal.from );
		cells.add( portal.to );

	}
	return [ ...cells ].sort( ( a, b ) => scene.cells[ a ].aabb.getSize( new Vector3() ).toArray().reduce( ( x, y ) => x * y ) - scene.cells[ b ].aabb.getSize( new Vector3() ).toArray().reduce( ( x, y ) => x * y ) || a - b );

}

test( 'PortalScene.findCells of a point in no cell answers as a scan of every portal does, on random portals and tolerances', () => {

	const rand = random( 4242 );
	for ( const count of [ 1, 2, 7, 60, 400 ] ) {

		// small cells far from the portals, so that the points fall to the passages; two of their own for each
		// portal but a few (the answer says which portals hold the point)
		const cells = [], portals = [];
		for ( let k = 0; k < count; k ++ ) {

			// a quad about a centre, turned any way; some slivers, some sharp-cornered, some skewed off their plane
			const c = [ rand() * 200 - 100, rand() * 20 - 10, rand() * 200 - 100 ];
			const w = rand() < 0.1 ? 0.002 : rand() * 4, h = rand() * 3 + 0.01;
			const axis = rand();
			const n = axis < 0.3 ? new Vector3( ...[ [ 1, 0, 0 ], [ 0, 0, - 1 ], [ 0, 1, 0 ] ][ Math.floor( axis * 10 ) ] ) : new Vector3( rand() - 0.5, rand() - 0.5, rand() - 0.5 ).normalize();
			const a = new Vector3( n.x === 1 ? 0 : 1, n.x === 1 ? 1 : 0, 0 ).cross( n ).normalize(), b = new Vector3().crossVectors( n, a );
			const skew = rand() < 0.2 ? rand() * 3 : 0, off = rand() < 0.2 ? 0.005 : 0;
			const corner = ( s, t, o ) => new Vector3( ...c ).addScaledVector( a, s ).addScaledVector( b, t ).addScaledVector( n, o ).toArray();
			const quad = [ ...corner( 0, 0, 0 ), ...corner( w, 0, off ), ...corner( w + skew, h, 0 ), ...corner( skew * ( rand() < 0.5 ? 1 : 0.2 ), h, - off ) ];
			const from = `${ k }a`, to = rand() < 0.1 ? from : `${ k }b`;
			cells.push( { cellId: from, aabb: [ 900 + 3 * k, 0, 900, 901 + 3 * k, 1, 900 + rand() ] } );
			if ( to !== from ) cells.push( { cellId: to, aabb: [ 900 + 3 * k, 0, 902, 901 + 3 * k, 1, 902 + rand() ] } );
			portals.push( rand() < 0.5 ? { from, to, quad } : { from, to, quad, plane: [ n.x, n.y, n.z, - n.dot( new Vector3( ...c ) ) ] } );

		}
		// findCell's tolerance, larger ones, negative and zero: a scene for each (its passages' boxes made for that
		// tolerance), and one asked them all in turn (its boxes made again at each doubling)
		const tolerances = [ 1e-4, 0.003, 0.3, 0.02, 2.5, 3.9, 0, - 0.05, - 3.9, 300 ];
		const scenes = tolerances.map( () => PortalScene.fromMeta( meta( cells, portals ) ) );
		const scene = PortalScene.fromMeta( meta( cells, portals ) );
		for ( let k = 0; k < 600; k ++ ) {

			let point;
			if ( rand() < 0.7 ) {

				// near a portal: across its plane within about the passage's depth, its foot about the quad's edges
				const p = scene.portals[ Math.floor( rand() * scene.portals.length ) ];
				const q = p.quad;
				const spread = [ 0.2, 1, 3 ][ k % 3 ];
				const s = ( 1 + 2 * spread ) * rand() - spread, t = ( 1 + 2 * spread ) * rand() - spread;
				point = q[ 0 ].clone().lerp( q[ 1 ], s ).lerp( q[ 3 ].clone().lerp( q[ 2 ], s ), t ).addScaledVector( p.plane.normal, ( rand() * 2 - 1 ) * PASSAGE_DEPTH * 1.1 );

			} else point = new Vector3( rand() * 240 - 120, rand() * 30 - 15, rand() * 240 - 120 );
			tolerances.forEach( ( tolerance, t ) => {

				const expected = passageCellsLinear( scene, point, tolerance );
				assert.deepEqual( scenes[ t ].findCells( point, tolerance ), expected, `${ count } portals, ${ point.toArray() }, ${ tolerance }` );
				assert.deepEqual( scene.findCells( point, tolerance ), expected, `${ count } portals, ${ point.toArray() }, ${ tolerance }, after others` );

			} );

		}

	}

} );

test( 'PortalScene.findCell and findCells refuse a tolerance that is not a number, naming it (NaN put every point near a doorway in its passage)', () => {

	const scene = PortalScene.fromMeta( meta( [ room( 'A', 0, - 2, 4, 2 ), room( 'B', 4, - 2, 8, 2 ) ], [ doorX( 'A', 'B', 4, - 0.6, 0.6 ) ] ) );
	const nearTheDoor = new Vector3( 4.5, 1, 0 );
	for ( const bad of [ NaN, '0.1', null ] ) {

		assert.throws( () => scene.findCells( nearTheDoor, bad ), /PortalScene\.findCells: tolerance must be a number/ );
		assert.throws( () => scene.findCell( nearTheDoor, bad ), /PortalScene\.findCell: tolerance must be a number/ );

	}
	assert.deepEqual( scene.findCells( nearTheDoor ), [ 1 ] );

} );
