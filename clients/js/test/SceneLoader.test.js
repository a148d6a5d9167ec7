import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as api from '../index.js';
import { SceneLoader } from '../core/SceneLoader.js';
import { PortalScene } from '../core/PortalScene.js';
import { build } from './builds.js';

/**
 * A minimal GLB as the compiler writes it: a node per cell (`cell:<id>`, extras with
 * the aabb) holding a one-triangle mesh, a mesh-less portal node, scene extras.
 */
function makeGlb() {

	const positions = new Float32Array( [ 0, 0, 0, 1, 0, 0, 0, 0, 1 ] );
	const bin = new Uint8Array( positions.buffer );
	const json = {
		asset: { version: '2.0', generator: 'sceneforge test' },
		scene: 0,
		scenes: [ { nodes: [ 0, 1, 2 ], extras: { sceneforge: { formatVersion: 1, sceneId: 'glbonly' } } } ],
		nodes: [
			{ name: 'cell:hall', mesh: 0, extras: { type: 'cell', cellId: 'hall', aabb: [ 0, 0, - 2, 4, 3, 2 ] } },
			{ name: 'cell:kitchen', mesh: 0, translation: [ 4.5, 0, 0 ], extras: { type: 'cell', cellId: 'kitchen', aabb: [ 4, 0, - 2, 8, 3, 2 ] } },
			{ name: 'portal:hall->kitchen', extras: { type: 'portal', from: 'hall', to: 'kitchen', quad: [ 4, 0, 0.5, 4, 2, 0.5, 4, 2, - 0.5, 4, 0, - 0.5 ] } },
		],
		meshes: [ { primitives: [ { attributes: { POSITION: 0 } } ] } ],
		accessors: [ { bufferView: 0, componentType: 5126, count: 3, type: 'VEC3', min: [ 0, 0, 0 ], max: [ 1, 0, 1 ] } ],
		bufferViews: [ { buffer: 0, byteOffset: 0, byteLength: bin.byteLength } ],
		buffers: [ { byteLength: bin.byteLength } ],
	};
	let jsonBytes = new TextEncoder().encode( JSON.stringify( json ) );
	const pad = ( 4 - ( jsonBytes.length % 4 ) ) % 4;
	jsonBytes = new Uint8Array( [ ...jsonBytes, ...new Array( pad ).fill( 0x20 ) ] );
	const total = 12 + 8 + jsonBytes.length + 8 + bin.byteLength;
	const out = new Uint8Array( total );
	const view = new DataView( out.buffer );
	view.setUint32( 0, 0x46546c67, true );
	view.setUint32( 4, 2, true );
	view.setUint32( 8, total, true );
	view.setUint32( 12, jsonBytes.length, true );
	view.setUint32( 16, 0x4e4f534a, true );
	out.set( jsonBytes, 20 );
	view.setUint32( 20 + jsonBytes.length, bin.byteLength, true );
	view.setUint32( 24 + jsonBytes.length, 0x004e4942, true );
	out.set( bin, 28 + jsonBytes.length );
	return out.buffer;

}

const meta = {
	ETag: 'abc123', Meta: { sceneId: 'test01', cells: [ 'hall', 'kitchen' ], portals: 1 }, sceneId: 'test01',
	visibility: {
		cells: [
			{ cellId: 'hall', aabb: [ 0, 0, - 2, 4, 3, 2 ], portals: [ 0 ], pvs: [ 'hall', 'kitchen' ] },
			{ cellId: 'kitchen', aabb: [ 4, 0, - 2, 8, 3, 2 ], portals: [ 0 ], pvs: [ 'hall', 'kitchen' ] },
		],
		portals: [ { from: 'hall', to: 'kitchen', quad: [ 4, 0, 0.5, 4, 2, 0.5, 4, 2, - 0.5, 4, 0, - 0.5 ], plane: [ 1, 0, 0, - 4 ] } ],
	},
};

test( 'SceneLoader binds cells and portals by extras, not by the rewritten node names', async () => {

	const scene = await new SceneLoader().parse( makeGlb(), meta );
	assert.equal( scene.sceneId, 'test01' );
	assert.deepEqual( scene.cells.map( ( c ) => c.id ), [ 'hall', 'kitchen' ] );
	for ( const cell of scene.cells ) {

		assert.ok( cell.object, `${ cell.id } not bound` );
		assert.equal( cell.object.userData.cellId, cell.id );
		assert.notEqual( cell.object.name, `cell:${ cell.id }` ); // GLTFLoader strips the ':'

	}
	assert.equal( scene.portals[ 0 ].object.userData.to, 'kitchen' );
	assert.ok( scene.portals[ 0 ].plane.normal.x > 0.99 );
	const visible = new Uint8Array( [ 1, 0 ] );
	scene.applyVisibility( visible );
	assert.equal( scene.cells[ 0 ].object.visible, true );
	assert.equal( scene.cells[ 1 ].object.visible, false );
	scene.dispose();
	assert.equal( scene.root, null );

} );

test( 'SceneLoader rebuilds the visibility model from GLB extras when there is no meta', async () => {

	const scene = await new SceneLoader().parse( makeGlb() );
	assert.equal( scene.sceneId, 'glbonly' );
	assert.equal( scene.cells.length, 2 );
	assert.equal( scene.portals.length, 1 );
	assert.deepEqual( [ ...scene.cells[ 0 ].pvs ], [ 1, 1 ] );

} );

test( 'SceneLoader without the meta reads a built file\'s PVS and cells from its streaming index, as the meta has them', async () => {

	// what StreamingScene does with a file it must load whole (instanced meshes, textures)
	const { glb, meta } = build( 'maze:40:5' );
	const scene = await new SceneLoader().parse( glb.buffer.slice( glb.byteOffset, glb.byteOffset + glb.byteLength ) );
	const expected = PortalScene.fromMeta( meta );
	assert.ok( expected.cells.some( ( c ) => c.pvsIds.length < expected.cells.length ), 'a PVS that is not every cell' );
	assert.deepEqual( scene.cells.map( ( c ) => [ c.id, [ ...c.pvs ], c.aabb.min.toArray(), c.aabb.max.toArray(), c.object !== null ] ),
		expected.cells.map( ( c ) => [ c.id, [ ...c.pvs ], c.aabb.min.toArray(), c.aabb.max.toArray(), true ] ) );
	assert.deepEqual( scene.portals.map( ( p ) => [ p.from, p.to, p.oneWay ] ), expected.portals.map( ( p ) => [ p.from, p.to, p.oneWay ] ) );

} );

test( 'SceneLoader.load fetches the meta, then the exact GLB version it names', async () => {

	const asked = [];
	const fetch = async ( url, init ) => {

		asked.push( [ url, init.headers[ 'X-API-Key' ] ] );
		if ( url.endsWith( '/test01/meta' ) ) return new Response( JSON.stringify( meta ) );
		if ( url.endsWith( '.abc123.glb' ) ) return new Response( makeGlb() );
		return new Response( 'nope', { status: 404 } );

	};
	const loader = new SceneLoader( { baseUrl: 'http://h:1/', headers: { 'X-API-Key': 'k' }, fetch } );
	const scene = await loader.load( 'test01' );
	assert.equal( scene.cells[ 1 ].object.userData.cellId, 'kitchen' );
	assert.deepEqual( asked, [ [ 'http://h:1/scenes/test01/meta', 'k' ], [ 'http://h:1/scenes/test01.abc123.glb', 'k' ] ] );
	await assert.rejects( loader.load( 'missing' ), /^Error: SceneLoader: GET .* answered 404/ );
	loader.dispose();

} );

test( 'the package index exports the public surface, and only it', () => {

	assert.deepEqual( Object.keys( api ).sort(), [
		'CapsuleWalker', 'CellCollision', 'Collision', 'PortalCuller', 'PortalScene', 'SceneLoader',
		'StreamingScene', 'TruncatedRangeError', 'decodeCell', 'mergeWorldGeometry', 'parseIndex', 'polygonPlane',
		'readRanges', 'visibilityFromExtras',
	] );

} );
