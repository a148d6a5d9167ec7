// A fake HTTP server for the streaming tests: a `fetch` that answers GLB range requests the way
// the service does (206 single range, multipart/byteranges for several), or misbehaves on purpose.

/**
 * @param {Uint8Array} glb
 * @param {Object} [options]
 * @param {'ranges'|'ignore'|'416'|'416-once'} [options.mode='ranges'] honour ranges, answer 200, answer 416 (always / to the first)
 * @param {string} [options.etag='abc123']
 * @param {(request: {url: string, range: string|null, part: number}) => number|null} [options.cut] bytes of
 *   part `part` to send before the body ends (null: all)
 * @param {number} [options.seed=1] chunk sizes of the body are random in 1..4096
 * @param {boolean} [options.ifMatch=true] answer 412 to an If-Match other than the current ETag (false: ignore it)
 * @param {number} [options.maxRanges=64] a Range header with more ranges is ignored (200), as the service does
 *   (`MAX_RANGES` in sceneforge/api/delivery.py)
 */
export function rangeServer( glb, options = {} ) {

	const mode = options.mode || 'ranges';
	let etag = options.etag || 'abc123';
	const requests = [];
	let seed = options.seed || 1;
	const rand = () => {

		seed = ( seed * 1103515245 + 12345 ) & 0x7fffffff;
		return seed / 0x7fffffff;

	};
	const fetch = async ( url, init = {} ) => {

		const headers = init.headers || {};
		const range = headers.Range || headers.range || null;
		const ifMatch = headers[ 'If-Match' ] || headers[ 'if-match' ] || null;
		requests.push( { url, range, ifMatch } );
		const common = { etag: `"${ etag }"`, 'accept-ranges': 'bytes' };
		if ( ifMatch && options.ifMatch !== false && ifMatch !== common.etag ) {

			return new Response( '{"code":"precondition_failed"}', { status: 412, headers: { ...common, 'content-type': 'application/problem+json' } } );

		}
		const whole = () => new Response( chunked( glb, rand ), { status: 200, headers: { ...common, 'content-type': 'model/gltf-binary', 'content-length': String( glb.length ) } } );
		if ( ! range || mode === 'ignore' || range.split( ',' ).length > ( options.maxRanges ?? 64 ) ) return whole();
		if ( mode === '416' || ( mode === '416-once' && requests.filter( ( r ) => r.range ).length === 1 ) ) {

			return new Response( '', { status: 416, headers: { ...common, 'content-range': `bytes */${ glb.length }` } } );

		}
		const ranges = range.replace( /^bytes=/, '' ).split( ',' ).map( ( r ) => {

			const [ a, b ] = r.split( '-' ).map( Number );
			return [ a, Math.min( b, glb.length - 1 ) ];

		} );
		const cut = ( part, bytes ) => {

			const keep = options.cut ? options.cut( { url, range, part } ) : null;
			return keep === null || keep === undefined ? bytes : bytes.subarray( 0, keep );

		};
		if ( ranges.length === 1 ) {

			const [ a, b ] = ranges[ 0 ];
			return new Response( chunked( cut( 0, glb.subarray( a, b + 1 ) ), rand ), {
				status: 206, headers: { ...common, 'content-type': 'model/gltf-binary', 'content-range': `bytes ${ a }-${ b }/${ glb.length }` },
			} );

		}
		const boundary = 'sceneforge-test-boundary';
		const encoder = new TextEncoder();
		const pieces = [];
		let truncated = false;
		ranges.forEach( ( [ a, b ], part ) => {

			if ( truncated ) return;
			pieces.push( encoder.encode( `\r\n--${ boundary }\r\nContent-Type: model/gltf-binary\r\nContent-Range: bytes ${ a }-${ b }/${ glb.length }\r\n\r\n` ) );
			const body = glb.subarray( a, b + 1 );
			const sent = cut( part, body );
			pieces.push( sent );
			if ( sent.length < body.length ) truncated = true;

		} );
		if ( ! truncated ) pieces.push( encoder.encode( `\r\n--${ boundary }--\r\n` ) );
		const total = pieces.reduce( ( s, p ) => s + p.length, 0 );
		const body = new Uint8Array( total );
		let at = 0;
		for ( const p of pieces ) {

			body.set( p, at );
			at += p.length;

		}
		return new Response( chunked( body, rand ), {
			status: 206, headers: { ...common, 'content-type': `multipart/byteranges; boundary=${ boundary }` },
		} );

	};
	/** A new version lands: the same URL now answers `next` with ETag `tag`. */
	const replace = ( next, tag ) => {

		glb = next;
		etag = tag;

	};
	return { fetch, requests, replace };

}

/** A ReadableStream of `bytes` in random chunk sizes. */
export function chunked( bytes, rand ) {

	let at = 0;
	return new ReadableStream( {
		pull( controller ) {

			if ( at >= bytes.length ) {

				controller.close();
				return;

			}
			const size = 1 + Math.floor( rand() * 4096 );
			controller.enqueue( bytes.slice( at, at + size ) );
			at += size;

		},
	} );

}

/** The GLB as an older build wrote it: the same file without the streaming index. */
export function withoutIndex( glb ) {

	const view = new DataView( glb.buffer, glb.byteOffset, glb.byteLength );
	const jsonLength = view.getUint32( 12, true );
	const json = JSON.parse( new TextDecoder().decode( glb.subarray( 20, 20 + jsonLength ) ) );
	delete json.extras;
	let text = new TextEncoder().encode( JSON.stringify( json ) );
	const padded = ( text.length + 3 ) & ~ 3;
	const rest = glb.subarray( 20 + jsonLength );
	const out = new Uint8Array( 20 + padded + rest.length );
	const o = new DataView( out.buffer );
	o.setUint32( 0, 0x46546C67, true );
	o.setUint32( 4, 2, true );
	o.setUint32( 8, out.length, true );
	o.setUint32( 12, padded, true );
	o.setUint32( 16, 0x4E4F534A, true );
	out.fill( 0x20, 20, 20 + padded );
	out.set( text, 20 );
	out.set( rest, 20 + padded );
	text = null;
	return out;

}
