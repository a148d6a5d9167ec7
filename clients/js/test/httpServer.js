// A real HTTP server on loopback for the streaming tests: node's http module serves a GLB to the
// global fetch, and answers range requests the way a given server does (`answer`), within HTTP but
// otherwise than the service: coalescing ranges, reordering parts, quoting its boundary, ending lines
// in bare LFs. Each test closes its server.
import http from 'node:http';

/**
 * The ranges of a `Range` header (`bytes=a-b,c-d`) as `[first, last]`, clipped to a file of `size` bytes.
 * @param {string} header
 * @param {number} size
 */
export function parseRanges( header, size ) {

	return header.replace( /^bytes=/, '' ).split( ',' ).map( ( spec ) => {

		const [ a, b ] = spec.trim().split( '-' ).map( Number );
		return [ a, Math.min( b, size - 1 ) ];

	} );

}

/**
 * A multipart/byteranges body of `parts` (`[first, last]` of `file`).
 * @param {Uint8Array} file
 * @param {Array<[number, number]>} parts
 * @param {string} boundary
 * @param {string} [eol='\r\n'] the line end
 */
export function multipartBody( file, parts, boundary, eol = '\r\n' ) {

	const encoder = new TextEncoder();
	const pieces = [];
	for ( const [ a, b ] of parts ) {

		pieces.push( encoder.encode( `${ eol }--${ boundary }${ eol }Content-Type: model/gltf-binary${ eol }Content-Range: bytes ${ a }-${ b }/${ file.length }${ eol }${ eol }` ) );
		pieces.push( file.subarray( a, b + 1 ) );

	}
	pieces.push( encoder.encode( `${ eol }--${ boundary }--${ eol }` ) );
	return Buffer.concat( pieces );

}

/**
 * Serve `file` at every path. `answer(ranges, file)` decides the answer to a range request:
 * `{status, headers, body}`; without it, ranges are answered as the service answers them (one
 * range: a single part; several: multipart parts in the order asked). The validators are
 * `validators` (default: a strong ETag), and an If-Match other than the ETag is answered 412.
 * `requests` records each request's Range header and the ranges each answer sent (`sent`,
 * `[first, last]`); `replace(next, validators)` puts another file in its place.
 * @param {Uint8Array} file
 * @param {(ranges: Array<[number, number]>, file: Uint8Array) => {status: number, headers?: Object, body: Uint8Array, sent: Array<[number, number]>, breakAfter?: number}} [answer]
 *   (`breakAfter`: the connection drops after so many bytes of the body)
 * @param {{etag?: string, 'last-modified'?: string}} [validators]
 * @returns {Promise<{url: string, requests: Array<{range: string|null, sent: Array<[number, number]>}>, close: () => Promise<void>, replace: (next: Uint8Array, validators: Object) => void}>}
 */
export async function serveFile( file, answer = null, validators = { etag: '"v1"' } ) {

	const requests = [];
	const server = http.createServer( ( req, res ) => {

		const range = req.headers.range || null;
		const record = { range, sent: [] };
		requests.push( record );
		const ifMatch = req.headers[ 'if-match' ];
		if ( ifMatch && ifMatch !== validators.etag ) {

			res.writeHead( 412, validators ).end();
			return;

		}
		let out;
		if ( ! range ) out = { status: 200, headers: { 'content-type': 'model/gltf-binary' }, body: file, sent: [ [ 0, file.length - 1 ] ] };
		else {

			const ranges = parseRanges( range, file.length );
			out = answer ? answer( ranges, file ) : null;
			if ( ! out && ranges.length === 1 ) {

				const [ a, b ] = ranges[ 0 ];
				out = { status: 206, headers: { 'content-type': 'model/gltf-binary', 'content-range': `bytes ${ a }-${ b }/${ file.length }` }, body: file.subarray( a, b + 1 ), sent: ranges };

			} else if ( ! out ) {

				const boundary = 'plain-boundary';
				out = { status: 206, headers: { 'content-type': `multipart/byteranges; boundary=${ boundary }` }, body: multipartBody( file, ranges, boundary ), sent: ranges };

			}

		}
		record.sent = out.sent;
		res.writeHead( out.status, { ...validators, 'accept-ranges': 'bytes', 'content-length': String( out.body.length ), ...out.headers } );
		const body = Buffer.from( out.body.buffer, out.body.byteOffset, out.body.byteLength );
		if ( out.breakAfter === undefined ) res.end( body );
		// the connection drops after `breakAfter` bytes of the body (its Content-Length promised more)
		else res.write( body.subarray( 0, out.breakAfter ), () => res.socket.destroy() );

	} );
	await new Promise( ( resolve ) => server.listen( 0, '127.0.0.1', resolve ) );
	const { port } = server.address();
	const close = () => new Promise( ( resolve ) => {

		server.closeAllConnections();
		server.close( () => resolve() );

	} );
	const replace = ( next, tags ) => {

		file = next;
		validators = tags;

	};
	return { url: `http://127.0.0.1:${ port }/level.glb`, requests, close, replace };

}
