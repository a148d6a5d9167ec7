/**
 * Text put into HTML by the studio's pages: every string from the service or the model is escaped
 * with `escapeHtml` before it meets markup.
 */

const ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\'': '&#39;' };

/** `text` with &, <, >, ", ' escaped (null and undefined give ''). */
export function escapeHtml( text ) {

	return String( text ?? '' ).replace( /[&<>"']/g, ( c ) => ENTITIES[ c ] );

}
