import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPatch, changedCells, describeOps, diff, jsonEqual } from '../../../src/sceneforge/studio/jsonDiff.js';

/** A small seeded generator (mulberry32): the same random cases every run. */
function random( seed ) {

	return () => {

		seed = ( seed + 0x6D2B79F5 ) | 0;
		let t = Math.imul( seed ^ ( seed >>> 15 ), 1 | seed );
		t = ( t + Math.imul( t ^ ( t >>> 7 ), 61 | t ) ) ^ t;
		return ( ( t ^ ( t >>> 14 ) ) >>> 0 ) / 4294967296;

	};

}

function value( rnd, depth ) {

	const kind = Math.floor( rnd() * ( depth > 2 ? 4 : 6 ) );
	if ( kind === 0 ) return Math.round( rnd() * 10 ) / 2;
	if ( kind === 1 ) return [ 'a', 'b', 'x/y', 'm~n' ][ Math.floor( rnd() * 4 ) ];
	if ( kind === 2 ) return rnd() < 0.5;
	if ( kind === 3 ) return null;
	if ( kind === 4 ) return Array.from( { length: Math.floor( rnd() * 4 ) }, () => value( rnd, depth + 1 ) );
	const out = {};
	for ( let i = Math.floor( rnd() * 4 ); i > 0; i -- ) out[ [ 'k', 'a/b', 'c~d', 'z', '' ][ Math.floor( rnd() * 5 ) ] ] = value( rnd, depth + 1 );
	return out;

}

test( 'diff(a, b) applied to a gives b, for 2,000 random pairs', () => {

	const rnd = random( 7 );
	for ( let i = 0; i < 2000; i ++ ) {

		const a = value( rnd, 0 ), b = rnd() < 0.2 ? structuredClone( a ) : value( rnd, 0 );
		const ops = diff( a, b );
		assert.ok( jsonEqual( applyPatch( a, ops ), b ), JSON.stringify( { a, b, ops } ) );
		if ( jsonEqual( a, b ) ) assert.deepEqual( ops, [] );

	}

} );

test( 'a changed room is one replace; its cell is named', () => {

	const before = { sceneId: 's', cells: [ { cellId: 'c0', room: { max: [ 4, 3, 4 ] } }, { cellId: 'c1', room: { max: [ 8, 3, 4 ] } } ], portals: [] };
	const after = structuredClone( before );
	after.cells[ 1 ].room.max[ 1 ] = 3.5;
	assert.deepEqual( diff( before, after ), [ { op: 'replace', path: '/cells/1/room/max/1', value: 3.5 } ] );
	assert.deepEqual( [ ...changedCells( before, after ) ], [ 'c1' ] );
	assert.deepEqual( describeOps( diff( before, after ), before ), [ 'replace /cells/1/room/max/1: 3 → 3.5' ] );
	after.portals.push( { from: 'c0', to: 'c1' } );
	assert.deepEqual( [ ...changedCells( before, after ) ].sort(), [ 'c0', 'c1' ] );

} );

test( 'a portal given as `between` names its two cells', () => {

	const before = { cells: [ { cellId: 'a' }, { cellId: 'b' }, { cellId: 'c' } ], portals: [ { between: [ 'a', 'b' ], door: { width: 1 } } ] };
	const after = structuredClone( before );
	after.portals[ 0 ].door.width = 1.2;
	assert.deepEqual( [ ...changedCells( before, after ) ].sort(), [ 'a', 'b' ] );
	after.portals.push( { between: [ 'c', 'a' ] } );
	assert.deepEqual( [ ...changedCells( before, after ) ].sort(), [ 'a', 'b', 'c' ] );

} );
