/**
 * A binary min-heap over an array of `[key, value]` pairs (the nearest-first order of `StreamingScene`'s
 * portal-distance walk): O(log n) push and pop, no allocation beyond the array.
 */

export function heapPush( heap, item ) {

	heap.push( item );
	let i = heap.length - 1;
	while ( i > 0 ) {

		const parent = ( i - 1 ) >> 1;
		if ( heap[ parent ][ 0 ] <= item[ 0 ] ) break;
		heap[ i ] = heap[ parent ];
		i = parent;

	}
	heap[ i ] = item;

}

export function heapPop( heap ) {

	const top = heap[ 0 ];
	const last = heap.pop();
	if ( heap.length ) {

		let i = 0;
		for ( ;; ) {

			const l = 2 * i + 1, r = l + 1;
			let m = i;
			const value = ( k ) => ( k === i ? last[ 0 ] : heap[ k ][ 0 ] );
			if ( l < heap.length && heap[ l ][ 0 ] < value( m ) ) m = l;
			if ( r < heap.length && heap[ r ][ 0 ] < value( m ) ) m = r;
			if ( m === i ) break;
			heap[ i ] = heap[ m ];
			i = m;

		}
		heap[ i ] = last;

	}
	return top;

}
