// Keyset pagination: each page continues after the last item served, in the listing's order
// (by _id, or by a field tie-broken by _id), so it is stable under inserts and deletes, unlike
// offsets: no item is served twice or skipped because another was inserted or removed meanwhile.
// The cursor is opaque to clients (base64url of the last item's sort key). Only `$gt`/`$lt`,
// `$or`/`$and` and a sort on at most two fields: the store subset both backends share.

import type { Collection, Doc, Query } from "../store/types.ts";

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 500;

export interface Page<T> {
	items: T[];
	next: string | null;
}

/** How a listing is ordered: by `field` (then by _id), in `direction`; by _id alone when no field. */
export interface PageOrder {
	field?: string;
	direction?: 1 | -1;
}

export interface PageOptions {
	limit?: number;
	cursor?: string;
}

/** A cursor that no page of this listing handed out (a 422, like any bad parameter). */
export class CursorError extends Error {
	readonly code = 422;
	readonly type = "VALIDATION_ERROR";
	readonly data = { errors: [{ field: "cursor", message: "the cursor is not one this listing handed out" }] };
	constructor() {
		super("the cursor is not one this listing handed out");
		this.name = "CursorError";
	}
}

type KeyValue = string | number;
type Key = { value?: KeyValue; id: string };

function encodeCursor(key: Key, order: PageOrder): string {
	const parts = order.field ? [key.value ?? null, key.id] : [key.id];
	return Buffer.from(JSON.stringify(parts), "utf8").toString("base64url");
}

export function decodeCursor(cursor: string, order: PageOrder = {}): Key {
	let parts: unknown;
	try {
		parts = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
	} catch {
		throw new CursorError();
	}
	if (!Array.isArray(parts) || parts.length !== (order.field ? 2 : 1)) throw new CursorError();
	const id = parts[parts.length - 1];
	if (typeof id !== "string") throw new CursorError();
	if (!order.field) return { id };
	const value = parts[0];
	if (typeof value !== "string" && !(typeof value === "number" && Number.isFinite(value)))
		throw new CursorError();
	return { value, id };
}

/** The page size asked for, within [1, MAX_PAGE] (the actions' `pagination` params refuse others). */
export function pageSize(limit: number | undefined): number {
	return Math.max(1, Math.min(limit ?? DEFAULT_PAGE, MAX_PAGE));
}

/** What comes strictly after `key` in `order`. */
function after(key: Key, order: PageOrder): Query {
	const op = (order.direction ?? 1) === 1 ? "$gt" : "$lt";
	if (!order.field) return { _id: { [op]: key.id } };
	return {
		$or: [{ [order.field]: { [op]: key.value } }, { [order.field]: key.value, _id: { [op]: key.id } }],
	};
}

function sortOf(order: PageOrder): Record<string, 1 | -1> {
	const direction = order.direction ?? 1;
	return order.field ? { [order.field]: direction, _id: direction } : { _id: direction };
}

function compare(a: Doc, b: Doc, order: PageOrder): number {
	const direction = order.direction ?? 1;
	if (order.field) {
		const x = (a as Record<string, unknown>)[order.field] as KeyValue;
		const y = (b as Record<string, unknown>)[order.field] as KeyValue;
		if (x !== y) return (x < y ? -1 : 1) * direction;
	}
	return (a._id < b._id ? -1 : a._id > b._id ? 1 : 0) * direction;
}

/**
 * One page of the documents matching `query`, in `order`. Several collections (the shards of
 * one listing) are read each up to the page size and merged, which keeps the same guarantees.
 */
export async function paginate<T extends Doc, R>(
	collections: Collection<T> | Collection<T>[],
	query: Query,
	options: PageOptions & { order?: PageOrder },
	present: (doc: T) => R,
): Promise<Page<R>> {
	const order = options.order ?? {};
	const limit = pageSize(options.limit);
	const q: Query = options.cursor
		? { $and: [query, after(decodeCursor(options.cursor, order), order)] }
		: query;
	const sources = Array.isArray(collections) ? collections : [collections];
	const found = await Promise.all(sources.map((c) => c.find(q, { sort: sortOf(order), limit: limit + 1 })));
	const docs = sources.length === 1 ? found[0] : found.flat().sort((a, b) => compare(a, b, order));
	const hasMore = docs.length > limit;
	const pageDocs = hasMore ? docs.slice(0, limit) : docs;
	const last = pageDocs[pageDocs.length - 1];
	return {
		// One argument only: a presenter's optional second parameter must not receive an index.
		items: pageDocs.map((doc) => present(doc)),
		next:
			hasMore && last
				? encodeCursor(
						{
							id: last._id,
							value: order.field ? ((last as Record<string, unknown>)[order.field] as KeyValue) : undefined,
						},
						order,
					)
				: null,
	};
}

/** One page of a listing computed in memory (built-in entries merged with stored ones), by a unique string key. */
export function paginateList<T, R>(
	all: T[],
	keyOf: (item: T) => string,
	options: PageOptions,
	present: (item: T) => R,
): Page<R> {
	const limit = pageSize(options.limit);
	const sorted = [...all].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
	const start = options.cursor ? decodeCursor(options.cursor).id : undefined;
	const rest = start === undefined ? sorted : sorted.filter((item) => keyOf(item) > start);
	const page = rest.slice(0, limit);
	const last = page[page.length - 1];
	return {
		items: page.map((item) => present(item)),
		next: rest.length > limit && last ? encodeCursor({ id: keyOf(last) }, {}) : null,
	};
}
