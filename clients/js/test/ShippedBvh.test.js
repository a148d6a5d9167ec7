import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferAttribute, BufferGeometry, DoubleSide, Ray, Vector3 } from 'three';
import { MeshBVH } from 'three-mesh-bvh';
import { MeshoptDecoder } from 'three/examples/jsm/libs/meshopt_decoder.module.js';
import { decodeCell, parseIndex } from '../core/StreamIndex.js';
import { build } from './builds.js';

// Every cell's shipped BVH (SCENEFORGE_bvh, built by the Python encoder) answers 1,000 random
// rays exactly as a BVH three-mesh-bvh builds itself over the same triangles.

const LEVELS = [
	[ 'maze:40:5', [] ],
	[ 'office-small.json', [] ],
	[ 'maze:40:5', [ '--quantize' ] ],
	[ 'office-small.json', [ '--compress' ] ],
];
const RAYS = 1000;

function random( seed ) {

	let a = seed >>> 0;
	return () => {

		a = ( a + 0x6D2B79F5 ) >>> 0;
		let t = a;
		t = Math.imul( t ^ ( t >>> 15 ), t | 1 );
		t ^= t + Math.imul( t ^ ( t >>> 7 ), t | 61 );
		return ( ( t ^ ( t >>> 14 ) ) >>> 0 ) / 4294967296;

	};

}

function hitKey( hit, index ) {

	const f = hit.faceIndex;
	const tri = [ index[ 3 * f ], index[ 3 * f + 1 ], index[ 3 * f + 2 ] ].sort( ( x, y ) => x - y );
	return `${ hit.distance } ${ tri.join( ',' ) }`;

}

for ( const [ level, flags ] of LEVELS ) {

	test( `shipped BVH gives the same hits as a built one: ${ level } ${ flags.join( ' ' ) }`, async () => {

		await MeshoptDecoder.ready;
		const { glb } = build( level, flags );
		const index = parseIndex( glb );
		let cells = 0, hits = 0, rays = 0;
		index.cells.forEach( ( cell, i ) => {

			const [ id, start, length ] = cell;
			const { geometry, bvh } = decodeCell( index, i, glb.subarray( index.bin + start, index.bin + start + length ), MeshoptDecoder );
			if ( ! geometry ) return;
			assert.ok( bvh, `cell ${ id } ships a BVH` );
			cells += 1;
			const reference = new BufferGeometry();
			reference.setAttribute( 'position', geometry.attributes.position );
			reference.setIndex( new BufferAttribute( geometry.index.array.slice(), 1 ) );
			for ( const g of geometry.groups ) reference.addGroup( g.start, g.count, g.materialIndex );
			const built = new MeshBVH( reference );
			geometry.computeBoundingBox();
			const box = geometry.boundingBox;
			const size = box.getSize( new Vector3() );
			const rand = random( 1000 + i );
			const ray = new Ray();
			for ( let r = 0; r < RAYS; r ++ ) {

				// Origins in the cell's box grown by a tenth, directions uniform on the sphere.
				ray.origin.set(
					box.min.x + size.x * ( 1.2 * rand() - 0.1 ),
					box.min.y + size.y * ( 1.2 * rand() - 0.1 ),
					box.min.z + size.z * ( 1.2 * rand() - 0.1 ),
				);
				const z = 2 * rand() - 1, phi = 2 * Math.PI * rand(), s = Math.sqrt( 1 - z * z );
				ray.direction.set( s * Math.cos( phi ), z, s * Math.sin( phi ) );
				const shipped = bvh.raycast( ray, DoubleSide ).map( ( h ) => hitKey( h, geometry.index.array ) ).sort();
				const expected = built.raycast( ray, DoubleSide ).map( ( h ) => hitKey( h, reference.index.array ) ).sort();
				assert.deepEqual( shipped, expected, `cell ${ id } ray ${ r }` );
				const first = bvh.raycastFirst( ray, DoubleSide ), firstBuilt = built.raycastFirst( ray, DoubleSide );
				assert.equal( first ? first.distance : null, firstBuilt ? firstBuilt.distance : null );
				hits += shipped.length;
				rays += 1;

			}

		} );
		assert.ok( cells > 10, `${ cells } cells with geometry` );
		assert.ok( hits > rays, `${ hits } hits for ${ rays } rays: the rays meet the walls` );

	} );

}
