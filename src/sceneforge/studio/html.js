/**
 * Text put into HTML by the studio's pages: every string from the service or the model is escaped
 * with `escapeHtml` before it meets markup.
 */

const ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\'': '&#39;' };

/**
 * `text` between U+2068 FIRST STRONG ISOLATE and U+2069 POP DIRECTIONAL ISOLATE, for a name or reason
 * put into a line of plain text (`textContent`): its own direction, and a right-to-left override in it
 * (U+202E), stop at its end instead of reordering the rest of the line.
 */
export function isolate( text ) {

	return `\u2068${ text ?? '' }\u2069`;

}

/** `text` with &, <, >, ", ' escaped (null and undefined give ''). */
export function escapeHtml( text ) {

	return String( text ?? '' ).replace( /[&<>"']/g, ( c ) => ENTITIES[ c ] );

}
