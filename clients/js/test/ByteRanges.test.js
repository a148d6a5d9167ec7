import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TruncatedRangeError, parseContentRange, rangeHeader, readRanges } from '../core/ByteRanges.js';
import { rangeServer } from './rangeServer.js';

const FILE = Uint8Array.from( { length: 50000 }, ( _, i ) => ( i * 7919 ) & 0xff );

async function collect( response ) {

	const parts = [];
	let bytes = 0;
	const result = await readRanges( response, ( start, b ) => parts.push( [ start, b.slice() ] ), ( n ) => ( bytes += n ) );
	return { parts, bytes, result };

}

test( 'rangeHeader keeps the order and merges only touching neighbours', () => {

	assert.equal( rangeHeader( [ [ 100, 10 ], [ 110, 5 ], [ 0, 4 ], [ 200, 0 ] ] ), 'bytes=100-114,0-3' );
	assert.throws( () => rangeHeader( [ [ 5, 0 ] ] ), /no bytes/ );

} );

test( 'parseContentRange reads start, end and total', () => {

	assert.deepEqual( parseContentRange( 'bytes 10-19/500' ), { start: 10, end: 19, total: 500 } );
	assert.ok( Number.isNaN( parseContentRange( 'bytes 0-0/*' ).total ) );
	assert.throws( () => parseContentRange( 'bytes 9-3/10' ), /bad Content-Range/ );
	assert.throws( () => parseContentRange( null ), /without a Content-Range header .*Access-Control-Expose-Headers/ );

} );

for ( const seed of [ 1, 2, 3, 4, 5 ] ) {

	test( `multipart parts come whole whatever the chunking (seed ${ seed })`, async () => {

		const { fetch } = rangeServer( FILE, { seed } );
		const wanted = [ [ 40000, 3000 ], [ 10, 20 ], [ 5000, 9000 ], [ 49990, 10 ] ];
		const { parts, result } = await collect( await fetch( 'x', { headers: { Range: rangeHeader( wanted ) } } ) );
		assert.equal( result.status, 206 );
		assert.equal( result.total, FILE.length );
		assert.deepEqual( parts.map( ( p ) => p[ 0 ] ), wanted.map( ( w ) => w[ 0 ] ) );
		for ( const [ start, bytes ] of parts ) assert.deepEqual( bytes, FILE.subarray( start, start + bytes.length ) );
		assert.deepEqual( parts.map( ( p ) => p[ 1 ].length ), wanted.map( ( w ) => w[ 1 ] ) );

	} );

}

test( 'a single range and a 200 are one part', async () => {

	const { fetch } = rangeServer( FILE );
	const one = await collect( await fetch( 'x', { headers: { Range: 'bytes=100-199' } } ) );
	assert.equal( one.parts.length, 1 );
	assert.equal( one.parts[ 0 ][ 0 ], 100 );
	assert.deepEqual( one.parts[ 0 ][ 1 ], FILE.subarray( 100, 200 ) );
	const ignoring = rangeServer( FILE, { mode: 'ignore' } );
	const whole = await collect( await ignoring.fetch( 'x', { headers: { Range: 'bytes=100-199' } } ) );
	assert.equal( whole.result.status, 200 );
	assert.deepEqual( whole.parts, [ [ 0, FILE ] ] );
	assert.equal( whole.bytes, FILE.length );

} );

test( 'a body cut inside a part delivers the parts before it, then throws', async () => {

	const { fetch } = rangeServer( FILE, { cut: ( { part } ) => ( part === 1 ? 500 : null ) } );
	const parts = [];
	await assert.rejects(
		readRanges( await fetch( 'x', { headers: { Range: 'bytes=0-99,1000-2999,5000-5999' } } ), ( start, b ) => parts.push( [ start, b.length ] ) ),
		( error ) => error instanceof TruncatedRangeError && error.start === 1000 && error.length === 2000 && error.received === 500,
	);
	assert.deepEqual( parts, [ [ 0, 100 ] ] );
	const single = rangeServer( FILE, { cut: () => 10 } );
	await assert.rejects( readRanges( await single.fetch( 'x', { headers: { Range: 'bytes=0-99' } } ), () => {} ), TruncatedRangeError );

} );

test( 'other statuses and multipart without a boundary are errors', async () => {

	await assert.rejects( readRanges( new Response( 'no', { status: 404 } ), () => {} ), /answered 404/ );
	const bad = new Response( 'x', { status: 206, headers: { 'content-type': 'multipart/byteranges' } } );
	await assert.rejects( readRanges( bad, () => {} ), /no boundary/ );

} );

test( 'a 200 answer compressed on the way (Content-Encoding) is the whole decoded body, not its coded length', async () => {

	// fetch decodes gzip and keeps the coded Content-Length: the file was cut to that length
	const coded = { 'content-encoding': 'gzip', 'content-length': '9000' };
	const { parts, result } = await collect( new Response( FILE, { status: 200, headers: coded } ) );
	assert.equal( parts.length, 1 );
	assert.equal( parts[ 0 ][ 0 ], 0 );
	assert.deepEqual( parts[ 0 ][ 1 ], FILE );
	assert.equal( result.total, FILE.length );
	// cross-origin the Content-Encoding is not exposed: more bytes than declared are kept too
	const hidden = await collect( new Response( FILE, { status: 200, headers: { 'content-length': '9000' } } ) );
	assert.deepEqual( hidden.parts[ 0 ][ 1 ], FILE );
	// an identity answer shorter than its length is still cut short
	const short = new Response( FILE.subarray( 0, 100 ), { status: 200, headers: { 'content-length': '500' } } );
	await assert.rejects( collect( short ), TruncatedRangeError );
	// a coded one shorter than its coded length is not
	const small = await collect( new Response( FILE.subarray( 0, 100 ), { status: 200, headers: { 'content-encoding': 'br', 'content-length': '500' } } ) );
	assert.equal( small.parts[ 0 ][ 1 ].length, 100 );

} );

test( 'each part comes with the file size its answer states, and a part the caller refuses ends the body', async () => {

	const { fetch } = rangeServer( FILE );
	const totals = [];
	await readRanges( await fetch( 'x', { headers: { Range: 'bytes=0-99,1000-1999' } } ), ( start, b, total ) => totals.push( total ) );
	await readRanges( await fetch( 'x', { headers: { Range: 'bytes=0-99' } } ), ( start, b, total ) => totals.push( total ) );
	await readRanges( await fetch( 'x' ), ( start, b, total ) => totals.push( total ) );
	assert.deepEqual( totals, [ FILE.length, FILE.length, FILE.length, FILE.length ] );
	// A multipart body that goes on and on after its first part, which is refused: the rest is never
	// pulled, the stream is cancelled.
	const head = new TextEncoder().encode( `\r\n--b\r\nContent-Range: bytes 0-99/${ FILE.length }\r\n\r\n` );
	let pulled = 0, cancelled = null;
	const body = new ReadableStream( {
		pull( controller ) {

			controller.enqueue( pulled ++ === 0 ? Uint8Array.from( [ ...head, ...FILE.subarray( 0, 100 ) ] ) : FILE.slice( 0, 100 ) );

		},
		cancel( reason ) {

			cancelled = reason;

		},
	}, { highWaterMark: 0 } );
	const response = new Response( body, { status: 206, headers: { 'content-type': 'multipart/byteranges; boundary=b' } } );
	await assert.rejects( readRanges( response, () => {

		throw new Error( 'refused' );

	} ), /refused/ );
	assert.equal( cancelled && cancelled.message, 'refused' );
	assert.ok( pulled <= 2, `${ pulled } chunks pulled` );

} );

test( 'onBytes says how many of each chunk\'s bytes are the file\'s: part bodies, not the multipart framing', async () => {

	for ( const seed of [ 1, 2, 3 ] ) {

		const { fetch } = rangeServer( FILE, { seed } );
		let received = 0, data = 0;
		const response = await fetch( 'x', { headers: { Range: 'bytes=0-99,1000-2999,5000-5999,49000-49999' } } );
		await readRanges( response, () => {}, ( n, chunk, d ) => {

			assert.equal( n, chunk.length );
			assert.ok( d >= 0 && d <= n );
			received += n;
			data += d;

		} );
		assert.equal( data, 100 + 2000 + 1000 + 1000 );
		assert.ok( received > data + 4 * 50, `${ received } bytes received` );

	}
	// a single range, and a 206 body longer than its Content-Range: only the range is the file's
	let data = 0;
	const long = new Response( FILE.subarray( 0, 300 ), { status: 206, headers: { 'content-range': `bytes 0-199/${ FILE.length }` } } );
	await readRanges( long, () => {}, ( n, chunk, d ) => ( data += d ) );
	assert.equal( data, 200 );

} );

/** A multipart/byteranges body of `ranges` ([first, last] of FILE) with line ends `eol`, in chunks of `size` bytes. */
function multipart( ranges, { boundary = 'b0undary', eol = '\r\n', close = true, preamble = '', size = 7 } = {} ) {

	const encoder = new TextEncoder();
	const pieces = [ encoder.encode( preamble ) ];
	for ( const [ a, b ] of ranges ) {

		pieces.push( encoder.encode( `${ eol }--${ boundary }  ${ eol }Content-Type: application/octet-stream${ eol }Content-Range: bytes ${ a }-${ b }/${ FILE.length }${ eol }${ eol }` ) );
		pieces.push( FILE.subarray( a, b + 1 ) );

	}
	if ( close ) pieces.push( encoder.encode( `${ eol }--${ boundary }--${ eol }epilogue` ) );
	const body = Uint8Array.from( pieces.flatMap( ( p ) => [ ...p ] ) );
	let at = 0;
	return new ReadableStream( {
		pull( controller ) {

			if ( at >= body.length ) controller.close();
			else controller.enqueue( body.slice( at, at += size ) );

		},
	} );

}

test( 'the boundary is read as RFC 9110 writes media type parameters: quoted, after others, spaces before the ";"', async () => {

	const ranges = [ [ 10, 19 ], [ 3000, 3999 ] ];
	const types = {
		'multipart/byteranges; boundary="a;b c"': 'a;b c',
		'multipart/byteranges;charset=utf-8;BOUNDARY=b0undary': 'b0undary',
		'Multipart/ByteRanges; boundary=b0undary ; charset=utf-8': 'b0undary',
		'multipart/byteranges; xboundary=nope; boundary="q\\"z"': 'q"z',
	};
	for ( const [ type, boundary ] of Object.entries( types ) ) {

		const response = new Response( multipart( ranges, { boundary } ), { status: 206, headers: { 'content-type': type } } );
		const { parts } = await collect( response );
		assert.deepEqual( parts.map( ( p ) => [ p[ 0 ], p[ 1 ].length ] ), [ [ 10, 10 ], [ 3000, 1000 ] ], type );
		for ( const [ start, bytes ] of parts ) assert.deepEqual( bytes, FILE.subarray( start, start + bytes.length ), type );

	}

} );

test( 'multipart parts whose lines end in a bare LF, after a preamble, are read as with CRLF', async () => {

	for ( const eol of [ '\n', '\r\n' ] ) {

		for ( const size of [ 1, 7, 4096 ] ) {

			const body = multipart( [ [ 4000, 4999 ], [ 0, 99 ] ], { eol, size, preamble: 'this is a preamble' } );
			const response = new Response( body, { status: 206, headers: { 'content-type': 'multipart/byteranges; boundary=b0undary' } } );
			const { parts } = await collect( response );
			assert.deepEqual( parts.map( ( p ) => [ p[ 0 ], p[ 1 ].length ] ), [ [ 4000, 1000 ], [ 0, 100 ] ], JSON.stringify( { eol, size } ) );
			assert.deepEqual( parts[ 0 ][ 1 ], FILE.subarray( 4000, 5000 ) );

		}

	}

} );

test( 'a multipart body that ends between parts, before its closing boundary, was cut short', async () => {

	const response = new Response( multipart( [ [ 0, 99 ], [ 200, 299 ] ], { close: false } ), {
		status: 206, headers: { 'content-type': 'multipart/byteranges; boundary=b0undary' },
	} );
	const parts = [];
	await assert.rejects( readRanges( response, ( start ) => parts.push( start ) ), ( error ) => {

		assert.ok( error instanceof TruncatedRangeError );
		assert.match( error.message, /ended before its closing boundary/ );
		return true;

	} );
	assert.deepEqual( parts, [ 0, 200 ] );

} );

/** A body that sends `bytes`, then breaks as fetch's does when the connection drops (TypeError "terminated"). */
function breaking( bytes ) {

	let sent = false;
	return new ReadableStream( {
		pull( controller ) {

			if ( sent ) controller.error( new TypeError( 'terminated' ) );
			else controller.enqueue( bytes );
			sent = true;

		},
	} );

}

test( 'a body whose connection breaks is cut short where it broke, not a bare TypeError', async () => {

	const encoder = new TextEncoder();
	const head = ( a, b ) => encoder.encode( `\r\n--b\r\nContent-Range: bytes ${ a }-${ b }/${ FILE.length }\r\n\r\n` );
	const cases = [
		// inside a part: the parts before it were delivered
		[ 206, 'multipart/byteranges; boundary=b', Uint8Array.from( [ ...head( 0, 99 ), ...FILE.subarray( 0, 100 ), ...head( 200, 999 ), ...FILE.subarray( 200, 250 ) ] ), { start: 200, length: 800, received: 50 }, [ 0 ] ],
		// between parts
		[ 206, 'multipart/byteranges; boundary=b', Uint8Array.from( [ ...head( 0, 99 ), ...FILE.subarray( 0, 100 ) ] ), { start: NaN, length: 0, received: 0 }, [ 0 ] ],
		// a single range, and a 200 whose length is not known
		[ 206, 'model/gltf-binary', FILE.subarray( 0, 300 ), { start: 0, length: 1000, received: 300 }, [] ],
		[ 200, 'model/gltf-binary', FILE.subarray( 0, 300 ), { start: 0, length: NaN, received: 300 }, [] ],
	];
	for ( const [ status, type, bytes, expected, delivered ] of cases ) {

		const headers = { 'content-type': type };
		if ( status === 206 && ! type.startsWith( 'multipart' ) ) headers[ 'content-range' ] = `bytes 0-999/${ FILE.length }`;
		const parts = [];
		await assert.rejects( readRanges( new Response( breaking( bytes ), { status, headers } ), ( start ) => parts.push( start ) ), ( error ) => {

			assert.ok( error instanceof TruncatedRangeError, `${ type }: ${ error }` );
			assert.deepEqual( { start: error.start, length: error.length, received: error.received }, expected );
			assert.match( error.message, /cut short after|ended before its closing boundary/ );
			assert.match( error.message, /\(terminated\)$/ );
			assert.equal( error.cause.message, 'terminated' );
			return true;

		} );
		assert.deepEqual( parts, delivered );

	}

} );

test( 'a range past the size its Content-Range states is refused before its part is allocated', async () => {

	assert.throws( () => parseContentRange( 'bytes 0-100/100' ), /bad Content-Range/ );
	assert.deepEqual( parseContentRange( 'bytes 0-99/100' ), { start: 0, end: 99, total: 100 } );
	// a part of 2 GB of a 100-byte file: a buffer that size was made, then the body ended "cut short"
	const body = new TextEncoder().encode( '\r\n--b\r\nContent-Range: bytes 0-1999999999/100\r\n\r\nxx' );
	const response = new Response( body, { status: 206, headers: { 'content-type': 'multipart/byteranges; boundary=b' } } );
	await assert.rejects( readRanges( response, () => assert.fail( 'no part' ) ), /bad Content-Range "bytes 0-1999999999\/100"/ );

} );

/** A body of `chunks` (Uint8Arrays, or a function of the pull count giving one, or null to end), counting its pulls and whether it was cancelled. */
function source( next ) {

	const seen = { pulls: 0, cancelled: false, peak: 0 };
	const before = process.memoryUsage().arrayBuffers;
	seen.body = new ReadableStream( {
		pull( controller ) {

			seen.peak = Math.max( seen.peak, process.memoryUsage().arrayBuffers - before );
			const chunk = next( seen.pulls ++ );
			if ( chunk ) controller.enqueue( chunk );
			else controller.close();

		},
		cancel() {

			seen.cancelled = true;

		},
	}, { highWaterMark: 0 } );
	return seen;

}

test( 'a multipart body of megabytes before its boundary is read in bounded memory, and part headers without their end are refused', async () => {

	// 8 MB of bytes that hold no boundary, then a part: every chunk was joined to all before it (quadratic time, the whole
	// body held) until a boundary came
	const encoder = new TextEncoder();
	const junk = new Uint8Array( 65536 ).fill( 0x2d ); // '-', the boundary's first bytes, all along
	const part = encoder.encode( `\r\n--b0undary\r\nContent-Range: bytes 0-99/${ FILE.length }\r\n\r\n` );
	const tail = Uint8Array.from( [ ...part, ...FILE.subarray( 0, 100 ), ...encoder.encode( '\r\n--b0undary--\r\n' ) ] );
	const long = source( ( k ) => ( k < 128 ? junk : ( k === 128 ? tail : null ) ) );
	const { parts } = await collect( new Response( long.body, { status: 206, headers: { 'content-type': 'multipart/byteranges; boundary=b0undary' } } ) );
	assert.deepEqual( parts, [ [ 0, FILE.subarray( 0, 100 ) ] ] );
	assert.ok( long.peak < 4 * 1024 * 1024, `${ long.peak } bytes held` );
	// a boundary split across two chunks is still found
	for ( const cut of [ 1, 5, 11, part.length - 1 ] ) {

		const split = source( ( k ) => [ junk.subarray( 0, 100 ), tail.subarray( 0, cut ), tail.subarray( cut ), null ][ k ] );
		const got = await collect( new Response( split.body, { status: 206, headers: { 'content-type': 'multipart/byteranges; boundary=b0undary' } } ) );
		assert.deepEqual( got.parts, [ [ 0, FILE.subarray( 0, 100 ) ] ], `cut at ${ cut }` );

	}
	// a part's headers that never end: refused once past 16 KiB, the body let go
	const header = encoder.encode( '\r\n--b0undary\r\nContent-Range: bytes 0-99/50000\r\nX-Padding: ' );
	const endless = source( ( k ) => ( k === 0 ? header : new Uint8Array( 4096 ).fill( 0x61 ) ) );
	await assert.rejects( readRanges( new Response( endless.body, { status: 206, headers: { 'content-type': 'multipart/byteranges; boundary=b0undary' } } ), () => {} ),
		/^Error: ByteRanges: a multipart part's headers run past 16384 bytes without the empty line that ends them/ );
	assert.ok( endless.pulls < 10, `${ endless.pulls } chunks read` );

} );

test( 'a multipart part is held in a buffer that grows with its bytes, not one of the length its header claims', async () => {

	// a part of 2 GB of a file of 2 GB, whose body then stops: 2 GB was allocated before a byte of it came
	const head = new TextEncoder().encode( '\r\n--b\r\nContent-Range: bytes 0-1999999999/2000000000\r\n\r\n' );
	const claimed = source( ( k ) => [ head, FILE.subarray( 0, 1000 ), null ][ k ] );
	await assert.rejects( readRanges( new Response( claimed.body, { status: 206, headers: { 'content-type': 'multipart/byteranges; boundary=b' } } ), () => assert.fail( 'no part' ) ), ( error ) => {

		assert.ok( error instanceof TruncatedRangeError );
		assert.deepEqual( { start: error.start, length: error.length, received: error.received }, { start: 0, length: 2000000000, received: 1000 } );
		return true;

	} );
	assert.ok( claimed.peak < 64 * 1024 * 1024, `${ claimed.peak } bytes held` );
	// parts of every size come whole, however the body is chunked
	for ( const size of [ 1, 999, 65536, 65537, 200000 ] ) {

		const big = Uint8Array.from( { length: size }, ( _, i ) => ( i * 31 ) & 0xff );
		const framed = Uint8Array.from( [ ...new TextEncoder().encode( `--b\r\nContent-Range: bytes 0-${ size - 1 }/${ size }\r\n\r\n` ), ...big, ...new TextEncoder().encode( '\r\n--b--\r\n' ) ] );
		const chunks = source( ( k ) => ( k * 4093 < framed.length ? framed.subarray( k * 4093, ( k + 1 ) * 4093 ) : null ) );
		const { parts } = await collect( new Response( chunks.body, { status: 206, headers: { 'content-type': 'multipart/byteranges; boundary=b' } } ) );
		assert.equal( parts.length, 1 );
		assert.deepEqual( parts[ 0 ][ 1 ], big, `${ size }` );

	}

} );

test( 'a single-range answer whose body runs past its Content-Range is read no further than the range', async () => {

	// bytes 0-99 stated, then 8 MB: all of it was read and held (and a body that never ends, for ever)
	const endless = source( ( k ) => ( k < 2048 ? FILE.subarray( 0, 4096 ) : null ) );
	const response = new Response( endless.body, { status: 206, headers: { 'content-type': 'model/gltf-binary', 'content-range': `bytes 0-99/${ FILE.length }` } } );
	const { parts, result } = await collect( response );
	assert.deepEqual( parts, [ [ 0, FILE.subarray( 0, 100 ) ] ] );
	assert.equal( result.total, FILE.length );
	assert.ok( endless.cancelled && endless.pulls < 5, JSON.stringify( endless ) );

} );
