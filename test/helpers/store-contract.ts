// The behaviour every Store backend must share. Each backend's test file calls
// `storeContract(...)` with a way to open a fresh store, so embedded and Mongo are held to the
// very same assertions.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Collection, Doc, Store } from "../../src/store/types.ts";
import { MAX_DOCUMENT_BYTES, MAX_NESTING, StoreShapeError } from "../../src/store/subset.ts";
import { DuplicateKeyError } from "../../src/store/types.ts";

export interface StoreUnderTest {
	open(): Promise<Store>;
	/** Called once after the suite, with the store still open (e.g. to drop the database). */
	cleanup?(store: Store): Promise<void>;
}

/** A value nested in `levels` objects: `nest(2, 1)` is `{ a: { a: 1 } }`. */
function nest(levels: number, leaf: unknown): unknown {
	let v = leaf;
	for (let i = 0; i < levels; i++) v = { a: v };
	return v;
}

/**
 * Values outside the store subset (src/store/subset.ts) and the path each is reported at. Every
 * backend refuses them, so a test on the embedded store meets what FerretDB would refuse.
 */
export const OUTSIDE_SUBSET: Array<{ what: string; value: unknown; at: string }> = [
	{ what: "an array inside an array", value: { m: [[1, 2]] }, at: "v.m[0]" },
	{ what: "an empty array inside an array", value: [[]], at: "v[0]" },
	{
		what: "an array inside an array inside an object inside an array",
		value: [{ w: [1, [2]] }],
		at: "v[0].w[1]",
	},
	{ what: "NaN", value: { n: Number.NaN }, at: "v.n" },
	{ what: "NaN in an array", value: [1, Number.NaN], at: "v[1]" },
	{ what: "Infinity", value: Number.POSITIVE_INFINITY, at: "v" },
	{ what: "-Infinity in an array", value: [Number.NEGATIVE_INFINITY], at: "v[0]" },
	{ what: "a NUL character in a string", value: { s: "a\u0000b" }, at: "v.s" },
	{ what: "a NUL character in a field name", value: { "a\u0000b": 1 }, at: 'v."a\\u0000b"' },
	{ what: "a lone surrogate in a string", value: ["ok", "cut \ud83d"], at: "v[1]" },
	{ what: "a lone surrogate in a field name", value: { "\udc00": 1 }, at: 'v."\\udc00"' },
	{ what: "an invalid Date", value: new Date(Number.NaN), at: "v" },
	{ what: "a bigint", value: 2n ** 40n, at: "v" },
	{ what: "a function", value: { f: () => 1 }, at: "v.f" },
	{ what: "a symbol", value: Symbol("s"), at: "v" },
	{ what: "a Map", value: new Map([["a", 1]]), at: "v" },
	{ what: "a Set", value: new Set([1]), at: "v" },
	{ what: "a RegExp", value: /a/, at: "v" },
	{ what: "a Buffer", value: Buffer.from("hi"), at: "v" },
	{
		what: "a class instance",
		value: new (class Point {
			x = 1;
		})(),
		at: "v",
	},
	{ what: "undefined in an array", value: [1, undefined], at: "v[1]" },
	{
		what: `more than ${MAX_NESTING} levels of nesting`,
		value: nest(MAX_NESTING, 1),
		at: `v${".a".repeat(MAX_NESTING - 1)}`,
	},
];

type Item = Doc & { n?: number; tag?: string; tags?: string[]; extra?: unknown; nested?: { v: number } };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function storeContract(label: string, backend: StoreUnderTest): void {
	describe(`Store contract: ${label}`, () => {
		let store: Store;
		let seq = 0;
		const fresh = async (indexes?: { fields: string[]; unique?: boolean }[]): Promise<Collection<Item>> =>
			store.collection<Item>({ name: `c${++seq}`, indexes });
		const seeded = async (): Promise<Collection<Item>> => {
			const c = await fresh();
			for (let n = 1; n <= 5; n++) {
				await c.insert({ _id: `d${n}`, n, tag: n % 2 ? "odd" : "even", nested: { v: n * 10 } });
			}
			await c.insert({ _id: "d6", tag: "none" });
			return c;
		};
		const ids = (docs: Doc[]) => docs.map((d) => d._id);

		before(async () => {
			store = await backend.open();
		});
		after(async () => {
			await backend.cleanup?.(store);
			await store.close();
		});

		test("insert returns the document and findOne reads it back", async () => {
			const c = await fresh();
			const doc = await c.insert({ _id: "a", n: 1, tags: ["x"], nested: { v: 2 } });
			assert.deepEqual(doc, { _id: "a", n: 1, tags: ["x"], nested: { v: 2 } });
			assert.deepEqual(await c.findOne({ _id: "a" }), { _id: "a", n: 1, tags: ["x"], nested: { v: 2 } });
			assert.equal(await c.findOne({ _id: "missing" }), null);
		});

		test("insertMany gives each document its own outcome: duplicates of _id, of a unique index, within the call", async () => {
			const c = await fresh([{ fields: ["tag"], unique: true }]);
			assert.deepEqual(await c.insertMany([]), []);
			await c.insert({ _id: "old", tag: "t-old" });
			const outcomes = await c.insertMany([
				{ _id: "a", n: 1, tag: "t-a" },
				{ _id: "old", n: 2, tag: "t-other" },
				{ _id: "b", n: 3, tag: "t-old" },
				{ _id: "a", n: 4, tag: "t-a2" },
				{ _id: "c", n: 5, tags: ["x"], nested: { v: 5 } },
			]);
			assert.deepEqual(outcomes, ["inserted", "duplicate", "duplicate", "duplicate", "inserted"]);
			assert.deepEqual(ids(await c.find({}, { sort: { _id: 1 } })), ["a", "c", "old"]);
			assert.equal((await c.findOne({ _id: "a" }))?.n, 1, "the first of two equal _ids wins");
			assert.deepEqual(await c.findOne({ _id: "c" }), { _id: "c", n: 5, tags: ["x"], nested: { v: 5 } });
			assert.equal((await c.findOne({ _id: "old" }))?.tag, "t-old", "a refused document changes nothing");
			await assert.rejects(c.insertMany([{ _id: "d", v: [[1]] } as unknown as Item]), StoreShapeError);
			assert.equal(await c.findOne({ _id: "d" }), null);
		});

		test("field names with dots, a leading $ or % are kept as data on every write path", async () => {
			const c = await fresh();
			const vars = { "git.branch": "main", $weird: "x", "100%": "y", nested: { "a.b": [{ "c.d": 1 }] } };
			await c.insert({ _id: "v", vars } as unknown as Item);
			assert.deepEqual((await c.findOne({ _id: "v" }))?.vars, vars);
			await c.replace({ _id: "v", vars: { "cds.version": "2" } } as unknown as Item);
			assert.deepEqual((await c.find({ _id: "v" }))[0]?.vars, { "cds.version": "2" });
			await c.update({ _id: "v" }, { $set: { vars: { "cds.build.x": "3" } } });
			assert.deepEqual((await c.findOne({ _id: "v" }))?.vars, { "cds.build.x": "3" });
		});

		test("shapes outside the subset are refused on insert, replace, upsert, $set and $push", async () => {
			const c = await fresh();
			await c.insert({ _id: "kept", tags: ["a"] });
			for (const { what, value, at } of OUTSIDE_SUBSET) {
				const refused = (write: Promise<unknown>, how: string) =>
					assert.rejects(
						write,
						(err: unknown) => {
							assert.ok(
								err instanceof StoreShapeError,
								`${what} (${how}): expected StoreShapeError, got ${err}`,
							);
							assert.equal(err.path, at, `${what} (${how}): path in ${err.message}`);
							return true;
						},
						`${what} (${how})`,
					);
				await refused(c.insert({ _id: "new", v: value } as unknown as Item), "insert");
				await refused(c.replace({ _id: "kept", v: value } as unknown as Item), "replace");
				await refused(c.replace({ _id: "upserted", v: value } as unknown as Item), "upsert");
				await refused(c.update({ _id: "kept" }, { $set: { v: value } }), "$set");
			}
			assert.deepEqual(ids(await c.find({})), ["kept"], "nothing refused was written");
			assert.deepEqual(await c.findOne({ _id: "kept" }), { _id: "kept", tags: ["a"] });
		});

		test("updates that would nest an array, set undefined or use operator paths are refused", async () => {
			const c = await fresh();
			await c.insert({ _id: "u", tags: ["a"], n: 1 });
			const refused = (update: Record<string, unknown>, message: RegExp) =>
				assert.rejects(c.update({ _id: "u" }, update), (err: unknown) => {
					assert.ok(err instanceof StoreShapeError, `${JSON.stringify(update)}: got ${err}`);
					assert.match(err.message, message);
					return true;
				});
			await refused({ $push: { tags: ["b"] } }, /array inside an array .*at tags \(/);
			await refused({ $push: { tags: { m: [[1]] } } }, /array inside an array .*at tags\.m\[0\]/);
			await refused({ $push: { tags: Number.NaN } }, /NaN .*at tags/);
			await refused({ $set: { gone: undefined } }, /\$set of undefined .*use \$unset/);
			await refused({ $set: { "a..b": 1 } }, /empty part/);
			await refused({ $set: { "tags.$": "x" } }, /positional operator/);
			await refused({ $set: { "tags.$[]": "x" } }, /positional operator/);
			await refused({ $unset: { "": true } }, /empty part/);
			assert.deepEqual(await c.findOne({ _id: "u" }), { _id: "u", tags: ["a"], n: 1 });
		});

		test("NaN in a query is refused (FerretDB drops the connection on it)", async () => {
			const c = await seeded();
			for (const query of [
				{ n: Number.NaN },
				{ n: { $in: [1, Number.NaN] } },
				{ $or: [{ n: { $gt: Number.NaN } }] },
			]) {
				await assert.rejects(c.find(query), StoreShapeError, JSON.stringify(query));
				await assert.rejects(c.count(query), StoreShapeError);
				await assert.rejects(c.update(query, { $set: { seen: true } }), StoreShapeError);
				await assert.rejects(c.remove(query), StoreShapeError);
			}
			assert.equal(
				await c.count({ n: { $lt: Number.POSITIVE_INFINITY } }),
				5,
				"infinities are fine in queries",
			);
		});

		test("shapes inside the subset are stored and read back as written", async () => {
			const c = await fresh();
			const doc = {
				_id: "in",
				// arrays of objects holding arrays are fine; only an array directly in an array is not
				matrix: [{ row: [1, 2] }, { row: [] }],
				empty: { "": "an empty field name" },
				text: "naïve 🚀 text, tabs\t and newlines\n",
				when: new Date(1_700_000_000_000),
				big: 2 ** 53 - 1,
				small: -(2 ** 31),
				nothing: null,
				deep: nest(MAX_NESTING - 1, "leaf"), // the top-level document is the first level
			};
			await c.insert(doc as unknown as Item);
			assert.deepEqual(await c.findOne({ _id: "in" }), doc);
			await c.update({ _id: "in" }, { $push: { matrix: { row: [3] } }, $set: { "empty.x": [{ y: [1] }] } });
			const back = (await c.findOne({ _id: "in" })) as unknown as typeof doc & { empty: { x: unknown } };
			assert.deepEqual(back.matrix, [{ row: [1, 2] }, { row: [] }, { row: [3] }]);
			assert.deepEqual(back.empty.x, [{ y: [1] }]);
			assert.equal(back.text, doc.text);
		});

		test("-0 is stored as 0 on every write path", async () => {
			const c = await fresh();
			await c.insert({ _id: "z", n: -0, list: [-0], nested: { v: -0 } } as unknown as Item);
			const isZero = (v: unknown) => Object.is(v, 0);
			let back = (await c.findOne({ _id: "z" })) as unknown as {
				n: number;
				list: number[];
				nested: { v: number };
			};
			assert.ok(isZero(back.n) && isZero(back.list[0]) && isZero(back.nested.v), "insert");
			await c.replace({ _id: "z", n: -0 } as unknown as Item);
			back = (await c.findOne({ _id: "z" })) as never;
			assert.ok(isZero(back.n), "replace");
			await c.update({ _id: "z" }, { $set: { n: -0, nested: { v: -0 } }, $push: { list: -0 } });
			back = (await c.findOne({ _id: "z" })) as never;
			assert.ok(isZero(back.n) && isZero(back.nested.v) && isZero(back.list[0]), "update");
		});

		test(`a document over ${MAX_DOCUMENT_BYTES} bytes of BSON is refused; one at the limit is stored`, async () => {
			const c = await fresh();
			// { _id: "big", s: "…" }: length 4, _id (type 1, "_id\0" 4, length 4, "big\0" 4),
			// s (type 1, "s\0" 2, length 4, the string, "\0" 1), final "\0" 1
			const overhead = 4 + (1 + 4 + 4 + 4) + (1 + 2 + 4 + 1) + 1;
			const atLimit = "x".repeat(MAX_DOCUMENT_BYTES - overhead);
			await c.insert({ _id: "big", s: atLimit } as unknown as Item);
			assert.equal(((await c.findOne({ _id: "big" })) as unknown as { s: string }).s.length, atLimit.length);
			await assert.rejects(
				c.replace({ _id: "big", s: `${atLimit}x` } as unknown as Item),
				/16777217 bytes of BSON/,
			);
			// escaped field names count at their stored length: "a.b" is stored as "a%2Eb" (4 bytes
			// more than "s"), and the _id "big2" takes one more byte than "big"
			await assert.rejects(
				c.insert({ _id: "big2", "a.b": "x".repeat(MAX_DOCUMENT_BYTES - overhead - 4) } as unknown as Item),
				/16777217 bytes of BSON/,
			);
			// multi-byte characters count as UTF-8
			await assert.rejects(
				c.insert({ _id: "big3", s: "é".repeat(MAX_DOCUMENT_BYTES / 2) } as unknown as Item),
				StoreShapeError,
			);
		});

		test("insert without _id gets a string _id", async () => {
			const c = await fresh();
			const doc = await c.insert({ n: 7 } as Item);
			assert.equal(typeof doc._id, "string");
			assert.ok(doc._id.length > 0);
			assert.equal((await c.findOne({ _id: doc._id }))?.n, 7);
		});

		test("find sorts, skips and limits; count counts", async () => {
			const c = await seeded();
			assert.deepEqual(ids(await c.find({ n: { $gte: 1 } }, { sort: { n: -1 } })), [
				"d5",
				"d4",
				"d3",
				"d2",
				"d1",
			]);
			assert.deepEqual(ids(await c.find({ n: { $gte: 1 } }, { sort: { n: 1 }, skip: 1, limit: 2 })), [
				"d2",
				"d3",
			]);
			assert.deepEqual(ids(await c.find({ tag: "odd" }, { sort: { n: 1 }, limit: 10 })), ["d1", "d3", "d5"]);
			assert.equal(await c.count({}), 6);
			assert.equal(await c.count({ tag: "even" }), 2);
			assert.deepEqual(ids(await c.find({ "nested.v": 30 })), ["d3"]);
		});

		test("query operators behave the same on every backend", async () => {
			const c = await seeded();
			const q = async (query: Record<string, unknown>) => ids(await c.find(query, { sort: { _id: 1 } }));
			assert.deepEqual(await q({ n: { $in: [2, 4, 9] } }), ["d2", "d4"]);
			assert.deepEqual(await q({ n: { $nin: [1, 2, 3] } }), ["d4", "d5", "d6"]);
			assert.deepEqual(await q({ tag: { $ne: "odd" } }), ["d2", "d4", "d6"]);
			assert.deepEqual(await q({ n: { $gt: 3 } }), ["d4", "d5"]);
			assert.deepEqual(await q({ n: { $gte: 3, $lt: 5 } }), ["d3", "d4"]);
			assert.deepEqual(await q({ n: { $lte: 2 } }), ["d1", "d2"]);
			assert.deepEqual(await q({ n: { $exists: false } }), ["d6"]);
			assert.deepEqual(await q({ nested: { $exists: true } }), ["d1", "d2", "d3", "d4", "d5"]);
			assert.deepEqual(await q({ $or: [{ n: 1 }, { tag: "none" }] }), ["d1", "d6"]);
			assert.deepEqual(await q({ $and: [{ tag: "odd" }, { n: { $gt: 1 } }] }), ["d3", "d5"]);
		});

		test("operators outside the shared subset are refused clearly", async () => {
			const c = await seeded();
			await assert.rejects(c.find({ tag: { $regex: "o" } }), /unsupported query operator \$regex/);
			await assert.rejects(c.find({ $where: "true" }), /unsupported query operator \$where/);
			await assert.rejects(
				c.update({ _id: "d1" }, { $rename: { n: "m" } } as never),
				/unsupported update operator/,
			);
			await assert.rejects(c.update({ _id: "d1" }, {}), /at least one of/);
			await assert.rejects(c.find({}, { limit: -1 }), /non-negative integer/);
			await assert.rejects(store.collection({ name: "bad name!" }), /collection name/);
		});

		test("update applies $set, $inc, $push and $unset and returns the match count", async () => {
			const c = await fresh();
			await c.insert({ _id: "u", n: 1, tags: ["a"], extra: "gone soon" });
			const matched = await c.update(
				{ _id: "u" },
				{ $set: { tag: "t" }, $inc: { n: 2 }, $push: { tags: "b" }, $unset: { extra: true } },
			);
			assert.equal(matched, 1);
			assert.deepEqual(await c.findOne({ _id: "u" }), { _id: "u", n: 3, tag: "t", tags: ["a", "b"] });
			assert.equal(await c.update({ _id: "nobody" }, { $set: { n: 0 } }), 0);
		});

		test("update touches one document unless multi", async () => {
			const c = await seeded();
			assert.equal(await c.update({ tag: "odd" }, { $set: { seen: true } }), 1);
			assert.equal(await c.count({ seen: true }), 1);
			assert.equal(await c.update({ tag: "odd" }, { $set: { seen: true } }, { multi: true }), 3);
			assert.equal(await c.count({ seen: true }), 3);
		});

		test("replace overwrites the whole document and upserts when absent", async () => {
			const c = await fresh();
			await c.insert({ _id: "r", n: 1, tag: "old" });
			await c.replace({ _id: "r", n: 2 });
			assert.deepEqual(await c.findOne({ _id: "r" }), { _id: "r", n: 2 });
			await c.replace({ _id: "new", tag: "upserted" });
			assert.deepEqual(await c.findOne({ _id: "new" }), { _id: "new", tag: "upserted" });
			assert.equal(await c.count({}), 2);
		});

		test("concurrent replaces of one new document all succeed, and one of them is what is kept", async () => {
			const c = await fresh();
			for (const id of ["race-1", "race-2", "race-3"]) {
				const writers = Array.from({ length: 12 }, (_, n) => c.replace({ _id: id, n }));
				await Promise.all(writers);
				const kept = await c.findOne({ _id: id });
				assert.ok((kept?.n ?? -1) >= 0 && (kept?.n ?? 12) < 12, JSON.stringify(kept));
				assert.equal(await c.count({ _id: id }), 1);
			}
		});

		test("remove removes one document unless multi and returns how many", async () => {
			const c = await seeded();
			assert.equal(await c.remove({ tag: "odd" }), 1);
			assert.equal(await c.count({ tag: "odd" }), 2);
			assert.equal(await c.remove({ tag: "odd" }, { multi: true }), 2);
			assert.equal(await c.remove({ tag: "odd" }, { multi: true }), 0);
			assert.equal(await c.count({}), 3);
		});

		test("a duplicate _id raises DuplicateKeyError", async () => {
			const c = await fresh();
			await c.insert({ _id: "same" });
			const err = await c.insert({ _id: "same" }).catch((e: unknown) => e);
			assert.ok(err instanceof DuplicateKeyError, `expected DuplicateKeyError, got ${err}`);
			assert.deepEqual(err.fields, ["_id"]);
			assert.equal(err.collection, c.name);
		});

		test("a unique index rejects duplicates on insert and update", async () => {
			const c = await fresh([{ fields: ["tag"], unique: true }]);
			await c.insert({ _id: "1", tag: "a" });
			await c.insert({ _id: "2", tag: "b" });
			const err = await c.insert({ _id: "3", tag: "a" }).catch((e: unknown) => e);
			assert.ok(err instanceof DuplicateKeyError, `expected DuplicateKeyError, got ${err}`);
			assert.deepEqual(err.fields, ["tag"]);
			await assert.rejects(c.update({ _id: "2" }, { $set: { tag: "a" } }), DuplicateKeyError);
			await assert.rejects(c.replace({ _id: "2", tag: "a" }), DuplicateKeyError);
			assert.equal(
				(await c.findOne({ _id: "2" }))?.tag,
				"b",
				"a rejected write leaves the document unchanged",
			);
			assert.equal(await c.count({}), 2);
		});

		test("a compound unique index rejects only the same combination", async () => {
			const c = await fresh([{ fields: ["tag", "n"], unique: true }]);
			await c.insert({ _id: "1", tag: "a", n: 1 });
			await c.insert({ _id: "2", tag: "a", n: 2 });
			await c.insert({ _id: "3", tag: "b", n: 1 });
			const err = await c.insert({ _id: "4", tag: "a", n: 1 }).catch((e: unknown) => e);
			assert.ok(err instanceof DuplicateKeyError, `expected DuplicateKeyError, got ${err}`);
			assert.deepEqual(err.fields, ["tag", "n"]);
			await assert.rejects(c.update({ _id: "3" }, { $set: { tag: "a" } }), DuplicateKeyError);
			await assert.rejects(c.replace({ _id: "2", tag: "a", n: 1 }), DuplicateKeyError);
			await c.update({ _id: "3" }, { $set: { n: 3 } });
			await c.insert({ _id: "5", tag: "b", n: 1 });
			assert.equal(await c.count({}), 4);
		});

		test("collection() is idempotent: the same spec twice keeps data and indexes", async () => {
			const spec = { name: `again${++seq}`, indexes: [{ fields: ["tag"], unique: true }] };
			const c1 = await store.collection<Item>(spec);
			await c1.insert({ _id: "x", tag: "t" });
			const c2 = await store.collection<Item>(spec);
			assert.equal(await c2.count({}), 1);
			await assert.rejects(c2.insert({ _id: "y", tag: "t" }), DuplicateKeyError);
		});

		test("claim: exactly one of 50 concurrent claimers wins", async () => {
			const owners = Array.from({ length: 50 }, (_, i) => `owner-${i}`);
			const results = await Promise.all(owners.map((o) => store.claim("race", "k1", o)));
			const winners = results.filter((r) => r.won);
			assert.equal(winners.length, 1);
			const winner = winners[0]!.owner;
			assert.ok(
				results.every((r) => r.owner === winner),
				"every loser is told who won",
			);
			assert.deepEqual(await store.holder("race", "k1"), { owner: winner });
		});

		test("claim: the holder re-claiming still holds it; others lose", async () => {
			assert.deepEqual(await store.claim("again", "k", "alice"), { won: true, owner: "alice", gen: 0 });
			assert.deepEqual(await store.claim("again", "k", "alice"), { won: true, owner: "alice" });
			assert.deepEqual(await store.claim("again", "k", "bob"), { won: false, owner: "alice" });
			assert.deepEqual(await store.claim("again", "other-key", "bob"), { won: true, owner: "bob", gen: 0 });
			assert.deepEqual(await store.claim("other-scope", "k", "bob"), { won: true, owner: "bob", gen: 0 });
		});

		test("claim: scope and key containing / cannot collide", async () => {
			assert.equal((await store.claim("s/a", "b", "one")).won, true);
			assert.equal((await store.claim("s", "a/b", "two")).won, true);
		});

		test("claim: release lets the key be claimed again; release by another owner is a no-op", async () => {
			assert.equal((await store.claim("rel", "k", "alice")).won, true);
			await store.release("rel", "k", "bob");
			assert.deepEqual(await store.claim("rel", "k", "bob"), { won: false, owner: "alice" });
			await store.release("rel", "k", "alice");
			assert.equal(await store.holder("rel", "k"), null);
			// alice's release is generation 1 (a free one): bob's claim is the next.
			assert.deepEqual(await store.claim("rel", "k", "bob"), { won: true, owner: "bob", gen: 2 });
			await store.release("rel", "k", "bob");
			const results = await Promise.all(
				Array.from({ length: 20 }, (_, i) => store.claim("rel", "k", `c${i}`)),
			);
			assert.equal(results.filter((r) => r.won).length, 1);
		});

		test("claim: after expiry exactly one of many concurrent claimers takes over", async () => {
			// Long enough that the checks before expiry run before it even on a loaded machine.
			const first = await store.claim("ttl", "k", "sleepy", { ttlMs: 2000 });
			assert.equal(first.won, true);
			const held = await store.holder("ttl", "k");
			assert.equal(held?.owner, "sleepy");
			assert.deepEqual(await store.claim("ttl", "k", "early"), { won: false, owner: "sleepy" });
			await sleep(Math.max(0, held!.expiresAt! - Date.now()) + 50);
			assert.equal(await store.holder("ttl", "k"), null, "an expired claim has no holder");
			const results = await Promise.all(
				Array.from({ length: 30 }, (_, i) => store.claim("ttl", "k", `taker-${i}`, { ttlMs: 60_000 })),
			);
			const winners = results.filter((r) => r.won);
			assert.equal(winners.length, 1);
			assert.ok(results.every((r) => r.owner === winners[0]!.owner));
			const holder = await store.holder("ttl", "k");
			assert.equal(holder?.owner, winners[0]!.owner);
			assert.ok(holder?.expiresAt && holder.expiresAt > Date.now());
		});

		test("claim: forget removes every generation of a key, and only of that key", async () => {
			for (const owner of ["alice", "bob", "carol"]) {
				assert.equal((await store.claim("forget", "k", owner)).won, true);
				await store.release("forget", "k", owner);
			}
			assert.equal((await store.claim("forget", "k", "dan")).won, true);
			assert.equal((await store.claim("forget", "kept", "erin")).won, true);
			const claims = await store.collection({ name: "_claims" });
			assert.equal(
				(await claims.find({ scope: "forget", key: "k" })).length,
				7,
				"three claims, their releases, dan's",
			);
			await store.forget("forget", "k");
			assert.equal((await claims.find({ scope: "forget", key: "k" })).length, 0);
			assert.equal(await store.holder("forget", "k"), null);
			assert.deepEqual(await store.holder("forget", "kept"), { owner: "erin" });
			assert.deepEqual(await store.claim("forget", "k", "fay"), { won: true, owner: "fay", gen: 0 });
			assert.deepEqual(await store.claim("forget", "k", "gus"), { won: false, owner: "fay" });
			await store.forget("forget", "never-claimed");
		});

		test("claim: a stale releaser cannot release the newer claim", async () => {
			assert.equal((await store.claim("stale", "k", "old", { ttlMs: 40 })).won, true);
			await sleep(90);
			assert.equal((await store.claim("stale", "k", "new")).won, true);
			await store.release("stale", "k", "old");
			assert.deepEqual(await store.holder("stale", "k"), { owner: "new" });
			assert.deepEqual(await store.claim("stale", "k", "third"), { won: false, owner: "new" });
		});

		test("claim: bad arguments are refused clearly", async () => {
			await assert.rejects(store.claim("", "k", "o"), /scope must be a non-empty string/);
			await assert.rejects(store.claim("s", "k", "o", { ttlMs: -5 }), /ttlMs must be a positive number/);
		});

		test("claim throughput", async (t) => {
			const n = 300;
			const started = performance.now();
			const results = await Promise.all(
				Array.from({ length: n }, (_, i) => store.claim("throughput", `key-${i}`, "bench")),
			);
			const seconds = (performance.now() - started) / 1000;
			assert.equal(results.filter((r) => r.won).length, n);
			const rate = Math.round(n / seconds);
			t.diagnostic(`${label}: ${n} claims in ${seconds.toFixed(2)} s = ${rate} claims/s`);
			assert.ok(rate > 0);
		});
	});
}
