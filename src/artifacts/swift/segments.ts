// Cuts a stream into segments of at most `size` bytes, each one Buffer: a file up to one segment
// is one object, a larger one a Static Large Object over its segments.

import type { Readable } from "node:stream";

export async function* segmentsOf(source: Readable, size: number): AsyncIterable<Buffer> {
	let parts: Buffer[] = [];
	let held = 0;
	for await (const chunk of source) {
		let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
		while (held + buf.length >= size) {
			const take = size - held;
			parts.push(buf.subarray(0, take));
			yield Buffer.concat(parts);
			parts = [];
			held = 0;
			buf = buf.subarray(take);
		}
		if (buf.length > 0) {
			parts.push(buf);
			held += buf.length;
		}
	}
	if (held > 0) yield Buffer.concat(parts);
}

/** One entry of an SLO manifest (`PUT …?multipart-manifest=put`). */
export interface SloSegment {
	path: string;
	etag: string;
	size_bytes: number;
}
