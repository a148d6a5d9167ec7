// StreamingScene against real HTTP servers (loopback, the global fetch) that answer range requests
// within HTTP but otherwise than the service does (RFC 9110 §14, §15.3.7; RFC 2046 §5.1.1).
// Each test walks the camera through every cell of a maze: every cell must load, none fail, and
// `bytesLoaded` is the bytes of the ranges the server sent (whatever their framing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Vector3 } from 'three';
import { TruncatedRangeError } from '../core/ByteRanges.js';
import { StreamingScene } from '../core/StreamingScene.js';
import { build } from './builds.js';
import { multipartBody, serveFile } from './httpServer.js';
import { rangeServer } from './rangeServer.js';

const MAZE = 'maze:40:5';

function center( scene, i ) {

	return scene.portalScene.cells[ i ].aabb.getCenter( new Vector3() ).setY( 1.6 );

}

/** Open `url`, walk through every cell; the errors and what was loaded. */
async function walk( url, options = {} ) {

	const scene = await new StreamingScene( options ).openUrl( url );
	const errors = [];
	scene.addEventListener( 'error', ( e ) => errors.push( e.error.message ) );
	for ( let i = 0; i < scene.portalScene.cells.length; i ++ ) await scene.update( center( scene, i ) );
	return { scene, errors };

}

/** Every cell's positions, by cell index (null for a cell without a mesh). */
function positions( scene ) {

	return scene.meshes.map( ( m ) => ( m ? Array.from( m.geometry.attributes.position.array ) : null ) );

}

/** The cells' positions decoded from the whole file (a server that ignores ranges). */
async function reference( glb ) {

	const { scene } = await walk( 'http://whole/level.glb', { fetch: rangeServer( glb, { mode: 'ignore' } ).fetch } );
	const out = positions( scene );
	scene.dispose();
	return out;

}

const sentBytes = ( requests ) => requests.reduce( ( sum, r ) => sum + r.sent.reduce( ( s, [ a, b ] ) => s + b - a + 1, 0 ), 0 );

const SERVERS = {
	// several ranges coalesced into one part, from the first byte asked to the last (§15.3.7.2: a
	// server may merge ranges whose gaps cost less than the parts' framing)
	'one part for several ranges': ( ranges, file ) => {

		if ( ranges.length < 2 ) return null;
		const a = Math.min( ...ranges.map( ( r ) => r[ 0 ] ) ), b = Math.max( ...ranges.map( ( r ) => r[ 1 ] ) );
		return { status: 206, headers: { 'content-range': `bytes ${ a }-${ b }/${ file.length }` }, body: file.subarray( a, b + 1 ), sent: [ [ a, b ] ] };

	},
	// parts in reverse order, each grown by 37 bytes on both sides, so that neighbours overlap
	'parts reordered and overlapping': ( ranges, file ) => {

		if ( ranges.length < 2 ) return null;
		const parts = ranges.map( ( [ a, b ] ) => [ Math.max( 0, a - 37 ), Math.min( file.length - 1, b + 37 ) ] ).reverse();
		return { status: 206, headers: { 'content-type': 'multipart/byteranges; boundary=rev' }, body: multipartBody( file, parts, 'rev' ), sent: parts };

	},
	// a quoted boundary with a ';' and spaces, after a charset parameter; lines ending in bare LFs
	'a quoted boundary, bare LF line ends': ( ranges, file ) => {

		if ( ranges.length < 2 ) return null;
		const type = 'multipart/byteranges; charset=binary; boundary="sf; bound ary"';
		return { status: 206, headers: { 'content-type': type }, body: multipartBody( file, ranges, 'sf; bound ary', '\n' ), sent: ranges };

	},
	// only the first range of several (as servers that do not do multipart answer)
	'the first range only': ( ranges, file ) => {

		const [ a, b ] = ranges[ 0 ];
		return { status: 206, headers: { 'content-range': `bytes ${ a }-${ b }/${ file.length }` }, body: file.subarray( a, b + 1 ), sent: [ ranges[ 0 ] ] };

	},
	// the whole file (200) to every range but the first: the index's second range comes whole, and is
	// read, not cancelled and asked for again
	'the whole file to every range but the first': ( ranges, file ) => ( ranges[ 0 ][ 0 ] === 0 ? null : { status: 200, headers: {}, body: file, sent: [ [ 0, file.length - 1 ] ] } ),
};

for ( const [ name, answer ] of Object.entries( SERVERS ) ) {

	test( `a server answering ${ name } streams every cell`, async () => {

		const { glb, meta } = build( MAZE );
		const expected = await reference( glb );
		assert.equal( expected.filter( Boolean ).length, meta.visibility.cells.filter( ( c ) => c.bytes[ 1 ] > 0 ).length );
		// a first answer that ends before the first cell, and one that holds cells (whole and in part)
		for ( const headBytes of [ 4096, 65536 ] ) {

			const server = await serveFile( glb, answer );
			try {

				const { scene, errors } = await walk( server.url, { headBytes } );
				assert.deepEqual( errors, [], `headBytes ${ headBytes }` );
				assert.equal( scene.cellsLoaded, meta.visibility.cells.filter( ( c ) => c.bytes[ 1 ] > 0 ).length );
				assert.equal( scene.bytesLoaded, sentBytes( server.requests ) );
				// each cell cut from the right bytes, as from the whole file
				assert.deepEqual( positions( scene ), expected );
				scene.dispose();

			} finally {

				await server.close();

			}

		}

	} );

}

test( 'a 416 to the index\'s second range opens the file whole', async () => {

	const { glb, meta } = build( MAZE );
	const server = await serveFile( glb, ( ranges, file ) => ( ranges[ 0 ][ 0 ] === 0 ? null : {
		status: 416, headers: { 'content-range': `bytes */${ file.length }` }, body: new Uint8Array( 0 ), sent: [],
	} ) );
	try {

		const { scene, errors } = await walk( server.url, { headBytes: 4096 } );
		assert.equal( scene.mode, 'file' );
		assert.deepEqual( errors, [] );
		assert.equal( scene.cellsLoaded, meta.visibility.cells.filter( ( c ) => c.bytes[ 1 ] > 0 ).length );
		assert.deepEqual( server.requests.map( ( r ) => r.range ), [ 'bytes=0-4095', `bytes=4096-${ meta.visibility.indexBytes[ 1 ] - 1 }`, null ] );
		scene.dispose();

	} finally {

		await server.close();

	}

} );

test( 'a file replaced by one of the same size on a server without ETags, whose Last-Modified says so, fails the cells asked after it', async () => {

	// A static server with ETags turned off (nginx `etag off`), or one whose ETag is not exposed
	// cross-origin (Last-Modified always is): a rebuild that changed a colour keeps the file's size.
	const { glb } = build( MAZE );
	const next = glb.slice();
	next[ next.length - 1 ] ^= 0xff;
	const server = await serveFile( glb, null, { 'last-modified': 'Sat, 05 Dec 2026 10:00:00 GMT' } );
	try {

		const scene = await new StreamingScene( { headBytes: 4096 } ).openUrl( server.url );
		const errors = [];
		scene.addEventListener( 'error', ( e ) => errors.push( e.error.message ) );
		server.replace( next, { 'last-modified': 'Sat, 05 Dec 2026 10:05:00 GMT' } );
		await scene.update( center( scene, 0 ) );
		assert.equal( scene.cellsLoaded, 0 );
		assert.ok( errors.length > 0 && errors.every( ( m ) => /the file changed on the server \(Last-Modified Sat, 05 Dec 2026 10:00:00 GMT is now Sat, 05 Dec 2026 10:05:00 GMT\)/.test( m ) ), errors.join( '\n' ) );
		assert.equal( scene.changed, true );
		scene.dispose();

	} finally {

		await server.close();

	}

} );

test( 'a connection that drops inside an answer fails the cells it had not delivered as cut short, and an open as cut short', async () => {

	const { glb } = build( MAZE );
	// the first multipart answer breaks in its second part
	let broken = false;
	const server = await serveFile( glb, ( ranges, file ) => {

		if ( ranges.length < 2 || broken ) return null;
		broken = true;
		const body = multipartBody( file, ranges, 'cut' );
		const second = new TextDecoder( 'latin1' ).decode( body ).indexOf( `Content-Range: bytes ${ ranges[ 1 ][ 0 ] }-` );
		return { status: 206, headers: { 'content-type': 'multipart/byteranges; boundary=cut' }, body, sent: ranges, breakAfter: second + 100 };

	} );
	try {

		const scene = await new StreamingScene( { headBytes: 4096 } ).openUrl( server.url );
		const errors = [], cells = [];
		scene.addEventListener( 'error', ( e ) => errors.push( e.error.message ) );
		scene.addEventListener( 'cell', ( e ) => cells.push( e.cellId ) );
		let k = 0;
		while ( ! broken ) await scene.update( center( scene, k ++ ) );
		assert.ok( cells.length > 0, 'the first part\'s cells came' );
		assert.ok( errors.length > 0 && errors.every( ( m ) => /^StreamingScene: cell "[^"]+" \(bytes \d+-\d+\): cut short$/.test( m ) ), errors.join( '\n' ) );
		scene.dispose();

	} finally {

		await server.close();

	}
	// the first answer breaks: open fails saying where, not with fetch's bare TypeError
	const first = await serveFile( glb, ( [ [ a, b ] ], file ) => ( {
		status: 206, headers: { 'content-range': `bytes ${ a }-${ b }/${ file.length }` }, body: file.subarray( a, b + 1 ), sent: [ [ a, b ] ], breakAfter: 1000,
	} ) );
	try {

		await assert.rejects( new StreamingScene().openUrl( first.url ), ( error ) => {

			assert.ok( error instanceof TruncatedRangeError, String( error ) );
			assert.match( error.message, /^ByteRanges: bytes 0-65535 were cut short after 1000 of 65536 bytes \(.+\)$/ );
			return true;

		} );

	} finally {

		await first.close();

	}
} );
