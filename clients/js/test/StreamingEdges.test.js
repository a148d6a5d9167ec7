// StreamingScene as an outside application meets it: files it did not write, servers that answer
// oddly, cameras anywhere. Each test here failed before the fix it guards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Vector3 } from 'three';
import { StreamingScene } from '../core/StreamingScene.js';
import { build } from './builds.js';
import { rangeServer } from './rangeServer.js';

const MAZE = 'maze:40:5';

function center( scene, i ) {

	return scene.portalScene.cells[ i ].aabb.getCenter( new Vector3() ).setY( 1.6 );

}

function errors( scene ) {

	const seen = [];
	scene.addEventListener( 'error', ( e ) => seen.push( e.error.message ) );
	return seen;

}

// First in this file: nothing here has awaited three's MeshoptDecoder.ready, as an application
// that never imports the decoder itself has not.
test( 'a compressed file streams its cells without the application awaiting the meshopt decoder', async () => {

	const { glb, meta } = build( MAZE, [ '--compress' ] );
	for ( const mode of [ 'ranges', 'ignore' ] ) {

		const server = rangeServer( glb, { mode, etag: meta.ETag } );
		const scene = new StreamingScene( { fetch: server.fetch } );
		const seen = errors( scene );
		await scene.openUrl( 'http://sf/maze.glb' );
		await scene.update( center( scene, 0 ) );
		assert.deepEqual( seen, [], mode );
		assert.equal( scene.cellsLoaded, meta.visibility.cells[ 0 ].pvs.length, mode );
		scene.dispose();

	}

} );

/** `server.fetch` with each answer passed through `edit(response, index, url, init)` (a Response to send instead, or nothing). */
function through( server, edit ) {

	let k = 0;
	return async ( url, init = {} ) => {

		const index = k ++;
		const instead = await edit( url, init, index );
		return instead || server.fetch( url, init );

	};

}

/** A Response like `response`, with its headers edited and, optionally, marked as come through a redirect. */
function reanswer( response, editHeaders, redirected = false ) {

	const headers = new Headers( response.headers );
	editHeaders( headers );
	const out = new Response( response.body, { status: response.status, headers } );
	if ( redirected ) Object.defineProperty( out, 'redirected', { value: true } );
	return out;

}

test( 'a service that redirects to presigned object-store URLs streams: the store\'s ETag pins no URL and goes out as no If-Match', async () => {

	const { glb, meta } = build( MAZE );
	const server = rangeServer( glb, { etag: meta.ETag } );
	const store = { etag: '"0f343b0931126a20f133d67c2b018a3b"' };
	// The service: 404 for a version it does not know, 412 for an If-Match other than its ETag;
	// else a 302 that fetch follows to the store, whose answer states the store's ETag.
	const fetch = async ( url, init = {} ) => {

		if ( ! /\/scenes\/maze\.glb$/.test( url ) ) return new Response( 'not found', { status: 404 } );
		const ifMatch = init.headers[ 'If-Match' ];
		if ( ifMatch && ifMatch !== `"${ meta.ETag }"` ) return new Response( '', { status: 412, headers: { etag: `"${ meta.ETag }"` } } );
		const { 'If-Match': _, ...headers } = init.headers;
		return reanswer( await server.fetch( url, { ...init, headers } ), ( h ) => h.set( 'etag', store.etag ), true );

	};
	const scene = await new StreamingScene( { baseUrl: 'http://sf', fetch } ).open( 'maze' );
	const seen = errors( scene );
	await scene.update( center( scene, 0 ) );
	assert.deepEqual( seen, [] );
	assert.equal( scene.cellsLoaded, meta.visibility.cells[ 0 ].pvs.length );
	assert.equal( scene.url, 'http://sf/scenes/maze.glb' );
	// A rebuild lands: the service now redirects to another object, whose ETag differs.
	server.replace( build( MAZE, [ '--quantize' ] ).glb, 'next' );
	store.etag = '"9b2cf2d4a1e0a1bd3c6ad2b8d5e9e3f1"';
	const far = scene.portalScene.cells.findIndex( ( c, i ) => ! scene.cellReady( i ) && c.portals.length );
	await scene.update( center( scene, far ) );
	assert.ok( seen.length > 0 && seen.every( ( m ) => /the file changed on the server/.test( m ) ), seen.join( '\n' ) );
	scene.dispose();

} );

test( 'a file replaced by one of another size on a server without ETags fails the cells asked after it, never mixing versions', async () => {

	const { glb } = build( MAZE );
	const next = build( MAZE, [ '--quantize' ] ).glb;
	assert.notEqual( glb.length, next.length );
	const server = rangeServer( glb, { ifMatch: false } );
	const noTag = through( server, async ( url, init ) => reanswer( await server.fetch( url, init ), ( h ) => h.delete( 'etag' ) ) );
	for ( const mode of [ 'ranges', 'ignore-later' ] ) {

		server.replace( glb, 'a' );
		let later = false;
		// 'ignore-later': the replaced file's answers are 200s (a server that ignores ranges)
		const fetch = mode === 'ranges' ? noTag : async ( url, init ) => ( later ? noTag( url, { ...init, headers: {} } ) : noTag( url, init ) );
		const scene = await new StreamingScene( { fetch, headBytes: 4096 } ).openUrl( 'http://static/maze.glb' );
		const seen = errors( scene );
		assert.equal( scene.mode, 'stream' );
		server.replace( next, 'b' );
		later = true;
		await scene.update( center( scene, 0 ) );
		assert.equal( scene.cellsLoaded, 0, mode );
		assert.ok( seen.length > 0 && seen.every( ( m ) => /the file changed on the server \(it has \d+ bytes, not \d+\)/.test( m ) ), seen.join( '\n' ) );
		scene.dispose();

	}

} );

test( 'a first answer of other bytes than those asked for (Content-Range not from 0) opens the whole file', async () => {

	const { glb, meta } = build( MAZE );
	const server = rangeServer( glb, { etag: meta.ETag } );
	const fetch = through( server, ( url, init, k ) => {

		if ( k !== 0 ) return null;
		const body = glb.subarray( 100, 100 + 65536 );
		return new Response( body, { status: 206, headers: { etag: `"${ meta.ETag }"`, 'content-range': `bytes 100-65635/${ glb.length }` } } );

	} );
	const scene = await new StreamingScene( { fetch } ).openUrl( 'http://sf/maze.glb' );
	const seen = errors( scene );
	assert.equal( scene.mode, 'file' );
	await scene.update( center( scene, 0 ) );
	assert.deepEqual( seen, [] );
	assert.equal( scene.cellsLoaded, meta.visibility.cells[ 0 ].pvs.length );
	scene.dispose();

} );

test( 'a fetch that gets no answer (network, CORS) is an error that says so, on open and for cells', async () => {

	const { glb, meta } = build( MAZE );
	const server = rangeServer( glb, { etag: meta.ETag } );
	const refuse = () => Promise.reject( new TypeError( 'Failed to fetch' ) );
	await assert.rejects( new StreamingScene( { fetch: refuse } ).openUrl( 'http://cdn/maze.glb' ), ( error ) => {

		assert.equal( error.constructor, Error );
		assert.match( error.message, /^StreamingScene: GET http:\/\/cdn\/maze\.glb got no answer \(Failed to fetch\): .*CORS/ );
		return true;

	} );
	const scene = await new StreamingScene( { fetch: through( server, ( url, init, k ) => ( k > 0 ? refuse() : null ) ) } ).openUrl( 'http://cdn/maze.glb' );
	const seen = errors( scene );
	await scene.update( center( scene, 0 ) );
	assert.ok( seen.length > 0 && seen.every( ( m ) => /got no answer \(Failed to fetch\)/.test( m ) ), seen.join( '\n' ) );
	scene.dispose();

} );

test( 'a camera at NaN with an overview\'s visible cells over the memory budget loads and evicts without a TypeError', async () => {

	const { glb, meta } = build( MAZE );
	const server = rangeServer( glb, { etag: meta.ETag } );
	const scene = await new StreamingScene( { fetch: server.fetch, memoryBudget: 1000 } ).openUrl( 'http://sf/maze.glb' );
	const seen = errors( scene );
	const n = scene.portalScene.cells.length;
	const all = new Uint8Array( n ).fill( 1 );
	await scene.update( new Vector3( NaN, NaN, NaN ), all );
	assert.equal( scene.cameraCell, - 1 );
	assert.equal( scene.cellsLoaded, meta.visibility.cells.filter( ( c ) => c.bytes[ 1 ] > 0 ).length );
	// and a camera at infinity or NaN asks for nothing more
	const before = server.requests.length;
	await scene.update( new Vector3( Infinity, 0, 0 ) );
	await scene.update( new Vector3( NaN, 0, 0 ), new Uint8Array( n ) );
	assert.equal( server.requests.length, before );
	assert.deepEqual( seen, [] );
	scene.dispose();

} );

test( 'cells requests refused with 416 at the same time fetch the whole file once, not once each', async () => {

	const { glb, meta } = build( MAZE );
	const pvs = meta.visibility.cells[ 0 ].pvs;
	assert.ok( pvs.length >= 3, `a PVS of ${ pvs.length } cells: as many requests` );
	const server = rangeServer( glb, { etag: meta.ETag } );
	const fetch = through( server, ( url, init, k ) => ( k > 0 && init.headers.Range
		? new Response( '', { status: 416, headers: { etag: `"${ meta.ETag }"`, 'content-range': `bytes */${ glb.length }` } } )
		: null ) );
	const scene = await new StreamingScene( { fetch, maxRanges: 1 } ).openUrl( 'http://sf/maze.glb' );
	const seen = errors( scene );
	await scene.update( center( scene, 0 ) );
	assert.deepEqual( seen, [] );
	assert.equal( scene.cellsLoaded, pvs.length );
	assert.equal( server.requests.filter( ( r ) => ! r.range ).length, 1 );
	assert.ok( scene.bytesLoaded < 65536 + 2 * glb.length );
	scene.dispose();

} );

test( 'once the file changed on the server, moving on asks for nothing more (no 412 at every cell entered)', async () => {

	const { glb, meta } = build( MAZE );
	const next = build( 'maze:40:6' );
	const server = rangeServer( glb, { etag: meta.ETag } );
	const scene = await new StreamingScene( { fetch: server.fetch } ).openUrl( 'http://cdn/level.glb' );
	const seen = errors( scene );
	server.replace( next.glb, next.meta.ETag );
	await scene.update( center( scene, 0 ) );
	assert.equal( scene.changed, true );
	const asked = server.requests.length;
	const failed = seen.length;
	assert.ok( failed > 0 );
	for ( let i = 1; i < scene.portalScene.cells.length; i ++ ) await scene.update( center( scene, i ), new Uint8Array( scene.portalScene.cells.length ).fill( 1 ) );
	assert.equal( server.requests.length, asked );
	assert.equal( seen.length, failed );
	scene.dispose();

} );

test( 'a first answer that states no file size (Content-Range bytes 0-65535/*) streams: later answers are not held to its length', async () => {

	const { glb, meta } = build( MAZE );
	const server = rangeServer( glb, { etag: meta.ETag } );
	const fetch = through( server, async ( url, init, k ) => ( k === 0
		? reanswer( await server.fetch( url, init ), ( h ) => h.set( 'content-range', h.get( 'content-range' ).replace( /\/\d+$/, '/*' ) ) )
		: null ) );
	const scene = await new StreamingScene( { fetch } ).openUrl( 'http://sf/maze.glb' );
	const seen = errors( scene );
	await scene.update( center( scene, 0 ) );
	assert.deepEqual( seen, [] );
	assert.equal( scene.cellsLoaded, meta.visibility.cells[ 0 ].pvs.length );
	scene.dispose();

} );

test( 'dispose() while cells or the index are on their way, through a fetch that does not heed the abort signal, stays quiet', async () => {

	const { glb, meta } = build( MAZE );
	const server = rangeServer( glb, { etag: meta.ETag } );
	const scene = await new StreamingScene( { fetch: server.fetch, headBytes: 4096 } ).openUrl( 'http://sf/maze.glb' );
	const seen = errors( scene );
	const cells = [];
	scene.addEventListener( 'cell', ( e ) => cells.push( e.cellId ) );
	const update = scene.update( center( scene, 0 ) );
	scene.dispose();
	await update;
	// the answers still read after dispose() reported each cell as failed with a TypeError
	// ("Cannot read properties of null (reading 'cells')")
	assert.deepEqual( seen, [] );
	assert.deepEqual( cells, [] );
	assert.equal( scene.memory, 0 );
	assert.ok( scene.disposed );
	const asked = server.requests.length;
	await scene.update( new Vector3( 1, 1.6, 1 ) );
	assert.equal( server.requests.length, asked, 'a disposed scene asks for nothing' );

	// disposed while opening: the open fails as aborted, and the scene does not come back to life
	const opening = new StreamingScene( { fetch: rangeServer( glb, { etag: meta.ETag } ).fetch } );
	const open = opening.openUrl( 'http://sf/maze.glb' );
	opening.dispose();
	await assert.rejects( open, { name: 'AbortError' } );
	assert.equal( opening.portalScene, null );

} );

test( 'dispose() lets go of the whole file of a server that ignores ranges', async () => {

	const { glb, meta } = build( MAZE );
	const scene = await new StreamingScene( { fetch: rangeServer( glb, { etag: meta.ETag, mode: 'ignore' } ).fetch } ).openUrl( 'http://sf/maze.glb' );
	assert.equal( scene.mode, 'file' );
	await scene.update( center( scene, 0 ) );
	assert.equal( scene._whole.length, glb.length );
	scene.dispose();
	assert.equal( scene._whole, null );
	assert.equal( scene._wholeRequest, null );

} );

test( 'a file no longer than the first range is cut into cells from that answer, not asked for again', async () => {

	const { glb, meta } = build( 'maze:3:1' );
	assert.ok( glb.length < 65536, `${ glb.length } bytes` );
	const server = rangeServer( glb, { etag: meta.ETag } );
	const scene = new StreamingScene( { fetch: server.fetch } );
	const seen = errors( scene );
	const progress = [];
	scene.addEventListener( 'progress', ( e ) => progress.push( e.loaded / e.total ) );
	await scene.openUrl( 'http://sf/maze.glb' );
	for ( let i = 0; i < scene.portalScene.cells.length; i ++ ) await scene.update( center( scene, i ) );
	assert.deepEqual( seen, [] );
	assert.equal( scene.cellsLoaded, meta.visibility.cells.filter( ( c ) => c.bytes[ 1 ] > 0 ).length );
	// each cell was asked for again, its bytes counted twice: progress went past 100 %
	assert.equal( server.requests.length, 1 );
	assert.equal( scene.bytesLoaded, glb.length );
	assert.ok( progress.every( ( f ) => f <= 1 ), progress.join() );
	scene.dispose();

} );

test( 'cells the first answer holds whole are cut from it, not asked for again', async () => {

	const { glb, meta } = build( MAZE );
	const server = rangeServer( glb, { etag: meta.ETag } );
	const scene = new StreamingScene( { fetch: server.fetch } );
	const seen = errors( scene );
	await scene.openUrl( 'http://sf/maze.glb' );
	const head = Number( server.requests[ 0 ].range.split( '-' )[ 1 ] ) + 1;
	assert.ok( glb.length > head );
	const inHead = meta.visibility.cells.filter( ( c ) => c.bytes[ 1 ] > 0 && c.bytes[ 0 ] + c.bytes[ 1 ] <= head );
	const across = meta.visibility.cells.filter( ( c ) => c.bytes[ 0 ] < head && c.bytes[ 0 ] + c.bytes[ 1 ] > head );
	assert.ok( inHead.length > 0 && across.length === 1, 'the first answer holds some cells whole, and one in part' );
	for ( let i = 0; i < scene.portalScene.cells.length; i ++ ) await scene.update( center( scene, i ) );
	assert.deepEqual( seen, [] );
	assert.equal( scene.cellsLoaded, meta.visibility.cells.filter( ( c ) => c.bytes[ 1 ] > 0 ).length );
	// No byte of the file is asked for twice: the head's cells were asked for again, whole.
	const asked = server.requests
		.flatMap( ( r ) => r.range.replace( 'bytes=', '' ).split( ',' ) )
		.map( ( r ) => r.split( '-' ).map( Number ) )
		.sort( ( a, b ) => a[ 0 ] - b[ 0 ] );
	for ( let k = 1; k < asked.length; k ++ ) assert.ok( asked[ k ][ 0 ] > asked[ k - 1 ][ 1 ], `${ asked[ k - 1 ] } and ${ asked[ k ] } overlap` );
	// the cell the first answer ends in is made of both answers' bytes, as one request would give it
	const i = scene.portalScene.cellIndex.get( across[ 0 ].cellId );
	const whole = new StreamingScene( { fetch: rangeServer( glb, { etag: meta.ETag, mode: 'ignore' } ).fetch } );
	await whole.openUrl( 'http://sf/maze.glb' );
	await whole.update( center( whole, i ) );
	const positions = ( s ) => {

		const out = [];
		s.meshes[ i ].traverse( ( m ) => m.geometry && out.push( ...m.geometry.attributes.position.array ) );
		return out;

	};
	assert.ok( positions( scene ).length > 0 );
	assert.deepEqual( positions( scene ), positions( whole ) );
	whole.dispose();
	scene.dispose();

} );

/** Bytes of the file the ranges of `requests` name (each clipped to the file, as the server answers them). */
function rangeBytes( requests, size ) {

	let sum = 0;
	for ( const r of requests ) {

		for ( const spec of r.range.replace( 'bytes=', '' ).split( ',' ) ) {

			const [ a, b ] = spec.split( '-' ).map( Number );
			sum += Math.min( b, size - 1 ) - a + 1;

		}

	}
	return sum;

}

test( 'bytesLoaded counts the file\'s bytes, not the multipart framing around them (bytesReceived does)', async () => {

	const { glb, meta } = build( MAZE );
	const server = rangeServer( glb, { etag: meta.ETag } );
	const scene = new StreamingScene( { fetch: server.fetch } );
	const progress = [];
	scene.addEventListener( 'progress', ( e ) => progress.push( [ e.loaded, e.total ] ) );
	await scene.openUrl( 'http://sf/maze.glb' );
	for ( let i = 0; i < scene.portalScene.cells.length; i ++ ) await scene.update( center( scene, i ) );
	assert.equal( scene.cellsLoaded, meta.visibility.cells.filter( ( c ) => c.bytes[ 1 ] > 0 ).length );
	const parts = server.requests.reduce( ( sum, r ) => sum + ( r.range.includes( ',' ) ? r.range.split( ',' ).length : 0 ), 0 );
	assert.ok( parts > 10, `${ parts } multipart parts` );
	// every byte the ranges named came once: the count is theirs, whatever the parts' headers (the
	// framing made a walk through every cell count 2.8 kB more than the file)
	assert.equal( scene.bytesLoaded, rangeBytes( server.requests, glb.length ) );
	assert.ok( scene.bytesLoaded <= glb.length, `${ scene.bytesLoaded } of ${ glb.length } bytes` );
	assert.ok( progress.every( ( [ loaded, total ] ) => loaded <= total ), 'progress never passes the file' );
	// the framing: a boundary line and two part headers, some 100 bytes a part
	assert.ok( scene.bytesReceived > scene.bytesLoaded + 50 * parts, `${ scene.bytesReceived } received` );
	scene.dispose();

} );

test( 'a server that answers several ranges with the whole file (200) sends it once to requests made at the same time', async () => {

	// express.static (send) and nginx with `max_ranges 1` answer one range with a 206 and several with
	// the whole file: a PVS asked in several requests at once had it read once per request.
	const { glb, meta } = build( 'office-200.json' );
	const server = rangeServer( glb, { etag: meta.ETag, maxRanges: 1 } );
	const scene = await new StreamingScene( { fetch: server.fetch } ).openUrl( 'http://static/office.glb' );
	const seen = errors( scene );
	const cells = meta.visibility.cells;
	const widest = cells.reduce( ( best, c, i ) => ( c.pvs.length > cells[ best ].pvs.length ? i : best ), 0 );
	assert.ok( cells[ widest ].pvs.length > 64, 'a PVS asked in two requests at once' );
	await scene.update( center( scene, widest ) );
	assert.deepEqual( seen, [] );
	assert.equal( scene.cellsLoaded, cells[ widest ].pvs.filter( ( id ) => cells.find( ( c ) => c.cellId === id ).bytes[ 1 ] > 0 ).length );
	assert.ok( scene.bytesReceived < 65536 + 1.5 * glb.length, `${ scene.bytesReceived } bytes read, the file has ${ glb.length }` );
	scene.dispose();

} );

test( 'a single range answered as multipart/byteranges streams from its part, not failing on a Content-Range header it has not', async () => {

	const { glb, meta } = build( MAZE );
	const server = rangeServer( glb, { etag: meta.ETag } );
	const encoder = new TextEncoder();
	const multipart = ( a, b ) => {

		const head = encoder.encode( `\r\n--B\r\nContent-Type: model/gltf-binary\r\nContent-Range: bytes ${ a }-${ b }/${ glb.length }\r\n\r\n` );
		const tail = encoder.encode( '\r\n--B--\r\n' );
		const body = new Uint8Array( head.length + b - a + 1 + tail.length );
		body.set( head );
		body.set( glb.subarray( a, b + 1 ), head.length );
		body.set( tail, head.length + b - a + 1 );
		return new Response( body, { status: 206, headers: { etag: `"${ meta.ETag }"`, 'content-type': 'multipart/byteranges; boundary=B' } } );

	};
	// every single range as one part; the first answer was refused as "without a Content-Range
	// header (… Access-Control-Expose-Headers)", a CORS advice that did not apply
	const fetch = through( server, ( url, init ) => {

		const range = init.headers.Range;
		if ( ! range || range.includes( ',' ) ) return null;
		const [ a, b ] = range.slice( 6 ).split( '-' ).map( Number );
		return multipart( a, Math.min( b, glb.length - 1 ) );

	} );
	const scene = await new StreamingScene( { fetch } ).openUrl( 'http://sf/maze.glb' );
	const seen = errors( scene );
	assert.equal( scene.mode, 'stream' );
	assert.equal( scene.bytesTotal, glb.length );
	await scene.update( center( scene, 0 ) );
	assert.deepEqual( seen, [] );
	assert.equal( scene.cellsLoaded, meta.visibility.cells[ 0 ].pvs.length );
	scene.dispose();
	// a part of other bytes than those asked for opens the whole file, as a single range of them does
	const other = through( server, ( url, init, k ) => ( k === 0 ? multipart( 100, 65635 ) : null ) );
	const whole = await new StreamingScene( { fetch: other } ).openUrl( 'http://sf/maze.glb' );
	assert.equal( whole.mode, 'file' );
	whole.dispose();

} );

test( 'a cells answer that stalls, through a fetch with a timeout, fails its cells, which are asked for again on moving', async () => {

	const { glb, meta } = build( MAZE );
	const server = rangeServer( glb, { etag: meta.ETag } );
	let stall = false;
	// a body that sends its first chunk and then nothing, until the request is aborted
	const stalling = through( server, async ( url, init ) => {

		if ( ! stall ) return null;
		stall = false;
		const answer = await server.fetch( url, init );
		const first = await answer.body.getReader().read();
		const body = new ReadableStream( { start( c ) {

			c.enqueue( first.value );
			init.signal.addEventListener( 'abort', () => c.error( init.signal.reason ) );

		} } );
		return new Response( body, { status: answer.status, headers: answer.headers } );

	} );
	const fetch = ( url, init ) => stalling( url, { ...init, signal: AbortSignal.any( [ init.signal, AbortSignal.timeout( 200 ) ] ) } );
	// node does not wait for AbortSignal.timeout's timer alone (a browser tab is alive anyway)
	const alive = setInterval( () => {}, 1000 );
	const scene = await new StreamingScene( { fetch } ).openUrl( 'http://sf/maze.glb' );
	const seen = errors( scene );
	stall = true;
	await scene.update( center( scene, 0 ) );
	assert.ok( seen.length > 0 && seen.every( ( m ) => /StreamingScene: cell "c\d+" \(bytes \d+-\d+\): cut short/.test( m ) ), seen.join( '\n' ) );
	const failed = meta.visibility.cells[ 0 ].pvs.length - scene.cellsLoaded;
	assert.equal( seen.length, failed );
	// the camera moves on: the failed cells are asked for again, and come
	const next = scene.portalScene.cells[ 0 ].portals.map( ( p ) => scene.portalScene.portals[ p ] ).map( ( p ) => ( p.from === 0 ? p.to : p.from ) )[ 0 ];
	await scene.update( center( scene, next ) );
	for ( const id of meta.visibility.cells[ 0 ].pvs ) assert.ok( scene.cellReady( scene.portalScene.cellIndex.get( id ) ), id );
	scene.dispose();
	clearInterval( alive );

} );

test( 'a file replaced by one of the same size on a server that then answers without the ETag (ignoring If-Match) fails the cells asked after it', async () => {

	// A server whose first answer had an ETag and whose later ones have none (another node behind a
	// load balancer, ETags turned off mid-stream) and that ignores If-Match: the replaced file's bytes,
	// of the same size, were cut into cells of the first file's index.
	const { glb, meta } = build( MAZE );
	const next = glb.slice();
	for ( let k = 4096; k < next.length; k ++ ) next[ k ] ^= 0x5a;
	for ( const validator of [ 'etag', 'last-modified' ] ) {

		const server = rangeServer( glb, { etag: meta.ETag, ifMatch: false } );
		let later = false;
		const fetch = through( server, async ( url, init ) => reanswer( await server.fetch( url, init ), ( h ) => {

			if ( validator === 'last-modified' ) {

				h.delete( 'etag' );
				if ( ! later ) h.set( 'last-modified', 'Sat, 05 Dec 2026 10:00:00 GMT' );

			} else if ( later ) h.delete( 'etag' );

		} ) );
		const scene = await new StreamingScene( { fetch, headBytes: 4096 } ).openUrl( 'http://static/maze.glb' );
		const seen = errors( scene );
		server.replace( next, 'other' );
		later = true;
		await scene.update( center( scene, 0 ) );
		assert.equal( scene.cellsLoaded, 0, validator );
		assert.equal( scene.changed, true, validator );
		const said = validator === 'etag' ? /the file changed on the server \(ETag "[^"]+" is no longer stated\)/ : /the file changed on the server \(Last-Modified .* is no longer stated\)/;
		assert.ok( seen.length > 0 && seen.every( ( m ) => said.test( m ) ), `${ validator }: ${ seen.join( '\n' ) }` );
		scene.dispose();

	}

} );

test( 'the streamed collision\'s lineOfSight between points that are not finite answers not visible', async () => {

	const { glb, meta } = build( MAZE );
	const server = rangeServer( glb, { etag: meta.ETag } );
	const scene = await new StreamingScene( { fetch: server.fetch } ).openUrl( 'http://sf/maze.glb' );
	await scene.update( center( scene, 0 ) );
	const here = center( scene, 0 );
	assert.equal( scene.collision.lineOfSight( here, here.clone().add( new Vector3( 0.1, 0, 0 ) ) ), true );
	for ( const bad of [ new Vector3( NaN, 1.6, 0 ), new Vector3( 0, Infinity, 0 ), new Vector3( - 1.7e308, 0, 1.7e308 ) ] ) {

		assert.equal( scene.collision.lineOfSight( bad, here ), false, bad.toArray().join() );
		assert.equal( scene.collision.lineOfSight( here, bad ), false, bad.toArray().join() );

	}
	scene.dispose();

} );

test( 'StreamingScene refuses options out of their range, naming them (maxRanges 0 looped for ever at the first update)', () => {

	const cases = [
		[ { maxRanges: 0 }, /^Error: StreamingScene: maxRanges must be a whole number of at least 1, got 0/ ],
		[ { maxRanges: 2.5 }, /^Error: StreamingScene: maxRanges must be a whole number of at least 1, got 2.5/ ],
		[ { maxRanges: NaN }, /^Error: StreamingScene: maxRanges/ ],
		[ { headBytes: NaN }, /^Error: StreamingScene: headBytes must be a whole number of bytes, got NaN/ ],
		[ { headBytes: - 1 }, /^Error: StreamingScene: headBytes/ ],
		[ { memoryBudget: - 1 }, /^Error: StreamingScene: memoryBudget must be a number of bytes of at least 0, got -1/ ],
		[ { memoryBudget: NaN }, /^Error: StreamingScene: memoryBudget/ ],
	];
	for ( const [ options, message ] of cases ) assert.throws( () => new StreamingScene( { fetch: async () => null, ...options } ), message, JSON.stringify( options ) );
	// the defaults, and an unbounded budget, are fine
	assert.equal( new StreamingScene( { fetch: async () => null, memoryBudget: Infinity, maxRanges: 1, headBytes: 0 } ).maxRanges, 1 );

} );

test( 'a visible flag array longer than the scene\'s cells is refused, naming both counts (a TypeError deep in the loop before)', async () => {

	const { glb, meta } = build( MAZE );
	const server = rangeServer( glb, { etag: meta.ETag } );
	const scene = await new StreamingScene( { fetch: server.fetch } ).openUrl( 'http://sf/maze.glb' );
	const n = scene.portalScene.cells.length;
	const long = new Uint8Array( n + 1 ).fill( 1 );
	assert.throws( () => scene.hasCells( long ), { name: 'RangeError', message: `StreamingScene: visible has ${ n + 1 } entries, the scene ${ n } cells` } );
	assert.throws( () => scene.update( new Vector3( 1, 1, 1 ), long ), /visible has/ );
	// one flag a cell, or fewer (the first cells), is read as before
	assert.equal( scene.hasCells( new Uint8Array( n ) ), true );
	await scene.update( new Vector3( 1, 1, 1 ), new Uint8Array( 2 ).fill( 1 ) );
	scene.dispose();

} );
