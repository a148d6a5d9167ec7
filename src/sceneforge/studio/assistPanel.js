/**
 * The assistant chat panel (docs/assist.md): ask for a change to the open scene's draft, watch the
 * model's reasoning (collapsible) and answer stream in, each tool call with its arguments and
 * result, the revision it made (highlighted on the floor plan through `onHighlight`), and an undo
 * bar for the assistant's last change. The stream is read with fetch (so the API key travels as
 * a header) and resumed from the last `seq` with `Last-Event-ID` after a network failure.
 * Markdown is rendered by escaping first, then formatting: no HTML from the model reaches the page.
 */

import { bdi, escapeHtml, isolated } from './html.js';

const RETRY_MS = [ 250, 500, 1000, 2000, 4000 ];
/** Revisions the panel lists. */
const HISTORY_SHOWN = 20;

function inline( escaped ) {

	return escaped
		.replace( /`([^`]+)`/g, '<code>$1</code>' )
		.replace( /\*\*([^*]+)\*\*/g, '<strong>$1</strong>' )
		.replace( /(^|[^*])\*([^*\s][^*]*)\*/g, '$1<em>$2</em>' );

}

/**
 * A small, safe markdown subset: paragraphs, `-`/`*` lists, `#` headings, ``` fences, `code`,
 * **bold**, *italic*. The text is escaped before any tag is added, and no link or image is made.
 * @param {string} text
 * @returns {string} HTML
 */
export function renderMarkdown( text ) {

	const out = [];
	let list = false, fence = false, para = [];
	const flush = () => {

		if ( para.length ) out.push( `<p>${ para.map( inline ).join( '<br>' ) }</p>` );
		para = [];

	};
	for ( const raw of String( text ).split( '\n' ) ) {

		const line = escapeHtml( raw );
		if ( raw.trim().startsWith( '```' ) ) {

			flush();
			if ( list ) { out.push( '</ul>' ); list = false; }
			out.push( fence ? '</code></pre>' : '<pre><code>' );
			fence = ! fence;
			continue;

		}
		if ( fence ) { out.push( line + '\n' ); continue; }
		const item = /^\s*[-*]\s+(.*)$/.exec( line );
		if ( item ) {

			flush();
			if ( ! list ) { out.push( '<ul>' ); list = true; }
			out.push( `<li>${ inline( item[ 1 ] ) }</li>` );
			continue;

		}
		if ( list ) { out.push( '</ul>' ); list = false; }
		const heading = /^(#{1,4})\s+(.*)$/.exec( line );
		if ( heading ) { flush(); out.push( `<h4>${ inline( heading[ 2 ] ) }</h4>` ); continue; }
		if ( ! line.trim() ) { flush(); continue; }
		para.push( line );

	}
	flush();
	if ( list ) out.push( '</ul>' );
	if ( fence ) out.push( '</code></pre>' );
	return out.join( '' );

}

function el( tag, className, text ) {

	const node = document.createElement( tag );
	if ( className ) node.className = className;
	if ( text !== undefined ) node.textContent = text;
	return node;

}

export class AssistPanel {

	/**
	 * @param {HTMLElement} root the panel's section (holds #assist-log, #assist-form, #assist-undo, #assist-history)
	 * `onRevision` resolves once the page shows the assistant's revision; `onUndo` undoes the draft's last change
	 * (resolving false when it did not, e.g. the editor's unsaved text could not be saved first).
	 * @param {{ api: import('./api.js').Api, onRevision?: (revision: Object) => Promise<void>, onUndo?: () => Promise<boolean>, onHighlight?: (cellIds: string[]) => void }} options
	 */
	constructor( root, { api, onRevision = async () => {}, onUndo = async () => Boolean( await api.undo( this.sceneId ) ), onHighlight = () => {} } ) {

		this.root = root;
		this.api = api;
		this.onRevision = onRevision;
		this.onUndo = onUndo;
		this.onHighlight = onHighlight;
		this.sceneId = null;
		this.sessionId = null;
		/** What the test hook and the page read: the message being followed. */
		this.current = { messageId: null, lastSeq: 0, status: 'idle', content: '', reasoning: '', revisions: [], reconnects: 0 };
		this.lastRevision = null;
		this._abort = null;
		this._calls = new Map();
		this.log = root.querySelector( '#assist-log' );
		this.input = root.querySelector( '#assist-input' );
		this.state = root.querySelector( '#assist-state' );
		this.undoBar = root.querySelector( '#assist-undo' );
		this.history = root.querySelector( '#assist-history' );
		this._submit = ( e ) => {

			e.preventDefault();
			const text = this.input.value.trim();
			if ( text ) this.ask( text );

		};
		root.querySelector( '#assist-form' ).addEventListener( 'submit', this._submit );
		this._undo = () => this.undo();
		this.undoBar.querySelector( 'button' ).addEventListener( 'click', this._undo );

	}

	/** Follow another scene: a new conversation (the page shows its history with `showHistory`). */
	setScene( sceneId ) {

		if ( this._abort ) this._abort.abort();
		this.sceneId = sceneId;
		this.sessionId = null;
		this.lastRevision = null;
		this.log.textContent = '';
		this.undoBar.hidden = true;
		this._setStatus( 'idle' );
		this.history.textContent = '';

	}

	_setStatus( status, note = '' ) {

		this.current.status = status;
		this.state.textContent = note || ( status === 'idle' ? '' : status );

	}

	async ask( text ) {

		if ( ! this.sceneId ) return;
		this.log.appendChild( el( 'div', 'msg user', text ) );
		this.input.value = '';
		let turn;
		try {

			turn = await this.api.assist( this.sceneId, text, this.sessionId );

		} catch ( error ) {

			this.log.appendChild( el( 'div', 'msg error', error.message ) );
			this._setStatus( 'error', 'refused' );
			return;

		}
		this.sessionId = turn.sessionId;
		await this.follow( turn.messageId );

	}

	/** Read a message's stream from `since`, reconnecting (resuming after the last seq) until it ends. */
	async follow( messageId, since = 0 ) {

		const message = el( 'div', 'msg assistant' );
		const details = el( 'details', 'reasoning' );
		details.appendChild( el( 'summary', '', 'Reasoning' ) );
		const reasoning = el( 'div', 'reasoning-text' );
		details.appendChild( reasoning );
		details.hidden = true;
		const answer = el( 'div', 'answer' );
		const tools = el( 'div', 'tools' );
		message.append( details, tools, answer );
		this.log.appendChild( message );
		this._view = { message, details, reasoning, answer, tools };
		this._calls = new Map();
		this.current = { messageId, lastSeq: since, status: 'running', content: '', reasoning: '', revisions: [], reconnects: 0 };
		this._setStatus( 'running', 'thinking…' );
		let attempt = 0;
		while ( this.current.messageId === messageId && ! [ 'done', 'error', 'canceled' ].includes( this.current.status ) ) {

			try {

				await this._read( messageId );
				attempt = 0;

			} catch ( error ) {

				if ( error.name === 'AbortError' ) return;
				if ( error.status && error.status < 500 ) {

					// refused for good (the key lost its scope, the scene or the message is gone): say so, not "thinking…"
					if ( this.current.messageId === messageId ) {

						this._view.message.appendChild( el( 'div', 'msg error', `The answer cannot be followed: ${ error.message }` ) );
						this._setStatus( 'error', 'error' );

					}
					return;

				}
				this.current.reconnects ++;
				await new Promise( ( r ) => setTimeout( r, RETRY_MS[ Math.min( attempt ++, RETRY_MS.length - 1 ) ] ) );

			}

		}

	}

	async _read( messageId ) {

		this._abort = new AbortController();
		const headers = { Accept: 'text/event-stream' };
		if ( this.api.key ) headers[ 'X-API-Key' ] = this.api.key;
		if ( this.current.lastSeq ) headers[ 'Last-Event-ID' ] = String( this.current.lastSeq );
		const url = `/scenes/${ encodeURIComponent( this.sceneId ) }/assist/${ encodeURIComponent( messageId ) }/stream`;
		const response = await fetch( url, { headers, signal: this._abort.signal } );
		if ( ! response.ok ) {

			const error = new Error( `${ url }: ${ response.status }` );
			error.status = response.status;
			throw error;

		}
		const reader = response.body.getReader();
		const decoder = new TextDecoder();
		let buffer = '';
		for ( ;; ) {

			const { value, done } = await reader.read();
			if ( done ) break;
			buffer += decoder.decode( value, { stream: true } );
			let cut;
			while ( ( cut = buffer.indexOf( '\n\n' ) ) >= 0 ) {

				const frame = buffer.slice( 0, cut );
				buffer = buffer.slice( cut + 2 );
				const fields = {};
				for ( const line of frame.split( '\n' ) ) {

					if ( ! line || line.startsWith( ':' ) ) continue;
					const at = line.indexOf( ': ' );
					fields[ line.slice( 0, at ) ] = line.slice( at + 2 );

				}
				if ( fields.data === undefined ) continue;
				if ( fields.id === undefined ) {

					// stream.reset (docs/events.md, "Resuming"): the position sent was not this log's, so what
					// the panel shows of the message may be wrong: it is shown again from its first event.
					if ( fields.event === 'stream.reset' ) {

						this._clear();
						throw new Error( 'the stream was reset: reading the message again' );

					}
					continue;

				}
				const seq = Number( fields.id );
				if ( seq <= this.current.lastSeq ) continue;
				this.current.lastSeq = seq;
				await this._apply( fields.event, JSON.parse( fields.data ) );

			}

		}
		if ( ! [ 'done', 'error', 'canceled' ].includes( this.current.status ) ) throw new Error( 'the stream ended early' );

	}

	/** Forget what the panel shows of the current message (its text, reasoning and tool calls): read again from seq 0. */
	_clear() {

		const v = this._view;
		Object.assign( this.current, { lastSeq: 0, content: '', reasoning: '', revisions: [] } );
		this._calls = new Map();
		v.answer.replaceChildren();
		v.reasoning.textContent = '';
		v.details.hidden = true;
		v.tools.replaceChildren();

	}

	async _apply( type, data ) {

		const v = this._view;
		switch ( type ) {

			case 'status':
				if ( data.status === 'queued' ) this._setStatus( 'queued', 'waiting for a free assistant…' );
				else this._setStatus( 'running', data.status === 'thinking' ? `thinking (round ${ data.round })…` : 'running…' );
				break;
			case 'reasoning_delta':
				this.current.reasoning += data.text;
				v.details.hidden = false;
				v.reasoning.textContent = this.current.reasoning;
				break;
			case 'content_delta':
				this.current.content += data.text;
				v.answer.innerHTML = renderMarkdown( this.current.content );
				break;
			case 'tool_call_start': {

				const call = el( 'details', 'tool' );
				call.appendChild( el( 'summary', '', `${ data.name }` ) );
				const args = el( 'pre', 'args' );
				const result = el( 'pre', 'result' );
				call.append( args, result );
				v.tools.appendChild( call );
				this._calls.set( data.index, { node: call, args, result, text: '' } );
				break;

			}
			case 'tool_call_delta': {

				const call = this._calls.get( data.index );
				if ( call ) {

					call.text += data.text;
					call.args.textContent = call.text;

				}
				break;

			}
			case 'tool_call_result': {

				const call = this._calls.get( data.index );
				if ( call ) {

					try {

						call.args.textContent = JSON.stringify( JSON.parse( call.text || '{}' ), null, 1 );

					} catch ( _ ) { /* shown as streamed */ }
					call.result.textContent = JSON.stringify( data.result, null, 1 ).slice( 0, 4000 );
					const refused = data.result && data.result.applied === false;
					call.node.classList.toggle( 'refused', refused );
					call.node.querySelector( 'summary' ).textContent = `${ data.name }${ refused ? ' — refused' : data.result && data.result.applied ? ` — rev ${ data.result.rev }` : '' }`;

				}
				break;

			}
			case 'revision': {

				this.current.revisions.push( data.rev );
				this.lastRevision = data;
				await this.onRevision( data );
				this.undoBar.querySelector( 'span' ).replaceChildren( `Assistant made rev ${ data.rev }: `, bdi( data.reason || '' ) );
				this.undoBar.hidden = false;
				break;

			}
			case 'error':
				v.message.appendChild( el( 'div', 'msg error', `${ data.code }: ${ data.message }` ) );
				this._setStatus( 'error', 'error' );
				break;
			case 'done':
				this._setStatus( data.status === 'canceled' ? 'canceled' : 'done', data.status === 'canceled' ? 'canceled' : '' );
				break;
			default:
				break;

		}

	}

	/** Undo the assistant's last change (a new `undo` revision). */
	async undo() {

		if ( ! this.sceneId || ! await this.onUndo() ) return;
		this.undoBar.hidden = true;
		this.lastRevision = null;
		this.onHighlight( [] );

	}

	/** The draft's recent revisions (rev, source, author, reason), newest first, as the page read them. */
	showHistory( revisions ) {

		this.history.textContent = '';
		for ( const r of revisions.slice( 0, HISTORY_SHOWN ) ) {

			const li = el( 'li', `rev ${ r.source }` );
			li.dataset.rev = String( r.rev );
			li.dataset.source = r.source;
			li.replaceChildren( ...isolated`rev ${ r.rev } · ${ r.source } · ${ r.author }`, ...( r.reason ? [ ' — ', bdi( r.reason ) ] : [] ) );
			this.history.appendChild( li );

		}

	}

	dispose() {

		if ( this._abort ) this._abort.abort();
		this.root.querySelector( '#assist-form' ).removeEventListener( 'submit', this._submit );
		this.undoBar.querySelector( 'button' ).removeEventListener( 'click', this._undo );

	}

}
