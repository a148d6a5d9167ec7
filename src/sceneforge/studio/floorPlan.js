/**
 * Top view of a PortalScene on a 2D canvas: cells (x/z of their AABBs), portals, the
 * camera, and the selected cell's PVS highlighted. Clicking picks a cell. The cells a revision
 * changed (`highlight`) are outlined over everything else, and ringed when they are drawn too small to see.
 */

/** A changed cell drawn smaller than this (px, either way) gets a ring of this radius around it. */
const MARK_PX = 10;

export class FloorPlan {

	/**
	 * @param {HTMLCanvasElement} canvas
	 * @param {(cellIndex: number) => void} onPick
	 */
	constructor( canvas, onPick ) {

		this.canvas = canvas;
		this.ctx = canvas.getContext( '2d' );
		/** @type {import('sceneforge').PortalScene|null} */
		this.scene = null;
		this.selected = - 1;
		/** @type {Uint8Array|null} */
		this.visible = null;
		this.camera = null;
		/** Cell ids outlined as just changed (an assistant's revision). */
		this.highlighted = new Set();
		this._view = { scale: 1, ox: 0, oz: 0 };
		/** Calls of `update` and plans drawn (the test hook reads them). */
		this.updates = 0;
		this.draws = 0;
		/** What the plan on the canvas shows: `{camera, visible (a copy), width, height}`. */
		this._drawn = null;
		this._onClick = ( e ) => {

			if ( ! this.scene ) return;
			const r = canvas.getBoundingClientRect();
			const p = this._toWorld( e.clientX - r.left, e.clientY - r.top );
			let best = - 1, bestArea = Infinity;
			for ( const c of this.scene.cells ) {

				const b = c.aabb;
				// a room with an outline holds the points of its box within it (an L's notch is not the L)
				const inPlan = ! c.floor || this.scene.distanceToCell( c.index, { x: p.x, y: b.min.y, z: p.z } ) === 0;
				if ( inPlan && p.x >= b.min.x && p.x <= b.max.x && p.z >= b.min.z && p.z <= b.max.z ) {

					const area = ( b.max.x - b.min.x ) * ( b.max.z - b.min.z );
					if ( area < bestArea ) {

						bestArea = area;
						best = c.index;

					}

				}

			}
			this.selected = best;
			onPick( best );
			this.draw();

		};
		canvas.addEventListener( 'click', this._onClick );

	}

	/**
	 * The cell's plan as the current path: its outline (`floor`) when it has one, else its box
	 * drawn `inset` pixels inside its edges.
	 */
	_cellPath( ctx, c, inset ) {

		const { scale, ox, oz } = this._view;
		ctx.beginPath();
		if ( c.floor ) {

			for ( let k = 0; k < c.floor.length; k += 2 ) ctx.lineTo( ox + scale * c.floor[ k ], oz + scale * c.floor[ k + 1 ] );
			ctx.closePath();
			return;

		}
		const b = c.aabb;
		ctx.rect( ox + scale * b.min.x + inset, oz + scale * b.min.z + inset, scale * ( b.max.x - b.min.x ) - 2 * inset, scale * ( b.max.z - b.min.z ) - 2 * inset );

	}

	setScene( scene ) {

		this.scene = scene;
		this.selected = - 1;
		this.draw();

	}

	/** Outline the cells with these ids as changed (an empty list clears it). */
	highlight( cellIds ) {

		this.highlighted = new Set( cellIds );
		this.draw();

	}

	/**
	 * @param {Uint8Array|null} visible cells drawn this frame
	 * @param {{x: number, z: number, yaw: number}|null} camera
	 */
	update( visible, camera ) {

		this.updates ++;
		// called ten times a second: with the same camera, cells and canvas size the plan is as drawn
		const c = this._drawn;
		const same = c && camera && c.camera && c.camera.x === camera.x && c.camera.z === camera.z && c.camera.yaw === camera.yaw &&
			c.width === this.canvas.clientWidth && c.height === this.canvas.clientHeight && sameCells( c.visible, visible );
		this.visible = visible;
		this.camera = camera;
		if ( ! same ) this.draw();

	}

	_fit() {

		const { canvas, scene } = this;
		const dpr = window.devicePixelRatio || 1;
		const w = canvas.clientWidth, h = canvas.clientHeight;
		if ( canvas.width !== Math.round( w * dpr ) || canvas.height !== Math.round( h * dpr ) ) {

			canvas.width = Math.round( w * dpr );
			canvas.height = Math.round( h * dpr );

		}
		let x0 = Infinity, z0 = Infinity, x1 = - Infinity, z1 = - Infinity;
		for ( const c of scene.cells ) {

			x0 = Math.min( x0, c.aabb.min.x ); z0 = Math.min( z0, c.aabb.min.z );
			x1 = Math.max( x1, c.aabb.max.x ); z1 = Math.max( z1, c.aabb.max.z );

		}
		const pad = 10;
		const scale = Math.min( ( w - 2 * pad ) / Math.max( x1 - x0, 1e-3 ), ( h - 2 * pad ) / Math.max( z1 - z0, 1e-3 ) );
		this._view = { scale, ox: pad + ( w - 2 * pad - scale * ( x1 - x0 ) ) / 2 - scale * x0, oz: pad + ( h - 2 * pad - scale * ( z1 - z0 ) ) / 2 - scale * z0, dpr };

	}

	_toWorld( px, py ) {

		const v = this._view;
		return { x: ( px - v.ox ) / v.scale, z: ( py - v.oz ) / v.scale };

	}

	draw() {

		const { ctx, scene, canvas } = this;
		this.draws ++;
		this._drawn = { camera: this.camera && { ...this.camera }, visible: this.visible && this.visible.slice(), width: canvas.clientWidth, height: canvas.clientHeight };
		if ( ! scene || ! scene.cells.length ) {

			ctx.clearRect( 0, 0, canvas.width, canvas.height );
			return;

		}
		this._fit();
		const { scale, ox, oz, dpr } = this._view;
		ctx.setTransform( dpr, 0, 0, dpr, 0, 0 );
		ctx.clearRect( 0, 0, canvas.clientWidth, canvas.clientHeight );
		const css = getComputedStyle( canvas );
		const color = ( name, fallback ) => css.getPropertyValue( name ).trim() || fallback;
		const pvs = this.selected >= 0 ? scene.cells[ this.selected ].pvs : null;
		for ( const c of scene.cells ) {

			let fill = color( '--plan-cell', '#1d2430' );
			if ( this.visible && this.visible[ c.index ] ) fill = color( '--plan-drawn', '#23465f' );
			if ( pvs && pvs[ c.index ] ) fill = color( '--plan-pvs', '#6b5a1e' );
			if ( c.index === this.selected ) fill = color( '--plan-selected', '#b8892b' );
			ctx.fillStyle = fill;
			this._cellPath( ctx, c, 0 );
			ctx.fill();
			ctx.strokeStyle = color( '--plan-wall', '#5c6b80' );
			ctx.lineWidth = 1;
			this._cellPath( ctx, c, 0.5 );
			ctx.stroke();

		}
		ctx.strokeStyle = color( '--plan-portal', '#4fd1a5' );
		ctx.lineWidth = 3;
		for ( const p of scene.portals ) {

			let x0 = Infinity, z0 = Infinity, x1 = - Infinity, z1 = - Infinity;
			for ( const v of p.quad ) {

				x0 = Math.min( x0, v.x ); x1 = Math.max( x1, v.x ); z0 = Math.min( z0, v.z ); z1 = Math.max( z1, v.z );

			}
			ctx.beginPath();
			ctx.moveTo( ox + scale * x0, oz + scale * z0 );
			ctx.lineTo( ox + scale * x1, oz + scale * z1 );
			ctx.stroke();

		}
		// the changed cells last, over the portals; one drawn smaller than MARK_PX either way (a long level
		// fitted in the panel: 1,000 rooms along 440 m are 2–3 px each) is ringed too, so it can be found
		ctx.strokeStyle = color( '--plan-changed', '#ff9f1c' );
		ctx.lineWidth = 3;
		for ( const c of scene.cells ) {

			if ( ! this.highlighted.has( c.id ) ) continue;
			this._cellPath( ctx, c, 1.5 );
			ctx.stroke();
			const b = c.aabb;
			if ( Math.max( scale * ( b.max.x - b.min.x ), scale * ( b.max.z - b.min.z ) ) >= MARK_PX ) continue;
			ctx.beginPath();
			ctx.arc( ox + scale * ( b.min.x + b.max.x ) / 2, oz + scale * ( b.min.z + b.max.z ) / 2, MARK_PX, 0, 2 * Math.PI );
			ctx.stroke();

		}
		if ( this.camera ) {

			const cx = ox + scale * this.camera.x, cy = oz + scale * this.camera.z;
			const dx = - Math.sin( this.camera.yaw ), dz = - Math.cos( this.camera.yaw );
			ctx.fillStyle = color( '--plan-camera', '#ff6b6b' );
			ctx.beginPath();
			ctx.moveTo( cx + dx * 9, cy + dz * 9 );
			ctx.lineTo( cx - dz * 5 - dx * 4, cy + dx * 5 - dz * 4 );
			ctx.lineTo( cx + dz * 5 - dx * 4, cy - dx * 5 - dz * 4 );
			ctx.closePath();
			ctx.fill();

		}

	}

	dispose() {

		this.canvas.removeEventListener( 'click', this._onClick );
		this.scene = null;

	}

}

function sameCells( a, b ) {

	if ( a === b ) return true;
	if ( ! a || ! b || a.length !== b.length ) return false;
	for ( let i = 0; i < a.length; i ++ ) if ( a[ i ] !== b[ i ] ) return false;
	return true;

}
