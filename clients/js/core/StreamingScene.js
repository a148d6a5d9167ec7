import { EventDispatcher, Group, Mesh, Vector3 } from 'three';
import { acceleratedRaycast } from 'three-mesh-bvh';
import { MeshoptDecoder } from 'three/addons/libs/meshopt_decoder.module.js';
import { PortalScene } from './PortalScene.js';
import { SceneLoader } from './SceneLoader.js';
import { Collision } from './Collision.js';
import { CellCollision } from './CellCollision.js';
import { heapPop, heapPush } from '../utils/heap.js';
import { TruncatedRangeError, parseContentRange, rangeHeader, readRanges } from './ByteRanges.js';
import {
	INDEX_PROBE_BYTES, UnknownIndexVersion, cellTransform, checkEnd, checkExtent, decodeCell, indexEnd, materialsFromIndex, parseIndex, visibilityFromIndex,
} from './StreamIndex.js';

/**
 * A compiled scene streamed by visibility (docs/streaming.md). `open` fetches the first bytes
 * of the GLB (the streaming index: cells, their byte ranges, portals, PVS); `update(position)`
 * then asks for the cells of the camera cell's PVS that are not loaded, nearest first (portal
 * distance from the camera), in one multi-range request, and each cell's mesh appears as soon as
 * its bytes are in; cells far from the camera are evicted when the decoded geometry passes
 * `memoryBudget`. All requests after the first go to the immutable `/scenes/{id}.{etag}.glb`, so
 * every range comes from one version. Raycasts and the capsule walker's collision use each cell's
 * shipped BVH (`SCENEFORGE_bvh`); nothing is built.
 *
 * Fallbacks: a server that answers the first request with 200 (ranges ignored) or 416 gives the
 * whole file, and cells are decoded from it; a file without the index (an older build) or with
 * instanced meshes or textures (shared data, docs/streaming.md) is loaded whole by `SceneLoader`.
 * A range that comes back short fails the cells it held with an error naming each of them (event
 * `error`); every other cell keeps working, and a failed cell is asked for again when the camera
 * enters another cell.
 *
 * Events (three's EventDispatcher): `cell` {cellIndex, cellId}, `evict` {cellIndex, cellId},
 * `error` {error, cellId}, `progress` {loaded, total}.
 */

const NONE = 0, PENDING = 1, LOADED = 2, FAILED = 3;

/**
 * @typedef {Object} StreamingOptions
 * @property {string} [baseUrl=''] the service root
 * @property {Record<string, string>} [headers] sent with every request
 * @property {typeof fetch} [fetch] the fetch implementation (default: the global one)
 * @property {number} [memoryBudget=268435456] bytes of decoded geometry kept before far cells are evicted
 * @property {number} [headBytes=65536] bytes asked for first (the index is fetched whole even when longer)
 * @property {number} [maxRanges=64] most ranges in one request (the service ignores a Range header of more than 64 and answers with the whole file)
 *
 * Options out of their range (a `maxRanges` that is not a whole number of at least 1, a `headBytes` that is no
 * byte count, a negative or NaN `memoryBudget`) throw, naming the option.
 */

export class StreamingScene extends EventDispatcher {

	/** @param {StreamingOptions} [options] */
	constructor( options = {} ) {

		super();
		this.baseUrl = ( options.baseUrl || '' ).replace( /\/$/, '' );
		this.headers = options.headers || {};
		this.fetch = options.fetch || globalThis.fetch.bind( globalThis );
		this.memoryBudget = options.memoryBudget ?? 256 * 1024 * 1024;
		const headBytes = options.headBytes ?? 65536;
		this.maxRanges = options.maxRanges ?? 64;
		// a maxRanges of 0 split the first cells request into empty ones for ever; NaN asked for nothing
		if ( ! ( Number.isInteger( this.maxRanges ) && this.maxRanges >= 1 ) ) throw new Error( `StreamingScene: maxRanges must be a whole number of at least 1, got ${ this.maxRanges }` );
		if ( ! ( Number.isSafeInteger( headBytes ) && headBytes >= 0 ) ) throw new Error( `StreamingScene: headBytes must be a whole number of bytes, got ${ headBytes }` );
		if ( ! ( this.memoryBudget >= 0 ) ) throw new Error( `StreamingScene: memoryBudget must be a number of bytes of at least 0, got ${ this.memoryBudget }` );
		this.headBytes = Math.max( INDEX_PROBE_BYTES, headBytes );
		/** 'stream' (cells by range), 'file' (cells decoded from the whole file) or 'whole' (SceneLoader). */
		this.mode = 'stream';
		/** @type {PortalScene|null} */
		this.portalScene = null;
		/** @type {Object|null} the streaming index */
		this.index = null;
		/** The URL every range is asked from (the immutable ETag URL when the server gave an ETag). */
		this.url = '';
		/**
		 * Bytes of the file that came (every body byte of a 200, the parts' bytes of a 206): not the
		 * multipart framing around them. A cell fetched again after it was evicted counts again.
		 */
		this.bytesLoaded = 0;
		/**
		 * Bytes of answer bodies that came, as fetch hands them over: `bytesLoaded` plus the multipart
		 * framing (boundary lines, part headers); decoded bytes when the server compressed the answer.
		 */
		this.bytesReceived = 0;
		/** The file's size, once an answer stated it (0 before). */
		this.bytesTotal = 0;
		/**
		 * True once an answer said the file was replaced on the server (412, another ETag, another
		 * size): nothing more is asked for; open it again to read the new version.
		 */
		this.changed = false;
		/** Bytes of decoded geometry and BVH held now. */
		this.memory = 0;
		this.cameraCell = - 1;
		/** @type {string|null} the ETag of the first answer: every later answer must have it */
		this._etag = null;
		/** Whether later requests carry If-Match with `_etag` (not when it is an object store's, after a redirect). */
		this._ifMatch = true;
		/** @type {string|null} the first answer's Last-Modified when it had no ETag: every later answer must have it */
		this._modified = null;
		this._here = [];
		this._hereKey = '';
		this.collision = null;
		this._keep = [];
		this._dist = null;
		this._state = new Uint8Array( 0 );
		this._memory = [];
		this._meshes = [];
		this._whole = null;
		/** The first answer's bytes (0 to at least the index's end), when the file is read by ranges. */
		this._head = null;
		/** @type {Promise<Uint8Array>|null} the whole file, when asked for after a 416 to cells, or answered to a cells request (200) */
		this._wholeRequest = null;
		this._materials = [];
		this._abort = new AbortController();

	}

	/**
	 * Open the latest version of a scene of the service (or the version `etag` names).
	 * @param {string} sceneId
	 * @param {{etag?: string}} [options]
	 * @returns {Promise<this>}
	 */
	async open( sceneId, options = {} ) {

		const id = encodeURIComponent( sceneId );
		const etag = ( options.etag || '' ).replace( /"/g, '' );
		const url = etag ? `${ this.baseUrl }/scenes/${ id }.${ etag }.glb` : `${ this.baseUrl }/scenes/${ id }.glb`;
		return this.openUrl( url, ( tag ) => `${ this.baseUrl }/scenes/${ id }.${ tag }.glb` );

	}

	/**
	 * Open a GLB by URL. `pin(etag)` gives the URL of that exact version (the service's
	 * immutable URL); without it every range goes to `url`.
	 * @param {string} url
	 * @param {(etag: string) => string} [pin]
	 * @returns {Promise<this>}
	 */
	async openUrl( url, pin = null ) {

		this.url = url;
		const first = await this._get( url, `bytes=0-${ this.headBytes - 1 }` );
		if ( first.status === 416 ) {

			await first.body?.cancel().catch( () => {} );
			return this._openFile( await this._wholeFile( url ) );

		}
		// An answer that came through a redirect (the service's 302 to a presigned object-store URL)
		// states the store's ETag, not the service's: it names no version URL, and an If-Match with it
		// would be answered 412 by the service. Later answers are only compared with it.
		const redirected = first.redirected === true;
		const etag = ( first.headers.get( 'etag' ) || '' ).replace( /^W\//, '' ).replace( /"/g, '' );
		if ( etag && pin && ! redirected ) this.url = pin( etag );
		// Every later request must read the same version: sent with If-Match (a server answers 412
		// once the file changed) and checked against the ETag each answer states.
		this._etag = first.headers.get( 'etag' );
		this._ifMatch = ! redirected;
		// Without an ETag, the Last-Modified date (readable cross-origin, where an ETag needs
		// Access-Control-Expose-Headers) is what tells a file replaced by one of the same size.
		this._modified = this._etag ? null : first.headers.get( 'last-modified' );
		let headLength = Infinity;
		// a single range answered as multipart/byteranges (RFC 9110 says it must not be, some servers
		// do): its Content-Range is the part's, read below, not a header of the answer
		const multipart = first.status === 206 && /^\s*multipart\/byteranges/i.test( first.headers.get( 'content-type' ) || '' );
		if ( first.status === 206 && ! multipart ) {

			const range = parseContentRange( first.headers.get( 'content-range' ) );
			if ( range.start !== 0 ) {

				// not the bytes asked for: the file is read whole instead
				await first.body?.cancel().catch( () => {} );
				return this._openFile( await this._wholeFile( this.url ) );

			}
			headLength = range.end + 1;
			if ( Number.isFinite( range.total ) ) this.bytesTotal = range.total;

		}
		// As soon as the first bytes tell where the index ends, ask for the rest of it: the two
		// answers overlap instead of costing a round trip each.
		let probe = multipart ? null : new Uint8Array( 0 ), rest = null;
		const onBytes = ( n, chunk, data ) => {

			this._count( n, data );
			if ( probe === null || first.status !== 206 ) return;
			const joined = new Uint8Array( probe.length + chunk.length );
			joined.set( probe );
			joined.set( chunk, probe.length );
			probe = joined;
			if ( probe.length < INDEX_PROBE_BYTES ) return;
			const end = indexEnd( probe );
			probe = null;
			// an end past the file: the rest of the file was asked for, read, then refused
			if ( this.bytesTotal > 0 ) checkEnd( end, this.bytesTotal );
			if ( end > headLength ) {

				rest = this._indexRest( headLength, end );
				// awaited below, unless the first answer fails first: its failure must not go unhandled
				rest.catch( () => {} );

			}

		};
		let head = null;
		let headStart = 0;
		const { total } = await readRanges( first, ( start, bytes, stated ) => {

			if ( head !== null ) return;
			head = bytes;
			headStart = start;
			if ( multipart && Number.isFinite( stated ) ) this.bytesTotal = stated;

		}, onBytes );
		// not the bytes asked for: the file is read whole instead
		if ( multipart && ( head === null || headStart !== 0 ) ) return this._openFile( await this._wholeFile( this.url ) );
		// a 206 stated the size in its Content-Range (above), or stated none (`bytes 0-65535/*`): its
		// length is not the file's, and later answers are not held to it
		if ( first.status !== 206 ) this.bytesTotal = total;
		if ( first.status === 200 ) return this._openFile( head );
		// a file no longer than the first range came whole: its cells are cut from it, not asked for again
		if ( this.bytesTotal > 0 && head.length === this.bytesTotal ) return this._openFile( head );
		this._progress();
		const end = indexEnd( head );
		if ( end < 0 ) return this._openWhole( await this._wholeFile( this.url ) );
		if ( this.bytesTotal > 0 ) checkEnd( end, this.bytesTotal );
		if ( end > head.length ) {

			const more = await ( rest || this._indexRest( head.length, end ) );
			if ( more && more.whole ) return this._openFile( more.whole );
			if ( ! more ) return this._openFile( await this._wholeFile( this.url ) );
			const joined = new Uint8Array( head.length + more.bytes.length );
			joined.set( head );
			joined.set( more.bytes, head.length );
			head = joined;

		}
		const index = readableIndex( head );
		if ( ! index || index.instanced || index.images ) return this._openWhole( await this._wholeFile( this.url ) );
		if ( this.bytesTotal > 0 ) checkExtent( index, this.bytesTotal );
		await this._setup( index );
		// the first answer's bytes past the index hold the first cells whole or in part: those it holds
		// whole are cut from it, not asked for again
		this._head = head;
		return this;

	}

	/**
	 * Bytes `from`..`end - 1` of the file (the index past the first answer): `{bytes}`, or `{whole}`
	 * when the server answered with the whole file (200: it ignored this range), or null when a 206
	 * gave other bytes or the range was refused (416).
	 */
	async _indexRest( from, end ) {

		const response = await this._get( this.url, `bytes=${ from }-${ end - 1 }` );
		if ( response.status === 416 ) {

			await response.body?.cancel().catch( () => {} );
			return null;

		}
		let out = null;
		const onPart = ( start, bytes, total ) => {

			this._sameFile( total );
			if ( response.status === 200 ) out = { whole: bytes };
			else if ( start === from ) out = { bytes };

		};
		// a 200 is the whole file: read, not cancelled and asked for again
		await readRanges( response, onPart, ( n, chunk, data ) => this._count( n, data ) );
		return out;

	}

	/** @param {Uint8Array} bytes the whole file */
	async _openFile( bytes ) {

		this.bytesTotal = bytes.length;
		const end = indexEnd( bytes );
		const index = end < 0 ? null : readableIndex( bytes );
		if ( ! index || index.instanced || index.images ) return this._openWhole( bytes );
		checkExtent( index, bytes.length );
		this._whole = bytes;
		this.mode = 'file';
		await this._setup( index );
		this._progress();
		return this;

	}

	/** Load the whole file with three's GLTFLoader (older builds, shared data). */
	async _openWhole( bytes ) {

		this.mode = 'whole';
		this.bytesTotal = bytes.length;
		const loader = new SceneLoader();
		this.portalScene = await loader.parse( bytes.buffer.slice( bytes.byteOffset, bytes.byteOffset + bytes.byteLength ), null );
		loader.dispose();
		this.collision = new Collision( this.portalScene.root );
		this._progress();
		return this;

	}

	async _setup( index ) {

		// three's meshopt decoder compiles its WebAssembly on import and decodes nothing before
		// `ready` settles: a compressed file's cells wait for it here, once, not in every caller.
		if ( index.compressed === true ) await MeshoptDecoder.ready;
		// disposed while opening, through a fetch that does not heed the abort signal: it stays disposed
		if ( this.disposed ) throw new DOMException( 'StreamingScene: disposed while opening', 'AbortError' );
		this.index = index;
		const scene = PortalScene.fromMeta( visibilityFromIndex( index ) );
		const root = new Group();
		root.name = 'sceneforge:streaming';
		for ( const cell of index.cells ) {

			const group = new Group();
			group.name = `cell:${ cell[ 0 ] }`;
			group.userData = { type: 'cell', cellId: cell[ 0 ], aabb: cell[ 3 ] };
			root.add( group );

		}
		this.portalScene = scene.bindObjects( root );
		const n = index.cells.length;
		this._state = new Uint8Array( n );
		this._memory = new Array( n ).fill( 0 );
		this._meshes = new Array( n ).fill( null );
		this._materials = materialsFromIndex( index );
		this._transform = cellTransform( index );
		this.collision = new CellCollision( this );

	}

	/** Cells loaded now. */
	get cellsLoaded() {

		let k = 0;
		for ( const s of this._state ) if ( s === LOADED ) k ++;
		return k;

	}

	/**
	 * Whether cell `i` is drawn (loaded, or without geometry); always true for a file loaded whole.
	 * @param {number} i
	 */
	cellReady( i ) {

		if ( this.mode === 'whole' ) return true;
		return i >= 0 && i < this._state.length && ( this._state[ i ] === LOADED || this.index.cells[ i ][ 2 ] === 0 );

	}

	/**
	 * Whether the geometry around `position` is in: every cell that holds it is drawn (by its
	 * outline where it has one, else by its box: boxes may overlap, and the point may lie in any of
	 * them; the nearest cell when none holds it). A walker waits for this before it moves or falls.
	 * @param {Vector3} position
	 */
	readyAt( position ) {

		if ( this.mode === 'whole' ) return true;
		if ( ! this.portalScene ) return false;
		// a scene of no cells has no geometry to wait for (a walker waited for ever)
		if ( ! this.portalScene.cells.length ) return true;
		const here = this.portalScene.findCells( position );
		if ( ! here.length ) return this.cellReady( this.portalScene.findCell( position ) );
		return here.every( ( i ) => this.cellReady( i ) );

	}

	/**
	 * Whether every cell flagged in `visible` that has geometry is drawn (loaded).
	 * @param {Uint8Array} visible
	 */
	hasCells( visible ) {

		if ( this.mode === 'whole' ) return true;
		this._checkVisible( visible );
		for ( let i = 0; i < visible.length; i ++ ) {

			if ( visible[ i ] && this._state[ i ] !== LOADED && this.index.cells[ i ][ 2 ] > 0 ) return false;

		}
		return true;

	}

	/**
	 * A `visible` flag array (a culler's result) has at most one entry per cell of this scene (the cells past a
	 * shorter one are not flagged): a longer one, made for another scene, read past the cells (a TypeError
	 * deep in the loop).
	 * @param {ArrayLike<number>} visible
	 */
	_checkVisible( visible ) {

		const n = this.index ? this.index.cells.length : 0;
		if ( ! visible || typeof visible.length !== 'number' ) throw new TypeError( 'StreamingScene: visible must be an array of one flag per cell' );
		if ( visible.length > n ) throw new RangeError( `StreamingScene: visible has ${ visible.length } entries, the scene ${ n } cells` );

	}

	/**
	 * The camera moved: ask for the PVS cells of its cell not loaded yet, nearest first, and
	 * evict far cells over the memory budget. `visible` (a culler's result, optional) adds the
	 * cells it flags: a camera outside every cell (an overview) sees the level itself, not a PVS.
	 * Cheap when nothing changed: call it every frame.
	 * @param {Vector3} position world-space camera position
	 * @param {Uint8Array|null} [visible] visible[i] === 1 when cell i is on screen
	 * @returns {Promise<void>} settles when this update's requests have been read
	 */
	update( position, visible = null ) {

		// a file replaced on the server has no more cells of this index to give: asking again (at
		// every cell the camera enters) would only be answered 412 again
		if ( this.mode === 'whole' || ! this.portalScene || this.changed || this.disposed ) return Promise.resolve();
		if ( visible ) this._checkVisible( visible ); // before any state moves
		const cells = this.index.cells;
		const cell = this.portalScene.findCell( position );
		// Every cell that holds the camera (its outline where it has one, else its box: the boxes of
		// cells without an outline may overlap, and the camera may stand in any of them), so the PVSs
		// of all of them are streamed.
		const here = this.portalScene.findCells( position, 1e-4, this._here );
		const key = here.length ? here.join( ',' ) : `outside ${ cell }`;
		let order = null;
		if ( cell >= 0 && key !== this._hereKey ) {

			this.cameraCell = cell;
			this._hereKey = key;
			for ( let i = 0; i < this._state.length; i ++ ) if ( this._state[ i ] === FAILED ) this._state[ i ] = NONE;
			order = here.length ? this.nearestCells( here, position ) : [];
			this._keep = order;

		}
		const extra = [];
		if ( visible ) {

			for ( let i = 0; i < visible.length; i ++ ) if ( visible[ i ] && this._state[ i ] === NONE && cells[ i ][ 2 ] > 0 ) extra.push( i );
			const boxes = this.portalScene.cells;
			const dist = this._dist;
			const key = ( i ) => ( dist && Number.isFinite( dist[ i ] ) ? dist[ i ] : boxes[ i ].aabb.distanceToPoint( position ) );
			extra.sort( ( a, b ) => key( a ) - key( b ) || a - b );

		}
		if ( ! order && ! extra.length ) return Promise.resolve();
		const keep = new Set( this._keep || [] );
		if ( visible ) for ( let i = 0; i < visible.length; i ++ ) if ( visible[ i ] ) keep.add( i );
		this._evict( keep );
		// On screen first (one request), then the rest of the PVS, nearest first (another).
		const needed = ( list ) => list.filter( ( i ) => this._state[ i ] === NONE && cells[ i ][ 2 ] > 0 );
		const first = needed( extra.length ? extra : order || [] );
		const onScreen = new Set( first );
		const later = needed( ( order || [] ).filter( ( i ) => ! onScreen.has( i ) ) );
		return this._loadAll( first ).then( () => this._loadAll( later ) ).then( () => this._evict( keep ) );

	}

	_loadAll( wanted ) {

		const requests = [];
		for ( let k = 0; k < wanted.length; k += this.maxRanges ) requests.push( this._load( wanted.slice( k, k + this.maxRanges ) ) );
		return Promise.all( requests );

	}

	/**
	 * The PVS of `cell` (the union of the PVSs of several cells), nearest first: shortest path from
	 * `position` through portal centres. Cells the paths never reach come last, in scene order.
	 * @param {number|number[]} cell
	 * @param {Vector3} position
	 * @returns {number[]}
	 */
	nearestCells( cell, position ) {

		const scene = this.portalScene;
		const n = scene.cells.length;
		const starts = Array.isArray( cell ) ? cell : [ cell ];
		const dist = new Float64Array( n ).fill( Infinity );
		const at = new Array( n ).fill( null );
		const heap = [];
		for ( const c of starts ) {

			dist[ c ] = 0;
			at[ c ] = position;
			heap.push( [ 0, c ] );

		}
		while ( heap.length ) {

			const [ d, c ] = heapPop( heap );
			if ( d > dist[ c ] ) continue;
			for ( const p of scene.cells[ c ].portals ) {

				const portal = scene.portals[ p ];
				const next = portal.from === c ? portal.to : portal.from;
				const nd = d + at[ c ].distanceTo( portal.center );
				if ( nd < dist[ next ] ) {

					dist[ next ] = nd;
					at[ next ] = portal.center;
					heapPush( heap, [ nd, next ] );

				}

			}

		}
		this._dist = dist;
		const out = [];
		const sets = starts.map( ( c ) => scene.cells[ c ].pvs );
		for ( let i = 0; i < n; i ++ ) if ( sets.some( ( pvs ) => pvs[ i ] ) ) out.push( i );
		return out.sort( ( a, b ) => ( dist[ a ] - dist[ b ] ) || ( a - b ) );

	}

	async _load( asked ) {

		// Cells another request took meanwhile are not asked twice.
		const cells = asked.filter( ( i ) => this._state[ i ] === NONE );
		if ( ! cells.length ) return;
		for ( const i of cells ) this._state[ i ] = PENDING;
		const bin = this.index.bin;
		const range = ( i ) => [ bin + this.index.cells[ i ][ 1 ], this.index.cells[ i ][ 2 ] ];
		if ( this._whole ) {

			for ( const i of cells ) this._deliver( i, this._whole.subarray( range( i )[ 0 ], range( i )[ 0 ] + range( i )[ 1 ] ) );
			return;

		}
		// The first answer's bytes hold the first cells: those it holds whole are cut from it, and of the
		// one it ends in only the rest is asked for (nothing is fetched twice).
		const head = this._head;
		const held = ( i ) => ( head ? Math.max( 0, Math.min( head.length - range( i )[ 0 ], range( i )[ 1 ] ) ) : 0 );
		const rest = ( i ) => [ range( i )[ 0 ] + held( i ), range( i )[ 1 ] - held( i ) ];
		const waiting = new Set();
		for ( const i of cells ) {

			if ( rest( i )[ 1 ] === 0 ) this._deliver( i, head.subarray( range( i )[ 0 ], range( i )[ 0 ] + range( i )[ 1 ] ) );
			else waiting.add( i );

		}
		if ( ! waiting.size ) return;
		const asking = waiting.size;
		const onPart = ( start, bytes, total ) => {

			if ( this.disposed ) return;
			this._sameFile( total );
			if ( start === 0 && bytes.length === this.bytesTotal && this.bytesTotal > 0 ) this._whole = bytes;
			for ( const i of [ ...waiting ] ) {

				const [ offset, length ] = rest( i );
				if ( offset >= start && offset + length <= start + bytes.length ) {

					waiting.delete( i );
					const part = bytes.subarray( offset - start, offset - start + length );
					const front = held( i );
					if ( ! front ) {

						this._deliver( i, part );
						continue;

					}
					const whole = new Uint8Array( front + length );
					whole.set( head.subarray( range( i )[ 0 ], offset ) );
					whole.set( part, front );
					this._deliver( i, whole );

				}

			}

		};
		try {

			const response = await this._get( this.url, rangeHeader( [ ...waiting ].map( rest ) ) );
			if ( response.status === 416 ) {

				await response.body?.cancel().catch( () => {} );
				const whole = await this._wholeOnce();
				onPart( 0, whole, whole.length );

			} else if ( response.status === 200 && this._wholeRequest ) {

				// the whole file again (a server that answers several ranges with it, to requests made at
				// the same time): another request is reading it already
				await response.body?.cancel().catch( () => {} );
				const whole = await this._wholeRequest;
				onPart( 0, whole, whole.length );

			} else if ( response.status === 200 ) {

				let whole = null;
				const reading = readRanges( response, ( start, bytes, total ) => {

					whole = bytes;
					onPart( start, bytes, total );

				}, ( n, chunk, data ) => this._count( n, data ) ).then( () => whole );
				this._wholeRequest = reading.catch( ( error ) => {

					this._wholeRequest = null;
					throw error;

				} );
				this._wholeRequest.catch( () => {} );
				await reading;

			} else await readRanges( response, onPart, ( n, chunk, data ) => this._count( n, data ) );

		} catch ( error ) {

			if ( error && error.name === 'AbortError' ) return;
			const why = error instanceof TruncatedRangeError ? 'cut short' : error.message;
			for ( const i of waiting ) this._fail( i, new Error( why ) );
			return;

		}
		if ( ! waiting.size || this.disposed ) return;
		// A whole answer that left cells out: some servers send only the first of several ranges (or
		// only some). Those are asked for again, as long as each answer brings some of them.
		if ( waiting.size < asking ) {

			for ( const i of waiting ) this._state[ i ] = NONE;
			return this._load( [ ...waiting ] );

		}
		for ( const i of waiting ) this._fail( i, new Error( 'missing from the server\'s answer' ) );

	}

	_deliver( i, bytes ) {

		// a fetch that does not heed the abort signal (or a body already buffered) still hands over
		// bytes after dispose(): nothing is decoded, added or reported for a disposed scene
		if ( this.disposed || this._state[ i ] !== PENDING ) return;
		const id = this.index.cells[ i ][ 0 ];
		let decoded;
		try {

			decoded = decodeCell( this.index, i, bytes, MeshoptDecoder );

		} catch ( error ) {

			this._fail( i, error );
			return;

		}
		this._state[ i ] = LOADED;
		if ( decoded.geometry ) {

			const mesh = new Mesh( decoded.geometry, this._materials );
			mesh.name = `cell:${ id }/geometry`;
			mesh.raycast = acceleratedRaycast;
			mesh.position.fromArray( this._transform.position );
			mesh.scale.setScalar( this._transform.scale );
			this.portalScene.cells[ i ].object.add( mesh );
			mesh.updateMatrixWorld( true );
			this._meshes[ i ] = mesh;
			this._memory[ i ] = geometryBytes( decoded.geometry );
			this.memory += this._memory[ i ];

		}
		this.dispatchEvent( { type: 'cell', cellIndex: i, cellId: id } );

	}

	_fail( i, error ) {

		if ( this.disposed ) return;
		this._state[ i ] = FAILED;
		const [ id, start, length ] = this.index.cells[ i ];
		const offset = this.index.bin + start;
		const out = new Error( `StreamingScene: cell "${ id }" (bytes ${ offset }-${ offset + length - 1 }): ${ error.message }` );
		out.cellId = id;
		this.dispatchEvent( { type: 'error', error: out, cellId: id } );

	}

	_evict( wanted ) {

		if ( this.memory <= this.memoryBudget ) return;
		// Far first: cells outside the current PVS, in reverse scene order of their distance rank.
		const loaded = [];
		for ( let i = 0; i < this._state.length; i ++ ) if ( this._state[ i ] === LOADED && ! wanted.has( i ) ) loaded.push( i );
		// From the camera cell's centre; a camera that was never in a cell (a NaN position, with an
		// overview's `visible`) has none: they go in reverse scene order.
		if ( this.cameraCell >= 0 ) {

			const here = this.portalScene.cells[ this.cameraCell ].aabb.getCenter( new Vector3() );
			loaded.sort( ( a, b ) => this.portalScene.cells[ b ].aabb.distanceToPoint( here ) - this.portalScene.cells[ a ].aabb.distanceToPoint( here ) );

		} else loaded.reverse();
		for ( const i of loaded ) {

			if ( this.memory <= this.memoryBudget ) break;
			this.unload( i );

		}

	}

	/**
	 * Drop a loaded cell's mesh and BVH (it is fetched again when needed).
	 * @param {number} i
	 */
	unload( i ) {

		const mesh = this._meshes[ i ];
		if ( mesh ) {

			mesh.removeFromParent();
			if ( mesh.geometry.boundsTree ) mesh.geometry.boundsTree = null;
			mesh.geometry.dispose();

		}
		this._meshes[ i ] = null;
		this.memory -= this._memory[ i ];
		this._memory[ i ] = 0;
		this._state[ i ] = NONE;
		this.dispatchEvent( { type: 'evict', cellIndex: i, cellId: this.index.cells[ i ][ 0 ] } );

	}

	/** The loaded cells' meshes (index → Mesh|null). */
	get meshes() {

		return this._meshes;

	}

	/**
	 * Throw when an answer states a file size other than the first answer's: the file was replaced
	 * by one of another size, on a server whose answers carry no ETag this client can read (none
	 * at all, or not exposed cross-origin), and its bytes must not be cut into cells of this index.
	 * @param {number} total the file size an answer states (NaN when none)
	 */
	_sameFile( total ) {

		// the first answer stated no size: the first one stated is the file's
		if ( ! ( this.bytesTotal > 0 ) && Number.isFinite( total ) ) this.bytesTotal = total;
		if ( Number.isFinite( total ) && this.bytesTotal > 0 && total !== this.bytesTotal ) {

			this.changed = true;
			throw new Error( `the file changed on the server (it has ${ total } bytes, not ${ this.bytesTotal })` );

		}

	}

	async _get( url, range ) {

		const headers = range ? { ...this.headers, Range: range } : { ...this.headers };
		const etag = this._etag;
		// If-Match compares strongly: a weak tag would never match, so it is only checked below.
		if ( etag && this._ifMatch && ! etag.startsWith( 'W/' ) ) headers[ 'If-Match' ] = etag;
		let response;
		try {

			response = await this.fetch( url, { headers, signal: this._abort.signal } );

		} catch ( error ) {

			// fetch rejects with a bare TypeError ("Failed to fetch") when no answer could be read:
			// the network, or a cross-origin server that sent no CORS headers (its error pages often do not)
			if ( error && error.name === 'AbortError' ) throw error;
			throw new Error( `StreamingScene: GET ${ url } got no answer (${ error && error.message }): the network failed, or a cross-origin server answered without CORS headers`, { cause: error } );

		}
		const now = response.headers.get( 'etag' );
		const read = response.status === 200 || response.status === 206;
		// A validator the first answer stated and a later one leaves out tells nothing about the version
		// (another server behind a balancer, one that ignores If-Match): a file of the same size could be
		// another one, so the answer is taken as a change rather than cut into cells of this index.
		const modified = this._modified && response.status !== 416 ? response.headers.get( 'last-modified' ) : null;
		const undated = this._modified !== null && read && modified === null;
		const redated = modified !== null && modified !== this._modified;
		const untagged = etag !== null && read && now === null;
		const changed = response.status === 412 || redated || undated || untagged || ( etag && now && weakTag( now ) !== weakTag( etag ) && response.status !== 416 );
		if ( changed || ( response.status !== 200 && response.status !== 206 && response.status !== 416 ) ) {

			await response.body?.cancel().catch( () => {} );
			if ( changed ) this.changed = true;
			if ( undated ) throw new Error( `the file changed on the server (Last-Modified ${ this._modified } is no longer stated)` );
			if ( redated ) throw new Error( `the file changed on the server (Last-Modified ${ this._modified } is now ${ modified })` );
			if ( untagged ) throw new Error( `the file changed on the server (ETag ${ etag } is no longer stated)` );
			if ( changed ) throw new Error( `the file changed on the server (ETag ${ etag }${ now ? ` is now ${ now }` : ' no longer matches' })` );
			throw new Error( `StreamingScene: GET ${ url } answered ${ response.status }` );

		}
		return response;

	}

	async _wholeFile( url ) {

		const response = await this._get( url, null );
		let bytes = null;
		const onPart = ( start, b, total ) => {

			this._sameFile( total );
			bytes = b;

		};
		await readRanges( response, onPart, ( n, chunk, data ) => this._count( n, data ) );
		return bytes;

	}

	/**
	 * The whole file, asked for once however many cells requests were refused (416) at the same
	 * time; asked again after a failure.
	 * @returns {Promise<Uint8Array>}
	 */
	_wholeOnce() {

		if ( ! this._wholeRequest ) {

			this._wholeRequest = this._wholeFile( this.url ).catch( ( error ) => {

				this._wholeRequest = null;
				throw error;

			} );

		}
		return this._wholeRequest;

	}

	/** `n` bytes of an answer's body came, `data` of them the file's. */
	_count( n, data ) {

		this.bytesReceived += n;
		this.bytesLoaded += data;
		this._progress();

	}

	_progress() {

		this.dispatchEvent( { type: 'progress', loaded: this.bytesLoaded, total: this.bytesTotal } );

	}

	/** Whether `dispose` was called: nothing more is asked for, decoded or reported. */
	get disposed() {

		return this._abort.signal.aborted;

	}

	/** Stop every request; release meshes, BVHs, materials and the whole file (when one was read). */
	dispose() {

		this._abort.abort();
		this._whole = null;
		this._head = null;
		this._wholeRequest = null;
		for ( let i = 0; i < this._meshes.length; i ++ ) if ( this._meshes[ i ] ) this.unload( i );
		for ( const m of this._materials ) m.dispose();
		if ( this.mode === 'whole' && this.collision ) this.collision.dispose();
		if ( this.portalScene ) this.portalScene.dispose();
		this.portalScene = null;
		this.collision = null;

	}

}

/** An entity-tag without its weak marker (RFC 9110 §8.8.3.2, weak comparison). */
function weakTag( tag ) {

	return tag.trim().replace( /^W\//, '' );

}

function geometryBytes( geometry ) {

	let bytes = geometry.index ? geometry.index.array.byteLength : 0;
	for ( const name in geometry.attributes ) {

		const a = geometry.attributes[ name ];
		bytes += a.isInterleavedBufferAttribute ? a.data.array.byteLength : a.array.byteLength;

	}
	if ( geometry.boundsTree ) for ( const root of geometry.boundsTree._roots ) bytes += root.byteLength;
	return bytes;

}

/** The streaming index of `bytes`, or null when it is of a version this reader does not know (the file is then loaded whole). */
function readableIndex( bytes ) {

	try {

		return parseIndex( bytes );

	} catch ( error ) {

		if ( error instanceof UnknownIndexVersion ) return null;
		throw error;

	}

}
