import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';
import { MeshoptDecoder } from 'three/addons/libs/meshopt_decoder.module.js';
import { PortalScene, quadPlane } from './PortalScene.js';
import { INDEX_VERSION, visibilityFromIndex } from './StreamIndex.js';

/**
 * Loads a compiled sceneforge scene — the GLB and its meta JSON — into a `PortalScene`
 * bound to the glTF scene graph. GLBs may use EXT_meshopt_compression and
 * KHR_mesh_quantization (both handled by three's GLTFLoader with the meshopt decoder).
 *
 * Cells and portals are found by their extras, which GLTFLoader copies to `userData`;
 * node names are rewritten by the loader (':' and '.' are dropped) and never used.
 * With no meta, the visibility model is the GLB's streaming index (docs/streaming.md: cells with
 * their outlines, portals, PVS), or, in a file without one (an older build, a re-export), rebuilt
 * from the GLB extras alone (cell `aabb`, portal `quad`), with every cell in every PVS.
 */

/**
 * @typedef {Object} SceneLoaderOptions
 * @property {string} [baseUrl=''] the service root, e.g. 'http://127.0.0.1:8000'
 * @property {Record<string, string>} [headers] sent with every request (e.g. `{'X-API-Key': key}`)
 * @property {typeof fetch} [fetch] the fetch implementation (default: the global one)
 */

export class SceneLoader {

	/** @param {SceneLoaderOptions} [options] */
	constructor( options = {} ) {

		this.baseUrl = ( options.baseUrl || '' ).replace( /\/$/, '' );
		this.headers = options.headers || {};
		this.fetch = options.fetch || globalThis.fetch.bind( globalThis );
		this.gltfLoader = new GLTFLoader();
		this.gltfLoader.setMeshoptDecoder( MeshoptDecoder );

	}

	/**
	 * Load the latest version of a scene from the service: the meta first, then the exact
	 * GLB version it names (`/scenes/{id}.{etag}.glb`, immutable and cacheable), so the
	 * two always match even while a rebuild lands.
	 * @param {string} sceneId
	 * @returns {Promise<PortalScene>}
	 */
	async load( sceneId ) {

		const id = encodeURIComponent( sceneId );
		const meta = await this._json( `${ this.baseUrl }/scenes/${ id }/meta` );
		const etag = typeof meta.ETag === 'string' ? meta.ETag.replace( /"/g, '' ) : '';
		const glbUrl = etag ? `${ this.baseUrl }/scenes/${ id }.${ etag }.glb` : `${ this.baseUrl }/scenes/${ id }.glb`;
		const glb = await this._bytes( glbUrl );
		return this.parse( glb, meta );

	}

	/**
	 * Load from explicit URLs (a static file server, the CLI's output folder).
	 * @param {string} glbUrl
	 * @param {string|null} [metaUrl] the `.meta.json`; null rebuilds the model from the GLB extras
	 * @returns {Promise<PortalScene>}
	 */
	async loadUrls( glbUrl, metaUrl = null ) {

		const [ glb, meta ] = await Promise.all( [ this._bytes( glbUrl ), metaUrl ? this._json( metaUrl ) : null ] );
		return this.parse( glb, meta );

	}

	/**
	 * Parse GLB bytes (and the meta JSON, if at hand) into a bound `PortalScene`.
	 * @param {ArrayBuffer} glb
	 * @param {Object|null} [meta]
	 * @returns {Promise<PortalScene>}
	 */
	async parse( glb, meta = null ) {

		const gltf = await this.gltfLoader.parseAsync( glb, '' );
		const root = gltf.scene;
		const index = gltf.parser.json.extras && gltf.parser.json.extras.sceneforgeIndex;
		const readable = index && index.version === INDEX_VERSION && Array.isArray( index.cells ) && Array.isArray( index.portals );
		const scene = PortalScene.fromMeta( meta || ( readable ? visibilityFromIndex( index ) : visibilityFromExtras( root ) ) );
		if ( ! scene.sceneId && root.userData.sceneforge ) scene.sceneId = root.userData.sceneforge.sceneId || '';
		return scene.bindObjects( root );

	}

	/** Releases the meshopt decoder's reference (three's loaders hold no other resources). */
	dispose() {

		this.gltfLoader.setMeshoptDecoder( null );

	}

	async _response( url ) {

		const response = await this.fetch( url, { headers: this.headers } );
		if ( ! response.ok ) throw new Error( `SceneLoader: GET ${ url } answered ${ response.status }` );
		return response;

	}

	async _json( url ) {

		return ( await this._response( url ) ).json();

	}

	async _bytes( url ) {

		return ( await this._response( url ) ).arrayBuffer();

	}

}

/**
 * The visibility block rebuilt from a loaded glTF scene's extras: cells with their
 * `aabb`, portals with their `quad`, no PVS (every cell potentially visible).
 * @param {import('three').Object3D} root
 * @returns {{cells: Object[], portals: Object[]}}
 */
export function visibilityFromExtras( root ) {

	const cells = [];
	const portals = [];
	root.traverse( ( node ) => {

		const d = node.userData;
		if ( d && d.type === 'cell' && typeof d.cellId === 'string' && Array.isArray( d.aabb ) ) {

			cells.push( { cellId: d.cellId, aabb: d.aabb } );

		} else if ( d && d.type === 'portal' && Array.isArray( d.quad ) ) {

			// a build winds every quad so that its right-hand normal points into `to`
			portals.push( { from: d.from, to: d.to, quad: d.quad, plane: quadPlane( d.quad ), oneWay: d.oneWay === true } );

		}

	} );
	return { cells, portals };

}
