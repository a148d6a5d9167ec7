import { Box3, Line3, Vector3 } from 'three';

/**
 * A first-person capsule that walks over a `Collision` world: gravity, stepping up
 * small ledges (door sills, stairs), sliding along walls.
 *
 * Each substep moves the capsule, then pushes its segment out of every triangle closer
 * than the radius (a BVH shapecast with `ExtendedTriangle.closestPointToSegment`, as in
 * three-mesh-bvh's characterMovement example). The push-out direction decides the
 * rest: pushed up means standing on ground; pushed otherwise takes the fall's (or jump's)
 * speed into the surface off. The walk is the input's again every substep, so the push-out
 * alone slides the capsule along a wall. A blocked move
 * on the ground is retried from up to `stepHeight` higher (the lowest clear lift).
 *
 * Substeps are at most `maxSubstep` seconds, so at walking speeds a move is a few
 * centimetres, and at most half the radius: a capsule moved onto or past a wall's face finds no
 * triangle pushing it back (it is inside the wall) and would pass through, so a thin capsule, a
 * fast walk or a fast fall takes more substeps (at most MAX_SUBSTEPS an update). A move faster
 * than that resolves (at most `radius / 2 × MAX_SUBSTEPS` metres a frame, 614.4 m at the default
 * radius) is clamped to it, in its direction, rather than pass through walls.
 */

/** Most substeps one update takes; a faster move is clamped to REACH radii a substep. */
const MAX_SUBSTEPS = 4096;

/**
 * Longest substep move, in radii. A move of a whole radius from rest against a wall puts the axis
 * on its face, where the face pushes nowhere and the far face of a thin wall pushes it through.
 */
const REACH = 0.5;

/** Steepest standing surface: cos 60°, the push's vertical share. */
const WALKABLE = 0.5;

/**
 * A face whose normal's vertical share is under this (within ~6° of vertical) is a wall: its push is
 * horizontal. Met deep (a fast walk's substep ends 0.15 m into it) the closest point of the face's
 * other triangle is on their shared diagonal edge, and the push from that edge, up the wall, lifted a
 * walk of 30 m/s into a room's corner 0.16 m.
 */
const WALL = 0.1;

const _segment = new Line3();
const _box = new Box3();
const _triPoint = new Vector3();
const _capPoint = new Vector3();
const _push = new Vector3();
const _dir = new Vector3();
const _start = new Vector3();
const _moved = new Vector3();
const _delta = new Vector3();
const _lifted = new Vector3();
const _probe = new Vector3();
const _ab = new Vector3();
const _ac = new Vector3();
const _cross = new Vector3();
const _walk = new Vector3();
/** The upward push of walkable surfaces in the last `_resolve` (m). */
const _ground = { value: 0 };

/**
 * Scale `v` down to length `max` when it is longer (in place; components beyond a double's
 * square root do not overflow to Infinity, which would scale them to 0 or NaN).
 * @param {Vector3} v
 * @param {number} max
 * @returns {Vector3}
 */
function clampLength( v, max ) {

	const m = Math.max( Math.abs( v.x ), Math.abs( v.y ), Math.abs( v.z ) );
	if ( ! ( m > 0 ) ) return v;
	const scaled = Math.hypot( v.x / m, v.y / m, v.z / m ); // the length over m
	if ( m * scaled > max ) {

		const k = max / scaled;
		v.set( ( v.x / m ) * k, ( v.y / m ) * k, ( v.z / m ) * k );

	}
	return v;

}

export class CapsuleWalker {

	/**
	 * @param {import('./Collision.js').Collision} collision
	 * @param {Object} [options]
	 * @param {number} [options.radius=0.3] capsule radius (m)
	 * @param {number} [options.height=1.7] capsule height, feet to top of head (m)
	 * @param {number} [options.eyeHeight=1.6] eye above the feet (m)
	 * @param {number} [options.stepHeight=0.35] highest ledge climbed without jumping (m)
	 * @param {number} [options.gravity=-20] m/s²
	 * @param {number} [options.jumpSpeed=5] m/s
	 * @param {number} [options.maxSubstep=1/120] longest simulated substep (s)
	 * @param {number} [options.maxFrame=0.25] longest time one `update` simulates (s): a longer `dt`
	 *   (the first frame after a hidden tab, a clock that jumped, Infinity) advances this much
	 */
	constructor( collision, options = {} ) {

		const {
			radius = 0.3, height = 1.7, eyeHeight = 1.6, stepHeight = 0.35,
			gravity = - 20, jumpSpeed = 5, maxSubstep = 1 / 120, maxFrame = 0.25,
		} = options;
		if ( ! collision || ! collision.bvh ) throw new Error( 'CapsuleWalker: needs a Collision world' );
		if ( ! ( radius > 0 ) ) throw new Error( 'CapsuleWalker: radius must be positive' );
		if ( ! ( height >= 2 * radius ) ) throw new Error( 'CapsuleWalker: height must be at least twice the radius' );
		if ( ! ( stepHeight >= 0 && stepHeight < height ) ) throw new Error( 'CapsuleWalker: stepHeight must lie in [0, height)' );
		if ( ! ( maxSubstep > 0 ) ) throw new Error( 'CapsuleWalker: maxSubstep must be positive' );
		if ( ! ( maxFrame > 0 ) ) throw new Error( 'CapsuleWalker: maxFrame must be positive' );
		// a NaN gravity froze the walker (no substeps), an infinite one dropped it through every floor
		for ( const [ name, value ] of Object.entries( { gravity, jumpSpeed, eyeHeight } ) ) {

			if ( ! Number.isFinite( value ) ) throw new Error( `CapsuleWalker: ${ name } must be a finite number, got ${ value }` );

		}

		this.collision = collision;
		this.radius = radius;
		this.height = height;
		this.eyeHeight = eyeHeight;
		this.stepHeight = stepHeight;
		this.gravity = gravity;
		this.jumpSpeed = jumpSpeed;
		this.maxSubstep = maxSubstep;
		this.maxFrame = maxFrame;

		/** Feet position (bottom of the capsule), world space. */
		this.position = new Vector3();
		/** Current velocity; x/z are replaced by the walk input on every update. */
		this.velocity = new Vector3();
		/** True when the last substep ended standing on something. */
		this.onGround = false;
		/** Feet height on the last floor stood on (not counting step-ups). */
		this._groundY = - Infinity;

	}

	/**
	 * Place the feet at a point and stop.
	 * @param {number} x
	 * @param {number} y
	 * @param {number} z
	 * @returns {this}
	 */
	teleport( x, y, z ) {

		// a NaN position stayed NaN for ever (every update moved nothing), an infinite one below every floor
		if ( ! ( Number.isFinite( x ) && Number.isFinite( y ) && Number.isFinite( z ) ) ) throw new Error( `CapsuleWalker: teleport needs finite coordinates, got ${ x }, ${ y }, ${ z }` );
		this.position.set( x, y, z );
		this.velocity.set( 0, 0, 0 );
		this.onGround = false;
		this._groundY = - Infinity;
		return this;

	}

	/**
	 * The eye point.
	 * @param {Vector3} target
	 * @returns {Vector3}
	 */
	getEye( target ) {

		return target.copy( this.position ).setY( this.position.y + this.eyeHeight );

	}

	/**
	 * Advance the simulation (by at most `maxFrame`).
	 * @param {number} dt seconds
	 * @param {Vector3} walk desired horizontal velocity (m/s, world space; y ignored); x and z must be finite
	 * @param {boolean} [jump=false] jump when standing
	 */
	update( dt, walk, jump = false ) {

		// a walk of Infinity m/s put the feet at x = Infinity, below the floor
		if ( ! ( Number.isFinite( walk.x ) && Number.isFinite( walk.z ) ) ) throw new Error( `CapsuleWalker: walk must be a finite velocity, got ${ walk.x }, ${ walk.y }, ${ walk.z }` );
		if ( ! ( dt > 0 ) ) return;
		// a dt of minutes was as many thousand substeps (a page frozen for seconds), Infinity a loop
		// that never ended
		dt = Math.min( dt, this.maxFrame );
		// an upper bound of the speed over the frame: each substep moves at most half the radius
		const speed = Math.hypot( walk.x, walk.z ) + Math.abs( this.velocity.y ) + Math.abs( this.gravity ) * dt + ( jump ? Math.abs( this.jumpSpeed ) : 0 );
		const steps = Math.min( MAX_SUBSTEPS, Math.max( Math.ceil( dt / this.maxSubstep ), Math.ceil( speed * dt / ( REACH * this.radius ) ) ) );
		const h = dt / steps;
		// past MAX_SUBSTEPS a substep's move would be longer than the radius, and pass through walls
		// (1e300 m/s went 1.7e298 m in a frame): the walk is clamped to half the radius a substep
		clampLength( _walk.set( walk.x, 0, walk.z ), REACH * this.radius / h );
		walk = _walk;
		if ( jump && this.onGround ) {

			this.velocity.y = this.jumpSpeed;
			this.onGround = false;

		}
		for ( let i = 0; i < steps; i ++ ) this._substep( h, walk );

	}

	/**
	 * @param {number} h
	 * @param {Vector3} walk
	 */
	_substep( h, walk ) {

		const wasOnGround = this.onGround;
		this.velocity.x = walk.x;
		this.velocity.z = walk.z;
		this.velocity.y += this.gravity * h;
		// a fall faster than the walk's clamp leaves (a long fall, a huge gravity) too
		clampLength( this.velocity, REACH * this.radius / h );

		_start.copy( this.position );
		_moved.copy( this.position ).addScaledVector( this.velocity, h );
		this._resolve( _moved, _delta );
		const ground = _ground.value; // (the step-up's probes resolve again)

		const wanted = Math.hypot( walk.x, walk.z ) * h;
		const progress = Math.hypot( _moved.x - _start.x, _moved.z - _start.z );
		if ( wasOnGround && this.stepHeight > 0 && wanted > 0 && progress < 0.5 * wanted ) {

			// blocked: up by stepHeight, the same move, back down; kept when it gets further
			if ( this._stepUp( _start, walk, h ) ) {

				this.position.copy( _lifted );
				this.velocity.y = 0;
				this.onGround = true;
				return;

			}

		}

		this.position.copy( _moved );
		// standing: pushed up by more than a fraction of the fall, by a walkable surface
		// (a rounded bottom resting on a ledge's corner is pushed mostly sideways: not standing)
		// (by the pushes of walkable surfaces alone: the floor's, under a push from a wall that a fast walk
		// met deep, was less than half of the whole and the walker lost its footing against every wall)
		const pushed = _delta.length();
		this.onGround = ground > Math.abs( this.velocity.y * h * 0.25 ) + 1e-12 * ( 1 + Math.abs( this.position.y ) );
		if ( this.onGround ) {

			this.velocity.y = 0;
			this._groundY = this.position.y;

		} else if ( pushed > 0 ) {

			// slide: remove the fall's (or the jump's) speed into the surface that pushed back. The walk's
			// is not carried over (x and z are the walk's again next substep): projected on a push a hair
			// off the horizontal (a wall's face met with the floor's touch) it went into y, and a walk of
			// 3e4 m/s into a wall lifted the feet 1.3 m up it.
			const up = _delta.y / pushed;
			if ( up * this.velocity.y < 0 ) this.velocity.y *= 1 - up * up;

		}

	}

	/**
	 * The step-up move from `start`, left in `_lifted`: the lowest lift (in quarter-radius
	 * increments, up to stepHeight) at which the moved capsule touches nothing — so a low
	 * doorway lintel does not stop it — then down again in the same increments until the
	 * next one would touch something. Keeping the last clear height lets the rounded
	 * bottom rest above the ledge instead of being pushed back off its edge; gravity
	 * settles the rest on the next substep.
	 * @param {Vector3} start
	 * @param {Vector3} walk
	 * @param {number} h
	 * @returns {boolean} whether a clear lifted move was found
	 */
	_stepUp( start, walk, h ) {

		const increment = this.stepHeight / Math.max( 1, Math.ceil( this.stepHeight / ( 0.25 * this.radius ) ) );
		// steps are measured from the last floor stood on, so repeated steps cannot climb a wall
		const maxLift = Math.min( this.stepHeight, this._groundY + this.stepHeight - start.y );
		let lift = 0;
		let clear = false;
		while ( ! clear && lift + increment <= maxLift + 1e-9 ) {

			lift += increment;
			_lifted.set( start.x + walk.x * h, start.y + lift, start.z + walk.z * h );
			_probe.copy( _lifted );
			this._resolve( _probe, _push );
			clear = _push.lengthSq() === 0;

		}
		if ( ! clear ) {

			_lifted.copy( start );
			return false;

		}
		for ( let k = 0; k * increment < lift; k ++ ) {

			_probe.copy( _lifted );
			_probe.y -= increment;
			this._resolve( _probe, _push );
			if ( _push.lengthSq() > 0 ) break;
			_lifted.copy( _probe );

		}
		return true;

	}

	/**
	 * Push the capsule standing at `feet` out of the geometry; `feet` is updated in place
	 * and `delta` receives the total push.
	 * @param {Vector3} feet
	 * @param {Vector3} delta
	 */
	_resolve( feet, delta ) {

		const r = this.radius;
		_segment.start.set( feet.x, feet.y + r, feet.z );
		_segment.end.set( feet.x, feet.y + this.height - r, feet.z );
		_box.makeEmpty();
		_box.expandByPoint( _segment.start );
		_box.expandByPoint( _segment.end );
		_box.min.addScalar( - r );
		_box.max.addScalar( r );
		delta.set( 0, 0, 0 );
		_ground.value = 0;

		this.collision.bvh.shapecast( {
			intersectsBounds: ( box ) => box.intersectsBox( _box ),
			intersectsTriangle: ( tri ) => {

				// a triangle of no area (its corners on one point or one line) is drawn as nothing and
				// never hit by a ray: it is no obstacle either (it stopped the capsule as an invisible post)
				_ab.subVectors( tri.b, tri.a );
				_ac.subVectors( tri.c, tri.a );
				const area = _cross.crossVectors( _ab, _ac ).lengthSq();
				if ( area <= 1e-24 * _ab.lengthSq() * _ac.lengthSq() ) return false;
				const distance = tri.closestPointToSegment( _segment, _triPoint, _capPoint );
				if ( distance < r ) {

					const depth = r - distance;
					_dir.subVectors( _capPoint, _triPoint );
					if ( _dir.lengthSq() === 0 ) return false;
					_dir.normalize();
					// a wall pushes across, not up or down it: only from its top edge up (a sill's, a ledge's),
					// or from its foot down, is a push from an edge of one of its triangles not the face's
					const across = Math.hypot( _dir.x, _dir.z );
					if ( _cross.y * _cross.y < WALL * WALL * area && across > 0.01 && ( _dir.y > 0
						? _triPoint.y < Math.max( tri.a.y, tri.b.y, tri.c.y ) - 1e-6
						: _triPoint.y > Math.min( tri.a.y, tri.b.y, tri.c.y ) + 1e-6 ) ) _dir.set( _dir.x / across, 0, _dir.z / across );
					if ( _dir.y >= WALKABLE ) _ground.value += depth * _dir.y;
					_segment.start.addScaledVector( _dir, depth );
					_segment.end.addScaledVector( _dir, depth );
					delta.addScaledVector( _dir, depth );

				}
				return false;

			},
		} );

		feet.add( delta );

	}

	/** The walker holds no GPU resources; drops its world. */
	dispose() {

		this.collision = null;

	}

}
