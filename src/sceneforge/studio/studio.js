import { Vector3 } from 'three';
import { SceneLoader, StreamingScene } from 'sceneforge';
import { Api, ApiError, JobWatcher } from './api.js';
import { AssistPanel } from './assistPanel.js';
import { FloorPlan } from './floorPlan.js';
import { lineOfPointer, pointerLines, syntaxErrorLine } from './jsonPointerLines.js';
import { Viewer } from './viewer.js';

/**
 * The studio page: scenes, description editor with in-place validation errors, builds
 * with live progress, 3D view with portal culling, floor plan, a three.js snippet.
 * Test hook: `window.sceneforge`.
 */

const $ = ( id ) => document.getElementById( id );
const params = new URLSearchParams( location.search );

// login: ?key= is stored once and dropped from the address bar
const KEY_STORE = 'sceneforge.apiKey';
if ( params.get( 'key' ) ) {

	localStorage.setItem( KEY_STORE, params.get( 'key' ) );
	params.delete( 'key' );
	history.replaceState( null, '', `${ location.pathname }${ params.toString() ? `?${ params }` : '' }` );

}
const apiKey = localStorage.getItem( KEY_STORE );
const api = new Api( apiKey );

const state = {
	sceneId: null,
	/** @type {Object|null} */ job: null,
	jobTransport: '',
	/** @type {JobWatcher|null} */ watcher: null,
	errors: [],
	lastEvent: null,
};

const viewer = new Viewer( $( 'view3d' ) );
const plan = new FloorPlan( $( 'plan' ), ( index ) => {

	const s = viewer.portalScene;
	$( 'plan-info' ).textContent = index >= 0 && s ? `${ s.cells[ index ].id}: PVS ${ s.cells[ index ].pvsIds.length } of ${ s.cells.length }` : '';

} );

const assist = new AssistPanel( $( 'assist' ), {
	api,
	onDraft: ( draft ) => {

		editor.value = JSON.stringify( draft.description, null, 2 );
		renderGutter();

	},
	onHighlight: ( cellIds ) => plan.highlight( cellIds ),
} );

// ---- auth ---------------------------------------------------------------------------

function showAuth() {

	const el = $( 'auth' );
	el.textContent = apiKey ? 'signed in' : 'read-only (open the login URL)';
	el.classList.toggle( 'ok', Boolean( apiKey ) );
	for ( const b of document.querySelectorAll( 'button.write' ) ) {

		b.disabled = ! apiKey;
		if ( ! apiKey ) b.title = 'Needs an API key: open the login URL the server printed';

	}

}

// ---- editor -------------------------------------------------------------------------

const editor = $( 'description' );
const gutter = $( 'gutter' );

function renderGutter() {

	const count = editor.value.split( '\n' ).length;
	const bad = new Map();
	if ( state.errors.length ) {

		const lines = pointerLines( editor.value );
		for ( const e of state.errors ) {

			const line = errorLine( lines, e );
			bad.set( line, ( bad.has( line ) ? bad.get( line ) + '\n' : '' ) + `${ e.path || '/' }: ${ e.message }` );

		}

	}
	const parts = [];
	for ( let i = 1; i <= count; i ++ ) {

		parts.push( bad.has( i ) ? `<span class="err" title="${ escapeHtml( bad.get( i ) ) }">${ i }</span>` : String( i ) );

	}
	gutter.innerHTML = parts.join( '\n' ) + '\n';
	gutter.scrollTop = editor.scrollTop;

}

function showErrors( errors, note = '' ) {

	state.errors = errors;
	const list = $( 'errors' );
	list.innerHTML = '';
	const lines = pointerLines( editor.value );
	for ( const e of errors ) {

		const li = document.createElement( 'li' );
		const line = errorLine( lines, e );
		li.innerHTML = `line ${ line }: ${ escapeHtml( e.message ) } <code>${ escapeHtml( e.path || '/' ) } ${ escapeHtml( e.code || '' ) }</code>`;
		li.addEventListener( 'click', () => goToLine( line ) );
		list.appendChild( li );

	}
	if ( note ) {

		const li = document.createElement( 'li' );
		li.className = 'info';
		li.textContent = note;
		list.appendChild( li );

	}
	renderGutter();

}

/** An error's line: its own (a JSON syntax error), else the line of the value its pointer names. */
function errorLine( lines, error ) {

	return Number.isInteger( error.line ) ? error.line : lineOfPointer( lines, error.path || '' );

}

function goToLine( line ) {

	const lines = editor.value.split( '\n' );
	let start = 0;
	for ( let i = 0; i < line - 1 && i < lines.length; i ++ ) start += lines[ i ].length + 1;
	editor.focus();
	editor.setSelectionRange( start, start + ( lines[ line - 1 ] || '' ).length );
	editor.scrollTop = Math.max( 0, ( line - 4 ) * 18 );

}

editor.addEventListener( 'input', () => {

	if ( state.errors.length ) showErrors( [] ); else renderGutter();

} );
editor.addEventListener( 'scroll', () => ( gutter.scrollTop = editor.scrollTop ) );
editor.addEventListener( 'keydown', ( e ) => {

	if ( e.key === 'Tab' ) {

		e.preventDefault();
		editor.setRangeText( '  ', editor.selectionStart, editor.selectionEnd, 'end' );
		renderGutter();

	}

} );

/** Local checks before a round trip: JSON syntax, with the line of the error. */
function parseDescription() {

	try {

		return JSON.parse( editor.value );

	} catch ( error ) {

		// V8's message names a position only for some errors: the scanner finds the line itself
		const m = /position (\d+)/.exec( error.message );
		const line = syntaxErrorLine( editor.value ) ?? ( m ? editor.value.slice( 0, Number( m[ 1 ] ) ).split( '\n' ).length : 1 );
		showErrors( [ { path: '', code: 'json', line, message: error.message } ] );
		return null;

	}

}

// ---- generate / build -----------------------------------------------------------------

$( 'generate' ).addEventListener( 'click', async () => {

	try {

		const description = await api.generate( $( 'gen-kind' ).value, Number( $( 'gen-cells' ).value ), Number( $( 'gen-seed' ).value ) );
		editor.value = JSON.stringify( description, null, 2 );
		showErrors( [] );

	} catch ( error ) {

		showErrors( error instanceof ApiError ? error.errors : [], error.message );

	}

} );

$( 'build' ).addEventListener( 'click', async () => {

	const description = parseDescription();
	if ( ! description ) return;
	showErrors( [] );
	setJob( { status: 'Submitting', progress: 0 } );
	try {

		const { jobId } = await api.enqueue( editor.value );
		const sceneId = description.sceneId;
		if ( state.watcher ) state.watcher.close();
		const watcher = new JobWatcher( api, sceneId, jobId, {
			onJob: ( job ) => setJob( job ),
			onEvent: ( event ) => ( state.lastEvent = event ),
			onTransport: ( name ) => {

				state.jobTransport = name;
				renderJobState();

			},
		} );
		state.watcher = watcher;
		setJob( { jobId, sceneId, status: 'Queued', progress: 0 } );
		const job = await watcher.start();
		refreshJobs();
		if ( job.status === 'Succeeded' ) {

			await refreshScenes();
			await openScene( sceneId );

		} else if ( job.error ) {

			const errors = Array.isArray( job.error ) ? job.error : ( job.error.errors || [] );
			showErrors( errors, typeof job.error === 'string' ? job.error : `build ${ job.status.toLowerCase() }` );

		}

	} catch ( error ) {

		setJob( { status: 'Refused', progress: 0 } );
		showErrors( error instanceof ApiError ? error.errors : [], error.message );

	}

} );

function setJob( job ) {

	state.job = job;
	$( 'progress-bar' ).style.width = `${ Math.max( 0, Math.min( 100, job.progress ?? ( job.status === 'Succeeded' ? 100 : 0 ) ) ) }%`;
	renderJobState();

}

function renderJobState() {

	const job = state.job;
	if ( ! job ) return;
	const stage = job.stage ? ` · ${ job.stage }` : '';
	const via = state.jobTransport && ! [ 'Succeeded', 'Failed', 'Canceled', 'Refused' ].includes( job.status ) ? ` · ${ state.jobTransport }` : '';
	$( 'job-state' ).textContent = `${ job.status }${ stage }${ via }`;

}

// ---- lists ----------------------------------------------------------------------------

async function refreshScenes() {

	const list = $( 'scene-list' );
	try {

		const scenes = await api.scenes();
		list.innerHTML = '';
		for ( const s of scenes ) {

			const li = document.createElement( 'li' );
			li.dataset.sceneId = s.sceneId;
			li.innerHTML = `<span>${ escapeHtml( s.sceneId ) }</span><small>${ s.version ? `v${ s.version }` : '' }</small>`;
			li.classList.toggle( 'on', s.sceneId === state.sceneId );
			li.addEventListener( 'click', () => openScene( s.sceneId ) );
			list.appendChild( li );

		}
		if ( ! scenes.length ) list.innerHTML = '<li class="muted">no scenes yet</li>';

	} catch ( error ) {

		list.innerHTML = `<li class="muted">${ escapeHtml( error.message ) }</li>`;

	}

}

async function refreshJobs() {

	try {

		const jobs = await api.jobs( 50 );
		$( 'job-list' ).innerHTML = jobs.map( ( j ) => `<tr title="${ escapeHtml( j.jobId || '' ) }"><td>${ escapeHtml( j.sceneId || '' ) }</td>` +
			`<td class="st-${ escapeHtml( j.status ) }">${ escapeHtml( j.status ) }</td><td>${ j.progress ?? '' }</td>` +
			`<td>${ escapeHtml( shortTime( j.completedUtc || j.startedUtc || j.createdUtc ) ) }</td></tr>` ).join( '' );

	} catch {

		$( 'job-list' ).innerHTML = '';

	}

}

$( 'refresh-scenes' ).addEventListener( 'click', () => {

	refreshScenes();
	refreshJobs();

} );

// ---- scene --------------------------------------------------------------------------

const loader = new SceneLoader( { headers: apiKey ? { 'X-API-Key': apiKey } : {} } );
/** Stream scenes by visibility (docs/streaming.md) unless the "whole file" toggle (or `?whole=1`) says otherwise. */
$( 'whole-file' ).checked = params.get( 'whole' ) === '1';

async function openScene( sceneId ) {

	state.sceneId = sceneId;
	assist.setScene( sceneId );
	viewer.openedAt = performance.now();
	$( 'scene-title' ).textContent = `${ sceneId } · loading…`;
	for ( const li of document.querySelectorAll( '#scene-list li' ) ) li.classList.toggle( 'on', li.dataset.sceneId === sceneId );
	const url = new URL( location.href );
	url.searchParams.set( 'scene', sceneId );
	history.replaceState( null, '', url );
	try {

		let portalScene, streaming = null;
		if ( $( 'whole-file' ).checked ) {

			portalScene = await loader.load( sceneId );

		} else {

			streaming = new StreamingScene( { headers: apiKey ? { 'X-API-Key': apiKey } : {} } );
			streaming.addEventListener( 'error', ( e ) => console.warn( e.error.message ) );
			portalScene = ( await streaming.open( sceneId ) ).portalScene;

		}
		// `?cell=<cellId>`: start inside that cell, eye height, looking along its longer side
		const at = portalScene.cellIndex.get( params.get( 'cell' ) || '' );
		let start = null;
		if ( at !== undefined ) {

			const box = portalScene.cells[ at ].aabb;
			const c = box.getCenter( new Vector3() );
			start = { x: c.x, y: box.min.y + 1.6, z: c.z, yaw: box.max.x - box.min.x > box.max.z - box.min.z ? Math.PI / 2 : 0 };

		}
		viewer.setScene( portalScene, streaming, start );
		plan.setScene( portalScene );
		const warnings = portalScene.cells.length ? '' : ' (no cells)';
		$( 'scene-title' ).textContent = `${ sceneId } · ${ portalScene.cells.length } cells · ${ portalScene.portals.length } portals${ warnings }`;
		$( 'snippet' ).textContent = snippet( sceneId );

	} catch ( error ) {

		$( 'scene-title' ).textContent = `${ sceneId } · ${ error.message }`;

	}

}

function snippet( sceneId ) {

	const origin = location.origin;
	return `<script type="importmap">
{ "imports": {
  "three": "${ origin }/vendor/three/build/three.module.js",
  "three/addons/": "${ origin }/vendor/three/examples/jsm/",
  "three-mesh-bvh": "${ origin }/vendor/three-mesh-bvh/src/index.js",
  "sceneforge": "${ origin }/clients/js/index.js"
} }
</script>
<script type="module">
import * as THREE from 'three';
import { StreamingScene, PortalCuller } from 'sceneforge';

const renderer = new THREE.WebGLRenderer( { antialias: true } );
renderer.setSize( innerWidth, innerHeight );
document.body.appendChild( renderer.domElement );
const scene = new THREE.Scene();
scene.add( new THREE.HemisphereLight( 0xffffff, 0x444444, 2 ) );
const camera = new THREE.PerspectiveCamera( 70, innerWidth / innerHeight, 0.05, 1000 );

// Streams by visibility: the index first, then the cells the camera can see, nearest first.
const stream = await new StreamingScene( { baseUrl: '${ origin }' } ).open( '${ sceneId }' );
const level = stream.portalScene;
scene.add( level.root );
const start = level.cells[ 0 ].aabb.getCenter( new THREE.Vector3() );
camera.position.set( start.x, level.cells[ 0 ].aabb.min.y + 1.6, start.z );

const culler = new PortalCuller( level );
renderer.setAnimationLoop( () => {
  camera.updateMatrixWorld();
  culler.cullCamera( camera );                          // visible cells of this frame
  stream.update( camera.position, culler.visible );     // fetch what is missing (cheap when nothing is)
  level.applyVisibility( culler.visible );
  renderer.render( scene, camera );
} );
// stream.collision.raycast( origin, direction ) uses the shipped BVHs of the loaded cells.
</script>`;

}

$( 'copy-snippet' ).addEventListener( 'click', async () => {

	try {

		await navigator.clipboard.writeText( $( 'snippet' ).textContent );
		$( 'copy-snippet' ).textContent = 'copied';

	} catch {

		getSelection().selectAllChildren( $( 'snippet' ) );
		$( 'copy-snippet' ).textContent = 'selected — press Ctrl+C';

	}
	setTimeout( () => ( $( 'copy-snippet' ).textContent = 'copy' ), 1500 );

} );

// ---- view controls --------------------------------------------------------------------

function setMode( mode ) {

	viewer.setMode( mode );
	$( 'mode-orbit' ).classList.toggle( 'on', mode === 'orbit' );
	$( 'mode-walk' ).classList.toggle( 'on', mode === 'walk' );

}
$( 'mode-orbit' ).addEventListener( 'click', () => setMode( 'orbit' ) );
$( 'mode-walk' ).addEventListener( 'click', () => setMode( 'walk' ) );
$( 'culling' ).addEventListener( 'change', ( e ) => ( viewer.culling = e.target.checked ) );
$( 'whole-file' ).addEventListener( 'change', () => state.sceneId && openScene( state.sceneId ) );
$( 'overlay' ).addEventListener( 'change', ( e ) => viewer.setOverlay( e.target.checked ) );

let lastPanel = 0;
viewer.onFrame = ( v ) => {

	const now = performance.now();
	if ( now - lastPanel < 100 ) return;
	lastPanel = now;
	const s = v.stats;
	$( 'st-cells' ).textContent = `${ s.cellsDrawn } / ${ s.totalCells }`;
	$( 'st-calls' ).textContent = String( s.drawCalls );
	$( 'st-tris' ).textContent = s.triangles.toLocaleString( 'en' );
	$( 'st-frame' ).textContent = `${ s.frameMs.toFixed( 2 ) } ms`;
	$( 'st-cull' ).textContent = `${ ( s.cullMs * 1000 ).toFixed( 0 ) } µs`;
	$( 'st-cell' ).textContent = s.cameraCell ?? ( v.culler && v.culler.stats.outside ? 'outside' : '–' );
	$( 'st-bytes' ).textContent = v.streaming ? `${ kib( v.streaming.bytesLoaded ) } / ${ kib( v.streaming.bytesTotal ) }` : 'whole file';
	plan.update( v.culling && v.culler ? v.culler.visible : null, { x: v.camera.position.x, z: v.camera.position.z, yaw: v.yaw } );

};

// ---- helpers ----------------------------------------------------------------------------

function kib( bytes ) {

	return `${ ( bytes / 1024 ).toLocaleString( 'en', { maximumFractionDigits: 0 } ) } KiB`;

}

function escapeHtml( text ) {

	return String( text ?? '' ).replace( /[&<>"']/g, ( c ) => ( { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' } )[ c ] );

}

function shortTime( iso ) {

	if ( ! iso ) return '';
	const d = new Date( iso );
	return Number.isNaN( d.getTime() ) ? String( iso ) : d.toLocaleTimeString( [], { hour: '2-digit', minute: '2-digit', second: '2-digit' } );

}

// ---- test hook ------------------------------------------------------------------------

window.sceneforge = {
	get stats() {

		return { ...viewer.stats };

	},
	get currentCellId() {

		return viewer.stats.cameraCell;

	},
	get cellsDrawn() {

		return viewer.stats.cellsDrawn;

	},
	get totalCells() {

		return viewer.stats.totalCells;

	},
	get jobState() {

		return state.job ? { ...state.job, transport: state.jobTransport } : null;

	},
	get sceneId() {

		return state.sceneId;

	},
	get errors() {

		const lines = pointerLines( editor.value );
		return state.errors.map( ( e ) => ( { ...e, line: errorLine( lines, e ) } ) );

	},
	get visibleCellIds() {

		return viewer.culler ? viewer.culler.visibleIds() : [];

	},
	get ready() {

		// a streamed scene is ready once a frame drew every cell it showed
		return Boolean( viewer.portalScene ) && viewer.firstFrame !== null;

	},
	get loading() {

		const s = viewer.streaming;
		return {
			mode: s ? s.mode : 'whole',
			firstFrame: viewer.firstFrame,
			bytesLoaded: s ? s.bytesLoaded : NaN,
			bytesTotal: s ? s.bytesTotal : NaN,
			cellsLoaded: s ? s.cellsLoaded : viewer.stats.totalCells,
		};

	},
	setCamera: ( x, y, z, yaw = 0 ) => viewer.setCamera( x, y, z, yaw ),
	setCulling: ( on ) => {

		viewer.culling = Boolean( on );
		$( 'culling' ).checked = viewer.culling;

	},
	get highlightedCells() {

		return [ ...plan.highlighted ];

	},
	setMode,
	openScene,
	assist,
};

// ---- start ----------------------------------------------------------------------------

editor.value = JSON.stringify( {
	sceneId: 'test01',
	cells: [ { cellId: 'hall', meshes: [ { meshId: 'auto' } ] }, { cellId: 'kitchen', meshes: [ { meshId: 'auto' } ] } ],
	portals: [ { from: 'hall', to: 'kitchen', quad: [ 2.0, 0.2, - 0.6, 2.0, 2.2, - 0.6, 2.0, 2.2, 0.6, 2.0, 0.2, 0.6 ] } ],
	materials: {}, props: {},
}, null, 2 );
showAuth();
renderGutter();
await viewer.init( params.get( 'renderer' ) === 'webgpu' ? 'webgpu' : 'webgl' );
$( 'renderer-name' ).textContent = viewer.rendererName;
await refreshScenes();
refreshJobs();
if ( params.get( 'scene' ) ) await openScene( params.get( 'scene' ) );
