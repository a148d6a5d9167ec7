/**
 * Map JSON pointers (RFC 6901) to the 1-based line of the value they point at in a JSON
 * text, so validation errors (`{path, code, message}`) can be shown where they are.
 * A small tolerant scanner: it stops quietly at the first syntax error, keeping what it
 * has mapped so far.
 */

import { escapeSegment } from './jsonPointer.js';

/**
 * @param {string} text a JSON document
 * @returns {Map<string, number>} pointer → line ('' is the root)
 */
export function pointerLines( text ) {

	return scan( text ).lines;

}

/**
 * The 1-based line of the first JSON syntax error in `text`, or null when it parses.
 * @param {string} text
 * @returns {number|null}
 */
export function syntaxErrorLine( text ) {

	return scan( text ).errorLine;

}

/**
 * @param {string} text
 * @returns {{lines: Map<string, number>, errorLine: number|null}}
 */
function scan( text ) {

	const lines = new Map();
	let i = 0, line = 1;
	const ws = () => {

		while ( i < text.length ) {

			const c = text[ i ];
			if ( c === '\n' ) line ++;
			else if ( c !== ' ' && c !== '\t' && c !== '\r' ) break;
			i ++;

		}

	};
	const string = () => {

		let out = '';
		i ++;
		while ( i < text.length && text[ i ] !== '"' ) {

			if ( text[ i ] === '\\' ) {

				const e = text[ i + 1 ];
				if ( e === 'u' ) {

					out += String.fromCharCode( parseInt( text.slice( i + 2, i + 6 ), 16 ) );
					i += 6;
					continue;

				}
				out += { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' }[ e ] ?? e;
				i += 2;
				continue;

			}
			if ( text[ i ] === '\n' ) throw new SyntaxError( 'newline in string' );
			out += text[ i ++ ];

		}
		if ( i >= text.length ) throw new SyntaxError( 'unterminated string' );
		i ++;
		return out;

	};
	const value = ( pointer ) => {

		ws();
		lines.set( pointer, line );
		const c = text[ i ];
		if ( c === '{' ) {

			i ++;
			ws();
			if ( text[ i ] === '}' ) {

				i ++;
				return;

			}
			for ( ;; ) {

				ws();
				if ( text[ i ] !== '"' ) throw new SyntaxError( 'expected a key' );
				const keyLine = line;
				const key = string();
				ws();
				if ( text[ i ++ ] !== ':' ) throw new SyntaxError( 'expected :' );
				const child = `${ pointer }/${ escapeSegment( key ) }`;
				value( child );
				if ( lines.get( child ) !== keyLine ) lines.set( child, keyLine );
				ws();
				if ( text[ i ] === ',' ) {

					i ++;
					continue;

				}
				if ( text[ i ] === '}' ) {

					i ++;
					return;

				}
				throw new SyntaxError( 'expected , or }' );

			}

		}
		if ( c === '[' ) {

			i ++;
			ws();
			if ( text[ i ] === ']' ) {

				i ++;
				return;

			}
			for ( let k = 0; ; k ++ ) {

				value( `${ pointer }/${ k }` );
				ws();
				if ( text[ i ] === ',' ) {

					i ++;
					continue;

				}
				if ( text[ i ] === ']' ) {

					i ++;
					return;

				}
				throw new SyntaxError( 'expected , or ]' );

			}

		}
		if ( c === '"' ) {

			string();
			return;

		}
		const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec( text.slice( i, i + 64 ) );
		if ( ! m ) throw new SyntaxError( 'unexpected character' );
		i += m[ 0 ].length;

	};
	let errorLine = null;
	try {

		value( '' );
		ws();
		if ( i < text.length ) throw new SyntaxError( 'text after the JSON value' );

	} catch ( error ) {

		if ( ! ( error instanceof SyntaxError ) ) throw error;
		errorLine = line;

	}
	return { lines, errorLine };

}

/**
 * The line for a pointer; a pointer to something missing (e.g. a required key) falls
 * back to its nearest mapped ancestor.
 * @param {Map<string, number>} lines from `pointerLines`
 * @param {string} pointer
 * @returns {number}
 */
export function lineOfPointer( lines, pointer ) {

	let p = pointer || '';
	for ( ;; ) {

		if ( lines.has( p ) ) return lines.get( p );
		if ( p === '' ) return 1;
		p = p.slice( 0, p.lastIndexOf( '/' ) );

	}

}
