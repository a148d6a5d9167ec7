// A streaming index (docs/streaming.md) that does not describe its file: a clear error, never
// geometry the file does not hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCell, parseIndex } from '../core/StreamIndex.js';
import { build } from './builds.js';

const cellBytes = ( glb, index, i ) => glb.subarray( index.bin + index.cells[ i ][ 1 ], index.bin + index.cells[ i ][ 1 ] + index.cells[ i ][ 2 ] );

test( 'a primitive whose indices run past its index view, or past its vertices, fails its cell instead of drawing vertex 0', () => {

	const { glb } = build( 'maze:4:3' );
	const index = parseIndex( glb );
	assert.ok( decodeCell( index, 0, cellBytes( glb, index, 0 ) ).geometry );

	// more indices than the I2 view holds: the typed array would read undefined, stored as 0
	const more = structuredClone( index );
	more.cells[ 0 ][ 5 ][ 0 ][ 2 ] += 30;
	assert.throws( () => decodeCell( more, 0, cellBytes( glb, more, 0 ) ), /cell "c0" primitive 0 needs \d+ indices, its view holds \d+/ );

	// fewer vertices than the indices name: triangles to rows past the primitive's
	const fewer = structuredClone( index );
	fewer.cells[ 0 ][ 5 ][ 0 ][ 1 ] = 3;
	assert.throws( () => decodeCell( fewer, 0, cellBytes( glb, fewer, 0 ) ), /cell "c0" primitive 0 indexes vertex \d+ of 3/ );

} );
