/**
 * Byte-range requests and their responses, read as they arrive (RFC 9110 §14, §15.3.7):
 * a `Range` header for many ranges, and a reader that hands each complete range of a 206
 * answer — one `Content-Range` body or `multipart/byteranges` parts — to a callback as soon
 * as its last byte is in, with the offsets the server states (it may merge nearby ranges).
 *
 * Pure (no DOM): takes a fetch `Response`, or anything with `status`, `headers.get` and a
 * `body` ReadableStream.
 */

/** The most bytes a multipart part's headers may take (from its boundary to the empty line ending them). */
export const MAX_PART_HEADERS = 16384;
/** A part's buffer starts this long (or at its length, when shorter) and doubles as its bytes come. */
const FIRST_PART_BYTES = 65536;

/**
 * A range response that ended before the bytes it announced: its body closed early, or the
 * connection broke while it was read (`cause`: fetch's error, a TypeError such as "terminated").
 */
export class TruncatedRangeError extends Error {

	/**
	 * @param {number} start first byte of the part that was cut short (NaN: a multipart body that
	 *   ended between two parts, before its closing boundary)
	 * @param {number} length bytes the part announced (NaN: a 200 of unknown length)
	 * @param {number} received bytes that came
	 * @param {*} [cause] the error reading the body failed with
	 */
	constructor( start, length, received, cause = undefined ) {

		let message;
		if ( Number.isNaN( start ) ) message = 'ByteRanges: the multipart body ended before its closing boundary';
		else if ( ! Number.isFinite( length ) ) message = `ByteRanges: the answer was cut short after ${ received } bytes`;
		else message = `ByteRanges: bytes ${ start }-${ start + length - 1 } were cut short after ${ received } of ${ length } bytes`;
		if ( cause !== undefined ) message += ` (${ cause && cause.message ? cause.message : cause })`;
		super( message, cause === undefined ? undefined : { cause } );
		this.name = 'TruncatedRangeError';
		this.start = start;
		this.length = length;
		this.received = received;

	}

}

/** The next chunk of `reader`; a body that broke (not one aborted) is `cut(error)`'s error. */
async function next( reader, cut ) {

	try {

		return await reader.read();

	} catch ( error ) {

		if ( error && error.name === 'AbortError' ) throw error;
		throw cut( error );

	}

}

/**
 * The `Range` header value for `[offset, length]` ranges, in the order given; ranges that touch
 * the one before them are merged (the order is the caller's priority, so only neighbours merge).
 * @param {Array<[number, number]>} ranges
 * @returns {string}
 */
export function rangeHeader( ranges ) {

	const merged = [];
	for ( const [ offset, length ] of ranges ) {

		if ( length <= 0 ) continue;
		const last = merged[ merged.length - 1 ];
		if ( last && last[ 1 ] + 1 === offset ) last[ 1 ] = offset + length - 1;
		else merged.push( [ offset, offset + length - 1 ] );

	}
	if ( ! merged.length ) throw new Error( 'ByteRanges: no bytes to ask for' );
	return 'bytes=' + merged.map( ( [ a, b ] ) => `${ a }-${ b }` ).join( ',' );

}

/**
 * `Content-Range: bytes a-b/total` → `{start, end, total}` (total NaN when `*`).
 * @param {string|null} value
 */
export function parseContentRange( value ) {

	// A cross-origin answer exposes Content-Range only when the server lists it in
	// Access-Control-Expose-Headers: say so, rather than "bad Content-Range null".
	if ( value === null || value === undefined ) throw new Error( 'ByteRanges: a 206 answer without a Content-Range header (a cross-origin server must list Content-Range in Access-Control-Expose-Headers)' );
	const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec( value || '' );
	if ( ! m ) throw new Error( `ByteRanges: bad Content-Range "${ value }"` );
	const start = Number( m[ 1 ] ), end = Number( m[ 2 ] ), total = m[ 3 ] === '*' ? NaN : Number( m[ 3 ] );
	// a range past the size it states (RFC 9110 §14.4) is no range of the file: refused before a
	// part's buffer of that length is allocated
	if ( end < start || end >= total ) throw new Error( `ByteRanges: bad Content-Range "${ value }"` );
	return { start, end, total };

}

/**
 * A parameter of a media type (RFC 9110 §5.6.6: `; name=token` or `; name="quoted string"`, the
 * name in any case, spaces around the `;`), or null when it has none.
 * @param {string} type a Content-Type value
 * @param {string} name
 */
export function parameter( type, name ) {

	const params = /;[ \t]*([!#$%&'*+.^_`|~0-9A-Za-z-]+)=("(?:[^"\\]|\\.)*"|[^;\s"]*)/g;
	for ( const [ , key, value ] of type.matchAll( params ) ) {

		if ( key.toLowerCase() !== name.toLowerCase() ) continue;
		return value.startsWith( '"' ) ? value.slice( 1, - 1 ).replace( /\\(.)/g, '$1' ) : value;

	}
	return null;

}

/**
 * Where the body of a multipart part starts: past the first empty line after `from` (the rest of
 * the boundary line). Lines end in CRLF (RFC 2046 §5.1.1), or in a bare LF from lenient servers.
 * -1 while the empty line has not come yet.
 * @param {Uint8Array} bytes
 * @param {number} from
 */
function afterBlankLine( bytes, from ) {

	for ( let i = bytes.indexOf( 10, from ); i >= 0; i = bytes.indexOf( 10, i + 1 ) ) {

		let j = i + 1;
		if ( bytes[ j ] === 13 ) j ++;
		if ( bytes[ j ] === 10 ) return j + 1;

	}
	return - 1;

}

function find( haystack, needle, from ) {

	outer: for ( let i = from; i <= haystack.length - needle.length; i ++ ) {

		for ( let j = 0; j < needle.length; j ++ ) if ( haystack[ i + j ] !== needle[ j ] ) continue outer;
		return i;

	}
	return - 1;

}

/**
 * Whether `needle` starts in `pending` followed by `chunk`, found without joining them (but for the
 * seam): `pending` holds a boundary already, or a tail shorter than one, when it has none.
 * @param {Uint8Array} pending
 * @param {Uint8Array} chunk
 * @param {Uint8Array} needle
 */
function boundaryIn( pending, chunk, needle ) {

	if ( pending.length >= needle.length ) return find( pending, needle, 0 ) >= 0 || boundaryIn( pending.subarray( pending.length - needle.length + 1 ), chunk, needle );
	if ( find( concat( pending, chunk.subarray( 0, needle.length - 1 ) ), needle, 0 ) >= 0 ) return true;
	return find( chunk, needle, 0 ) >= 0;

}

function concat( a, b ) {

	if ( ! a.length ) return b;
	const out = new Uint8Array( a.length + b.length );
	out.set( a );
	out.set( b, a.length );
	return out;

}

/**
 * Read a range response. `onPart(start, bytes, total)` gets every complete range, in the order the
 * server sends them, with the file size the answer states (NaN when it states none: `bytes a-b/*`); `onBytes(n, chunk, data)`
 * every chunk as it arrives: `n` its length, `data` how many of its bytes are the file's (those of a
 * part's body; the rest is multipart framing: boundary lines, part headers). A 200 answer is one part
 * starting at 0 (the server ignored the ranges), every byte that came: the Content-Length of a
 * coded answer (`Content-Encoding: gzip`) is that of its coded bytes. Resolves with `{status, total}` (`total` the
 * file size when the server said it). Throws `TruncatedRangeError` when the body ends inside a
 * part (parts before it were delivered), and an Error for a status other than 200 or 206.
 * @param {Response} response
 * @param {(start: number, bytes: Uint8Array, total: number) => void} onPart
 * @param {(n: number, chunk: Uint8Array, data: number) => void} [onBytes]
 * @returns {Promise<{status: number, total: number}>}
 */
export async function readRanges( response, onPart, onBytes = () => {} ) {

	const { status } = response;
	if ( status !== 200 && status !== 206 ) throw new Error( `ByteRanges: the server answered ${ status }` );
	const type = response.headers.get( 'content-type' ) || '';
	const multipart = /^\s*multipart\/byteranges\s*(;|$)/i.test( type );
	const boundary = multipart ? parameter( type, 'boundary' ) : null;
	if ( status === 206 && multipart && ! boundary ) throw new Error( `ByteRanges: no boundary in "${ type }"` );
	const reader = response.body.getReader();
	try {

		return await readBody( response, boundary, reader, onPart, onBytes );

	} catch ( error ) {

		// a part the caller refused (it threw) or a body that broke: nothing more is read, and the
		// connection is let go rather than held by an unread body
		reader.cancel( error ).catch( () => {} );
		throw error;

	}

}

async function readBody( response, boundary, reader, onPart, onBytes ) {

	const { status } = response;
	let total = NaN;

	if ( ! boundary ) {

		// One body: a single range, or (200) the whole file.
		let start = 0, length = NaN;
		if ( status === 206 ) {

			const range = parseContentRange( response.headers.get( 'content-range' ) );
			start = range.start;
			length = range.end - range.start + 1;
			total = range.total;

		} else {

			// A coded answer (gzip, br: a static server or CDN compressing it) declares the length of
			// its coded bytes, and fetch hands over the decoded ones: only an identity length counts.
			const coding = ( response.headers.get( 'content-encoding' ) || 'identity' ).trim().toLowerCase();
			const declared = Number( response.headers.get( 'content-length' ) );
			if ( declared > 0 && coding === 'identity' ) length = declared;
			total = length;

		}
		const chunks = [];
		let received = 0;
		for ( ;; ) {

			const { done, value } = await next( reader, ( error ) => new TruncatedRangeError( start, length, received, error ) );
			if ( done ) break;
			chunks.push( value );
			// bytes past the range the Content-Range states are not the file's (they are dropped below)
			const data = Number.isFinite( length ) && status === 206 ? Math.max( 0, Math.min( value.length, length - received ) ) : value.length;
			received += value.length;
			onBytes( value.length, value, data );
			// a body that runs on past its range is not read further (nor held): one that never ended was read for ever
			if ( status === 206 && Number.isFinite( length ) && received > length ) {

				reader.cancel().catch( () => {} );
				break;

			}

		}
		if ( Number.isFinite( length ) && received < length ) throw new TruncatedRangeError( start, length, received );
		const bytes = new Uint8Array( received );
		let at = 0;
		for ( const c of chunks ) {

			bytes.set( c, at );
			at += c.length;

		}
		if ( status === 200 ) {

			// The whole file: every byte that came (more than a Content-Length declared means the
			// length was of coded bytes, where the Content-Encoding header is not exposed cross-origin).
			onPart( 0, bytes, received );
			return { status, total: received };

		}
		onPart( start, Number.isFinite( length ) ? bytes.subarray( 0, length ) : bytes, total );
		return { status, total: Number.isFinite( total ) ? total : received };

	}

	const dash = new TextEncoder().encode( '--' + boundary );
	let pending = new Uint8Array( 0 );
	/** @type {{start: number, bytes: Uint8Array, filled: number, total: number}|null} */
	let part = null;
	let finished = false;
	const decoder = new TextDecoder();
	for ( ;; ) {

		const { done, value } = await next( reader, ( error ) => ( part
			? new TruncatedRangeError( part.start, part.length, part.filled, error )
			: new TruncatedRangeError( NaN, 0, 0, error ) ) );
		if ( done ) break;
		let chunk = value, data = 0;
		try {

			while ( chunk.length && ! finished ) {

				if ( part ) {

					const take = Math.min( chunk.length, part.length - part.filled );
					if ( part.filled + take > part.bytes.length ) {

						const grown = new Uint8Array( Math.min( part.length, Math.max( 2 * part.bytes.length, part.filled + take ) ) );
						grown.set( part.bytes.subarray( 0, part.filled ) );
						part.bytes = grown;

					}
					part.bytes.set( chunk.subarray( 0, take ), part.filled );
					part.filled += take;
					data += take;
					chunk = chunk.subarray( take );
					if ( part.filled === part.length ) {

						onPart( part.start, part.bytes, part.total );
						part = null;

					}
					continue;

				}
				if ( ! boundaryIn( pending, chunk, dash ) ) {

					// no boundary yet: the bytes before one (a preamble, the line end before it) are never read, and
					// only those that may begin one are kept (every chunk was joined to all before it: quadratic
					// time, and the whole body held)
					const keep = dash.length - 1;
					pending = chunk.length >= keep ? chunk.slice( chunk.length - keep ) : concat( pending, chunk ).slice( - keep );
					break;

				}
				pending = concat( pending, chunk );
				chunk = new Uint8Array( 0 );
				const at = find( pending, dash, 0 );
				if ( pending.length < at + dash.length + 2 ) break;
				if ( pending[ at + dash.length ] === 45 && pending[ at + dash.length + 1 ] === 45 ) {

					finished = true;
					break;

				}
				const body = afterBlankLine( pending, at + dash.length );
				if ( body < 0 ) {

					if ( pending.length - at > MAX_PART_HEADERS ) throw new Error( `ByteRanges: a multipart part's headers run past ${ MAX_PART_HEADERS } bytes without the empty line that ends them` );
					break;

				}
				const headers = decoder.decode( pending.subarray( at + dash.length, body ) );
				const line = /(?:^|\n)content-range[ \t]*:[ \t]*([^\r\n]*)/i.exec( headers );
				if ( ! line ) throw new Error( 'ByteRanges: a multipart part has no Content-Range' );
				const range = parseContentRange( line[ 1 ] );
				total = range.total;
				// the buffer grows with the bytes that come: a header claiming 2 GB had 2 GB allocated before a byte came
				const length = range.end - range.start + 1;
				part = { start: range.start, length, bytes: new Uint8Array( Math.min( length, FIRST_PART_BYTES ) ), filled: 0, total: range.total };
				chunk = pending.subarray( body );
				pending = new Uint8Array( 0 );

			}

		} finally {

			onBytes( value.length, value, data );

		}

	}
	if ( part ) throw new TruncatedRangeError( part.start, part.length, part.filled );
	// the body ended between parts: those it did not hold were cut off, not left out
	if ( ! finished ) throw new TruncatedRangeError( NaN, 0, 0 );
	return { status, total };

}
