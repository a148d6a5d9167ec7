import {
	BufferGeometry, Color, DirectionalLight, Float32BufferAttribute, HemisphereLight, LineBasicMaterial,
	LineSegments, PerspectiveCamera, Scene, Vector3,
} from 'three';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';
import { CapsuleWalker, Collision, PortalCuller } from 'sceneforge';

/**
 * The studio's 3D view: WebGLRenderer by default, WebGPURenderer with `?renderer=webgpu`
 * (falling back to WebGL when it cannot start). Orbit and walk modes, portal culling on/off,
 * a cells/portals overlay, live stats.
 *
 * Compare mode (`setCompare( true )`) splits the canvas into two viewports drawn by the same
 * renderer with the same camera (one set of controls, so moving in either half moves both):
 * the left half shows the primary scene (`setScene`), the right half a second one
 * (`setSecondScene`), each culled and streamed on its own. Walking, the floor plan and the
 * stats follow the primary scene (the second one when the primary half is empty).
 *
 * Frames are drawn on demand, not every display refresh: `requestRender()` asks for one at the
 * next animation frame (several asks before it are one frame). The viewer asks itself when its
 * picture can change: the orbit controls' `change` (a drag, a wheel, and each step of their
 * damping after it), a key or a mouse look while walking, a streamed cell arriving or evicted
 * (either half), a scene set or cleared, compare/overlay/culling/mode toggled, the camera placed,
 * the canvas resized. Walking keeps drawing while a movement key is held or the walker is not
 * standing (falling, jumping); a still view draws nothing, so an idle page costs no GPU or CPU
 * time and the main thread is free for the editor. `framesDrawn` counts the frames drawn.
 */

const _eye = new Vector3();
const _walk = new Vector3();
/** The keys that move the walker: while one is held, walking draws frame after frame. */
const WALK_KEYS = new Set( [ 'KeyW', 'KeyA', 'KeyS', 'KeyD', 'ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Space' ] );

/**
 * Releases what a view shows: its streamed (or whole-file) scene, and its portal overlay, removed
 * from the view's three.js scene. Shared by the viewer and the compare pane.
 * @param {{streaming: object|null, portalScene: object|null, overlay: object|null, scene: object, redraw: Function}} view
 */
function releaseShown( view ) {

	if ( view.streaming ) {

		view.streaming.removeEventListener( 'cell', view.redraw );
		view.streaming.removeEventListener( 'evict', view.redraw );
		view.streaming.dispose();

	} else if ( view.portalScene ) view.portalScene.dispose();
	if ( view.overlay ) {

		view.scene.remove( view.overlay );
		view.overlay.traverse( ( o ) => {

			if ( o.geometry ) o.geometry.dispose();
			if ( o.material ) o.material.dispose();

		} );

	}

}

export class Viewer {

	/** @param {HTMLCanvasElement} canvas */
	constructor( canvas ) {

		this.canvas = canvas;
		this.scene = litScene();
		this.camera = new PerspectiveCamera( 70, 1, 0.05, 2000 );
		this.camera.rotation.order = 'YXZ';
		this.renderer = null;
		this.rendererName = '';
		this.controls = null;
		/** @type {import('sceneforge').PortalScene|null} */
		this.portalScene = null;
		this.culler = null;
		this.collision = null;
		/** @type {import('sceneforge').StreamingScene|null} the scene's stream, when streaming */
		this.streaming = null;
		/** When the scene was asked for, and its first complete frame (every visible cell drawn). */
		this.openedAt = 0;
		/** @type {{ms: number, bytes: number}|null} */
		this.firstFrame = null;
		this.walker = null;
		this.overlay = null;
		this.mode = 'orbit';
		this._culling = true;
		this.keys = new Set();
		this.yaw = 0;
		this.pitch = 0;
		this.stats = { cellsDrawn: 0, totalCells: 0, drawCalls: 0, triangles: 0, frameMs: 0, cullMs: 0, cameraCell: null, renderer: '' };
		/** @type {(viewer: Viewer) => void} */
		this.onFrame = () => {};
		this._last = performance.now();
		/** Frames drawn since the page opened (on demand: none while nothing changes). */
		this.framesDrawn = 0;
		/** The animation frame asked for (0: none). */
		this._scheduled = 0;
		/** Something the view shows changed (a streamed cell, the controls, the canvas size): draw it. */
		this.redraw = () => this.requestRender();
		/** The last frame asked for the next one (walking, falling): the next one advances the walker by the time between them. */
		this._continued = false;
		/** Compare mode: two viewports, `second` drawn in the right one. */
		this.compare = false;
		this.second = new SecondPane( this.redraw );

	}

	/** Portal culling on (only the cells the camera can see through portals are drawn) or off (all of them). */
	get culling() {

		return this._culling;

	}

	set culling( on ) {

		this._culling = Boolean( on );
		this.requestRender();

	}

	/** Draw a frame at the next animation frame (asks before it are one frame); nothing before `init`. */
	requestRender() {

		if ( this._scheduled || ! this.renderer ) return;
		this._scheduled = requestAnimationFrame( () => {

			// cleared first: whatever the frame asks for (a damping step, a held key) is the next frame
			this._scheduled = 0;
			this._frame( this._continued );
			this._continued = this._animating();
			if ( this._continued ) this.requestRender();

		} );

	}

	/** Whether the next frame differs without any event: walking with a key held, or not standing. */
	_animating() {

		if ( this.mode !== 'walk' || ! this.walker ) return false;
		// streaming: the walker waits for its cell, whose arrival asks for the next frame
		if ( this.streaming && ! this.streaming.readyAt( this.walker.position ) ) return false;
		for ( const key of this.keys ) if ( WALK_KEYS.has( key ) ) return true;
		return ! this.walker.onGround;

	}

	/** @param {'webgl'|'webgpu'} kind */
	async init( kind ) {

		if ( kind === 'webgpu' ) {

			try {

				const { WebGPURenderer } = await import( 'three/webgpu' );
				const renderer = new WebGPURenderer( { canvas: this.canvas, antialias: true } );
				await renderer.init();
				this.renderer = renderer;
				this.rendererName = renderer.backend && renderer.backend.isWebGPUBackend ? 'WebGPU' : 'WebGPU (WebGL 2 backend)';

			} catch ( error ) {

				console.warn( 'studio: WebGPU unavailable, using WebGL', error );

			}

		}
		if ( ! this.renderer ) {

			const { WebGLRenderer } = await import( 'three' );
			this.renderer = new WebGLRenderer( { canvas: this.canvas, antialias: true } );
			this.rendererName = 'WebGL';

		}
		this.stats.renderer = this.rendererName;
		this.renderer.setPixelRatio( Math.min( window.devicePixelRatio || 1, 2 ) );
		this.renderer.info.autoReset = false;
		this.controls = new OrbitControls( this.camera, this.canvas );
		this.controls.enableDamping = true;
		// a drag or a wheel, and each damping step after it (controls.update() in a frame says 'change' until it settles)
		this.controls.addEventListener( 'change', this.redraw );
		this._bindInput();
		this._last = performance.now();
		this.requestRender();

	}

	/**
	 * @param {import('sceneforge').PortalScene} portalScene
	 * @param {import('sceneforge').StreamingScene|null} [streaming] the stream that fills it (docs/streaming.md)
	 * @param {{x: number, y: number, z: number, yaw: number}|null|false} [start] the eye to start from
	 *   (default: an overview; false: the camera stays where it is)
	 */
	setScene( portalScene, streaming = null, start = null ) {

		this.clearScene();
		this.portalScene = portalScene;
		this.streaming = streaming;
		if ( streaming ) {

			streaming.addEventListener( 'cell', this.redraw );
			streaming.addEventListener( 'evict', this.redraw );

		}
		this.firstFrame = null;
		this.scene.add( portalScene.root );
		this.culler = new PortalCuller( portalScene );
		if ( start ) this.setCamera( start.x, start.y, start.z, start.yaw );
		else if ( start !== false ) this.frameAll();
		// streaming: ask for what the camera sees before building the overlay
		this.prefetch();
		this.overlay = buildOverlay( portalScene );
		this.overlay.visible = this.overlayVisible ?? true;
		this.scene.add( this.overlay );
		this.stats.totalCells = portalScene.cells.length;
		if ( this.mode === 'walk' ) {

			// a scene opened while walking: new collision world, walker placed in a cell
			this.mode = 'orbit';
			this.setMode( 'walk' );

		}
		this.requestRender();

	}

	clearScene() {

		releaseShown( this );
		if ( this.collision && ! this.streaming ) this.collision.dispose();
		this.streaming = null;
		this.portalScene = null;
		this.culler = null;
		this.overlay = null;
		this.collision = null;
		this.walker = null;
		this.requestRender();

	}

	/**
	 * Compare mode: the scene drawn in the right half (null: an empty half), culled and streamed
	 * with the shared camera. The camera frames it when the left half is empty and `frame` is set.
	 * @param {import('sceneforge').PortalScene|null} portalScene
	 * @param {import('sceneforge').StreamingScene|null} [streaming]
	 */
	setSecondScene( portalScene, streaming = null, frame = false ) {

		const p = this.second;
		p.clear();
		this.requestRender();
		if ( ! portalScene ) return;
		p.set( portalScene, streaming, this.overlayVisible ?? true );
		if ( frame && ! this.portalScene ) this.frameAll();
		this.camera.updateMatrixWorld();
		this.camera.matrixWorldInverse.copy( this.camera.matrixWorld ).invert();
		p.cull( this.camera, this.culling );

	}

	/** @param {boolean} on two viewports (primary left, second right) instead of one */
	setCompare( on ) {

		this.compare = Boolean( on );
		if ( ! this.compare ) this.second.clear();
		this.requestRender();

	}

	frameAll() {

		const s = this.portalScene || this.second.portalScene;
		if ( ! s || ! s.cells.length ) return;
		const box = s.cells[ 0 ].aabb.clone();
		for ( const c of s.cells ) box.union( c.aabb );
		const center = box.getCenter( new Vector3() );
		const size = box.getSize( new Vector3() ).length();
		this.camera.position.set( center.x + size * 0.35, center.y + size * 0.6, center.z + size * 0.55 );
		this.controls.target.copy( center );
		this.controls.update();
		this.requestRender();

	}

	setOverlay( on ) {

		this.overlayVisible = on;
		if ( this.overlay ) this.overlay.visible = on;
		if ( this.second.overlay ) this.second.overlay.visible = on;
		this.requestRender();

	}

	/** @param {'orbit'|'walk'} mode */
	setMode( mode ) {

		if ( mode === this.mode ) return;
		this.mode = mode;
		this.requestRender();
		this.controls.enabled = mode === 'orbit';
		if ( mode === 'walk' && this.portalScene ) {

			// streaming: the loaded cells' shipped BVHs; a whole file: one BVH built over it
			if ( ! this.collision ) this.collision = this.streaming ? this.streaming.collision : new Collision( this.portalScene.root );
			if ( ! this.walker ) this.walker = new CapsuleWalker( this.collision );
			let cell = this.portalScene.findCell( this.camera.position );
			if ( cell < 0 ) cell = 0;
			const b = this.portalScene.cells[ cell ].aabb;
			// in the room (its outline, not just its box: an L's notch is outside it), else inside it
			const inside = this.portalScene.distanceToCell( cell, this.camera.position ) === 0;
			const p = inside ? this.camera.position : this.portalScene.interiorPoint( cell, new Vector3() );
			this.walker.teleport( p.x, b.min.y + 0.05, p.z );
			this.yaw = Math.atan2( - ( this.controls.target.x - this.camera.position.x ), - ( this.controls.target.z - this.camera.position.z ) );
			this.pitch = 0;

		} else if ( mode === 'orbit' ) {

			if ( document.pointerLockElement === this.canvas ) document.exitPointerLock();
			_eye.set( - Math.sin( this.yaw ), 0, - Math.cos( this.yaw ) ).multiplyScalar( 2 ).add( this.camera.position );
			this.controls.target.copy( _eye );
			this.controls.update();

		}

	}

	/** Streaming: ask now for the cells the camera sees (and its cell's PVS), not at the next frame. */
	prefetch() {

		if ( ! this.streaming || ! this.culler ) return;
		this.camera.updateMatrixWorld();
		this.camera.matrixWorldInverse.copy( this.camera.matrixWorld ).invert();
		this.culler.cullCamera( this.camera );
		this.streaming.update( this.camera.position, this.culler.visible );

	}

	/** Place the camera (eye point) looking along `yaw` (radians, 0 = -z); switches to a fixed look. */
	setCamera( x, y, z, yaw = 0 ) {

		this.yaw = yaw;
		this.pitch = 0;
		if ( this.mode === 'walk' && this.walker ) this.walker.teleport( x, y - this.walker.eyeHeight, z );
		this.camera.position.set( x, y, z );
		this.camera.rotation.set( 0, yaw, 0 );
		if ( this.mode === 'orbit' ) {

			this.controls.target.set( x - Math.sin( yaw ) * 0.01, y, z - Math.cos( yaw ) * 0.01 );
			this.controls.update();

		}
		this.camera.updateMatrixWorld( true );
		this.requestRender();

	}

	_bindInput() {

		const canvas = this.canvas;
		this._onKey = ( e ) => {

			if ( e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement ) return;
			if ( e.type === 'keydown' ) this.keys.add( e.code ); else this.keys.delete( e.code );
			if ( this.mode === 'walk' ) this.requestRender();

		};
		this._onMouse = ( e ) => {

			if ( this.mode !== 'walk' || document.pointerLockElement !== canvas ) return;
			this.yaw -= e.movementX * 0.0025;
			this.pitch = Math.max( - 1.5, Math.min( 1.5, this.pitch - e.movementY * 0.0025 ) );
			this.requestRender();

		};
		this._onClick = () => {

			if ( this.mode === 'walk' && canvas.requestPointerLock ) canvas.requestPointerLock();

		};
		window.addEventListener( 'keydown', this._onKey );
		window.addEventListener( 'keyup', this._onKey );
		window.addEventListener( 'mousemove', this._onMouse );
		canvas.addEventListener( 'click', this._onClick );
		// a canvas of another size (the window, the panels beside it) is drawn again at that size
		this._resized = new ResizeObserver( this.redraw );
		this._resized.observe( canvas );

	}

	/** The left viewport's width in CSS pixels (the whole canvas outside compare mode). */
	get splitX() {

		const w = this.canvas.clientWidth;
		return this.compare ? Math.floor( w / 2 ) : w;

	}

	_resize() {

		const w = this.canvas.clientWidth, h = this.canvas.clientHeight;
		if ( w <= 0 || h <= 0 ) return;
		const size = this.renderer.getSize( _eye );
		if ( size.x !== w || size.y !== h ) this.renderer.setSize( w, h, false );
		// both halves share the camera: its aspect is the left half's (the right one differs by a pixel at most)
		const aspect = this.splitX / h;
		if ( this.camera.aspect !== aspect ) {

			this.camera.aspect = aspect;
			this.camera.updateProjectionMatrix();

		}

	}

	/** @param {boolean} continued the previous frame asked for this one (else the time since it was idle, not walked) */
	_frame( continued = false ) {

		this.framesDrawn ++;
		const now = performance.now();
		const dt = continued ? Math.min( 0.1, ( now - this._last ) / 1000 ) : 0;
		this._last = now;
		this._resize();
		if ( this.mode === 'walk' && this.walker ) {

			const f = ( this.keys.has( 'KeyW' ) || this.keys.has( 'ArrowUp' ) ? 1 : 0 ) - ( this.keys.has( 'KeyS' ) || this.keys.has( 'ArrowDown' ) ? 1 : 0 );
			const r = ( this.keys.has( 'KeyD' ) || this.keys.has( 'ArrowRight' ) ? 1 : 0 ) - ( this.keys.has( 'KeyA' ) || this.keys.has( 'ArrowLeft' ) ? 1 : 0 );
			const speed = this.keys.has( 'ShiftLeft' ) ? 6 : 3;
			_walk.set( - Math.sin( this.yaw ) * f + Math.cos( this.yaw ) * r, 0, - Math.cos( this.yaw ) * f - Math.sin( this.yaw ) * r );
			if ( _walk.lengthSq() > 0 ) _walk.normalize().multiplyScalar( speed );
			// streaming: the walker waits (no gravity, no move) until the cell it stands in has arrived
			const stream = this.streaming;
			if ( ! stream || stream.readyAt( this.walker.position ) ) {

				this.walker.update( dt, _walk, this.keys.has( 'Space' ) );

			}
			this.walker.getEye( this.camera.position );
			this.camera.rotation.set( this.pitch, this.yaw, 0 );

		} else if ( this.controls ) {

			this.controls.update();
			this.yaw = Math.atan2( - ( this.controls.target.x - this.camera.position.x ), - ( this.controls.target.z - this.camera.position.z ) );

		}
		this.camera.updateMatrixWorld();
		this.camera.matrixWorldInverse.copy( this.camera.matrixWorld ).invert();

		const s = this.portalScene;
		if ( s && this.culler ) {

			this.culler.cullCamera( this.camera );
			this.stats.cullMs = this.culler.stats.timeMs;
			this.stats.cameraCell = this.culler.stats.cameraCell >= 0 ? s.cells[ this.culler.stats.cameraCell ].id : null;
			if ( this.culling ) {

				s.applyVisibility( this.culler.visible );
				this.stats.cellsDrawn = this.culler.stats.cellsVisible;

			} else {

				s.showAll();
				this.stats.cellsDrawn = s.cells.length;

			}

		}
		const stream = this.streaming;
		if ( s && stream && this.culler ) stream.update( this.camera.position, this.culler.visible );
		const renderer = this.renderer;
		renderer.info.reset();
		if ( this.compare ) {

			// two viewports, one camera: the primary scene left, the second one right
			const h = this.canvas.clientHeight, x = this.splitX;
			renderer.setScissorTest( true );
			renderer.setViewport( 0, 0, x, h );
			renderer.setScissor( 0, 0, x, h );
			renderer.render( this.scene, this.camera );

		} else {

			renderer.render( this.scene, this.camera );

		}
		// the stats count the primary scene's draws
		const info = renderer.info.render;
		this.stats.drawCalls = info.calls ?? info.drawCalls ?? 0;
		this.stats.triangles = info.triangles ?? 0;
		if ( this.compare ) {

			const w = this.canvas.clientWidth, h = this.canvas.clientHeight, x = this.splitX;
			this.second.cull( this.camera, this.culling );
			renderer.setViewport( x, 0, w - x, h );
			renderer.setScissor( x, 0, w - x, h );
			renderer.render( this.second.scene, this.camera );
			this.second.checkFirstFrame();
			renderer.setScissorTest( false );
			renderer.setViewport( 0, 0, w, h );

		}
		if ( s && ! this.firstFrame && ( ! stream || ( this.culler && stream.hasCells( this.culler.visible ) ) ) ) {

			this.firstFrame = { ms: performance.now() - this.openedAt, bytes: stream ? stream.bytesReceived : NaN };

		}
		this.stats.frameMs = this.stats.frameMs * 0.9 + ( performance.now() - now ) * 0.1;
		this.onFrame( this );

	}

	dispose() {

		this.clearScene();
		this.second.clear();
		window.removeEventListener( 'keydown', this._onKey );
		window.removeEventListener( 'keyup', this._onKey );
		window.removeEventListener( 'mousemove', this._onMouse );
		this.canvas.removeEventListener( 'click', this._onClick );
		if ( this._resized ) this._resized.disconnect();
		if ( this.controls ) this.controls.dispose();
		cancelAnimationFrame( this._scheduled );
		this._scheduled = 0;
		if ( this.renderer ) this.renderer.dispose();
		this.renderer = null;

	}

}

/** The right half of compare mode: its own scene graph, culler, stream and overlay; the viewer's camera. */
class SecondPane {

	/** @param {() => void} redraw called when a streamed cell of this half arrives or is evicted (the viewer draws again) */
	constructor( redraw ) {

		this.redraw = redraw;
		this.scene = litScene();
		/** @type {import('sceneforge').PortalScene|null} */
		this.portalScene = null;
		/** @type {import('sceneforge').StreamingScene|null} */
		this.streaming = null;
		this.culler = null;
		this.overlay = null;
		/** When the scene was asked for, and its first complete frame (every visible cell drawn). */
		this.openedAt = 0;
		/** @type {{ms: number, bytes: number}|null} */
		this.firstFrame = null;
		this.cellsDrawn = 0;

	}

	set( portalScene, streaming, overlayVisible ) {

		this.portalScene = portalScene;
		this.streaming = streaming;
		if ( streaming ) {

			streaming.addEventListener( 'cell', this.redraw );
			streaming.addEventListener( 'evict', this.redraw );

		}
		this.firstFrame = null;
		this.scene.add( portalScene.root );
		this.culler = new PortalCuller( portalScene );
		this.overlay = buildOverlay( portalScene );
		this.overlay.visible = overlayVisible;
		this.scene.add( this.overlay );

	}

	/** Cull for `camera`, show what it sees (everything with culling off), ask the stream for what is missing. */
	cull( camera, culling ) {

		const s = this.portalScene;
		if ( ! s || ! this.culler ) return;
		this.culler.cullCamera( camera );
		if ( culling ) {

			s.applyVisibility( this.culler.visible );
			this.cellsDrawn = this.culler.stats.cellsVisible;

		} else {

			s.showAll();
			this.cellsDrawn = s.cells.length;

		}
		if ( this.streaming ) this.streaming.update( camera.position, this.culler.visible );

	}

	checkFirstFrame() {

		const stream = this.streaming;
		if ( ! this.portalScene || this.firstFrame || ( stream && ! stream.hasCells( this.culler.visible ) ) ) return;
		this.firstFrame = { ms: performance.now() - this.openedAt, bytes: stream ? stream.bytesReceived : NaN };

	}

	clear() {

		releaseShown( this );
		this.streaming = null;
		this.portalScene = null;
		this.culler = null;
		this.overlay = null;
		this.firstFrame = null;
		this.cellsDrawn = 0;

	}

}

/** A scene graph with the view's background and lights. */
function litScene() {

	const scene = new Scene();
	scene.background = new Color( 0x11151c );
	scene.add( new HemisphereLight( 0xdde6ff, 0x3a3026, 1.6 ) );
	const sun = new DirectionalLight( 0xffffff, 1.4 );
	sun.position.set( 5, 12, 7 );
	scene.add( sun );
	return scene;

}

/**
 * Cell boxes and portal quads as line segments (two draw calls), not pickable.
 * @param {import('sceneforge').PortalScene} s
 */
function buildOverlay( s ) {

	const boxes = [];
	for ( const c of s.cells ) {

		const a = c.aabb.min, b = c.aabb.max;
		const v = [ [ a.x, a.y, a.z ], [ b.x, a.y, a.z ], [ b.x, a.y, b.z ], [ a.x, a.y, b.z ], [ a.x, b.y, a.z ], [ b.x, b.y, a.z ], [ b.x, b.y, b.z ], [ a.x, b.y, b.z ] ];
		for ( const [ i, j ] of [ [ 0, 1 ], [ 1, 2 ], [ 2, 3 ], [ 3, 0 ], [ 4, 5 ], [ 5, 6 ], [ 6, 7 ], [ 7, 4 ], [ 0, 4 ], [ 1, 5 ], [ 2, 6 ], [ 3, 7 ] ] ) boxes.push( ...v[ i ], ...v[ j ] );

	}
	const quads = [];
	for ( const p of s.portals ) {

		for ( let i = 0; i < 4; i ++ ) {

			const a = p.quad[ i ], b = p.quad[ ( i + 1 ) % 4 ];
			quads.push( a.x, a.y, a.z, b.x, b.y, b.z );

		}
		quads.push( p.quad[ 0 ].x, p.quad[ 0 ].y, p.quad[ 0 ].z, p.quad[ 2 ].x, p.quad[ 2 ].y, p.quad[ 2 ].z );

	}
	const group = new LineSegments( geometry( boxes ), new LineBasicMaterial( { color: 0x5c6b80, transparent: true, opacity: 0.5, depthTest: false } ) );
	group.add( new LineSegments( geometry( quads ), new LineBasicMaterial( { color: 0x4fd1a5, depthTest: false } ) ) );
	group.renderOrder = 10;
	group.raycast = () => {};
	return group;

}

function geometry( values ) {

	const g = new BufferGeometry();
	g.setAttribute( 'position', new Float32BufferAttribute( values, 3 ) );
	return g;

}
