import { Vector3 } from 'three';
import { SceneLoader, StreamingScene } from 'sceneforge';
import { Api, ApiError, JobWatcher } from './api.js';
import { AssistPanel } from './assistPanel.js';
import { FloorPlan } from './floorPlan.js';
import { bdi, escapeHtml, isolated } from './html.js';
import { applyPatch, changedCells, describeOps, diff } from './jsonDiff.js';
import { lineOfPointer, pointerLines, syntaxErrorLine } from './jsonPointerLines.js';
import { Viewer } from './viewer.js';

/**
 * The studio page: scenes, description editor with in-place validation errors, builds
 * with live progress, 3D view with portal culling, floor plan, a three.js snippet.
 * An open scene is edited as its draft (docs/drafts.md): edits are saved as revisions
 * (debounced JSON Patch with `If-Match`; a 412 shows the other change), with history,
 * undo/redo, draft builds, publish and roll back, live updates and presence over `/ws`.
 * The 3D view shows one version (published, or the newest draft build) or, in compare mode, both
 * side by side with one camera (docs/drafts.md, "Studio"). Test hook: `window.sceneforge`.
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
	/** The draft as last read or saved: `{rev, description, canUndo, canRedo, author}`; null without one. */
	draft: null,
	/** Without a draft: the published version a first edit starts the draft from, and its description. */
	noDraftVersion: null,
	noDraftDescription: null,
	/** The editor holds changes not saved as a revision yet. */
	dirty: false,
	/** The save (or undo/redo) in flight, if any. */
	busy: null,
	saveTimer: 0,
	/** Saves in a row that could not reach the service (offline, a restart, a 5xx): the retry backs off. */
	saveFailures: 0,
	/** Highest rev announced by `draft.revised`. */
	remoteRev: 0,
	/** The last remote change loaded into the editor: `{fromRev, toRev, cells}` (the cells it changed, sorted). */
	lastRemote: null,
	/** A 412 being shown: `{base, mine, current}`. */
	conflict: null,
	versions: [],
	/** The newest version that is not the published one (the draft build the 3D view can show). */
	draftVersion: null,
	/** What the single 3D view shows: `{kind: 'published'|'draft', n, eTag, whole}`. */
	viewing: null,
	selectedRev: null,
	viewers: [],
	notice: '',
	/** The open scene was deleted (by another editor or the API) while it was open: nothing is saved any more. */
	deleted: false,
	/** How many of the newest revisions the history lists ("Older revisions" adds a page). */
	historyShown: 50,
};
const EDITOR_NAME_STORE = 'sceneforge.editorName';
// at most 200 characters: a presence state is at most 4 KiB (docs/events.md), and one past it is refused
const editorName = ( params.get( 'name' ) || localStorage.getItem( EDITOR_NAME_STORE ) || `editor-${ Math.random().toString( 36 ).slice( 2, 6 ) }` ).slice( 0, 200 );
localStorage.setItem( EDITOR_NAME_STORE, editorName );
const SAVE_DELAY_MS = 600;
/** After a save that could not reach the service, the next try waits this long (ms; the last one repeats). */
const SAVE_RETRY_MS = [ 1000, 2000, 4000, 8000, 15000 ];

const viewer = new Viewer( $( 'view3d' ) );
const plan = new FloorPlan( $( 'plan' ), ( index ) => {

	const s = viewer.portalScene;
	$( 'plan-info' ).replaceChildren( ...( index >= 0 && s ? isolated`${ s.cells[ index ].id }: PVS ${ s.cells[ index ].pvsIds.length } of ${ s.cells.length }` : [] ) );

} );

// the assistant's revision reaches the editor as anyone's does (checkRemote: unsaved text stays), and its
// undo is the Undo button's (the editor is saved first)
const assist = new AssistPanel( $( 'assist' ), {
	api,
	onRevision: ( revision ) => followRevision( revision ),
	onUndo: () => undoRedo( 'undo' ),
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

/** The editor's line height (px, studio.css) and how many lines the gutter holds beyond those in view. */
const LINE_PX = 18;
const GUTTER_SLACK = 200;
/** What the gutter was last made from: the text's line count and marked lines, and the lines it holds. */
const gutterState = { text: null, errors: null, count: 0, bad: new Map(), from: 0, to: 0 };

function lineCount( text ) {

	let count = 1;
	for ( let at = text.indexOf( '\n' ); at !== - 1; at = text.indexOf( '\n', at + 1 ) ) count ++;
	return count;

}

/**
 * The line numbers (errors marked) of the lines in view and `GUTTER_SLACK` either side of them; empty
 * blocks stand in for the others, so a 40,000-line description costs a keystroke a few hundred lines of markup.
 */
function renderGutter( { scrolled = false } = {} ) {

	const g = gutterState;
	if ( g.text !== editor.value || g.errors !== state.errors ) {

		g.text = editor.value;
		g.errors = state.errors;
		g.count = lineCount( g.text );
		g.bad = new Map();
		if ( state.errors.length ) {

			const lines = pointerLines( g.text );
			for ( const e of state.errors ) {

				const line = errorLine( lines, e );
				g.bad.set( line, ( g.bad.has( line ) ? g.bad.get( line ) + '\n' : '' ) + `${ e.path || '/' }: ${ e.message }` );

			}

		}
		g.to = - 1; // made again below

	}
	const first = Math.floor( editor.scrollTop / LINE_PX );
	const last = Math.min( g.count, first + Math.ceil( editor.clientHeight / LINE_PX ) + 1 );
	if ( scrolled && first >= g.from && ( last <= g.to || g.to === g.count ) ) {

		gutter.scrollTop = editor.scrollTop;
		return;

	}
	g.from = Math.max( 0, first - GUTTER_SLACK );
	g.to = Math.min( g.count, last + GUTTER_SLACK );
	const parts = [];
	for ( let i = g.from + 1; i <= g.to; i ++ ) {

		parts.push( g.bad.has( i ) ? `<span class="err" title="${ escapeHtml( g.bad.get( i ) ) }">${ i }</span>` : String( i ) );

	}
	const space = ( lines ) => ( lines ? `<div style="height: ${ lines * LINE_PX }px"></div>` : '' );
	gutter.innerHTML = space( g.from ) + parts.join( '\n' ) + '\n' + space( g.count - g.to );
	gutter.scrollTop = editor.scrollTop;

}

/** How many errors the list under the editor names. */
const ERRORS_LISTED = 20;

/**
 * The errors under the editor: each at its line (click to go there), the first `ERRORS_LISTED` listed and
 * all marked in the gutter; `note` below them, shown as an error itself when `noteIsError` (a build's failure).
 */
function showErrors( errors, note = '', noteIsError = false ) {

	state.errors = errors;
	const list = $( 'errors' );
	list.innerHTML = '';
	// the first few listed (every one is marked in the gutter); the text is scanned only when there are any
	const shown = errors.slice( 0, ERRORS_LISTED );
	const lines = shown.length ? pointerLines( editor.value ) : null;
	for ( const e of shown ) {

		const li = document.createElement( 'li' );
		const line = errorLine( lines, e );
		li.innerHTML = `line ${ line }: <bdi>${ escapeHtml( e.message ) }</bdi> <code>${ escapeHtml( e.path || '/' ) } ${ escapeHtml( e.code || '' ) }</code>`;
		li.addEventListener( 'click', () => goToLine( line ) );
		list.appendChild( li );

	}
	if ( errors.length > shown.length ) {

		const li = document.createElement( 'li' );
		li.className = 'info';
		li.textContent = `${ errors.length - shown.length } more, marked in the gutter`;
		list.appendChild( li );

	}
	if ( note ) {

		const li = document.createElement( 'li' );
		li.className = noteIsError ? 'note' : 'info';
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
	editor.scrollTop = Math.max( 0, ( line - 4 ) * LINE_PX );
	renderGutter( { scrolled: true } );

}

editor.addEventListener( 'input', () => {

	if ( state.errors.length ) showErrors( [] ); else renderGutter();
	scheduleSave();

} );
editor.addEventListener( 'scroll', () => renderGutter( { scrolled: true } ) );
editor.addEventListener( 'keydown', ( e ) => {

	if ( e.key === 'Tab' ) {

		e.preventDefault();
		editor.setRangeText( '  ', editor.selectionStart, editor.selectionEnd, 'end' );
		renderGutter();

	}

} );

/** Times the editor's text was parsed (`parseDescription`): once per save, not per keystroke (the test hook reads it). */
let parses = 0;

/** Local checks before a round trip: JSON syntax, with the line of the error. */
function parseDescription() {

	parses ++;
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
		const job = await followJob( sceneId, jobId );
		refreshJobs();
		if ( job.status === 'Succeeded' ) {

			if ( sceneId !== state.sceneId && state.dirty && editorSceneId() === sceneId ) {

				// the editor's text named another scene and went there: it is not an edit of the open one
				clearTimeout( state.saveTimer );
				state.dirty = false;

			}
			await refreshScenes();
			await openScene( sceneId );

		} else {

			showJobFailure( job );

		}

	} catch ( error ) {

		setJob( { status: 'Refused', progress: 0 } );
		showErrors( error instanceof ApiError ? error.errors : [], error.message );

	}

} );

/**
 * A build that ended without a version: why (its `error.message` names what failed and which limit, e.g.
 * `SCENEFORGE_JOB_MEMORY_MB`), and its `error.issues` at their lines (docs/jobs.md: the job record). An
 * issue that only repeats the message (no pointer) is not listed twice.
 */
function showJobFailure( job ) {

	const error = job.error;
	const ended = `Build ${ String( job.status ).toLowerCase() }`;
	if ( ! error ) return showErrors( [], `${ ended }.`, job.status === 'Failed' );
	if ( typeof error === 'string' ) return showErrors( [], `${ ended }: ${ error }`, true );
	const message = typeof error.message === 'string' ? error.message : '';
	const issues = ( Array.isArray( error.issues ) ? error.issues : [] ).filter( ( issue ) => issue.path || issue.message !== message );
	showErrors( issues, message ? `${ ended }: ${ message }` : `${ ended }.`, true );

}

/** The `sceneId` the editor's text names, if it parses. */
function editorSceneId() {

	try {

		return JSON.parse( editor.value ).sceneId;

	} catch {

		return undefined;

	}

}

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

// ---- draft: load, save as revisions, conflicts ------------------------------------------

function editorText( description ) {

	return JSON.stringify( description, null, 2 );

}

/** How the notice of another editor's revision, shown while the page has unsaved edits, begins. */
const REMOTE_NOTICE = 'Someone else saved rev';

function setDraft( draft ) {

	state.draft = draft ? { rev: draft.rev, description: draft.description, canUndo: draft.canUndo, canRedo: draft.canRedo, author: draft.author } : null;
	if ( draft ) {

		state.noDraftVersion = null;
		state.noDraftDescription = null;
		editor.readOnly = false;
		editor.placeholder = '';
		// the notice of another editor's revision goes once the page holds it (loaded, or met by a conflict)
		if ( draft.rev >= state.remoteRev && state.notice.startsWith( REMOTE_NOTICE ) ) showNotice( '' );

	}
	renderDraftState();

}

function renderDraftState( text ) {

	const el = $( 'draft-state' );
	const d = state.draft;
	let label;
	if ( text ) label = text;
	else if ( ! state.sceneId ) label = 'no draft';
	else if ( state.deleted ) label = 'scene deleted';
	else if ( state.conflict ) label = `conflict with rev ${ state.conflict.current.rev }`;
	else if ( ! d ) label = state.noDraftVersion ? `no draft — editing starts one from v${ state.noDraftVersion }` : 'no draft';
	else if ( state.busy ) label = `rev ${ d.rev } · saving…`;
	else if ( state.dirty && state.saveFailures ) label = `rev ${ d.rev } · not saved (retrying)`;
	else if ( state.dirty && state.errors.length ) label = `rev ${ d.rev } · not saved (errors)`;
	else if ( state.dirty ) label = `rev ${ d.rev } · unsaved`;
	else label = `rev ${ d.rev } · saved`;
	el.textContent = label;
	el.classList.toggle( 'dirty', state.dirty || Boolean( state.conflict ) );
	el.classList.toggle( 'bad', state.errors.length > 0 );
	const canWrite = Boolean( apiKey ) && Boolean( d );
	$( 'undo' ).disabled = ! canWrite || ! d.canUndo;
	$( 'redo' ).disabled = ! canWrite || ! d.canRedo;
	$( 'build-draft' ).disabled = ! canWrite;

}

function showNotice( text ) {

	state.notice = text;
	$( 'notice' ).textContent = text;
	$( 'notice' ).hidden = ! text;

}

/**
 * Put the draft in the editor; without one, the published version's description (editable when
 * signed in: the first save starts the draft from that version, then patches it).
 */
async function loadDraft( sceneId ) {

	try {

		const draft = await api.draft( sceneId );
		if ( sceneId !== state.sceneId ) return;
		setDraft( draft );
		setEditor( draft.description );

	} catch ( error ) {

		if ( sceneId !== state.sceneId ) return;
		if ( ! ( error instanceof ApiError ) || error.status !== 404 ) throw error;
		setDraft( null );
		const published = state.versions.find( ( v ) => v.latest );
		let description = null;
		if ( published ) {

			try {

				description = await api.description( sceneId, published.n );

			} catch ( failed ) {

				// a version built from a tagged GLB kept no description: there is nothing to start from
				if ( ! ( failed instanceof ApiError ) || failed.status !== 404 ) throw failed;

			}

		}
		if ( sceneId !== state.sceneId ) return;
		state.noDraftVersion = description ? published.n : null;
		state.noDraftDescription = description;
		if ( description ) {

			editor.readOnly = ! apiKey;
			editor.placeholder = '';
			setEditor( description );
			return;

		}
		editor.value = '';
		editor.readOnly = true;
		editor.placeholder = published ? `No draft, and v${ published.n } kept no description (built from a tagged GLB)` : 'No draft';
		showErrors( [] );
		renderDraftState();

	}

}

/**
 * Show `description` in the editor. `keepPlace` (another editor's revision, an undo): the caret, the
 * selection and the scroll stay on the text they were at, moved by what changed before them, where
 * replacing the value put the caret after the last character.
 */
function setEditor( description, { keepPlace = false } = {} ) {

	const text = editorText( description );
	if ( keepPlace ) replaceKeepingPlace( text );
	else editor.value = text;
	state.dirty = false;
	showErrors( [] );
	renderDraftState();

}

function replaceKeepingPlace( text ) {

	const old = editor.value;
	if ( old === text ) return;
	const { selectionStart, selectionEnd, selectionDirection, scrollTop, scrollLeft } = editor;
	// the text that changed is old[start, old.length - end) → text[start, text.length - end)
	const shorter = Math.min( old.length, text.length );
	let start = 0;
	while ( start < shorter && old.charCodeAt( start ) === text.charCodeAt( start ) ) start ++;
	let end = 0;
	while ( end < shorter - start && old.charCodeAt( old.length - 1 - end ) === text.charCodeAt( text.length - 1 - end ) ) end ++;
	const place = ( i ) => ( i <= start ? i : i >= old.length - end ? i + text.length - old.length : Math.min( i, text.length - end ) );
	editor.value = text;
	editor.setSelectionRange( place( selectionStart ), place( selectionEnd ), selectionDirection );
	editor.scrollTop = scrollTop;
	editor.scrollLeft = scrollLeft;

}

function scheduleSave() {

	if ( ! state.sceneId || ! apiKey ) return;
	if ( ! state.draft && ! state.noDraftVersion ) return;
	state.dirty = true;
	renderDraftState();
	clearTimeout( state.saveTimer );
	state.saveTimer = setTimeout( () => save(), SAVE_DELAY_MS );

}

/** Run one draft write at a time (saves, undo, redo), then look at what others did meanwhile. */
async function exclusive( work ) {

	while ( state.busy ) await state.busy.catch( () => {} );
	const run = work();
	state.busy = run;
	renderDraftState();
	try {

		return await run;

	} finally {

		state.busy = null;
		renderDraftState();
		checkRemote();

	}

}

/** Save the editor as a revision: the JSON Patch from the last saved description, with If-Match. */
function save() {

	clearTimeout( state.saveTimer );
	return exclusive( async () => {

		if ( ! state.dirty || state.conflict || ! state.sceneId ) return;
		const text = editor.value;
		const description = parseDescription();
		if ( ! description ) return;
		const sceneId = state.sceneId;
		const reason = $( 'reason' ).value.trim();
		try {

			let answer;
			if ( ! state.draft ) {

				// the first edit of a scene without a draft starts one from its published version
				if ( ! state.noDraftVersion ) return;
				try {

					answer = await api.createDraft( sceneId, { fromVersion: state.noDraftVersion }, reason );

				} catch ( error ) {

					if ( ! ( error instanceof ApiError ) || error.status !== 409 ) throw error;
					// another editor started the draft first: their change is shown against the published description
					state.draft = { rev: 0, description: state.noDraftDescription, canUndo: false, canRedo: false, author: '' };
					await showConflict( description );
					return;

				}
				setDraft( answer );

			}
			const ops = diff( state.draft.description, description );
			if ( ops.length ) {

				// the service answers without the description (return=minimal): it is the one the ops made
				answer = await api.patchDraft( sceneId, ops, state.draft.rev, reason );
				if ( answer && answer.description === undefined ) answer = { ...answer, description };

			}
			if ( sceneId !== state.sceneId ) return;
			if ( answer ) setDraft( answer );
			if ( editor.value === text ) state.dirty = false;
			saveReached();
			showErrors( [] );
			if ( answer ) refreshHistory();

		} catch ( error ) {

			if ( sceneId !== state.sceneId ) return;
			if ( unreachable( error ) ) return saveFailed( error );
			saveReached();
			if ( error.status === 404 && await checkDeleted( sceneId ) ) return;
			if ( error.status !== 412 ) return showRefused( error );
			try {

				await showConflict( description );

			} catch ( failed ) {

				if ( ! unreachable( failed ) ) throw failed;
				saveFailed( failed );

			}

		}

	} );

}

/**
 * The service refused the edit (a 422 with its errors at their lines): it is not saved until they are fixed,
 * and the list says so in words. The request's own message repeats the first error, so it is shown only
 * when the answer names no error to list.
 */
function showRefused( error ) {

	const count = error.errors.length;
	if ( ! count ) return showErrors( [], error.message );
	const rev = state.draft ? ` (the draft stays at rev ${ state.draft.rev })` : '';
	showErrors( error.errors, `Not saved: fix the ${ count === 1 ? 'error' : `${ count } errors` } above${ rev }; the edit is saved as soon as it is valid.` );

}

/** A failure that says nothing about the edit: the service was not reached (offline, restarting) or failed. */
function unreachable( error ) {

	return ! ( error instanceof ApiError ) || error.status >= 500 || error.status === 429;

}

/** The edit stays in the editor (unsaved) and the save is tried again, backing off, or at once when the browser is back online. */
function saveFailed( error ) {

	const delay = SAVE_RETRY_MS[ Math.min( state.saveFailures, SAVE_RETRY_MS.length - 1 ) ];
	state.saveFailures ++;
	const why = error instanceof ApiError ? error.message : `the service could not be reached (${ error.message })`;
	showNotice( `Not saved: ${ why }. Your edit is kept here; trying again in ${ delay / 1000 } s.` );
	clearTimeout( state.saveTimer );
	state.saveTimer = setTimeout( () => save(), delay );

}

/** A save reached the service: a notice about an edit not saved goes. */
function saveReached() {

	state.saveFailures = 0;
	if ( state.notice.startsWith( 'Not saved:' ) ) showNotice( '' );

}

addEventListener( 'online', () => {

	if ( state.saveFailures && state.dirty ) save();

} );

// closing or reloading the tab with an edit not saved yet asks first (the browser's own question)
addEventListener( 'beforeunload', ( e ) => {

	if ( ! state.dirty ) return;
	e.preventDefault();
	e.returnValue = '';

} );

/** How many of the revisions since the page's own a conflict names (the others are counted). */
const CONFLICT_NAMED = 5;

/** A 412: someone else changed the draft since our rev. Show what they changed; overwrite nothing. */
async function showConflict( mine ) {

	const base = state.draft.description;
	const current = await api.draft( state.sceneId );
	// the newest few revisions since ours, each reason cut: the box stays a few lines however many there were
	const since = ( await api.revisions( state.sceneId, CONFLICT_NAMED ) ).filter( ( r ) => r.rev > state.draft.rev ).reverse();
	state.conflict = { base, mine, current };
	const cut = ( text ) => ( text.length > 120 ? `${ text.slice( 0, 119 ) }…` : text );
	const named = since.map( ( r ) => [ ...isolated`rev ${ r.rev } by ${ cut( r.author ) } (${ r.source }`, ...( r.reason ? [ ': ', bdi( cut( r.reason ) ) ] : [] ), ')' ] );
	const earlier = current.rev - state.draft.rev - since.length;
	if ( earlier > 0 && named.length ) named.unshift( [ `${ earlier } earlier revision${ earlier === 1 ? '' : 's' }` ] );
	$( 'conflict-what' ).replaceChildren( `the draft changed since your rev ${ state.draft.rev }: `,
		...( named.length ? joined( named ) : [ `now rev ${ current.rev }` ] ), '. Their change:' );
	$( 'conflict-diff' ).textContent = describeOps( diff( base, current.description ), base ).join( '\n' );
	$( 'conflict' ).hidden = false;
	renderDraftState();

}

function closeConflict() {

	state.conflict = null;
	$( 'conflict' ).hidden = true;
	renderDraftState();

}

$( 'conflict-theirs' ).addEventListener( 'click', () => {

	const { current } = state.conflict;
	closeConflict();
	setDraft( current );
	setEditor( current.description, { keepPlace: true } );
	refreshHistory();

} );

$( 'conflict-mine' ).addEventListener( 'click', () => {

	// what the editor holds now: the edit that met the 412 and whatever was typed since
	const mine = parseDescription();
	if ( ! mine ) return;
	const { base, current } = state.conflict;
	// my edit (base → mine) replayed on their description; where it no longer applies, mine wins
	let merged;
	try {

		merged = applyPatch( current.description, diff( base, mine ) );

	} catch {

		merged = mine;

	}
	closeConflict();
	setDraft( current );
	editor.value = editorText( merged );
	state.dirty = true;
	save();

} );

/**
 * `draft.revised` from anyone: reload when the page has nothing unsaved, else say so. Resolves when loaded.
 * A scene opened without a draft (its published description in the editor) follows the draft another
 * editor starts as it would any of their revisions: from "rev 0", that description.
 */
function checkRemote() {

	const starting = ! state.draft && Boolean( state.noDraftVersion );
	if ( state.busy || ! ( state.draft || starting ) || state.remoteRev <= ( state.draft ? state.draft.rev : 0 ) ) return;
	refreshHistory();
	if ( state.dirty || state.conflict ) {

		showNotice( `${ REMOTE_NOTICE } ${ state.remoteRev }; you have unsaved edits (saving them will show the conflict).` );
		return;

	}
	return exclusive( async () => {

		const sceneId = state.sceneId;
		const draft = await api.draft( sceneId );
		if ( state.dirty || sceneId !== state.sceneId ) return;
		const before = state.draft ? state.draft.description : state.noDraftDescription;
		const cells = [ ...changedCells( before, draft.description ) ].sort();
		state.lastRemote = { fromRev: state.draft ? state.draft.rev : 0, toRev: draft.rev, cells };
		setDraft( draft );
		setEditor( draft.description, { keepPlace: true } );
		showNotice( '' );

	} ).catch( ( error ) => showNotice( error.message ) );

}

/**
 * A revision the assistant made: loaded like any other (after the write in flight, by this call or by its
 * `draft.revised`), then the cells that changed between the description before and after it are outlined.
 */
async function followRevision( revision ) {

	state.remoteRev = Math.max( state.remoteRev, revision.rev );
	while ( state.busy ) await state.busy.catch( () => {} );
	await checkRemote();
	const loaded = state.lastRemote;
	if ( loaded && loaded.fromRev < revision.rev && revision.rev <= loaded.toRev ) plan.highlight( loaded.cells );

}

/** Undo or redo after saving the editor; false when nothing was done (the save was refused or conflicted). */
async function undoRedo( which ) {

	if ( state.dirty ) await save();
	if ( state.dirty || state.conflict ) return false;
	return exclusive( async () => {

		const sceneId = state.sceneId;
		const rev = state.draft.rev;
		try {

			// If-Match: another editor's change that this page has not heard of yet is not the one undone
			const draft = await ( which === 'undo' ? api.undo( sceneId, rev ) : api.redo( sceneId, rev ) );
			setDraft( draft );
			setEditor( draft.description, { keepPlace: true } );
			refreshHistory();
			return true;

		} catch ( error ) {

			if ( ! ( error instanceof ApiError ) || error.status !== 412 ) {

				showErrors( error instanceof ApiError ? error.errors : [], error.message );
				return false;

			}
			const draft = await api.draft( sceneId );
			if ( sceneId !== state.sceneId ) return false;
			setDraft( draft );
			setEditor( draft.description, { keepPlace: true } );
			refreshHistory();
			showNotice( `Nothing was ${ which === 'undo' ? 'undone' : 'redone' }: the draft changed after rev ${ rev } (now rev ${ draft.rev }), and that is shown now.` );
			return false;

		}

	} );

}
$( 'undo' ).addEventListener( 'click', () => undoRedo( 'undo' ) );
$( 'redo' ).addEventListener( 'click', () => undoRedo( 'redo' ) );

// ---- history --------------------------------------------------------------------------

/** How many revisions the history lists at first, and how many more each click on "Older revisions" adds. */
const HISTORY_PAGE = 50;

/**
 * The newest `state.historyShown` revisions (a page of the API holds at most 500, and fewer once its ops pass
 * 8 MiB: docs/drafts.md), and the next page's `before` (null when the first revision is listed).
 */
async function readHistory( sceneId ) {

	const revisions = [];
	let next = null;
	do {

		const page = await api.revisionsPage( sceneId, Math.min( 500, state.historyShown - revisions.length ), next );
		revisions.push( ...page.revisions );
		next = page.next ?? null;

	} while ( next !== null && revisions.length < state.historyShown );
	return { revisions, next };

}

async function refreshHistory() {

	const sceneId = state.sceneId;
	const list = $( 'history' );
	if ( ! sceneId ) return;
	let revisions = [];
	let older = null;
	try {

		( { revisions, next: older } = await readHistory( sceneId ) );

	} catch ( error ) {

		// a background refresh: when the service is out of reach the list stays as it was
		if ( ! ( error instanceof ApiError ) || error.status !== 404 ) return;

	}
	if ( sceneId !== state.sceneId ) return;
	assist.showHistory( revisions );
	list.innerHTML = '';
	for ( const r of revisions ) {

		const li = document.createElement( 'li' );
		li.dataset.rev = String( r.rev );
		li.classList.toggle( 'on', r.rev === state.selectedRev );
		li.innerHTML = `<span><b>rev ${ r.rev }</b> <span class="source">${ escapeHtml( r.source ) }</span> · <span class="author">${ escapeHtml( r.author ) }</span>` +
			`${ r.reason ? ` · <i class="reason">${ escapeHtml( r.reason ) }</i>` : '' }</span><small>${ escapeHtml( shortTime( r.createdUtc ) ) }</small>`;
		li.addEventListener( 'click', () => showRevision( r.rev ).catch( ( error ) => showNotice( error.message ) ) );
		list.appendChild( li );

	}
	if ( ! revisions.length ) list.innerHTML = '<li class="muted">no revisions</li>';
	if ( older !== null ) {

		// the older ones on request: a draft edited all day has thousands
		const li = document.createElement( 'li' );
		li.className = 'more';
		const more = document.createElement( 'button' );
		more.className = 'link';
		more.textContent = `Older revisions (before rev ${ older })`;
		more.addEventListener( 'click', () => {

			state.historyShown += HISTORY_PAGE;
			refreshHistory();

		} );
		li.appendChild( more );
		list.appendChild( li );

	}

}

/** A revision's before/after as a JSON diff, its changed cells outlined on the floor plan. */
async function showRevision( rev ) {

	const r = await api.revision( state.sceneId, rev );
	state.selectedRev = rev;
	for ( const li of document.querySelectorAll( '#history li' ) ) li.classList.toggle( 'on', li.dataset.rev === String( rev ) );
	const ops = diff( r.before ?? {}, r.after );
	const cells = [ ...changedCells( r.before, r.after ) ].sort();
	const pre = $( 'revision-diff' );
	pre.hidden = false;
	pre.replaceChildren( ...isolated`rev ${ r.rev } (parent ${ r.parentRev ?? '–' }) · ${ r.source } · ${ r.author }`, ...( r.reason ? [ ' · ', bdi( r.reason ) ] : [] ),
		'\ncells changed: ', ...( cells.length ? joined( cells.map( bdi ) ) : [ 'none' ] ), [ '', ...describeOps( ops, r.before ?? {} ) ].join( '\n' ) );
	plan.highlight( cells );

}

// ---- versions: draft builds, publish, roll back ------------------------------------------

/** How many versions the list shows (the newest; the published one besides). */
const VERSIONS_SHOWN = 30;

async function refreshVersions() {

	const sceneId = state.sceneId;
	let versions = [];
	try {

		versions = await api.versions( sceneId );

	} catch ( error ) {

		if ( ! ( error instanceof ApiError ) || error.status !== 404 ) return;

	}
	if ( sceneId !== state.sceneId ) return;
	state.versions = versions;
	const published = versions.find( ( v ) => v.latest );
	const newest = versions.length ? versions[ versions.length - 1 ] : null;
	state.draftVersion = newest && ! newest.latest ? newest : null;
	// a published view that finished loading before the versions were read (openScene starts both at once)
	// is named now: its badge had stayed empty and `viewing` without a version
	const viewing = state.viewing;
	if ( viewing && viewing.kind === 'published' && viewing.n === null && published ) {

		Object.assign( viewing, { n: published.n, eTag: published.eTag } );
		$( 'view-version' ).textContent = `published v${ published.n }`;

	}
	renderViewToggles();
	const list = $( 'versions' );
	list.innerHTML = '';
	// the newest ones, and the published one wherever it is: a scene built thousands of times lists a few dozen
	const shown = versions.slice( - VERSIONS_SHOWN ).reverse();
	if ( published && ! shown.includes( published ) ) shown.push( published );
	for ( const v of shown ) {

		const li = document.createElement( 'li' );
		li.dataset.n = String( v.n );
		li.classList.toggle( 'public', Boolean( v.latest ) );
		const action = v.latest ? '' : ( ! published || v.n > published.n ? 'Publish' : 'Roll back' );
		li.innerHTML = `<span>v${ v.n } <small>${ escapeHtml( String( v.eTag ).slice( 0, 10 ) ) }</small></span><small>${ escapeHtml( shortTime( v.createdUtc ) ) }</small>` +
			( v.latest ? '<small class="state">published</small>' : `<button class="write publish" ${ apiKey ? '' : 'disabled' }>${ action }</button>` );
		const button = li.querySelector( 'button' );
		if ( button ) button.addEventListener( 'click', () => publish( v.n ) );
		list.appendChild( li );

	}
	if ( versions.length > shown.length ) {

		const li = document.createElement( 'li' );
		li.className = 'muted';
		li.textContent = `${ versions.length - shown.length } older versions not listed`;
		list.appendChild( li );

	}
	if ( ! versions.length ) list.innerHTML = '<li class="muted">no versions</li>';

}

async function publish( n ) {

	try {

		await api.publish( state.sceneId, n );
		await refreshVersions();
		await loadView();
		refreshScenes();

	} catch ( error ) {

		showErrors( error instanceof ApiError ? error.errors : [], error.message );

	}

}

function followJob( sceneId, jobId ) {

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
	return watcher.start();

}

$( 'build-draft' ).addEventListener( 'click', async () => {

	if ( state.dirty ) await save();
	if ( state.dirty || state.conflict ) return;
	const sceneId = state.sceneId;
	setJob( { status: 'Submitting', progress: 0 } );
	try {

		const { jobId } = await api.buildDraft( sceneId );
		const job = await followJob( sceneId, jobId );
		refreshJobs();
		if ( job.status === 'Succeeded' && sceneId === state.sceneId ) {

			await refreshVersions();
			if ( $( 'compare' ).checked ) await syncCompare();
			else if ( state.draftVersion ) {

				$( 'view-draft' ).checked = true;
				await loadView();

			}

		} else if ( job.status !== 'Succeeded' && sceneId === state.sceneId ) {

			showJobFailure( job );

		}

	} catch ( error ) {

		setJob( { status: 'Refused', progress: 0 } );
		showErrors( error instanceof ApiError ? error.errors : [], error.message );

	}

} );

// ---- live: draft.revised, scene.published, presence over /ws -------------------------------

const live = { socket: null, subscribed: null, retry: 1000, opened: false, timer: 0, attempts: 0 };

function connectLive() {

	live.timer = 0;
	live.attempts += 1;
	const url = new URL( '/ws', location.href );
	url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
	if ( apiKey ) url.searchParams.set( 'key', apiKey );
	const socket = new WebSocket( url );
	live.socket = socket;
	socket.onopen = () => {

		const again = live.opened;
		live.opened = true;
		live.retry = 1000;
		live.subscribed = null;
		joinLive();
		if ( again ) catchUp();

	};
	socket.onmessage = ( e ) => {

		let event;
		try {

			event = JSON.parse( e.data );

		} catch {

			return;

		}
		if ( event.sceneId !== state.sceneId ) return;
		if ( event.type === 'stream.reset' ) {

			catchUp();

		} else if ( event.type === 'draft.revised' ) {

			state.remoteRev = Math.max( state.remoteRev, event.rev );
			checkRemote();

		} else if ( event.type === 'scene.published' || event.type === 'scene.built' ) {

			// the scene list names each scene's published version: another editor's publish moves it too
			if ( event.type === 'scene.published' ) refreshScenes();
			refreshVersions().then( () => {

				// compare mode: a half whose version changed (a draft build finished, a publish) is reloaded
				if ( $( 'compare' ).checked ) return syncCompare();
				return event.type === 'scene.published' && state.viewing && state.viewing.kind === 'published' && state.viewing.eTag !== event.eTag ? loadView() : null;

			} );

		} else if ( event.type === 'scene.invalidated' && Array.isArray( event.etags ) ) {

			// every version's ETag: the scene was deleted (a publish names one `etag`; docs/events.md)
			checkDeleted( event.sceneId );

		} else if ( event.type === 'presence.update' ) {

			state.viewers = event.viewers || [];
			renderPresence();

		}

	};
	socket.onclose = () => {

		if ( live.socket !== socket ) return;
		live.socket = null;
		live.timer = setTimeout( connectLive, live.retry );
		live.retry = Math.min( 8000, live.retry * 2 );

	};

}

// back online: the socket is opened again at once, not when its backoff (up to 8 s) runs out
addEventListener( 'online', () => {

	if ( live.socket || ! live.timer ) return;
	clearTimeout( live.timer );
	live.retry = 1000;
	connectLive();

} );

/**
 * After the socket was down (or the server says it cannot replay what was missed: `stream.reset`), read
 * what its events would have said: the draft's revision and the versions. The socket is subscribed
 * first, so nothing published after this read is missed either.
 */
function catchUp() {

	const sceneId = state.sceneId;
	if ( ! sceneId || state.deleted ) return;
	// a scene this page showed and that answers 404 now was deleted while the socket was down
	if ( state.draft || state.versions.length ) checkDeleted( sceneId );
	refreshVersions().catch( ( error ) => showNotice( error.message ) );
	if ( ! state.draft && ! state.noDraftVersion ) return;
	api.draft( sceneId ).then( ( draft ) => {

		if ( state.sceneId !== sceneId ) return;
		state.remoteRev = Math.max( state.remoteRev, draft.rev );
		checkRemote();

	} ).catch( () => {} ); // no draft (any more, or yet): the next edit or event says so

}

/** Whether scene `sceneId` is gone: its versions answer 404. When it is the open one, the page says so (sceneDeleted). */
async function checkDeleted( sceneId ) {

	try {

		await api.versions( sceneId );
		return false;

	} catch ( error ) {

		if ( ! ( error instanceof ApiError ) || error.status !== 404 ) return false;
		if ( sceneId === state.sceneId ) sceneDeleted();
		return true;

	}

}

/**
 * The open scene was deleted by someone else. Its draft, history and versions go, and so does the 3D view
 * (its files are gone); the editor keeps its text, which nothing saves any more: *Build* makes the scene
 * again from it. Opening a scene (this one too, once made again) starts afresh.
 */
function sceneDeleted() {

	if ( state.deleted ) return;
	const sceneId = state.sceneId;
	clearTimeout( state.saveTimer );
	Object.assign( state, { deleted: true, draft: null, noDraftVersion: null, noDraftDescription: null, dirty: false, saveFailures: 0, remoteRev: 0, lastRemote: null, versions: [], draftVersion: null, selectedRev: null } );
	closeConflict();
	showErrors( [] );
	showNotice( `${ sceneId } was deleted (by another editor or through the API): its draft, history and versions are gone. Its text stays in the editor, not saved; Build makes the scene again from it.` );
	++ viewToken; // a view still loading is dropped
	halves.published = null;
	halves.draft = null;
	leaveCompare();
	viewer.clearScene();
	viewer.setSecondScene( null );
	viewer.stats.totalCells = 0;
	viewer.stats.cellsDrawn = 0;
	plan.setScene( null );
	plan.highlight( [] );
	state.viewing = null;
	$( 'view-version' ).textContent = '';
	$( 'scene-title' ).textContent = `${ sceneId } · deleted`;
	$( 'revision-diff' ).hidden = true;
	$( 'history' ).innerHTML = '<li class="muted">no revisions (the scene was deleted)</li>';
	$( 'versions' ).innerHTML = '<li class="muted">no versions (the scene was deleted)</li>';
	renderViewToggles();
	renderDraftState();
	refreshScenes();

}

/** Subscribe the socket to the open scene and say who is editing it. */
function joinLive() {

	const socket = live.socket;
	if ( ! socket || socket.readyState !== WebSocket.OPEN || ! state.sceneId ) return;
	if ( live.subscribed && live.subscribed !== state.sceneId ) socket.send( JSON.stringify( { op: 'unsubscribe', sceneId: live.subscribed } ) );
	if ( live.subscribed !== state.sceneId ) socket.send( JSON.stringify( { op: 'subscribe', sceneId: state.sceneId } ) );
	live.subscribed = state.sceneId;
	socket.send( JSON.stringify( { op: 'presence', sceneId: state.sceneId, state: { editing: Boolean( apiKey ), name: editorName } } ) );

}

/** `items` (nodes, strings, or lists of them) with ', ' between them, for `replaceChildren`. */
function joined( items ) {

	return items.flatMap( ( item, i ) => [ ...( i ? [ ', ' ] : [] ), ...( Array.isArray( item ) ? item : [ item ] ) ] );

}

/** An editor's name as the bar lists it: at most 40 characters. */
function shortName( name ) {

	return name.length > 40 ? `${ name.slice( 0, 39 ) }…` : name;

}

function renderPresence() {

	const names = state.viewers.filter( ( v ) => v.state && v.state.editing ).map( ( v ) => String( v.state.name || 'someone' ) );
	const others = names.filter( ( n ) => n !== editorName );
	$( 'presence' ).replaceChildren( ...( names.length ? [ 'editing: ', ...joined( names.map( ( n ) => bdi( shortName( n ) ) ) ) ] : [] ) );
	$( 'presence' ).title = others.length ? `${ others.length } other editor(s) have this scene open` : 'Who has this scene open';

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
			li.innerHTML = `<img alt="" loading="lazy"><span>${ escapeHtml( s.sceneId ) }</span><small>${ s.version ? `v${ s.version }` : '' }</small>`;
			// the preview job makes the thumbnail; until it has run the route answers 404
			const img = li.querySelector( 'img' );
			img.addEventListener( 'error', () => ( img.hidden = true ) );
			img.src = `/scenes/${ encodeURIComponent( s.sceneId ) }/preview/thumbnail.png`;
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
		$( 'job-list' ).innerHTML = jobs.map( ( j ) => `<tr title="${ escapeHtml( j.jobId || '' ) }" data-type="${ escapeHtml( j.type || 'build' ) }"><td>${ escapeHtml( j.sceneId || '' ) }${ j.type && j.type !== 'build' ? ` <small>${ escapeHtml( j.type ) }</small>` : '' }</td>` +
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
/** Compare mode from the start with `?compare=1`. */
$( 'compare' ).checked = params.get( 'compare' ) === '1';

/** Open a scene (the one open is saved first); false, with a notice, when its edit could not be saved. */
async function openScene( sceneId ) {

	if ( state.dirty && state.sceneId && state.sceneId !== sceneId ) {

		await save();
		if ( state.dirty ) {

			// offline, refused or in conflict: leaving would drop the edit, so the scene stays open
			const why = state.conflict ? 'resolve the conflict first' : state.saveFailures ? 'it is retried until the service answers' : 'fix the errors shown first';
			showNotice( `Not saved: ${ state.sceneId } stays open until its edit is saved (${ why }).` );
			return false;

		}

	}
	const changed = state.sceneId !== sceneId || state.deleted;
	state.sceneId = sceneId;
	assist.setScene( sceneId );
	if ( changed ) {

		Object.assign( state, { draft: null, noDraftVersion: null, noDraftDescription: null, dirty: false, saveFailures: 0, remoteRev: 0, lastRemote: null, versions: [], draftVersion: null, selectedRev: null, viewers: [], deleted: false, historyShown: HISTORY_PAGE } );
		closeConflict();
		showNotice( '' );
		editor.readOnly = false;
		editor.placeholder = '';
		$( 'view-draft' ).checked = false;
		$( 'revision-diff' ).hidden = true;
		if ( $( 'compare' ).checked ) {

			// the other scene's halves go: the new scene's first half frames the camera
			halves.published = null;
			halves.draft = null;
			viewer.clearScene();
			viewer.setSecondScene( null );

		}
		plan.highlight( [] );
		renderPresence();

	}
	for ( const li of document.querySelectorAll( '#scene-list li' ) ) li.classList.toggle( 'on', li.dataset.sceneId === sceneId );
	const url = new URL( location.href );
	url.searchParams.set( 'scene', sceneId );
	history.replaceState( null, '', url );
	joinLive();
	// a single view starts at once (the published pointer); compare mode needs the versions first
	let view = $( 'compare' ).checked ? null : loadView();
	try {

		await refreshVersions();
		if ( ! view ) view = loadView();
		await loadDraft( sceneId );
		await refreshHistory();

	} catch ( error ) {

		showNotice( error.message );

	}
	await view;

}

// ---- 3D view: one version, or the published version and the newest draft build side by side ----

/** Bumped by every single-view load: an older load that ends later is dropped. */
let viewToken = 0;

/**
 * Open one version of a scene for the view (streamed, or the whole file when "Whole file" is
 * ticked): by its exact ETag when given, else the published pointer. `{portalScene, streaming}`.
 */
async function openVersion( sceneId, eTag ) {

	const etag = eTag ? String( eTag ).replace( /"/g, '' ) : '';
	if ( $( 'whole-file' ).checked ) {

		const portalScene = etag ? await loader.loadUrls( `/scenes/${ encodeURIComponent( sceneId ) }.${ etag }.glb` ) : await loader.load( sceneId );
		return { portalScene, streaming: null };

	}
	const streaming = new StreamingScene( { headers: apiKey ? { 'X-API-Key': apiKey } : {} } );
	streaming.addEventListener( 'error', ( e ) => console.warn( e.error.message ) );
	try {

		return { portalScene: ( await streaming.open( sceneId, etag ? { etag } : {} ) ).portalScene, streaming };

	} catch ( error ) {

		streaming.dispose();
		throw error;

	}

}

function disposeOpened( opened ) {

	if ( opened.streaming ) opened.streaming.dispose();
	else opened.portalScene.dispose();

}

function sceneTitle( sceneId, portalScene ) {

	const warnings = portalScene.cells.length ? '' : ' (no cells)';
	return `${ sceneId } · ${ portalScene.cells.length } cells · ${ portalScene.portals.length } portals${ warnings }`;

}

/** The toggles that depend on the versions: "Draft build" needs one and is for the single view. */
function renderViewToggles() {

	const compare = $( 'compare' ).checked;
	$( 'view-draft' ).disabled = ! state.draftVersion || compare;
	if ( ! state.draftVersion ) $( 'view-draft' ).checked = false;

}

/**
 * The 3D view: in compare mode both halves (see syncCompare); otherwise the published version, or
 * the newest draft build when "Draft build" is ticked. `keepCamera`: the camera stays where it is.
 */
async function loadView( { keepCamera = false } = {} ) {

	if ( $( 'compare' ).checked ) return syncCompare();
	const sceneId = state.sceneId;
	const token = ++ viewToken;
	const shown = Boolean( viewer.portalScene || viewer.second.portalScene );
	leaveCompare();
	viewer.openedAt = performance.now();
	$( 'scene-title' ).textContent = `${ sceneId } · loading…`;
	const draftBuild = $( 'view-draft' ).checked && state.draftVersion ? state.draftVersion : null;
	const whole = $( 'whole-file' ).checked;
	try {

		const opened = await openVersion( sceneId, draftBuild ? draftBuild.eTag : null );
		if ( sceneId !== state.sceneId || token !== viewToken || $( 'compare' ).checked ) {

			disposeOpened( opened );
			return;

		}
		const { portalScene, streaming } = opened;
		// `?cell=<cellId>`: start inside that cell, eye height, looking along its longer side
		const at = portalScene.cellIndex.get( params.get( 'cell' ) || '' );
		let start = keepCamera && shown ? false : null;
		if ( at !== undefined && ! keepCamera ) {

			const box = portalScene.cells[ at ].aabb;
			const c = box.getCenter( new Vector3() );
			start = { x: c.x, y: box.min.y + 1.6, z: c.z, yaw: box.max.x - box.min.x > box.max.z - box.min.z ? Math.PI / 2 : 0 };

		}
		viewer.setScene( portalScene, streaming, start );
		plan.setScene( portalScene );
		const published = state.versions.find( ( v ) => v.latest );
		state.viewing = draftBuild ? { kind: 'draft', n: draftBuild.n, eTag: draftBuild.eTag, whole } : { kind: 'published', n: published ? published.n : null, eTag: published ? published.eTag : null, whole };
		$( 'view-version' ).textContent = draftBuild ? `draft build v${ draftBuild.n }` : ( published ? `published v${ published.n }` : '' );
		$( 'scene-title' ).textContent = sceneTitle( sceneId, portalScene );
		$( 'snippet' ).textContent = snippet( sceneId );

	} catch ( error ) {

		if ( token !== viewToken ) return;
		$( 'scene-title' ).textContent = `${ sceneId } · ${ error.message }`;
		// no published version (a draft started from a template or a description, not built yet): say so in
		// words, not as the 404 of the GLB the view asked for
		const unpublished = draftBuild ? null : await unpublishedReason( sceneId );
		if ( unpublished && token === viewToken ) $( 'scene-title' ).textContent = `${ sceneId } · ${ unpublished }`;

	}

}

/** Why scene `sceneId` has nothing to view when no version of it is published (or no such scene exists); null when one is (or it is unknown). */
async function unpublishedReason( sceneId ) {

	let versions;
	try {

		versions = await api.versions( sceneId );

	} catch ( error ) {

		return error instanceof ApiError && error.status === 404 ? 'no such scene (deleted, or never made)' : null;

	}
	if ( versions.some( ( v ) => v.latest ) ) return null;
	return versions.length ? 'no version published yet: tick Draft build to see the newest draft build, or publish it under Versions' :
		'nothing built yet: Build draft makes a version, and publishing it (under Versions) shows it here';

}

/**
 * Compare mode's halves: `published` (left, the viewer's primary scene) and `draft` (right, its
 * second scene). Each holds `{key, version, status: 'loading'|'shown'|'empty'|'error', error}` for
 * what it shows or is loading; `key` names the scene, the version's ETag and the delivery.
 */
const halves = { published: null, draft: null };

function halfKey( version ) {

	return `${ state.sceneId }|${ version ? version.eTag : '' }|${ $( 'whole-file' ).checked ? 'whole' : 'stream' }`;

}

/**
 * Compare mode: the published version on the left, the newest draft build on the right, one
 * camera. Loads only the half whose version changed (a draft build finishing, a publish), so
 * the camera stays; a half with nothing to show says so.
 */
async function syncCompare() {

	if ( ! $( 'compare' ).checked || ! state.sceneId ) return;
	++ viewToken; // a single-view load still running is dropped
	viewer.setCompare( true );
	$( 'compare-panes' ).hidden = false;
	$( 'view-version' ).textContent = 'compare';
	renderViewToggles();
	// entering compare mode from the published single view: the left half already shows it
	const published = state.versions.find( ( v ) => v.latest ) || null;
	const single = state.viewing;
	if ( ! halves.published && published && single && single.kind === 'published' && single.eTag === published.eTag &&
		single.whole === $( 'whole-file' ).checked && viewer.portalScene ) {

		halves.published = { key: halfKey( published ), version: published, status: 'shown', error: '' };
		renderHalf( 'published' ); // setHalf keeps this half as it is: its label is written here

	}
	state.viewing = null; // the single view's; its next load says again what it shows
	await Promise.all( [ setHalf( 'published', published ), setHalf( 'draft', state.draftVersion ) ] );

}

async function setHalf( which, version ) {

	const sceneId = state.sceneId;
	const key = halfKey( version );
	const current = halves[ which ];
	if ( current && current.key === key ) return current.loading;
	const half = { key, version, status: version ? 'loading' : 'empty', error: '', loading: null };
	halves[ which ] = half;
	renderHalf( which );
	if ( ! version ) {

		placeHalf( which, null );
		return;

	}
	half.loading = ( async () => {

		const openedAt = performance.now();
		let opened = null;
		try {

			opened = await openVersion( sceneId, version.eTag );

		} catch ( error ) {

			if ( halves[ which ] !== half ) return;
			placeHalf( which, null );
			Object.assign( half, { status: 'error', error: error.message } );
			renderHalf( which );
			return;

		}
		if ( halves[ which ] !== half || ! $( 'compare' ).checked ) {

			disposeOpened( opened );
			return;

		}
		placeHalf( which, opened, openedAt );
		half.status = 'shown';
		renderHalf( which );

	} )();
	return half.loading;

}

/** Put a loaded version (or nothing) in its half; the camera frames it only when no half showed anything. */
function placeHalf( which, opened, openedAt = performance.now() ) {

	const frame = ! viewer.portalScene && ! viewer.second.portalScene;
	if ( which === 'published' ) {

		if ( opened ) {

			viewer.openedAt = openedAt;
			viewer.setScene( opened.portalScene, opened.streaming, frame ? null : false );

		} else {

			viewer.clearScene();
			viewer.stats.totalCells = 0;
			viewer.stats.cellsDrawn = 0;

		}

	} else {

		viewer.second.openedAt = openedAt;
		viewer.setSecondScene( opened ? opened.portalScene : null, opened ? opened.streaming : null, frame );

	}
	const shown = viewer.portalScene || viewer.second.portalScene;
	if ( plan.scene !== shown ) plan.setScene( shown );
	$( 'scene-title' ).textContent = shown ? sceneTitle( state.sceneId, shown ) : `${ state.sceneId } · nothing built to compare`;
	$( 'snippet' ).textContent = snippet( state.sceneId );

}

/** A half's label (its version and ETag) and, when it has nothing to show, why. */
function renderHalf( which ) {

	const half = halves[ which ];
	const el = $( which === 'published' ? 'pane-published' : 'pane-draft' );
	const label = el.querySelector( '.pane-label' );
	const note = el.querySelector( '.pane-empty' );
	const kind = which === 'published' ? 'published' : 'draft build';
	const v = half && half.version;
	const eTag = v ? String( v.eTag ).replace( /"/g, '' ) : '';
	label.textContent = v ? `${ kind } v${ v.n } · ${ eTag }${ half.status === 'loading' ? ' · loading…' : '' }` : kind;
	label.title = v ? `version ${ v.n }, ETag "${ eTag }"` : '';
	let text = '';
	if ( half && half.status === 'error' ) text = `Could not load v${ v.n }: ${ half.error }`;
	else if ( ! v && which === 'published' ) text = 'No published version yet: publish a draft build to see it here.';
	else if ( ! v ) text = state.versions.length ? 'No draft build newer than the published version: Build draft makes one.' : 'No draft build yet: Build draft makes one.';
	note.textContent = text;
	note.hidden = ! text;

}

/** Back to one viewport: the right half's scene goes. */
function leaveCompare() {

	if ( ! viewer.compare && $( 'compare-panes' ).hidden ) return;
	viewer.setCompare( false );
	halves.published = null;
	halves.draft = null;
	$( 'compare-panes' ).hidden = true;
	renderViewToggles();

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
$( 'whole-file' ).addEventListener( 'change', () => state.sceneId && loadView() );
$( 'view-draft' ).addEventListener( 'change', () => state.sceneId && loadView() );
$( 'compare' ).addEventListener( 'change', ( e ) => {

	if ( ! state.sceneId ) {

		renderViewToggles();
		return;

	}
	loadView( { keepCamera: ! e.target.checked } );

} );
$( 'overlay' ).addEventListener( 'change', ( e ) => viewer.setOverlay( e.target.checked ) );

/** When the stats panel and the floor plan last followed the view, and the timer that brings them up to date. */
let lastPanel = 0;
let panelTimer = 0;
/** At most ten times a second; the last frame of a burst is shown too (frames are drawn on demand: none may follow it). */
viewer.onFrame = ( v ) => {

	const wait = lastPanel + 100 - performance.now();
	if ( wait > 0 ) {

		if ( ! panelTimer ) panelTimer = setTimeout( () => ( panelTimer = 0, renderPanel( v ) ), wait );
		return;

	}
	renderPanel( v );

};

/** The stats panel and the floor plan after the view's last frame. */
function renderPanel( v ) {

	lastPanel = performance.now();
	const s = v.stats;
	$( 'st-cells' ).textContent = `${ s.cellsDrawn } / ${ s.totalCells }`;
	$( 'st-calls' ).textContent = String( s.drawCalls );
	$( 'st-tris' ).textContent = s.triangles.toLocaleString( 'en' );
	$( 'st-frame' ).textContent = `${ s.frameMs.toFixed( 2 ) } ms`;
	$( 'st-cull' ).textContent = `${ ( s.cullMs * 1000 ).toFixed( 0 ) } µs`;
	$( 'st-cell' ).textContent = s.cameraCell ?? ( v.culler && v.culler.stats.outside ? 'outside' : '–' );
	$( 'st-bytes' ).textContent = v.streaming ? `${ kib( v.streaming.bytesLoaded ) } / ${ kib( v.streaming.bytesTotal ) }` : 'whole file';
	plan.update( v.culling && v.culler ? v.culler.visible : null, { x: v.camera.position.x, z: v.camera.position.z, yaw: v.yaw } );

}

// ---- helpers ----------------------------------------------------------------------------

function kib( bytes ) {

	return `${ ( bytes / 1024 ).toLocaleString( 'en', { maximumFractionDigits: 0 } ) } KiB`;

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
	/** The live socket: open or not, how many times it was opened or tried, whether a retry waits. */
	get live() {

		const open = Boolean( live.socket ) && live.socket.readyState === WebSocket.OPEN;
		return { open, attempts: live.attempts, retrying: Boolean( live.timer ) };

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
			bytesReceived: s ? s.bytesReceived : NaN,
			bytesTotal: s ? s.bytesTotal : NaN,
			cellsLoaded: s ? s.cellsLoaded : viewer.stats.totalCells,
		};

	},
	setCamera: ( x, y, z, yaw = 0 ) => viewer.setCamera( x, y, z, yaw ),
	/** Frames the 3D view drew since the page opened: drawn on demand, none while nothing changes. */
	get frames() {

		return viewer.framesDrawn;

	},
	/** Ask the 3D view for a frame though nothing changed. */
	redraw: () => viewer.requestRender(),
	/** Times the editor's text was parsed as JSON. */
	get parses() {

		return parses;

	},
	setCulling: ( on ) => {

		viewer.culling = Boolean( on );
		$( 'culling' ).checked = viewer.culling;

	},
	/** How often the floor plan was asked to follow the view, how often it was drawn, and whether a frame's update waits (at most 100 ms). */
	get plan() {

		return { updates: plan.updates, draws: plan.draws, pending: Boolean( panelTimer ) };

	},
	get highlightedCells() {

		return [ ...plan.highlighted ];

	},
	/** Where world point (x, z) is drawn on the floor plan, in page coordinates (to click it). */
	planPoint: ( x, z ) => {

		const r = $( 'plan' ).getBoundingClientRect();
		const v = plan._view;
		return { x: r.left + v.ox + v.scale * x, y: r.top + v.oz + v.scale * z };

	},
	get draft() {

		return state.draft ? { rev: state.draft.rev, canUndo: state.draft.canUndo, canRedo: state.draft.canRedo, dirty: state.dirty, saving: Boolean( state.busy ), conflict: Boolean( state.conflict ) } : null;

	},
	get viewing() {

		return state.viewing ? { ...state.viewing } : null;

	},
	/** Compare mode's halves (null outside it): each `{n, eTag, status, ready, complete, totalCells, label, note}`. */
	get compare() {

		if ( ! $( 'compare' ).checked ) return null;
		const half = ( which, slot ) => {

			const h = halves[ which ];
			const el = $( which === 'published' ? 'pane-published' : 'pane-draft' );
			const note = el.querySelector( '.pane-empty' );
			return {
				n: h && h.version ? h.version.n : null,
				eTag: h && h.version ? h.version.eTag : null,
				status: h ? h.status : 'loading',
				ready: Boolean( h && h.status === 'shown' && slot.portalScene && slot.firstFrame ),
				// every cell the camera sees now has arrived (a streamed half fetches what a move uncovers)
				complete: Boolean( slot.portalScene && slot.culler && ( ! slot.streaming || slot.streaming.hasCells( slot.culler.visible ) ) ),
				totalCells: slot.portalScene ? slot.portalScene.cells.length : 0,
				label: el.querySelector( '.pane-label' ).textContent,
				note: note.hidden ? '' : note.textContent,
			};

		};
		return { published: half( 'published', viewer ), draft: half( 'draft', viewer.second ), split: viewer.splitX };

	},
	get changedCells() {

		return [ ...plan.highlighted ].sort();

	},
	get viewers() {

		return state.viewers.map( ( v ) => ( { ...v } ) );

	},
	get notice() {

		return state.notice;

	},
	/** The open scene was deleted while it was open. */
	get deleted() {

		return state.deleted;

	},
	/** Save now instead of after the debounce; resolves when the revision is stored (or refused). */
	save: () => ( state.dirty ? save() : Promise.resolve() ),
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
connectLive();
await refreshScenes();
refreshJobs();
if ( params.get( 'scene' ) ) await openScene( params.get( 'scene' ) );
