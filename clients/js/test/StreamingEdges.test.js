// StreamingScene as an outside application meets it: files it did not write, servers that answer
// oddly, cameras anywhere. Each test here failed before the fix it guards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Vector3 } from 'three';
import { StreamingScene } from '../core/StreamingScene.js';
import { build } from './builds.js';
import { rangeServer } from './rangeServer.js';

const MAZE = 'maze:40:5';

function center( scene, i ) {

	return scene.portalScene.cells[ i ].aabb.getCenter( new Vector3() ).setY( 1.6 );

}

function errors( scene ) {

	const seen = [];
	scene.addEventListener( 'error', ( e ) => seen.push( e.error.message ) );
	return seen;

}

// First in this file: nothing here has awaited three's MeshoptDecoder.ready, as an application
// that never imports the decoder itself has not.
test( 'a compressed file streams its cells without the application awaiting the meshopt decoder', async () => {

	const { glb, meta } = build( MAZE, [ '--compress' ] );
	for ( const mode of [ 'ranges', 'ignore' ] ) {

		const server = rangeServer( glb, { mode, etag: meta.ETag } );
		const scene = new StreamingScene( { fetch: server.fetch } );
		const seen = errors( scene );
		await scene.openUrl( 'http://sf/maze.glb' );
		await scene.update( center( scene, 0 ) );
		assert.deepEqual( seen, [], mode );
		assert.equal( scene.cellsLoaded, meta.visibility.cells[ 0 ].pvs.length, mode );
		scene.dispose();

	}

} );
