// Test helper: build levels with this checkout's compiler (Python), once per process.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve( path.dirname( fileURLToPath( import.meta.url ) ), '../../..' );
// The project's virtual environment (`make install`), or SCENEFORGE_PYTHON, or python3 on the PATH.
const PYTHON = process.env.SCENEFORGE_PYTHON
	|| ( existsSync( path.join( ROOT, '.venv/bin/python' ) ) ? path.join( ROOT, '.venv/bin/python' ) : 'python3' );
const CLI = 'import sys; from sceneforge.cli import main; sys.argv[0] = "sceneforge"; sys.exit(main())';
export const work = mkdtempSync( path.join( tmpdir(), 'sceneforge-js-' ) );
const cache = new Map();

function sceneforge( ...args ) {

	return execFileSync( PYTHON, [ '-c', CLI, ...args ], {
		env: { ...process.env, PYTHONPATH: path.join( ROOT, 'src' ) },
		stdio: [ 'ignore', 'pipe', 'pipe' ],
	} ).toString();

}

/**
 * Build a level; returns `{glb: Uint8Array, meta}`.
 * @param {string} level 'maze:<cells>:<seed>', a path under tests/data/levels, or an absolute path
 * @param {string[]} [flags] e.g. ['--quantize'], ['--compress']
 */
export function build( level, flags = [] ) {

	const key = `${ level } ${ flags.join( ' ' ) }`;
	if ( cache.has( key ) ) return cache.get( key );
	const dir = path.join( work, String( cache.size ) );
	let spec = path.isAbsolute( level ) ? level : path.join( ROOT, 'tests/data/levels', level );
	if ( level.startsWith( 'maze:' ) ) {

		const [ , cells, seed ] = level.split( ':' );
		spec = path.join( dir + '.json' );
		sceneforge( 'generate', 'maze', '--cells', cells, '--seed', seed, '-o', spec );

	}
	const out = sceneforge( 'build', spec, '-o', dir, '--no-progress', ...flags );
	const glbPath = out.split( ' ' )[ 0 ];
	const glb = new Uint8Array( readFileSync( glbPath ) );
	const meta = JSON.parse( readFileSync( glbPath.replace( /\.glb$/, '.meta.json' ), 'utf8' ) );
	const result = { glb, meta };
	cache.set( key, result );
	return result;

}
