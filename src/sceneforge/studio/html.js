/**
 * Text put into HTML by the studio's pages: every string from the service or the model is escaped
 * with `escapeHtml` before it meets markup.
 */

const ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\'': '&#39;' };

/**
 * A name or reason users wrote, as an element of a line of text: a `<bdi>`, so its own direction, and a
 * right-to-left override in it (U+202E), stop at its end instead of reordering the rest of the line.
 * The text is the node's text: nothing is added to what a copy or `textContent` gives.
 */
export function bdi( text ) {

	const node = document.createElement( 'bdi' );
	node.textContent = String( text ?? '' );
	return node;

}

/** A tagged template: the literal text as text, each `${value}` in a `bdi`. For `element.replaceChildren(...)`. */
export function isolated( strings, ...values ) {

	const parts = [];
	strings.forEach( ( text, i ) => {

		if ( text ) parts.push( text );
		if ( i < values.length ) parts.push( bdi( values[ i ] ) );

	} );
	return parts;

}

/** `text` with &, <, >, ", ' escaped (null and undefined give ''). */
export function escapeHtml( text ) {

	return String( text ?? '' ).replace( /[&<>"']/g, ( c ) => ENTITIES[ c ] );

}
