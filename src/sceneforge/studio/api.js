/**
 * The studio's view of the service (docs/api.md, docs/jobs.md, docs/events.md): JSON calls with the API key, and a
 * job watcher that follows a build over SSE (reconnect with backoff, resume from the last
 * seq) and falls back to polling `GET /jobs/{id}`.
 */

export const TERMINAL = new Set( [ 'Succeeded', 'Failed', 'Canceled' ] );

export class ApiError extends Error {

	/**
	 * @param {number} status
	 * @param {Object|null} problem the problem+json body, when there is one
	 * @param {string} message
	 */
	constructor( status, problem, message ) {

		super( message );
		this.status = status;
		this.problem = problem;
		/** @type {{path: string, code: string, message: string}[]} */
		this.errors = problem && Array.isArray( problem.errors ) ? problem.errors : [];

	}

}

/**
 * `X-Change-Reason` as a header can carry it: a header holds Latin-1 only (`fetch` throws on an em
 * dash, an emoji or most scripts), so the text goes percent-encoded after RFC 8187's `UTF-8''`
 * prefix, which the service decodes (docs/drafts.md).
 */
function reasonHeader( reason ) {

	return { 'X-Change-Reason': `UTF-8''${ encodeURIComponent( reason ) }` };

}

export class Api {

	/** @param {string|null} key the X-API-Key, null for read-only */
	constructor( key ) {

		this.key = key;

	}

	/**
	 * @param {string} method
	 * @param {string} path
	 * @param {*} [body] JSON (a string is sent as written)
	 * @param {Object<string, string>} [extra] more headers (they win over the defaults)
	 */
	async request( method, path, body, extra = {} ) {

		const headers = { Accept: 'application/json' };
		if ( this.key ) headers[ 'X-API-Key' ] = this.key;
		if ( body !== undefined ) headers[ 'Content-Type' ] = 'application/json';
		Object.assign( headers, extra );
		const response = await fetch( path, { method, headers, body: body === undefined ? undefined : ( typeof body === 'string' ? body : JSON.stringify( body ) ) } );
		const type = response.headers.get( 'Content-Type' ) || '';
		const data = type.includes( 'json' ) ? await response.json().catch( () => null ) : await response.text();
		if ( ! response.ok ) {

			const problem = data && typeof data === 'object' ? data : null;
			const detail = problem && ( problem.detail || problem.title ) ? ( problem.detail || problem.title ) : `${ response.status } ${ response.statusText }`;
			throw new ApiError( response.status, problem, `${ method } ${ path }: ${ detail }` );

		}
		return data;

	}

	/** @returns {Promise<Object[]>} scenes, each with at least `sceneId` */
	async scenes() {

		const data = await this.request( 'GET', '/scenes' );
		const list = Array.isArray( data ) ? data : ( data && ( data.scenes || data.items ) ) || [];
		return list.map( ( s ) => ( typeof s === 'string' ? { sceneId: s } : s ) );

	}

	meta( sceneId ) {

		return this.request( 'GET', `/scenes/${ encodeURIComponent( sceneId ) }/meta` );

	}

	/** @param {string} descriptionText the description JSON, sent as written */
	enqueue( descriptionText ) {

		return this.request( 'POST', '/jobs/enqueue', descriptionText );

	}

	job( jobId ) {

		return this.request( 'GET', `/jobs/${ encodeURIComponent( jobId ) }` );

	}

	async jobs( take = 50 ) {

		const data = await this.request( 'GET', `/jobs?take=${ take }` );
		return Array.isArray( data ) ? data : ( data && ( data.jobs || data.items ) ) || [];

	}

	generate( kind, cells, seed ) {

		return this.request( 'GET', `/generate/${ kind }?cells=${ cells }&seed=${ seed }` );

	}

	// ---- drafts (docs/drafts.md) ----

	_scene( sceneId, rest = '' ) {

		return `/scenes/${ encodeURIComponent( sceneId ) }${ rest }`;

	}

	/** The description version `n` was built from; 404 (ApiError) for a build of a tagged GLB. */
	description( sceneId, n ) {

		return this.request( 'GET', `/scenes/${ encodeURIComponent( sceneId ) }@v${ n }/description` );

	}

	/** `{sceneId, rev, description, author, canUndo, canRedo, updatedUtc}`; 404 (ApiError) when there is none. */
	draft( sceneId ) {

		return this.request( 'GET', this._scene( sceneId, '/draft' ) );

	}

	createDraft( sceneId, description, reason ) {

		return this.request( 'POST', this._scene( sceneId, '/draft' ), description, reason ? reasonHeader( reason ) : {} );

	}

	/**
	 * RFC 6902 `ops` on revision `rev` (`If-Match: "rev-<n>"`: 412 when another change came first). The answer
	 * is the draft without its `description` (`Prefer: return=minimal`): the caller has it, the ops applied.
	 */
	patchDraft( sceneId, ops, rev, reason ) {

		const headers = {
			'Content-Type': 'application/json-patch+json', 'If-Match': `"rev-${ rev }"`, Prefer: 'return=minimal'
		};
		if ( reason ) Object.assign( headers, reasonHeader( reason ) );
		return this.request( 'PATCH', this._scene( sceneId, '/draft' ), ops, headers );

	}

	/** With `rev`, `If-Match: "rev-<rev>"`: 412 (nothing undone) when another change came after it. */
	undo( sceneId, rev ) {

		return this.request( 'POST', this._scene( sceneId, '/draft/undo' ), undefined, rev === undefined ? {} : { 'If-Match': `"rev-${ rev }"` } );

	}

	redo( sceneId, rev ) {

		return this.request( 'POST', this._scene( sceneId, '/draft/redo' ), undefined, rev === undefined ? {} : { 'If-Match': `"rev-${ rev }"` } );

	}

	async revisions( sceneId, take = 50 ) {

		return ( await this.revisionsPage( sceneId, take ) ).revisions;

	}

	/** `{revisions, next}`: up to `take` revisions older than rev `before` (the newest without it); `next` is the next page's `before`, null at the first revision. */
	revisionsPage( sceneId, take = 50, before = null ) {

		return this.request( 'GET', this._scene( sceneId, `/revisions?take=${ take }${ before === null ? '' : `&before=${ before }` }` ) );

	}

	/** One revision with `before` and `after`. */
	revision( sceneId, rev ) {

		return this.request( 'GET', this._scene( sceneId, `/revisions/${ rev }` ) );

	}

	/** `{jobId, rev}`: a build of the draft that is not published. */
	buildDraft( sceneId ) {

		return this.request( 'POST', this._scene( sceneId, '/draft/build' ) );

	}

	publish( sceneId, version ) {

		return this.request( 'POST', this._scene( sceneId, '/publish' ), { version } );

	}

	/** `{messageId, sessionId}`: ask the assistant for a change to the draft (docs/assist.md); `sessionId` continues a conversation. */
	assist( sceneId, message, sessionId ) {

		return this.request( 'POST', this._scene( sceneId, '/assist' ), { message, sessionId: sessionId || undefined } );

	}

	/** Every version, oldest first: `{n, eTag, latest, glbPath, createdUtc}`. */
	versions( sceneId ) {

		return this.request( 'GET', this._scene( sceneId, '/versions' ) );

	}

}

/**
 * Follow one job to its end. Events arrive over SSE `/jobs/events/{sceneId}`; on an error the
 * stream is reopened with `?since=<last seq>` after a backoff (0.5 s doubling to 8 s), so no
 * event is missed. Each time a stream opens the job is looked at once (`GET /jobs/{id}`): the
 * server subscribes a stream before it answers, so whatever happened before the stream opened
 * (the whole job, if it was quick, or while a stream without a resume point reconnected) is
 * in that answer, and everything after it comes on the stream. An answer that arrives after an event of
 * the job that came while it was on its way is older than that event, or its news follow on the stream:
 * it is dropped (unless the job ended), so the page never steps back (Running at 100 % then at 0 %, or
 * Running then Queued). After three failed connections
 * in a row, or when EventSource is missing, it polls `GET /jobs/{id}` every second instead.
 */
export class JobWatcher {

	/**
	 * @param {Api} api
	 * @param {string} sceneId
	 * @param {string} jobId
	 * @param {{onJob: (job: Object) => void, onEvent?: (event: Object) => void, onTransport?: (name: string) => void}} handlers
	 */
	constructor( api, sceneId, jobId, handlers ) {

		this.api = api;
		this.sceneId = sceneId;
		this.jobId = jobId;
		this.handlers = handlers;
		/** Highest seq seen: the resume point. */
		this.lastSeq = null;
		this.failures = 0;
		this.transport = 'sse';
		this.closed = false;
		/** @type {EventSource|null} */
		this.source = null;
		this.timer = 0;
		/** Events of this job received so far: a poll answer that one overtook is stale. */
		this.jobEvents = 0;
		this.done = new Promise( ( resolve ) => ( this._resolve = resolve ) );

	}

	start() {

		// the job may have finished before the stream opened: one poll settles it
		this._pollOnce();
		if ( typeof EventSource === 'undefined' ) this._startPolling();
		else this._connect();
		return this.done;

	}

	close() {

		this.closed = true;
		if ( this.source ) this.source.close();
		this.source = null;
		clearTimeout( this.timer );

	}

	_connect() {

		if ( this.closed ) return;
		const since = this.lastSeq !== null ? `?since=${ this.lastSeq }` : '';
		const source = new EventSource( `/jobs/events/${ encodeURIComponent( this.sceneId ) }${ since }` );
		this.source = source;
		this._transport( this.lastSeq !== null ? 'sse (resumed)' : 'sse' );
		const onMessage = ( e ) => {

			this.failures = 0;
			const seq = Number( e.lastEventId );
			if ( Number.isFinite( seq ) && e.lastEventId !== '' ) this.lastSeq = Math.max( this.lastSeq ?? seq, seq );
			let event;
			try {

				event = JSON.parse( e.data );

			} catch {

				return;

			}
			if ( this.handlers.onEvent ) this.handlers.onEvent( event );
			if ( event.job && event.job.jobId === this.jobId ) {

				this.jobEvents ++;
				this._job( event.job );

			}

		};
		for ( const type of [ 'job.status', 'job.progress', 'scene.built', 'scene.invalidated', 'message' ] ) source.addEventListener( type, onMessage );
		source.onopen = () => {

			this.failures = 0;
			// subscribed before the server answered: this look and the stream leave no gap between them
			this._pollOnce();

		};
		source.onerror = () => {

			source.close();
			if ( this.closed ) return;
			this.failures ++;
			if ( this.failures >= 3 ) {

				this._startPolling();
				return;

			}
			const delay = Math.min( 8000, 500 * 2 ** ( this.failures - 1 ) );
			this._transport( `sse reconnecting in ${ ( delay / 1000 ).toFixed( 1 ) } s` );
			this.timer = setTimeout( () => {

				this._pollOnce();
				this._connect();

			}, delay );

		};

	}

	_startPolling() {

		if ( this.closed ) return;
		this._transport( 'polling' );
		const tick = async () => {

			if ( this.closed ) return;
			await this._pollOnce();
			if ( ! this.closed ) this.timer = setTimeout( tick, 1000 );

		};
		tick();

	}

	async _pollOnce() {

		const events = this.jobEvents;
		try {

			const job = await this.api.job( this.jobId );
			// an event of the job came meanwhile: the stream is as new as this answer or newer (an end is always taken)
			if ( events !== this.jobEvents && ! TERMINAL.has( job.status ) ) return;
			this._job( job );

		} catch {

			// the next poll or event retries

		}

	}

	_job( job ) {

		if ( this.closed ) return;
		this.handlers.onJob( job );
		if ( TERMINAL.has( job.status ) ) {

			this.close();
			this._resolve( job );

		}

	}

	_transport( name ) {

		this.transport = name;
		if ( this.handlers.onTransport ) this.handlers.onTransport( name );

	}

}
