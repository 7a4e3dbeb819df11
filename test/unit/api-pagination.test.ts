// Keyset pages on the embedded store: in each order a listing uses, a walk one item at a time
// serves every document once, also across shards, and a cursor that no page handed out is a
// 422 CursorError.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CursorError, MAX_PAGE, type PageOrder, paginate, paginateList } from "../../src/api/pagination.ts";
import { openStore } from "../../src/store/index.ts";
import type { Collection, Doc, Store } from "../../src/store/types.ts";
import { tempDataDir } from "../helpers/store-temp-dir.ts";

interface Item extends Doc {
	at: number;
}

let store: Store;
let remove: () => Promise<void>;
let a: Collection<Item>;
let b: Collection<Item>;

async function walk(sources: Collection<Item> | Collection<Item>[], order: PageOrder, limit = 1) {
	const ids: string[] = [];
	let cursor: string | undefined;
	for (let pages = 0; pages < 100; pages++) {
		const page = await paginate(sources, {}, { limit, cursor, order }, (d) => d._id);
		ids.push(...page.items);
		if (!page.next) return ids;
		cursor = page.next;
	}
	throw new Error("the walk does not end");
}

describe("paginate", () => {
	before(async () => {
		const dir = await tempDataDir();
		remove = dir.remove;
		store = await openStore({ dataDir: dir.dir });
		a = await store.collection<Item>({ name: "a" });
		b = await store.collection<Item>({ name: "b" });
		// Ties on `at` (the same millisecond) are what the _id tie-break is for.
		for (const [id, at] of [
			["k1", 5],
			["k2", 5],
			["k3", 1],
			["k4", 9],
		] as const)
			await a.insert({ _id: id, at });
		for (const [id, at] of [
			["s1", 5],
			["s2", 7],
		] as const)
			await b.insert({ _id: id, at });
	});
	after(async () => {
		await store.close();
		await remove();
	});

	test("by _id, ascending and descending", async () => {
		assert.deepEqual(await walk(a, {}), ["k1", "k2", "k3", "k4"]);
		assert.deepEqual(await walk(a, { direction: -1 }), ["k4", "k3", "k2", "k1"]);
	});

	test("by a field with ties broken by _id, over two shards", async () => {
		assert.deepEqual(await walk([a, b], { field: "at", direction: -1 }), [
			"k4",
			"s2",
			"s1",
			"k2",
			"k1",
			"k3",
		]);
		assert.deepEqual(await walk([a, b], { field: "at" }, 2), ["k3", "k1", "k2", "s1", "s2", "k4"]);
	});

	test("an insert before the cursor is not served, one after it is, nothing twice", async () => {
		const first = await paginate(a, {}, { limit: 2 }, (d) => d._id);
		assert.deepEqual(first.items, ["k1", "k2"]);
		await a.insert({ _id: "k0", at: 0 });
		await a.insert({ _id: "k5", at: 0 });
		const rest = await paginate(a, {}, { limit: MAX_PAGE, cursor: first.next! }, (d) => d._id);
		assert.deepEqual(rest, { items: ["k3", "k4", "k5"], next: null });
	});

	test("a cursor no page handed out is refused as a 422", async () => {
		for (const cursor of [
			"%%%",
			"bm90LWpzb24",
			Buffer.from("[1]").toString("base64url"),
			Buffer.from('["x"]').toString("base64url"),
		])
			await assert.rejects(
				paginate(a, {}, { cursor, order: { field: "at" } }, (d) => d),
				(e: unknown) => e instanceof CursorError && e.code === 422,
				cursor,
			);
	});

	test("a list built in memory pages by its key", () => {
		const all = ["c", "a", "b"];
		const first = paginateList(
			all,
			(x) => x,
			{ limit: 2 },
			(x) => x.toUpperCase(),
		);
		assert.deepEqual(first.items, ["A", "B"]);
		assert.deepEqual(
			paginateList(
				all,
				(x) => x,
				{ cursor: first.next! },
				(x) => x,
			),
			{ items: ["c"], next: null },
		);
	});
});
