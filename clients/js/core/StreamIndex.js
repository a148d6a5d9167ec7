import {
	BufferAttribute, BufferGeometry, Color, InterleavedBuffer, InterleavedBufferAttribute, LinearSRGBColorSpace,
	MeshStandardMaterial, DoubleSide,
} from 'three';
import { MeshBVH } from 'three-mesh-bvh';
import { quadPlane } from './PortalScene.js';

/**
 * The streaming index of a sceneforge GLB (docs/streaming.md) and the decoding of one cell
 * from its byte range: positions, normals, UVs and indices (plain, KHR_mesh_quantization,
 * EXT_meshopt_compression) into one BufferGeometry per cell with a group per primitive, and
 * the cell's shipped BVH (`SCENEFORGE_bvh`) handed to three-mesh-bvh's `MeshBVH.deserialize`:
 * nothing is built on the client.
 *
 * Pure: no network, no renderer; runs in node.
 */

const GLB_MAGIC = 0x46546C67;
const JSON_CHUNK = 0x4E4F534A;
const textDecoder = new TextDecoder();
/** The JSON chunk starts with these characters, then `end` right-aligned in WIDTH characters. */
export const INDEX_PREFIX = '{"extras":{"sceneforgeIndex":{"end":';
const WIDTH = 12;
const INDEX_START = 20 + INDEX_PREFIX.length - '{"end":'.length;
/** The first bytes that always hold `end` (and tell a file without an index). */
export const INDEX_PROBE_BYTES = 20 + INDEX_PREFIX.length + WIDTH;
export const INDEX_VERSION = 1;

/**
 * Where the index ends, from the file's first bytes: a file offset, or -1 when the file has no
 * streaming index (an older build). Throws for bytes that are not a GLB.
 * @param {Uint8Array} head at least INDEX_PROBE_BYTES bytes (fewer only for a shorter file)
 * @returns {number}
 */
export function indexEnd( head ) {

	if ( head.byteLength < 20 ) throw new Error( `StreamIndex: ${ head.byteLength } bytes are no GLB header` );
	const view = new DataView( head.buffer, head.byteOffset, head.byteLength );
	if ( view.getUint32( 0, true ) !== GLB_MAGIC ) throw new Error( 'StreamIndex: not a GLB (bad magic)' );
	if ( view.getUint32( 16, true ) !== JSON_CHUNK ) throw new Error( 'StreamIndex: the first GLB chunk is not JSON' );
	if ( head.byteLength < INDEX_PROBE_BYTES ) return - 1;
	const text = textDecoder.decode( head.subarray( 20, INDEX_PROBE_BYTES ) );
	if ( ! text.startsWith( INDEX_PREFIX ) ) return - 1;
	const end = Number( text.slice( INDEX_PREFIX.length ).trim() );
	if ( ! Number.isInteger( end ) || end <= INDEX_PROBE_BYTES ) throw new Error( `StreamIndex: bad index end "${ text.slice( INDEX_PREFIX.length ) }"` );
	return end;

}

/**
 * A streaming index of a version this reader does not know (a file from a newer build): readers
 * load such a file whole, as one without an index (docs/streaming.md).
 */
export class UnknownIndexVersion extends Error {}

/**
 * The streaming index, parsed from the file's first `indexEnd(head)` bytes.
 * @param {Uint8Array} head
 * @returns {Object} `{end, bin, version, cells, portals, pvs?, quantized?, compressed?, materials, ...}`
 */
export function parseIndex( head ) {

	const end = indexEnd( head );
	if ( end < 0 ) throw new Error( 'StreamIndex: the file has no streaming index' );
	if ( head.byteLength < end ) throw new Error( `StreamIndex: the index needs ${ end } bytes, got ${ head.byteLength }` );
	const index = JSON.parse( textDecoder.decode( head.subarray( INDEX_START, end ) ) );
	if ( index.version !== INDEX_VERSION ) throw new UnknownIndexVersion( `StreamIndex: index version ${ index.version } is not ${ INDEX_VERSION }` );
	checkIndex( index );
	return index;

}

const isCount = ( v ) => Number.isSafeInteger( v ) && v >= 0;
const isNumbers = ( v, n ) => Array.isArray( v ) && v.length === n && v.every( Number.isFinite );

/**
 * Throw, naming the member, for an index whose members are not of the shape docs/streaming.md
 * gives: a cell whose length is no byte count was never asked for (and `readyAt` never true), a
 * box of strings held no camera, a portal to a cell past the list named `undefined`.
 * @param {Object} index
 */
function checkIndex( index ) {

	const bad = ( where, what ) => {

		throw new Error( `StreamIndex: bad index: ${ where } is ${ JSON.stringify( what ) ?? what }` );

	};
	if ( ! isCount( index.end ) || ! isCount( index.bin ) || index.bin < index.end ) bad( 'bin', index.bin );
	if ( ! Array.isArray( index.cells ) ) bad( 'cells', index.cells );
	if ( ! Array.isArray( index.portals ) ) bad( 'portals', index.portals );
	if ( index.quantized !== undefined && ! ( isNumbers( index.quantized, 4 ) && index.quantized[ 3 ] > 0 ) ) bad( 'quantized', index.quantized );
	if ( index.materials !== undefined && ! Array.isArray( index.materials ) ) bad( 'materials', index.materials );
	( index.materials || [] ).forEach( ( m, k ) => {

		if ( ! m || typeof m !== 'object' || Array.isArray( m ) ) bad( `materials[${ k }]`, m );

	} );
	const n = index.cells.length;
	index.cells.forEach( ( c, i ) => {

		if ( ! Array.isArray( c ) || c.length < 7 ) bad( `cells[${ i }]`, c );
		if ( typeof c[ 0 ] !== 'string' ) bad( `cells[${ i }][0] (its id)`, c[ 0 ] );
		if ( ! isCount( c[ 1 ] ) ) bad( `cells[${ i }][1] (its offset)`, c[ 1 ] );
		if ( ! isCount( c[ 2 ] ) ) bad( `cells[${ i }][2] (its length)`, c[ 2 ] );
		if ( ! isNumbers( c[ 3 ], 6 ) ) bad( `cells[${ i }][3] (its aabb)`, c[ 3 ] );
		for ( let k = 4; k < 7; k ++ ) if ( ! Array.isArray( c[ k ] ) ) bad( `cells[${ i }][${ k }]`, c[ k ] );

	} );
	const isCell = ( v ) => Number.isInteger( v ) && v >= 0 && v < n;
	index.portals.forEach( ( p, i ) => {

		if ( ! Array.isArray( p ) || p.length < 14 ) bad( `portals[${ i }]`, p );
		if ( ! isCell( p[ 0 ] ) || ! isCell( p[ 1 ] ) ) bad( `portals[${ i }] (cells ${ p[ 0 ] }, ${ p[ 1 ] } of ${ n })`, p.slice( 0, 2 ) );
		if ( ! isNumbers( p.slice( 2, 14 ), 12 ) ) bad( `portals[${ i }] (its quad)`, p.slice( 2, 14 ) );

	} );
	for ( const [ k, row ] of ( index.floors || [] ).entries() ) if ( ! Array.isArray( row ) || ! isCell( row[ 0 ] ) || ! row.every( Number.isFinite ) ) bad( `floors[${ k }]`, row );

}

/**
 * Throw for an index said (by its header, `indexEnd`) to end at byte `end`, past the file's `size`
 * bytes: checked before the rest of the index is asked for.
 * @param {number} end
 * @param {number} size the file's size
 */
export function checkEnd( end, size ) {

	if ( end > size ) throw new Error( `StreamIndex: the index ends at byte ${ end }, past the file's ${ size } bytes` );

}

/**
 * Throw, naming it, for an index that ends or holds a cell past the file's `size` bytes (a cell
 * there was asked for, answered 416 or cut short, and the whole file fetched for it).
 * @param {{end: number, bin: number, cells: Array}} index
 * @param {number} size the file's size
 */
export function checkExtent( index, size ) {

	checkEnd( index.end, size );
	index.cells.forEach( ( [ id, offset, length ] ) => {

		const start = index.bin + offset;
		if ( start + length > size ) throw new Error( `StreamIndex: cell "${ id }" (bytes ${ start }-${ start + length - 1 }) lies past the file's ${ size } bytes` );

	} );

}

/**
 * The PVS of every cell (sorted cell indices) from the index's base64 LEB128 varints: per cell
 * its count, then the first index and the gaps between consecutive ones.
 * @param {string} text
 * @param {number} cellCount
 * @returns {Int32Array[]}
 */
export function decodePvs( text, cellCount ) {

	const bytes = typeof Buffer !== 'undefined' ? Buffer.from( text, 'base64' ) : Uint8Array.from( atob( text ), ( c ) => c.charCodeAt( 0 ) );
	let at = 0;
	const next = () => {

		let value = 0, shift = 0, byte;
		do {

			if ( at >= bytes.length ) throw new Error( 'StreamIndex: the PVS ends early' );
			byte = bytes[ at ++ ];
			value += ( byte & 0x7f ) * 2 ** shift;
			shift += 7;

		} while ( byte & 0x80 );
		return value;

	};
	const out = [];
	for ( let i = 0; i < cellCount; i ++ ) {

		const count = next();
		// a count past the cells (sorted, distinct) is no PVS: refused before an array that long is made
		if ( count > cellCount ) throw new Error( `StreamIndex: cell ${ i } lists ${ count } cells in its PVS, of ${ cellCount }` );
		const row = new Int32Array( count );
		let value = 0;
		for ( let k = 0; k < count; k ++ ) {

			value += next();
			if ( value >= cellCount ) throw new Error( `StreamIndex: cell ${ i } lists cell ${ value } in its PVS, past ${ cellCount } cells` );
			row[ k ] = value;

		}
		out.push( row );

	}
	return out;

}

/**
 * The index as the visibility block `PortalScene.fromMeta` reads (cells, portals, PVS).
 * @param {Object} index
 * @returns {{cells: Object[], portals: Object[]}}
 */
export function visibilityFromIndex( index ) {

	const ids = index.cells.map( ( c ) => c[ 0 ] );
	const pvs = index.pvs ? decodePvs( index.pvs, ids.length ) : null;
	/** @type {Map<number, number[][]>} the outlines of rooms that are not their box */
	const floors = new Map();
	for ( const row of index.floors || [] ) {

		const pairs = [];
		for ( let k = 1; k + 1 < row.length; k += 2 ) pairs.push( [ row[ k ], row[ k + 1 ] ] );
		floors.set( row[ 0 ], pairs );

	}
	const cell = ( c, i ) => {

		const out = { cellId: c[ 0 ], aabb: c[ 3 ] };
		if ( floors.has( i ) ) out.floor = floors.get( i );
		if ( pvs ) out.pvs = Array.from( pvs[ i ], ( j ) => ids[ j ] );
		return out;

	};
	return {
		cells: index.cells.map( cell ),
		// a build winds every quad so that its right-hand normal points into `to`
		portals: index.portals.map( ( p ) => ( { from: ids[ p[ 0 ] ], to: ids[ p[ 1 ] ], quad: p.slice( 2, 14 ), plane: quadPlane( p.slice( 2, 14 ) ), oneWay: p[ 14 ] === 1 } ) ),
	};

}

/**
 * three.js materials for the index's glTF materials (pbrMetallicRoughness factors; what
 * GLTFLoader makes of them). Textured materials get their factor colour only.
 * @param {Object} index
 * @returns {MeshStandardMaterial[]}
 */
export function materialsFromIndex( index ) {

	return ( index.materials || [] ).map( ( m ) => {

		const pbr = m.pbrMetallicRoughness || {};
		const c = pbr.baseColorFactor || [ 1, 1, 1, 1 ];
		const material = new MeshStandardMaterial( {
			color: new Color().setRGB( c[ 0 ], c[ 1 ], c[ 2 ], LinearSRGBColorSpace ),
			opacity: c[ 3 ],
			transparent: m.alphaMode === 'BLEND',
			depthWrite: m.alphaMode !== 'BLEND',
			metalness: pbr.metallicFactor ?? 1,
			roughness: pbr.roughnessFactor ?? 1,
		} );
		if ( m.doubleSided ) material.side = DoubleSide;
		material.name = m.name || '';
		return material;

	} );

}

/** Bytes of a row of each view kind: plain, quantized (docs/streaming.md). */
const ROW_BYTES = { P: [ 12, 8 ], N: [ 12, 4 ], T: [ 8, 8 ], I2: [ 2, 2 ], I4: [ 4, 4 ], B: [ 32, 32 ] };
/**
 * At most this many bytes come out of each byte of a meshopt-compressed view: the vertex codec
 * stores 2 bits of header per 16 bytes of a byte column, the index codec a byte per triangle (6 or
 * 12 bytes of indices). A view said to decode to more is no view of the file: refused before a
 * buffer that long is made.
 */
const MESHOPT_MAX_RATIO = 64;

/**
 * Throw, naming the cell and the view or primitive, for views and primitives that are not of the
 * shape docs/streaming.md gives, or whose primitives need more rows than their views hold: a count
 * past its view was a RangeError ("Invalid typed array length"), or an array of 2^40 indices.
 * @returns {Record<string, {offset: number, size: number, count: number, rows: number}>} the views
 *   by kind, `rows` the rows each holds (decoded, for a compressed view)
 */
function checkCell( id, length, views, prims, roots, quantized, compressed, materials ) {

	const shape = ( what, row ) => new Error( `StreamIndex: cell "${ id }" ${ what } is ${ JSON.stringify( row ) }` );
	if ( ! Array.isArray( views ) ) throw shape( 'views', views );
	if ( ! Array.isArray( prims ) ) throw shape( 'primitives', prims );
	if ( ! Array.isArray( roots ) || ! roots.every( isCount ) ) throw shape( 'BVH roots', roots );
	const byKind = {};
	views.forEach( ( v, k ) => {

		if ( ! Array.isArray( v ) || typeof v[ 0 ] !== 'string' || ! isCount( v[ 1 ] ) || ! isCount( v[ 2 ] ) || ! isCount( v[ 3 ] ) ) throw shape( `view ${ k }`, v );
		const [ kind, offset, size, count ] = v;
		if ( offset + size > length ) throw new Error( `StreamIndex: cell "${ id }" ${ kind } view lies outside its range` );
		const row = ROW_BYTES[ kind ] ? ROW_BYTES[ kind ][ quantized ? 1 : 0 ] : 1;
		if ( compressed && kind !== 'D' && count * row > MESHOPT_MAX_RATIO * size ) {

			throw new Error( `StreamIndex: cell "${ id }" ${ kind } view of ${ size } bytes cannot decode to ${ count } rows of ${ row } bytes` );

		}
		const rows = compressed && kind !== 'D' ? count : Math.floor( size / row );
		byKind[ kind ] = { offset, size, count, rows };

	} );
	prims.forEach( ( p, k ) => {

		if ( ! Array.isArray( p ) || p.length < 3 || ! isCount( p[ 0 ] ) || ! isCount( p[ 1 ] ) || ! isCount( p[ 2 ] ) ) throw shape( `primitive ${ k }`, p );
		// a material past the index's: its group was drawn with none, that is not at all
		if ( materials !== null && p[ 0 ] >= materials ) throw new Error( `StreamIndex: cell "${ id }" primitive ${ k } names material ${ p[ 0 ] }, of ${ materials }` );

	} );
	// each view holds the rows of its primitives in mesh order: the first that runs past it is named
	const fits = ( kind, rowsOf, noun ) => {

		let used = 0;
		prims.forEach( ( p, k ) => {

			const rows = rowsOf( p );
			if ( ! rows ) return;
			const view = byKind[ kind ];
			if ( ! view ) throw new Error( `StreamIndex: cell "${ id }" has no ${ kind } view` );
			if ( used + rows > view.rows ) throw new Error( `StreamIndex: cell "${ id }" primitive ${ k } needs ${ rows } ${ noun }, its ${ kind === 'P' || kind === 'N' || kind === 'T' ? `${ kind } view` : 'view' } holds ${ Math.max( 0, view.rows - used ) }` );
			used += rows;

		} );

	};
	fits( 'P', ( p ) => p[ 1 ], 'vertices' );
	fits( 'N', ( p ) => p[ 1 ], 'vertices' );
	fits( 'T', ( p ) => ( p[ 3 ] ? p[ 1 ] : 0 ), 'vertices with UVs' );
	fits( 'I2', ( p ) => ( p[ 1 ] <= 0xffff ? p[ 2 ] : 0 ), 'indices' );
	fits( 'I4', ( p ) => ( p[ 1 ] > 0xffff ? p[ 2 ] : 0 ), 'indices' );
	return byKind;

}

/**
 * Decode cell `i` from its bytes.
 * @param {Object} index the streaming index
 * @param {number} i cell position
 * @param {Uint8Array} bytes exactly the cell's byte range (`index.cells[i][2]` bytes)
 * @param {Object} [decoder] three's MeshoptDecoder (awaited `ready`), needed for compressed files
 * @returns {{geometry: BufferGeometry|null, bvh: MeshBVH|null, bytes: number}} the geometry in the
 *   cell's mesh frame (see `cellTransform`), with a group per primitive and the BVH as `boundsTree`
 */
export function decodeCell( index, i, bytes, decoder = null ) {

	const [ id, , length, , views, prims, roots ] = index.cells[ i ];
	if ( bytes.byteLength !== length ) throw new Error( `StreamIndex: cell "${ id }" needs ${ length } bytes, got ${ bytes.byteLength }` );
	if ( Array.isArray( prims ) && ! prims.length ) return { geometry: null, bvh: null, bytes: length };
	const quantized = Array.isArray( index.quantized );
	const compressed = index.compressed === true;
	const byKind = checkCell( id, length, views, prims, roots, quantized, compressed, Array.isArray( index.materials ) ? index.materials.length : null );
	const data = ( kind ) => {

		const v = byKind[ kind ];
		if ( ! v ) throw new Error( `StreamIndex: cell "${ id }" has no ${ kind } view` );
		const source = bytes.subarray( v.offset, v.offset + v.size );
		if ( ! compressed || kind === 'D' ) return source.slice();
		if ( ! decoder ) throw new Error( 'StreamIndex: a meshopt-compressed file needs MeshoptDecoder' );
		const stride = ROW_BYTES[ kind ][ quantized ? 1 : 0 ];
		const out = new Uint8Array( v.count * stride );
		const mode = kind[ 0 ] === 'I' ? 'TRIANGLES' : 'ATTRIBUTES';
		const filter = kind === 'N' && quantized ? 'OCTAHEDRAL' : 'NONE';
		decoder.decodeGltfBuffer( out, v.count, stride, source, mode, filter );
		return out;

	};
	let vertices = 0, indices = 0;
	for ( const [ , v, n ] of prims ) {

		vertices += v;
		indices += n;

	}
	const geometry = new BufferGeometry();
	const position = data( 'P' );
	const normal = data( 'N' );
	if ( quantized ) {

		geometry.setAttribute( 'position', new InterleavedBufferAttribute( new InterleavedBuffer( new Uint16Array( position.buffer, 0, vertices * 4 ), 4 ), 3, 0, false ) );
		geometry.setAttribute( 'normal', new InterleavedBufferAttribute( new InterleavedBuffer( new Int8Array( normal.buffer, 0, vertices * 4 ), 4 ), 3, 0, true ) );

	} else {

		geometry.setAttribute( 'position', new BufferAttribute( new Float32Array( position.buffer, 0, vertices * 3 ), 3 ) );
		geometry.setAttribute( 'normal', new BufferAttribute( new Float32Array( normal.buffer, 0, vertices * 3 ), 3 ) );

	}
	if ( prims.some( ( p ) => p[ 3 ] ) ) {

		// UV rows exist for the primitives that carry them; the others get zeros.
		const uvIn = new Float32Array( data( 'T' ).buffer, 0, 2 * byKind.T.rows );
		const uv = new Float32Array( vertices * 2 );
		let v0 = 0, u0 = 0;
		for ( const [ , v, , has ] of prims ) {

			if ( has ) {

				uv.set( uvIn.subarray( u0, u0 + 2 * v ), 2 * v0 );
				u0 += 2 * v;

			}
			v0 += v;

		}
		geometry.setAttribute( 'uv', new BufferAttribute( uv, 2 ) );

	}
	// One index for the cell: each primitive's indices offset by its first vertex (docs/streaming.md).
	// whole rows only: a plain view of an odd byte length was a RangeError
	const narrow = byKind.I2 ? new Uint16Array( data( 'I2' ).buffer, 0, byKind.I2.rows ) : null;
	const wide = byKind.I4 ? new Uint32Array( data( 'I4' ).buffer, 0, byKind.I4.rows ) : null;
	const merged = vertices <= 0xffff ? new Uint16Array( indices ) : new Uint32Array( indices );
	let v0 = 0, i0 = 0, n0 = 0, w0 = 0;
	prims.forEach( ( [ material, v, n ], k ) => {

		const source = v <= 0xffff ? narrow : wide;
		if ( ! source ) throw new Error( `StreamIndex: cell "${ id }" has no index view for primitive ${ k }` );
		const start = v <= 0xffff ? n0 : w0;
		// an index past its view or its primitive's vertices would draw (and collide with) triangles
		// the file does not hold: a typed array reads undefined as 0, with no error
		if ( start + n > source.length ) throw new Error( `StreamIndex: cell "${ id }" primitive ${ k } needs ${ n } indices, its view holds ${ source.length - start }` );
		for ( let j = 0; j < n; j ++ ) {

			const at = source[ start + j ];
			if ( at >= v ) throw new Error( `StreamIndex: cell "${ id }" primitive ${ k } indexes vertex ${ at } of ${ v }` );
			merged[ i0 + j ] = at + v0;

		}
		if ( v <= 0xffff ) n0 += n; else w0 += n;
		geometry.addGroup( i0, n, material );
		v0 += v;
		i0 += n;

	} );
	geometry.setIndex( new BufferAttribute( merged, 1 ) );
	let bvh = null;
	if ( byKind.B && roots.length === prims.length ) {

		const nodes = data( 'B' );
		const buffers = [];
		let offset = 0;
		for ( const count of roots ) {

			buffers.push( nodes.buffer.slice( offset, offset + 32 * count ) );
			offset += 32 * count;

		}
		if ( offset !== nodes.byteLength ) throw new Error( `StreamIndex: cell "${ id }" BVH has ${ nodes.byteLength } bytes, its roots ${ offset }` );
		bvh = MeshBVH.deserialize( { version: 1, roots: buffers, index: merged, indirectBuffer: null }, geometry, { setIndex: true } );
		geometry.boundsTree = bvh;

	}
	return { geometry, bvh, bytes: length };

}

/**
 * The transform of a cell's mesh: the dequantizing grid for quantized files, identity otherwise.
 * @param {Object} index
 * @returns {{position: number[], scale: number}}
 */
export function cellTransform( index ) {

	const q = index.quantized;
	return q ? { position: [ q[ 0 ], q[ 1 ], q[ 2 ] ], scale: q[ 3 ] } : { position: [ 0, 0, 0 ], scale: 1 };

}
