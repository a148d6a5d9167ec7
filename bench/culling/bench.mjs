#!/usr/bin/env node
/**
 * Culling benchmark: how many cells each strategy draws, and what portal culling costs.
 *
 *   node bench/culling/bench.mjs out/maze1000.meta.json [--views 500] [--repeats 7] [--seed 1] [--json out.json]
 *   node bench/culling/bench.mjs --synthetic 1000      (a generated grid maze, no PVS: for a quick look)
 *
 * Input: a meta JSON from `sceneforge build` (or just its visibility block: cells with
 * aabb/pvs, portals with quads). Viewpoints: `--views` random points inside random cells,
 * at eye height, random yaw, level pitch; 75° vertical fov, 16:9, near 0.05, far 500.
 *
 * Strategies, mean cells drawn per view:
 *   all            every cell
 *   frustum        cells whose AABB meets the view frustum
 *   pvs            the camera cell's PVS
 *   pvs+frustum    PVS cells whose AABB meets the frustum
 *   portal         recursive portal clipping (PortalCuller, PVS as first filter)
 * Time per frame: the median over `--repeats` passes over all views.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Frustum, Matrix4, PerspectiveCamera, Vector3 } from 'three';
import { PortalScene } from '../../clients/js/core/PortalScene.js';
import { PortalCuller } from '../../clients/js/core/PortalCuller.js';

function parseArgs( argv ) {

	const args = { path: null, views: 500, repeats: 7, seed: 1, json: null, synthetic: 0 };
	for ( let i = 0; i < argv.length; i ++ ) {

		const a = argv[ i ];
		if ( a === '--views' ) args.views = Number( argv[ ++ i ] );
		else if ( a === '--repeats' ) args.repeats = Number( argv[ ++ i ] );
		else if ( a === '--seed' ) args.seed = Number( argv[ ++ i ] );
		else if ( a === '--json' ) args.json = argv[ ++ i ];
		else if ( a === '--synthetic' ) args.synthetic = Number( argv[ ++ i ] );
		else if ( a === '-h' || a === '--help' ) args.help = true;
		else args.path = a;

	}
	return args;

}

function rng( seed ) {

	let s = ( seed >>> 0 ) || 1;
	return () => {

		s ^= s << 13; s >>>= 0;
		s ^= s >>> 17;
		s ^= s << 5; s >>>= 0;
		return s / 4294967296;

	};

}

/** A square grid maze (random spanning tree), 4 m rooms, 1.2 m doors at random offsets. */
function syntheticMaze( count, random ) {

	const side = Math.ceil( Math.sqrt( count ) );
	const cells = [];
	for ( let i = 0; i < count; i ++ ) {

		const x = ( i % side ) * 4, z = Math.floor( i / side ) * 4;
		cells.push( { cellId: `c${ i }`, aabb: [ x, 0, z, x + 4, 3, z + 4 ] } );

	}
	const portals = [];
	const seen = new Uint8Array( count );
	const stack = [ 0 ];
	seen[ 0 ] = 1;
	while ( stack.length ) {

		const i = stack[ stack.length - 1 ];
		const x = i % side, z = Math.floor( i / side );
		const options = [ [ 1, 0 ], [ - 1, 0 ], [ 0, 1 ], [ 0, - 1 ] ]
			.map( ( [ dx, dz ] ) => [ x + dx, z + dz ] )
			.filter( ( [ nx, nz ] ) => nx >= 0 && nz >= 0 && nx < side && nz * side + nx < count && ! seen[ nz * side + nx ] );
		if ( ! options.length ) {

			stack.pop();
			continue;

		}
		const [ nx, nz ] = options[ Math.floor( random() * options.length ) ];
		const j = nz * side + nx;
		seen[ j ] = 1;
		stack.push( j );
		const [ a, b ] = i < j ? [ i, j ] : [ j, i ];
		const o = 0.4 + random() * 2.4;
		if ( nx !== x ) {

			const wx = Math.max( x, nx ) * 4, z0 = z * 4 + o;
			portals.push( { from: `c${ a }`, to: `c${ b }`, quad: [ wx, 0, z0 + 1.2, wx, 2.2, z0 + 1.2, wx, 2.2, z0, wx, 0, z0 ] } );

		} else {

			const wz = Math.max( z, nz ) * 4, x0 = x * 4 + o;
			portals.push( { from: `c${ a }`, to: `c${ b }`, quad: [ x0, 0, wz, x0, 2.2, wz, x0 + 1.2, 2.2, wz, x0 + 1.2, 0, wz ] } );

		}

	}
	return { sceneId: `synthetic${ count }`, visibility: { cells, portals } };

}

function median( values ) {

	const s = [ ...values ].sort( ( a, b ) => a - b );
	const m = s.length >> 1;
	return s.length % 2 ? s[ m ] : ( s[ m - 1 ] + s[ m ] ) / 2;

}

function main() {

	const args = parseArgs( process.argv.slice( 2 ) );
	if ( args.help || ( ! args.path && ! args.synthetic ) ) {

		console.error( 'usage: node bench/culling/bench.mjs META.json [--views 500] [--repeats 7] [--seed 1] [--json OUT]\n' +
			'       node bench/culling/bench.mjs --synthetic CELLS' );
		process.exit( args.help ? 0 : 2 );

	}
	const random = rng( args.seed );
	const meta = args.path ? JSON.parse( readFileSync( args.path, 'utf8' ) ) : syntheticMaze( args.synthetic, random );
	const scene = PortalScene.fromMeta( meta );
	const culler = new PortalCuller( scene );
	const n = scene.cells.length;

	// viewpoints
	const cam = new PerspectiveCamera( 75, 16 / 9, 0.05, 500 );
	const views = [];
	for ( let v = 0; v < args.views; v ++ ) {

		const cell = scene.cells[ Math.floor( random() * n ) ];
		const b = cell.aabb;
		const m = Math.min( 0.3, ( b.max.x - b.min.x ) / 4, ( b.max.z - b.min.z ) / 4 );
		const x = b.min.x + m + random() * ( b.max.x - b.min.x - 2 * m );
		const z = b.min.z + m + random() * ( b.max.z - b.min.z - 2 * m );
		const y = Math.min( b.min.y + 1.6, ( b.min.y + b.max.y ) / 2 );
		const yaw = random() * Math.PI * 2;
		cam.position.set( x, y, z );
		cam.lookAt( x + Math.cos( yaw ), y, z + Math.sin( yaw ) );
		cam.updateMatrixWorld( true );
		cam.updateProjectionMatrix();
		views.push( { eye: cam.position.clone(), projScreen: new Matrix4().multiplyMatrices( cam.projectionMatrix, cam.matrixWorldInverse ) } );

	}

	const frustum = new Frustum();
	const strategies = {
		all: () => n,
		frustum: () => {

			let count = 0;
			for ( const c of scene.cells ) if ( frustum.intersectsBox( c.aabb ) ) count ++;
			return count;

		},
		pvs: ( view ) => {

			const pvs = scene.cells[ scene.findCell( view.eye ) ].pvs;
			let count = 0;
			for ( let i = 0; i < n; i ++ ) count += pvs[ i ];
			return count;

		},
		'pvs+frustum': ( view ) => {

			const pvs = scene.cells[ scene.findCell( view.eye ) ].pvs;
			let count = 0;
			for ( let i = 0; i < n; i ++ ) if ( pvs[ i ] && frustum.intersectsBox( scene.cells[ i ].aabb ) ) count ++;
			return count;

		},
		portal: ( view ) => culler.cull( view.eye, frustum.planes, frustum.planes[ 4 ] ),
	};

	const results = {};
	for ( const [ name, run ] of Object.entries( strategies ) ) {

		let drawn = 0;
		const times = [];
		for ( let r = 0; r < args.repeats; r ++ ) {

			const t0 = performance.now();
			let sum = 0;
			for ( const view of views ) {

				frustum.setFromProjectionMatrix( view.projScreen );
				sum += run( view );

			}
			times.push( ( performance.now() - t0 ) / views.length );
			drawn = sum / views.length;

		}
		results[ name ] = { meanCellsDrawn: drawn, fractionDrawn: drawn / n, medianMsPerFrame: median( times ) };

	}

	const report = {
		sceneId: scene.sceneId, cells: n, portals: scene.portals.length, views: views.length,
		repeats: args.repeats, seed: args.seed, node: process.version, strategies: results,
	};
	console.log( `${ report.sceneId || args.path }: ${ n } cells, ${ report.portals } portals, ${ views.length } views, median of ${ args.repeats } repeats` );
	console.log( 'strategy       cells drawn   % of all   ms/frame' );
	for ( const [ name, r ] of Object.entries( results ) ) {

		console.log( `${ name.padEnd( 14 ) } ${ r.meanCellsDrawn.toFixed( 1 ).padStart( 11 ) } ${ ( 100 * r.fractionDrawn ).toFixed( 2 ).padStart( 9 ) }% ${ r.medianMsPerFrame.toFixed( 4 ).padStart( 10 ) }` );

	}
	const json = JSON.stringify( report, null, 2 );
	console.log( json );
	if ( args.json ) writeFileSync( args.json, json + '\n' );

}

main();
