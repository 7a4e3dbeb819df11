// Cursor pagination over a collection ordered by _id: stable under inserts and deletes,
// unlike offsets. The cursor is opaque to clients (base64url of the last _id served).

import type { Collection, Doc, Query } from "../store/types.ts";

const DEFAULT_PAGE = 50;
export const MAX_PAGE = 500;

export interface Page<T> {
	items: T[];
	next: string | null;
}

function encodeCursor(id: string): string {
	return Buffer.from(id, "utf8").toString("base64url");
}

function decodeCursor(cursor: string): string {
	return Buffer.from(cursor, "base64url").toString("utf8");
}

export async function paginate<T extends Doc, R>(
	collection: Collection<T>,
	query: Query,
	options: { limit?: number; cursor?: string },
	present: (doc: T) => R,
): Promise<Page<R>> {
	const limit = Math.min(options.limit ?? DEFAULT_PAGE, MAX_PAGE);
	const q: Query = options.cursor ? { $and: [query, { _id: { $gt: decodeCursor(options.cursor) } }] } : query;
	const docs = await collection.find(q, { sort: { _id: 1 }, limit: limit + 1 });
	const hasMore = docs.length > limit;
	const pageDocs = hasMore ? docs.slice(0, limit) : docs;
	return {
		items: pageDocs.map(present),
		next: hasMore ? encodeCursor(pageDocs[pageDocs.length - 1]._id) : null,
	};
}
