/**
 * JSON Pointer (RFC 6901) segments: `~` is written `~0` and `/` is written `~1`. Shared by the
 * studio's JSON Patch diff and its pointer → line map.
 */

/** One reference token written for a pointer. @param {string|number} segment */
export function escapeSegment( segment ) {

	return String( segment ).replace( /~/g, '~0' ).replace( /\//g, '~1' );

}

/** The reference tokens of `pointer`, decoded (`''`, the whole document, has none). @param {string} pointer */
export function pointerSegments( pointer ) {

	return pointer ? pointer.slice( 1 ).split( '/' ).map( ( s ) => s.replace( /~1/g, '/' ).replace( /~0/g, '~' ) ) : [];

}
