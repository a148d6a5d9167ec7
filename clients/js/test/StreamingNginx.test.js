// StreamingScene against a real nginx serving the GLB as a static file (skipped where nginx is not
// installed, except under CI=true, where .ci/run installs it and its absence fails): nginx's own multipart framing, its ETag from the file's mtime and size (or none, with
// `etag off`, as the test suite's nginx serves its probe file: tests/api/test_nginx_accel.py), its
// If-Match, and a file replaced under it mid-stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Vector3 } from 'three';
import { StreamingScene } from '../core/StreamingScene.js';
import { build } from './builds.js';

const MAZE = 'maze:40:5';
const NGINX = [ process.env.SCENEFORGE_NGINX, '/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx' ].find( ( p ) => p && existsSync( p ) );
// Under CI a missing nginx is a failure, not a skip (as the Python suite's servers: tests/support/servers.py).
const SKIP = ! NGINX && process.env.CI !== 'true' && 'nginx is not installed';

function center( scene, i ) {

	return scene.portalScene.cells[ i ].aabb.getCenter( new Vector3() ).setY( 1.6 );

}

function freePort() {

	return new Promise( ( resolve, reject ) => {

		const server = net.createServer().once( 'error', reject ).listen( 0, '127.0.0.1', () => {

			const { port } = server.address();
			server.close( () => resolve( port ) );

		} );

	} );

}

/** nginx as a plain process in a folder of its own: `/etag/` with its defaults, `/noetag/` with `etag off`. */
async function startNginx() {

	const dir = mkdtempSync( path.join( tmpdir(), 'sceneforge-nginx-' ) );
	mkdirSync( path.join( dir, 'files' ) );
	const port = await freePort();
	// the workers of a master run as root switch to an unprivileged user, which cannot enter a 0700 folder
	const user = process.getuid && process.getuid() === 0 ? 'user root;' : '';
	writeFileSync( path.join( dir, 'nginx.conf' ), `${ user }
worker_processes 1;
pid ${ dir }/nginx.pid;
error_log ${ dir }/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${ dir }/body; proxy_temp_path ${ dir }/proxy; fastcgi_temp_path ${ dir }/fastcgi;
  uwsgi_temp_path ${ dir }/uwsgi; scgi_temp_path ${ dir }/scgi;
  types { model/gltf-binary glb; }
  server {
    listen 127.0.0.1:${ port };
    location /etag/ { alias ${ dir }/files/; }
    location /noetag/ { alias ${ dir }/files/; etag off; }
  }
}
` );
	assert.ok( NGINX, 'nginx is not installed (under CI, .ci/run installs it)' );
	const proc = spawn( NGINX, [ '-p', dir, '-e', path.join( dir, 'error.log' ), '-c', path.join( dir, 'nginx.conf' ), '-g', 'daemon off;' ], { stdio: 'ignore' } );
	const exited = new Promise( ( resolve ) => proc.once( 'exit', resolve ) );
	const base = `http://127.0.0.1:${ port }`;
	for ( let k = 0; ; k ++ ) {

		try {

			await fetch( `${ base }/etag/` );
			break;

		} catch ( error ) {

			if ( proc.exitCode !== null || k > 200 ) throw new Error( `nginx did not start: ${ readFileSync( path.join( dir, 'error.log' ), 'utf8' ) }` );
			await new Promise( ( resolve ) => setTimeout( resolve, 50 ) );

		}

	}
	/** Put `bytes` in place of files/`name` at once (a rename, as a deployment does), dated `mtime` (seconds). */
	const put = ( name, bytes, mtime ) => {

		const tmp = path.join( dir, 'files', `.${ name }` );
		writeFileSync( tmp, bytes );
		utimesSync( tmp, mtime, mtime );
		renameSync( tmp, path.join( dir, 'files', name ) );

	};
	const stop = async () => {

		proc.kill( 'SIGQUIT' );
		await exited;
		rmSync( dir, { recursive: true, force: true } );

	};
	return { base, put, stop };

}

test( 'nginx serving the GLB as a static file streams every cell, with and without its ETag', { skip: SKIP }, async () => {

	const { glb, meta } = build( MAZE );
	const nginx = await startNginx();
	try {

		nginx.put( 'maze.glb', glb, 1_700_000_000 );
		for ( const where of [ 'etag', 'noetag' ] ) {

			const scene = await new StreamingScene( { headBytes: 4096 } ).openUrl( `${ nginx.base }/${ where }/maze.glb` );
			const errors = [];
			scene.addEventListener( 'error', ( e ) => errors.push( e.error.message ) );
			assert.equal( scene.mode, 'stream', where );
			for ( let i = 0; i < scene.portalScene.cells.length; i ++ ) await scene.update( center( scene, i ) );
			assert.deepEqual( errors, [], where );
			assert.equal( scene.cellsLoaded, meta.visibility.cells.filter( ( c ) => c.bytes[ 1 ] > 0 ).length, where );
			// every byte of the file once at most, whatever nginx's multipart framing
			assert.ok( scene.bytesLoaded <= glb.length, `${ where }: ${ scene.bytesLoaded } of ${ glb.length }` );
			assert.ok( scene.bytesReceived > scene.bytesLoaded, where );
			scene.dispose();

		}

	} finally {

		await nginx.stop();

	}

} );

test( 'a GLB replaced under nginx by one of the same size mid-stream fails the cells asked after it, with and without its ETag', { skip: SKIP }, async () => {

	const { glb } = build( MAZE );
	const next = glb.slice();
	next[ next.length - 1 ] ^= 0xff;
	const nginx = await startNginx();
	try {

		for ( const [ where, message ] of [ [ 'etag', /the file changed on the server \(ETag "[^"]+" no longer matches\)/ ], [ 'noetag', /the file changed on the server \(Last-Modified .* is now .*\)/ ] ] ) {

			nginx.put( 'maze.glb', glb, 1_700_000_000 );
			const scene = await new StreamingScene( { headBytes: 4096 } ).openUrl( `${ nginx.base }/${ where }/maze.glb` );
			const errors = [];
			scene.addEventListener( 'error', ( e ) => errors.push( e.error.message ) );
			nginx.put( 'maze.glb', next, 1_700_000_600 );
			await scene.update( center( scene, 0 ) );
			assert.equal( scene.cellsLoaded, 0, where );
			assert.ok( errors.length > 0 && errors.every( ( m ) => message.test( m ) ), `${ where }: ${ errors.join( '\n' ) }` );
			scene.dispose();

		}

	} finally {

		await nginx.stop();

	}

} );
