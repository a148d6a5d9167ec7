/**
 * A small RFC 6902 JSON Patch diff: `diff(a, b)` gives operations that turn `a` into `b`
 * (objects key by key; arrays without their equal first and last items, the rest index by index
 * with additions/removals after it; anything else replaced), and `changedCells(before, after)` names the cells (by `cellId`) that an
 * edit touched. Cost: one walk over both values. Pointers are RFC 6901 (`~0`, `~1`).
 */

import { escapeSegment, pointerSegments } from './jsonPointer.js';

function isObject( value ) {

	return value !== null && typeof value === 'object' && ! Array.isArray( value );

}

/** Deep equality of JSON values. */
export function jsonEqual( a, b ) {

	if ( a === b ) return true;
	if ( Array.isArray( a ) ) {

		if ( ! Array.isArray( b ) || a.length !== b.length ) return false;
		for ( let i = 0; i < a.length; i ++ ) if ( ! jsonEqual( a[ i ], b[ i ] ) ) return false;
		return true;

	}
	if ( isObject( a ) ) {

		if ( ! isObject( b ) ) return false;
		const ka = Object.keys( a ), kb = Object.keys( b );
		if ( ka.length !== kb.length ) return false;
		for ( const k of ka ) if ( ! Object.prototype.hasOwnProperty.call( b, k ) || ! jsonEqual( a[ k ], b[ k ] ) ) return false;
		return true;

	}
	return false;

}

/**
 * @param {*} a the JSON value now
 * @param {*} b the JSON value wanted
 * @param {string} [path] the pointer of both
 * @returns {{op: string, path: string, value?: *}[]}
 */
export function diff( a, b, path = '', ops = [] ) {

	if ( jsonEqual( a, b ) ) return ops;
	if ( Array.isArray( a ) && Array.isArray( b ) ) {

		// the equal items at both ends stay where they are: removing or inserting one cell in the middle of
		// thousands is one operation, not a replace of every item after it (a patch holds at most 10,000)
		let start = 0;
		while ( start < a.length && start < b.length && jsonEqual( a[ start ], b[ start ] ) ) start ++;
		let endA = a.length, endB = b.length;
		while ( endA > start && endB > start && jsonEqual( a[ endA - 1 ], b[ endB - 1 ] ) ) {

			endA --;
			endB --;

		}
		const common = Math.min( endA - start, endB - start );
		for ( let i = start; i < start + common; i ++ ) diff( a[ i ], b[ i ], `${ path }/${ i }`, ops );
		for ( let i = endA - 1; i >= start + common; i -- ) ops.push( { op: 'remove', path: `${ path }/${ i }` } );
		for ( let i = start + common; i < endB; i ++ ) ops.push( { op: 'add', path: `${ path }/${ i }`, value: b[ i ] } );
		return ops;

	}
	if ( isObject( a ) && isObject( b ) ) {

		for ( const k of Object.keys( a ) ) {

			if ( ! Object.prototype.hasOwnProperty.call( b, k ) ) ops.push( { op: 'remove', path: `${ path }/${ escapeSegment( k ) }` } );

		}
		for ( const k of Object.keys( b ) ) {

			const p = `${ path }/${ escapeSegment( k ) }`;
			if ( Object.prototype.hasOwnProperty.call( a, k ) ) diff( a[ k ], b[ k ], p, ops );
			else ops.push( { op: 'add', path: p, value: b[ k ] } );

		}
		return ops;

	}
	ops.push( { op: 'replace', path, value: b } );
	return ops;

}

/** Apply `ops` (as made by `diff`: add, remove, replace) to a copy of `doc`. */
export function applyPatch( doc, ops ) {

	let root = structuredClone( doc );
	for ( const { op, path, value } of ops ) {

		if ( path === '' ) {

			root = op === 'remove' ? null : structuredClone( value );
			continue;

		}
		const parts = pointerSegments( path );
		const last = parts.pop();
		let parent = root;
		for ( const p of parts ) parent = parent[ Array.isArray( parent ) ? Number( p ) : p ];
		if ( Array.isArray( parent ) ) {

			const i = last === '-' ? parent.length : Number( last );
			if ( op === 'add' ) parent.splice( i, 0, structuredClone( value ) );
			else if ( op === 'remove' ) parent.splice( i, 1 );
			else parent[ i ] = structuredClone( value );

		} else if ( op === 'remove' ) delete parent[ last ];
		else parent[ last ] = structuredClone( value );

	}
	return root;

}

/**
 * Cell ids whose entry differs between two descriptions (changed, added or removed), and the
 * ends of portals that changed.
 * @returns {Set<string>}
 */
export function changedCells( before, after ) {

	const byId = ( d ) => new Map( ( ( d && d.cells ) || [] ).map( ( c ) => [ c.cellId, c ] ) );
	const a = byId( before ), b = byId( after );
	const out = new Set();
	for ( const [ id, cell ] of a ) if ( ! b.has( id ) || ! jsonEqual( cell, b.get( id ) ) ) out.add( id );
	for ( const id of b.keys() ) if ( ! a.has( id ) ) out.add( id );
	const key = ( p ) => JSON.stringify( p );
	const pa = new Set( ( ( before && before.portals ) || [] ).map( key ) );
	const pb = new Set( ( ( after && after.portals ) || [] ).map( key ) );
	// a portal names its cells as `between: [a, b]` (with a door) or `from`/`to` (with a quad)
	const ends = ( p ) => ( Array.isArray( p.between ) ? p.between : [ p.from, p.to ] );
	for ( const p of ( before && before.portals ) || [] ) if ( ! pb.has( key( p ) ) ) for ( const id of ends( p ) ) out.add( id );
	for ( const p of ( after && after.portals ) || [] ) if ( ! pa.has( key( p ) ) ) for ( const id of ends( p ) ) out.add( id );
	return out;

}

/** Marks and embeddings, overrides and isolates that set the direction of the text after them. */
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with each bidirectional control written as its JavaScript escape (`\u202e` for U+202E). */
function plain( text ) {

	return text.replace( BIDI_CONTROLS, ( c ) => `\\u${ c.charCodeAt( 0 ).toString( 16 ).padStart( 4, '0' ) }` );

}

/**
 * One line per operation: `replace /cells/0/room/max/1: 3 → 3.5`. Bidirectional controls in pointers and
 * values are shown as escapes: an override in a name a user wrote cannot reorder the line.
 */
export function describeOps( ops, before ) {

	const short = ( v ) => {

		const s = JSON.stringify( v );
		return s === undefined ? '' : plain( s.length > 80 ? `${ s.slice( 0, 77 ) }…` : s );

	};
	return ops.map( ( o ) => {

		const path = plain( o.path );
		if ( o.op === 'replace' ) return `replace ${ path || '/' }: ${ short( valueAt( before, o.path ) ) } → ${ short( o.value ) }`;
		if ( o.op === 'remove' ) return `remove ${ path }: ${ short( valueAt( before, o.path ) ) }`;
		return `${ o.op } ${ path }${ 'value' in o ? `: ${ short( o.value ) }` : '' }`;

	} );

}

function valueAt( doc, path ) {

	let at = doc;
	for ( const segment of pointerSegments( path ) ) {

		if ( at === null || typeof at !== 'object' ) return undefined;
		at = at[ segment ];

	}
	return at;

}
