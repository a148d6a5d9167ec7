import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Box3, Vector3 } from 'three';
import { MeshoptDecoder } from 'three/examples/jsm/libs/meshopt_decoder.module.js';
import { Collision } from '../core/Collision.js';
import { SceneLoader } from '../core/SceneLoader.js';
import { StreamingScene } from '../core/StreamingScene.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { build, work } from './builds.js';
import { rangeServer, withoutIndex } from './rangeServer.js';

const MAZE = 'maze:40:5';

function center( scene, i ) {

	return scene.portalScene.cells[ i ].aabb.getCenter( new Vector3() ).setY( 1.6 );

}

function events( scene ) {

	const seen = { cell: [], error: [], evict: [] };
	scene.addEventListener( 'cell', ( e ) => seen.cell.push( e.cellId ) );
	scene.addEventListener( 'error', ( e ) => seen.error.push( e ) );
	scene.addEventListener( 'evict', ( e ) => seen.evict.push( e.cellId ) );
	return seen;

}

for ( const flags of [ [], [ '--quantize' ], [ '--compress' ] ] ) {

	test( `streams the camera cell's PVS, nearest first, from the ETag URL (${ flags.join( ' ' ) || 'plain' })`, async () => {

		await MeshoptDecoder.ready;
		const { glb, meta } = build( MAZE, flags );
		const server = rangeServer( glb, { etag: meta.ETag } );
		// a first answer that ends before the first cell: every cell of the PVS is asked for
		const scene = await new StreamingScene( { baseUrl: 'http://sf', fetch: server.fetch, headBytes: 4096 } ).open( 'maze' );
		const seen = events( scene );
		assert.equal( scene.mode, 'stream' );
		assert.equal( server.requests[ 0 ].url, 'http://sf/scenes/maze.glb' );
		assert.equal( server.requests[ 0 ].range, 'bytes=0-4095' );
		assert.equal( scene.portalScene.cells.length, meta.visibility.cells.length );
		const before = server.requests.length;
		await scene.update( center( scene, 0 ) );
		const request = server.requests[ before ];
		assert.equal( request.url, `http://sf/scenes/maze.${ meta.ETag }.glb` );
		const pvs = meta.visibility.cells[ 0 ].pvs;
		assert.deepEqual( [ ...seen.cell ].sort(), [ ...pvs ].sort() );
		assert.equal( seen.cell[ 0 ], meta.visibility.cells[ 0 ].cellId, 'the camera cell comes first' );
		// The first range asked for is the camera cell's own.
		const [ offset ] = meta.visibility.cells[ 0 ].bytes;
		assert.ok( request.range.startsWith( `bytes=${ offset }-` ) );
		assert.equal( seen.error.length, 0 );
		// Every loaded cell's mesh lies in its cell's box (quantization error aside) and is drawn as in the GLB.
		for ( const id of pvs ) {

			const i = scene.portalScene.cellIndex.get( id );
			const mesh = scene.meshes[ i ];
			const box = new Box3().setFromObject( mesh, true );
			const aabb = scene.portalScene.cells[ i ].aabb.clone().expandByScalar( 0.01 );
			assert.ok( aabb.containsBox( box ), `cell ${ id } mesh inside its box` );
			assert.ok( mesh.geometry.boundsTree, `cell ${ id } has its BVH` );

		}
		// Bytes fetched: the first 64 KiB (the index), the PVS cells, multipart headers.
		const cells = pvs.reduce( ( sum, id ) => sum + meta.visibility.cells.find( ( c ) => c.cellId === id ).bytes[ 1 ], 0 );
		assert.ok( scene.bytesLoaded <= Math.max( 65536, meta.visibility.indexBytes[ 1 ] ) + cells + 150 * pvs.length );
		assert.ok( scene.bytesLoaded < glb.length, `${ scene.bytesLoaded } of ${ glb.length } bytes` );
		scene.dispose();

	} );

}

test( 'raycasts through the shipped BVHs hit what a BVH over the whole file hits', async () => {

	const { glb, meta } = build( MAZE );
	const scene = await new StreamingScene( { fetch: rangeServer( glb, { etag: meta.ETag } ).fetch } ).open( 'maze' );
	// Load every cell: walk the camera through all of them.
	for ( let i = 0; i < scene.portalScene.cells.length; i ++ ) await scene.update( center( scene, i ) );
	assert.equal( scene.cellsLoaded, scene.portalScene.cells.length );
	const whole = await new SceneLoader().parse( glb.buffer.slice( glb.byteOffset, glb.byteOffset + glb.byteLength ) );
	const reference = new Collision( whole.root );
	let hits = 0;
	for ( let i = 0; i < scene.portalScene.cells.length; i ++ ) {

		const origin = center( scene, i );
		for ( let k = 0; k < 16; k ++ ) {

			const direction = new Vector3( Math.cos( k * 0.7 ), Math.sin( k * 1.3 ) * 0.5, Math.sin( k * 0.7 ) );
			const got = scene.collision.raycast( origin, direction );
			const expected = reference.raycast( origin, direction );
			assert.equal( got === null, expected === null );
			if ( got ) {

				hits += 1;
				assert.ok( Math.abs( got.distance - expected.distance ) < 1e-4, `${ got.distance } vs ${ expected.distance }` );

			}

		}

	}
	assert.ok( hits > 100 );
	scene.dispose();

} );

test( 'a server that ignores ranges (200) or refuses them (416) gives the whole file', async () => {

	const { glb, meta } = build( MAZE, [ '--compress' ] );
	for ( const mode of [ 'ignore', '416' ] ) {

		const server = rangeServer( glb, { mode, etag: meta.ETag } );
		const scene = await new StreamingScene( { fetch: server.fetch } ).open( 'maze' );
		assert.equal( scene.mode, 'file' );
		const seen = events( scene );
		await scene.update( center( scene, 3 ) );
		assert.deepEqual( [ ...seen.cell ].sort(), [ ...meta.visibility.cells[ 3 ].pvs ].sort() );
		assert.equal( scene.bytesLoaded, glb.length, 'the file once, nothing more' );
		scene.dispose();

	}

} );

test( 'a 416 to a cells request falls back to the whole file', async () => {

	const { glb, meta } = build( MAZE );
	const server = rangeServer( glb, { mode: '416-once', etag: meta.ETag } );
	const scene = await new StreamingScene( { fetch: server.fetch } ).open( 'maze' );
	assert.equal( scene.mode, 'file' );
	const seen = events( scene );
	await scene.update( center( scene, 1 ) );
	assert.equal( seen.error.length, 0 );
	assert.equal( seen.cell.length, meta.visibility.cells[ 1 ].pvs.length );
	scene.dispose();

} );

test( 'a truncated range fails the cells it held, by name; the others load and it is asked again later', async () => {

	const { glb, meta } = build( MAZE );
	let cutOnce = true;
	const server = rangeServer( glb, {
		etag: meta.ETag,
		cut: ( { range, part } ) => {

			if ( part === 1 && cutOnce && range.includes( ',' ) ) {

				cutOnce = false;
				return 7;

			}
			return null;

		},
	} );
	const scene = await new StreamingScene( { fetch: server.fetch, headBytes: 4096 } ).open( 'maze' );
	const seen = events( scene );
	const camera = center( scene, 0 );
	const before = server.requests.length;
	await scene.update( camera );
	// The cells of the first part arrive; those of the cut part (and after it) fail, each by name.
	const parts = server.requests[ before ].range.replace( 'bytes=', '' ).split( ',' ).map( ( r ) => r.split( '-' ).map( Number ) );
	assert.ok( parts.length >= 2 );
	const inPart = ( id ) => {

		const [ offset ] = meta.visibility.cells.find( ( c ) => c.cellId === id ).bytes;
		return parts.findIndex( ( [ a, b ] ) => offset >= a && offset <= b );

	};
	const pvs = meta.visibility.cells[ 0 ].pvs;
	const lost = pvs.filter( ( id ) => inPart( id ) >= 1 ).sort();
	assert.ok( lost.length >= 1 );
	assert.deepEqual( seen.error.map( ( e ) => e.cellId ).sort(), lost );
	assert.deepEqual( [ ...seen.cell ].sort(), pvs.filter( ( id ) => inPart( id ) === 0 ).sort() );
	for ( const e of seen.error ) assert.match( e.error.message, new RegExp( `cell "${ e.cellId }" \\(bytes \\d+-\\d+\\): cut short` ) );
	// Moving to another cell and back asks for the failed cells again.
	const other = scene.portalScene.cells[ 0 ].portals.map( ( p ) => scene.portalScene.portals[ p ] ).map( ( p ) => ( p.from === 0 ? p.to : p.from ) )[ 0 ];
	await scene.update( center( scene, other ) );
	await scene.update( camera );
	for ( const id of lost ) assert.ok( seen.cell.includes( id ), `${ id } loaded on the second try` );
	scene.dispose();

} );

test( 'a file whose streaming index has a newer version loads whole, not failing', async () => {

	const { glb, meta } = build( MAZE );
	const newer = glb.slice();
	const probe = new TextDecoder().decode( newer.subarray( 20, 20 + 4096 ) );
	const at = probe.indexOf( '"version":1' );
	assert.ok( at > 0, 'the index names its version' );
	newer[ 20 + at + '"version":'.length ] = '9'.charCodeAt( 0 ); // same length: every offset holds
	for ( const serve of [ ( f ) => rangeServer( f, { etag: meta.ETag } ), ( f ) => rangeServer( f, { etag: meta.ETag, mode: 'ignore' } ) ] ) {

		const server = serve( newer );
		const scene = await new StreamingScene( { fetch: server.fetch } ).open( 'maze' );
		assert.equal( scene.mode, 'whole' );
		assert.equal( scene.portalScene.cells.length, meta.visibility.cells.length );
		await scene.update( center( scene, 0 ) );
		scene.dispose();

	}

} );

test( 'a file without the streaming index (an older build) loads whole', async () => {

	const { glb, meta } = build( MAZE );
	const old = withoutIndex( glb );
	const server = rangeServer( old, { etag: meta.ETag } );
	const scene = await new StreamingScene( { fetch: server.fetch } ).open( 'maze' );
	assert.equal( scene.mode, 'whole' );
	assert.equal( scene.portalScene.cells.length, meta.visibility.cells.length );
	assert.ok( scene.portalScene.cells.every( ( c ) => c.object !== null ) );
	assert.ok( scene.collision.raycast( center( scene, 0 ), new Vector3( 1, 0, 0 ) ) );
	await scene.update( center( scene, 0 ) );
	scene.dispose();

} );

test( 'far cells are evicted under the memory budget', async () => {

	const { glb, meta } = build( MAZE );
	const scene = await new StreamingScene( { fetch: rangeServer( glb, { etag: meta.ETag } ).fetch, memoryBudget: 40000 } ).open( 'maze' );
	const seen = events( scene );
	const n = scene.portalScene.cells.length;
	for ( let i = 0; i < n; i ++ ) {

		await scene.update( center( scene, i ) );
		// What stays over the budget is only the current PVS.
		const pvs = scene.portalScene.cells[ scene.cameraCell ].pvs;
		let outside = 0;
		scene.meshes.forEach( ( m, k ) => {

			if ( m && ! pvs[ k ] ) outside += 1;

		} );
		if ( scene.memory > scene.memoryBudget ) assert.equal( outside, 0 );

	}
	assert.ok( seen.evict.length > 0 );
	scene.dispose();

} );

test( 'the capsule walker walks the streamed cells as it walks the whole file', async () => {

	const { CapsuleWalker } = await import( '../core/CapsuleWalker.js' );
	await MeshoptDecoder.ready;
	const { glb, meta } = build( MAZE, [ '--quantize' ] );
	const scene = await new StreamingScene( { fetch: rangeServer( glb, { etag: meta.ETag } ).fetch } ).open( 'maze' );
	const start = center( scene, 0 ).setY( 0.5 );
	await scene.update( start );
	const whole = await new SceneLoader().parse( glb.buffer.slice( glb.byteOffset, glb.byteOffset + glb.byteLength ) );
	assert.ok( scene.cellReady( 0 ) && ! scene.cellReady( - 1 ) );
	assert.ok( scene.portalScene.cells.some( ( c, i ) => ! scene.cellReady( i ) ), 'cells outside the PVS are not ready' );
	const walkers = [ new CapsuleWalker( scene.collision ), new CapsuleWalker( new Collision( whole.root ) ) ];
	const walk = new Vector3( 1, 0, 0.4 ).normalize().multiplyScalar( 3 );
	for ( const w of walkers ) {

		w.teleport( start.x, start.y, start.z );
		for ( let k = 0; k < 21; k ++ ) w.update( 1 / 60, walk, false );

	}
	const [ a, b ] = walkers.map( ( w ) => w.position );
	assert.ok( walkers[ 0 ].onGround && walkers[ 1 ].onGround, 'stands on the floor' );
	assert.ok( a.distanceTo( b ) < 1e-3, `${ a.toArray() } vs ${ b.toArray() }` );
	assert.ok( a.distanceTo( start ) > 0.5, 'it moved' );
	scene.dispose();

} );

test( 'an index longer than the first answer is fetched in a second range', async () => {

	const { glb, meta } = build( MAZE );
	const server = rangeServer( glb, { etag: meta.ETag } );
	const scene = await new StreamingScene( { fetch: server.fetch, headBytes: 1024 } ).open( 'maze' );
	assert.equal( server.requests[ 0 ].range, 'bytes=0-1023' );
	assert.equal( server.requests[ 1 ].range, `bytes=1024-${ meta.visibility.indexBytes[ 1 ] - 1 }` );
	assert.equal( server.requests.length, 2 );
	assert.equal( scene.bytesLoaded, meta.visibility.indexBytes[ 1 ] );
	await scene.update( center( scene, 2 ) );
	assert.equal( scene.cellsLoaded, meta.visibility.cells[ 2 ].pvs.length );
	scene.dispose();

} );

test( 'cells on screen come in a first request, the rest of the PVS in a second', async () => {

	const { glb, meta } = build( MAZE );
	const server = rangeServer( glb, { etag: meta.ETag } );
	const scene = await new StreamingScene( { fetch: server.fetch, headBytes: 4096 } ).open( 'maze' );
	const before = server.requests.length;
	const visible = new Uint8Array( scene.portalScene.cells.length );
	visible[ 0 ] = 1;
	await scene.update( center( scene, 0 ), visible );
	const ranges = server.requests.slice( before ).map( ( r ) => r.range );
	const [ offset, length ] = meta.visibility.cells[ 0 ].bytes;
	assert.equal( ranges[ 0 ], `bytes=${ offset }-${ offset + length - 1 }` );
	assert.equal( ranges.length, 2 );
	assert.equal( scene.cellsLoaded, meta.visibility.cells[ 0 ].pvs.length );
	scene.dispose();

} );

/** The interlocking L-shaped rooms below, built once. */
function interlock() {

	// A is L-shaped; B is L-shaped and its box covers A's arm; C opens off the far end of A's foot.
	const spec = path.join( work, 'interlock.json' );
	writeFileSync( spec, JSON.stringify( {
		sceneId: 'interlock',
		cells: [
			{ cellId: 'A', room: { floor: [ [ 0, 0 ], [ 10, 0 ], [ 10, 4 ], [ 4, 4 ], [ 4, 10 ], [ 0, 10 ] ], y: 0, height: 3 } },
			{ cellId: 'B', room: { floor: [ [ 4, 4 ], [ 12, 4 ], [ 12, 12 ], [ 2, 12 ], [ 2, 10 ], [ 4, 10 ] ], y: 0, height: 3 } },
			{ cellId: 'C', room: { min: [ 10, 0, 0 ], max: [ 14, 3, 4 ] } },
		],
		portals: [
			{ from: 'A', to: 'B', quad: [ 4, 0, 6, 4, 2.1, 6, 4, 2.1, 7, 4, 0, 7 ] },
			{ from: 'A', to: 'C', quad: [ 10, 0, 1, 10, 2.1, 1, 10, 2.1, 2, 10, 0, 2 ] },
		],
	} ) );
	const built = build( spec );
	assert.deepEqual( built.meta.visibility.cells.map( ( c ) => c.pvs ), [ [ 'A', 'B', 'C' ], [ 'A', 'B' ], [ 'A', 'C' ] ] );
	return built;

}

/**
 * The same GLB with the index's `floors` member blanked out (spaces, which JSON allows, so every
 * offset stays): the cells are known by their boxes only, as tagged-GLB cells are.
 * @param {Uint8Array} glb
 */
function withoutFloors( glb ) {

	const text = new TextDecoder().decode( glb.subarray( 20, 20 + new DataView( glb.buffer, glb.byteOffset ).getUint32( 12, true ) ) );
	const start = text.indexOf( ',"floors":[' );
	assert.ok( start > 0, 'the index lists the L-shaped rooms\' outlines' );
	let depth = 0, end = start + ',"floors":'.length;
	do {

		if ( text[ end ] === '[' ) depth ++;
		else if ( text[ end ] === ']' ) depth --;
		end ++;

	} while ( depth > 0 );
	const out = glb.slice();
	out.fill( 0x20, 20 + start, 20 + end ); // the JSON text is ASCII: string and byte offsets agree
	return out;

}

test( 'a camera in an L-shaped room whose box overlaps another streams the PVS of the room it stands in', async () => {

	// From (3, 1.5, 6), in A's arm, B's box holds the camera too (and is the smaller), but the
	// outlines the index carries say the camera is in A: A's PVS, C included, is streamed.
	const { glb, meta } = interlock();
	const server = rangeServer( glb, { etag: meta.ETag } );
	const scene = await new StreamingScene( { baseUrl: 'http://sf', fetch: server.fetch } ).open( 'interlock' );
	const seen = events( scene );
	assert.deepEqual( Array.from( scene.portalScene.cells[ 0 ].floor ), [ 0, 0, 10, 0, 10, 4, 4, 4, 4, 10, 0, 10 ] );
	assert.equal( scene.portalScene.cells[ 2 ].floor, null );
	await scene.update( new Vector3( 3, 1.5, 6 ) );
	assert.equal( scene.cameraCell, 0 );
	assert.deepEqual( [ ...seen.cell ].sort(), [ 'A', 'B', 'C' ] );
	assert.equal( seen.error.length, 0 );
	const feet = new Vector3( 3, 0.05, 6 );
	assert.ok( scene.readyAt( feet ) );
	scene.unload( 1 );
	assert.ok( scene.readyAt( feet ), 'B\'s box holds the feet, its room does not' );
	scene.unload( 0 );
	assert.equal( scene.readyAt( feet ), false );
	scene.dispose();

} );

test( 'a camera in overlapping boxes of cells without outlines streams the PVS of every room it may stand in', async () => {

	// The same level known by boxes only. From (3, 1.5, 6) the smaller box holding the camera is
	// B's, and B's PVS lacks C: C, in plain sight down A, was never fetched.
	const { glb, meta } = interlock();
	const server = rangeServer( withoutFloors( glb ), { etag: meta.ETag } );
	const scene = await new StreamingScene( { baseUrl: 'http://sf', fetch: server.fetch } ).open( 'interlock' );
	const seen = events( scene );
	assert.equal( scene.portalScene.cells[ 0 ].floor, null );
	await scene.update( new Vector3( 3, 1.5, 6 ) );
	assert.equal( scene.cameraCell, 1 );
	assert.deepEqual( [ ...seen.cell ].sort(), [ 'A', 'B', 'C' ] );
	assert.equal( seen.error.length, 0 );
	// A walker there stands on A's floor: the geometry is not in until A is, whatever B's state.
	const feet = new Vector3( 3, 0.05, 6 );
	assert.ok( scene.readyAt( feet ) );
	scene.unload( 0 );
	assert.ok( scene.cellReady( scene.portalScene.findCell( feet ) ), 'the smallest box holding it is B\'s' );
	assert.equal( scene.readyAt( feet ), false );
	scene.dispose();

} );

test( 'a PVS of more cells than the service takes ranges in one request is asked in several, never as the whole file', async () => {

	// The service ignores a Range header of more than 64 ranges (RFC 9110 §14.2) and answers 200 with
	// the whole file; 256 per request made a cell of office-200 with 102 cells in its PVS download it all.
	const { glb, meta } = build( 'office-200.json' );
	const server = rangeServer( glb, { etag: meta.ETag } );
	const scene = await new StreamingScene( { baseUrl: 'http://sf', fetch: server.fetch } ).open( 'office' );
	const seen = events( scene );
	const cells = meta.visibility.cells;
	const widest = cells.reduce( ( best, c, i ) => ( c.pvs.length > cells[ best ].pvs.length ? i : best ), 0 );
	assert.ok( cells[ widest ].pvs.length > 64 );
	await scene.update( center( scene, widest ) );
	assert.deepEqual( [ ...seen.cell ].sort(), [ ...cells[ widest ].pvs ].sort() );
	for ( const r of server.requests ) assert.ok( r.range && r.range.split( ',' ).length <= 64, 'every request is answered with ranges' );
	assert.ok( scene.bytesLoaded < glb.length, `${ scene.bytesLoaded } of ${ glb.length } bytes` );
	scene.dispose();

} );

for ( const ifMatch of [ true, false ] ) {

	test( `a file replaced on the server mid-stream fails the cells asked after it, never mixing versions (${ ifMatch ? '412' : 'If-Match ignored' })`, async () => {

		await MeshoptDecoder.ready;
		const { glb, meta } = build( MAZE );
		const next = build( 'maze:40:6' );
		const server = rangeServer( glb, { etag: meta.ETag, ifMatch } );
		// A plain URL (a CDN, a static server): nothing pins the version but the ETag.
		const scene = await new StreamingScene( { fetch: server.fetch, headBytes: 4096 } ).openUrl( 'http://cdn/level.glb' );
		const seen = events( scene );
		server.replace( next.glb, next.meta.ETag );
		const before = server.requests.length;
		await scene.update( center( scene, 0 ) );
		assert.ok( server.requests.length > before );
		for ( const r of server.requests.slice( 1 ) ) assert.equal( r.ifMatch, `"${ meta.ETag }"` );
		assert.deepEqual( seen.cell, [], 'no cell decoded from bytes of the other version' );
		assert.deepEqual( seen.error.map( ( e ) => e.cellId ).sort(), [ ...meta.visibility.cells[ 0 ].pvs ].sort() );
		for ( const e of seen.error ) assert.match( e.error.message, /the file changed on the server/ );
		scene.dispose();

	} );

}

test( 'every answer is read or cancelled: a 416, a 412 or an error status leaves no body holding its connection', async () => {

	await MeshoptDecoder.ready;
	const { glb, meta } = build( MAZE );
	const next = build( 'maze:40:6' );
	const responses = [];
	const recorded = ( fetch ) => async ( url, init ) => {

		const response = await fetch( url, init );
		responses.push( response );
		return response;

	};
	// A first answer of 416 (then the whole file).
	const refusing = rangeServer( glb, { mode: '416', etag: meta.ETag } );
	let scene = await new StreamingScene( { fetch: recorded( refusing.fetch ) } ).open( 'maze' );
	assert.equal( scene.mode, 'file' );
	scene.dispose();
	// Cells requests answered 404, then 416 (asked again without a range: the whole file), on a
	// second scene one after the file changed (412).
	for ( const answers of [ [ 404, 416 ], [ 412 ] ] ) {

		const server = rangeServer( glb, { etag: meta.ETag } );
		scene = await new StreamingScene( { fetch: recorded( async ( url, init ) => {

			const cells = init.headers.Range && ! init.headers.Range.startsWith( 'bytes=0-' );
			if ( cells && answers[ 0 ] === 412 ) server.replace( next.glb, next.meta.ETag );
			if ( cells && answers.length && answers[ 0 ] !== 412 ) {

				return new Response( 'no', { status: answers.shift(), headers: { etag: `"${ meta.ETag }"` } } );

			}
			return server.fetch( url, init );

		} ) } ).openUrl( 'http://cdn/level.glb' );
		const seen = events( scene );
		await scene.update( center( scene, 0 ) );
		await scene.update( center( scene, 39 ) );
		const messages = seen.error.map( ( e ) => e.error.message );
		assert.ok( messages.length > 0 && messages.every( ( m ) => / answered 404$|the file changed/.test( m ) ), messages.join( '\n' ) );
		scene.dispose();

	}
	assert.ok( responses.some( ( r ) => r.status === 416 ) && responses.some( ( r ) => r.status === 412 ) );
	for ( const r of responses ) assert.ok( r.bodyUsed, `the body of a ${ r.status } answer was left unread` );

} );

test( 'a first answer cut short while the rest of the index is on its way fails open, and nothing goes unhandled', async () => {

	const { glb, meta } = build( MAZE );
	const server = rangeServer( glb, { etag: meta.ETag, cut: ( { range } ) => ( range === 'bytes=0-1023' ? 600 : null ) } );
	let calls = 0;
	const fetch = async ( url, init ) => {

		// the second request (the rest of the index) fails after the first answer has
		if ( ++ calls === 2 ) return new Promise( ( ok ) => setTimeout( () => ok( new Response( 'down', { status: 503 } ) ), 20 ) );
		return server.fetch( url, init );

	};
	const unhandled = [];
	const listener = ( error ) => unhandled.push( error );
	process.on( 'unhandledRejection', listener );
	try {

		await assert.rejects( new StreamingScene( { fetch, headBytes: 1024 } ).open( 'maze' ), /cut short/ );
		await new Promise( ( ok ) => setTimeout( ok, 60 ) );

	} finally {

		process.off( 'unhandledRejection', listener );

	}
	assert.equal( calls, 2 );
	assert.deepEqual( unhandled.map( ( e ) => e.message ), [] );

} );
