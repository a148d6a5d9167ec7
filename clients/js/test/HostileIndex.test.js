// A streaming index (docs/streaming.md) that does not describe its file: a clear error, never
// geometry the file does not hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Vector3 } from 'three';
import { INDEX_PREFIX, decodeCell, decodePvs, parseIndex } from '../core/StreamIndex.js';
import { StreamingScene } from '../core/StreamingScene.js';
import { build } from './builds.js';
import { rangeServer } from './rangeServer.js';

/** The file with its index rewritten by `mutate` in place (same bytes, padded with spaces). */
function withIndex( glb, mutate ) {

	const index = parseIndex( glb );
	const start = 20 + INDEX_PREFIX.length - '{"end":'.length;
	const { end, bin, ...rest } = mutate( structuredClone( index ) );
	let text = `{"end":${ String( end ).padStart( 12 ) },"bin":${ String( bin ).padStart( 12 ) },${ JSON.stringify( rest ).slice( 1 ) }`;
	assert.ok( text.length <= index.end - start );
	text = text.slice( 0, - 1 ) + ' '.repeat( index.end - start - text.length ) + '}';
	const out = glb.slice();
	out.set( new TextEncoder().encode( text ), start );
	return out;

}

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

test( 'an index whose members are not of their shape fails open, naming the member, instead of cells never asked for', async () => {

	const { glb } = build( 'maze:4:3' );
	const cases = [
		// a length of no bytes: the cell was never asked for, and readyAt() was never true in it
		[ ( i ) => ( i.cells[ 0 ][ 2 ] = - 5, i ), /bad index: cells\[0\]\[2\] \(its length\) is -5/ ],
		[ ( i ) => ( i.cells[ 1 ][ 1 ] = 'NaN', i ), /bad index: cells\[1\]\[1\] \(its offset\) is "NaN"/ ],
		// a box of strings held no camera: the camera's cell was another
		[ ( i ) => ( i.cells[ 0 ][ 3 ] = [ 'NaN', 0, 0, 4, 3, 4 ], i ), /bad index: cells\[0\]\[3\] \(its aabb\)/ ],
		[ ( i ) => ( i.portals[ 0 ][ 1 ] = 99, i ), /bad index: portals\[0\] \(cells \d+, 99 of 4\)/ ],
		[ ( i ) => ( i.portals[ 0 ][ 5 ] = null, i ), /bad index: portals\[0\] \(its quad\)/ ],
		[ ( i ) => ( delete i.cells, i ), /bad index: cells is undefined/ ],
		// materials that are no array of objects: a TypeError ("map is not a function") from open
		[ ( i ) => ( i.materials = { 0: {} }, i ), /bad index: materials is \{"0":\{\}\}/ ],
		[ ( i ) => ( i.materials = [ null ], i ), /bad index: materials\[0\] is null/ ],
	];
	for ( const [ mutate, message ] of cases ) {

		const file = withIndex( glb, mutate );
		assert.throws( () => parseIndex( file ), message );
		await assert.rejects( new StreamingScene( { fetch: rangeServer( file ).fetch } ).openUrl( '/level.glb' ), message );

	}
	// members the reader does not know are left alone
	const extra = withIndex( glb, ( i ) => ( i.future = { x: 1 }, i.cells[ 0 ].push( 'more' ), i ) );
	const scene = await new StreamingScene( { fetch: rangeServer( extra ).fetch } ).openUrl( '/level.glb' );
	await scene.update( new Vector3( 2, 1.5, 2 ), new Uint8Array( 4 ).fill( 1 ) );
	assert.equal( scene.cellsLoaded, 4 );

} );

test( 'an index of no cells opens, streams nothing, and has nothing for a walker to wait for', async () => {

	const { glb } = build( 'maze:4:3' );
	const file = withIndex( glb, ( i ) => {

		i.cells = [];
		i.portals = [];
		i.pvs = '';
		delete i.floors;
		return i;

	} );
	const scene = await new StreamingScene( { fetch: rangeServer( file ).fetch } ).openUrl( '/level.glb' );
	const here = new Vector3( 2, 1.5, 2 );
	await scene.update( here, new Uint8Array( 0 ) );
	assert.equal( scene.cellsLoaded, 0 );
	assert.equal( scene.cameraCell, - 1 );
	assert.equal( scene.readyAt( here ), true );
	assert.equal( scene.collision.raycast( here, new Vector3( 0, - 1, 0 ) ), null );

} );

test( 'a PVS that counts more cells than there are is refused before an array that long is made', () => {

	// cell 0 lists 2^30 cells (4 GB of Int32Array) of 2
	const leb = Buffer.from( [ 0x80, 0x80, 0x80, 0x80, 0x04, 0, 1, 0 ] ).toString( 'base64' );
	assert.throws( () => decodePvs( leb, 2 ), /cell 0 lists 1073741824 cells in its PVS, of 2/ );
	assert.deepEqual( decodePvs( Buffer.from( [ 2, 0, 1, 1, 1 ] ).toString( 'base64' ), 2 ).map( ( r ) => [ ...r ] ), [ [ 0, 1 ], [ 1 ] ] );

} );

test( 'a primitive whose vertices, UVs or indices run past their view fails its cell naming them, not with a RangeError, and before a buffer of that size is made', async () => {

	const { MeshoptDecoder } = await import( 'three/addons/libs/meshopt_decoder.module.js' );
	await MeshoptDecoder.ready;
	for ( const flags of [ [], [ '--quantize' ], [ '--compress' ] ] ) {

		const { glb } = build( 'maze:4:3', flags );
		const index = parseIndex( glb );
		const decode = ( edit ) => {

			const bad = structuredClone( index );
			edit( bad.cells[ 0 ] );
			return () => decodeCell( bad, 0, cellBytes( glb, bad, 0 ), MeshoptDecoder );

		};
		assert.ok( decode( () => {} )().geometry, flags.join() );
		const named = ( what ) => ( error ) => {

			assert.ok( ! ( error instanceof RangeError ), `${ flags }: ${ error.message }` );
			assert.match( error.message, what, flags.join() );
			return true;

		};
		// 1,000 vertices more than the P view holds: "Invalid typed array length"
		assert.throws( decode( ( c ) => ( c[ 5 ][ 0 ][ 1 ] += 1000 ) ), named( /^StreamIndex: cell "c0" primitive 0 needs \d+ vertices, its P view holds \d+/ ) );
		// counts no file of this size holds: refused before an array of 2^40 indices, or 2^31 vertices, is made
		assert.throws( decode( ( c ) => ( c[ 5 ][ 0 ][ 2 ] = 2 ** 40 ) ), named( /^StreamIndex: cell "c0" primitive 0 needs 1099511627776 indices, its view holds \d+/ ) );
		assert.throws( decode( ( c ) => ( c[ 5 ][ 0 ][ 1 ] = 2 ** 31 ) ), named( /^StreamIndex: cell "c0" primitive 0 needs 2147483648 vertices/ ) );
		// a material past the index's: the primitive was drawn with none, that is not at all
		assert.throws( decode( ( c ) => ( c[ 5 ][ 0 ][ 0 ] = 99 ) ), named( new RegExp( `^StreamIndex: cell "c0" primitive 0 names material 99, of ${ index.materials.length }` ) ) );
		// a primitive said to carry UVs, in a cell with no T view
		assert.throws( decode( ( c ) => ( c[ 5 ][ 0 ][ 3 ] = 1 ) ), named( /^StreamIndex: cell "c0" has no T view/ ) );
		// rows that are no counts: a negative size read the view's bytes up to 8 before its end
		assert.throws( decode( ( c ) => ( c[ 4 ][ 0 ][ 2 ] = - 8 ) ), named( /^StreamIndex: cell "c0" view 0 is \["P",0,-8,\d+\]/ ) );
		assert.throws( decode( ( c ) => ( c[ 5 ][ 0 ][ 1 ] = 'many' ) ), named( /^StreamIndex: cell "c0" primitive 0 is \[\d+,"many",\d+,\d+\]/ ) );
		if ( flags.includes( '--compress' ) ) {

			// a compressed view that says it decodes to 2^40 rows: meshopt stores at least 2 bits per 16 bytes
			assert.throws( decode( ( c ) => ( c[ 4 ][ 0 ][ 3 ] = 2 ** 40 ) ), named( /^StreamIndex: cell "c0" P view of \d+ bytes cannot decode to 1099511627776 rows/ ) );

		}

	}

} );

test( 'an index that ends, or holds a cell, past the file\'s size fails open naming it, without asking for the bytes', async () => {

	const { glb } = build( 'maze:4:3' );
	const cases = [
		// an index said to end 100 GB in: the rest of the file was asked for, read, then refused
		[ ( i ) => ( i.end = 99999999999, i ), /StreamIndex: the index ends at byte 99999999999, past the file's \d+ bytes/ ],
		// a cell past the file's end: asked for, answered 416 or cut, and the whole file fetched for it
		[ ( i ) => ( i.cells[ 2 ][ 1 ] = glb.length, i ), /StreamIndex: cell "c2" \(bytes \d+-\d+\) lies past the file's \d+ bytes/ ],
	];
	for ( const [ mutate, message ] of cases ) {

		const file = withIndex( glb, mutate );
		if ( mutate === cases[ 0 ][ 0 ] ) {

			// the end is read from the header, not the JSON: written there by hand
			const text = new TextEncoder().encode( String( 99999999999 ).padStart( 12 ) );
			file.set( text, 20 + INDEX_PREFIX.length );

		}
		const server = rangeServer( file );
		await assert.rejects( new StreamingScene( { fetch: server.fetch, headBytes: 4096 } ).openUrl( '/level.glb' ), message );
		assert.equal( server.requests.length, 1, server.requests.map( ( r ) => r.range ).join() );

	}

} );
