import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";
import { createRequire } from "node:module";
import { DataDirLockedError } from "../../src/store/data-dir-lock.ts";
import { EmbeddedStore } from "../../src/store/embedded-store.ts";
import { openStore } from "../../src/store/index.ts";
import { serialize } from "../../src/store/nedb-appender.ts";
import { DuplicateKeyError } from "../../src/store/types.ts";
import { storeContract } from "../helpers/store-contract.ts";
import { tempDataDir } from "../helpers/store-temp-dir.ts";

const run = promisify(execFile);
const openDirChild = join(import.meta.dirname, "../helpers/store-open-dir.ts");

const dirs: { remove(): Promise<void> }[] = [];
async function newDir(): Promise<string> {
	const d = await tempDataDir();
	dirs.push(d);
	return d.dir;
}
after(async () => {
	for (const d of dirs) await d.remove();
});

storeContract("embedded", { open: async () => openStore({ dataDir: await newDir() }) });

async function tryOpenInChild(
	dir: string,
): Promise<{ ok: boolean; name?: string; error?: string; pid?: number }> {
	const { stdout } = await run(process.execPath, [openDirChild, dir]);
	return JSON.parse(stdout.trim());
}

describe("embedded store", () => {
	test("openStore without mongoUrl gives the embedded backend", async () => {
		const store = await openStore({ dataDir: await newDir() });
		assert.equal(store.kind, "embedded");
		await store.close();
	});

	test("documents, unique indexes and claims survive close and reopen", async () => {
		const dir = await newDir();
		const spec = {
			name: "things",
			indexes: [
				{ fields: ["name"], unique: true },
				{ fields: ["a", "b"], unique: true },
			],
		};
		const first = await EmbeddedStore.open(dir);
		const things = await first.collection(spec);
		await things.insert({ _id: "t1", name: "one", a: 1, b: 1 });
		await things.insert({ _id: "t2", name: "two", a: 1, b: 2 });
		await things.update({ _id: "t2" }, { $inc: { count: 5 } });
		await things.remove({ _id: "t1" });
		await things.insert({ _id: "t3", name: "three", a: 2, b: 2 });
		assert.equal((await first.claim("persist", "k", "holder")).won, true);
		await first.close();

		const second = await EmbeddedStore.open(dir);
		const again = await second.collection(spec);
		assert.deepEqual(await again.find({}, { sort: { _id: 1 } }), [
			{ _id: "t2", name: "two", a: 1, b: 2, count: 5 },
			{ _id: "t3", name: "three", a: 2, b: 2 },
		]);
		await assert.rejects(again.insert({ _id: "t4", name: "two", a: 9, b: 9 }), DuplicateKeyError);
		await assert.rejects(again.insert({ _id: "t5", name: "five", a: 2, b: 2 }), DuplicateKeyError);
		assert.deepEqual(await second.holder("persist", "k"), { owner: "holder" });
		assert.deepEqual(await second.claim("persist", "k", "intruder"), { won: false, owner: "holder" });
		await second.close();
	});

	test("reopening compacts claim generations without losing the holder", async () => {
		const dir = await newDir();
		const first = await EmbeddedStore.open(dir);
		for (let i = 0; i < 6; i++) {
			assert.equal((await first.claim("cycle", "k", `owner-${i}`)).won, true);
			await first.release("cycle", "k", `owner-${i}`);
		}
		assert.equal((await first.claim("cycle", "k", "last")).won, true);
		const claimsBefore = await first.collection({ name: "_claims" });
		assert.equal(await claimsBefore.count({ scope: "cycle" }), 13, "six claims, their releases, the last");
		await first.close();

		const second = await EmbeddedStore.open(dir);
		const claims = await second.collection({ name: "_claims" });
		assert.equal(await claims.count({ scope: "cycle" }), 2, "generation 0 and the latest remain");
		assert.deepEqual(await second.holder("cycle", "k"), { owner: "last" });
		assert.deepEqual(await second.claim("cycle", "k", "other"), { won: false, owner: "last" });
		await second.release("cycle", "k", "last");
		assert.deepEqual(await second.claim("cycle", "k", "other"), { won: true, owner: "other", gen: 14 });
		assert.deepEqual(await second.holder("cycle", "k"), { owner: "other" });
		await second.close();
	});

	test("a closed store refuses further use clearly", async () => {
		const store = await EmbeddedStore.open(await newDir());
		const c = await store.collection({ name: "x" });
		await store.close();
		await assert.rejects(c.insert({ _id: "a" }), /is closed/);
		await assert.rejects(store.collection({ name: "y" }), /is closed/);
	});

	test("the data directory is locked while open and free again after close", async () => {
		const dir = await newDir();
		const store = await EmbeddedStore.open(dir);
		assert.equal((await readFile(join(dir, "LOCK"), "utf8")).trim(), String(process.pid));
		await assert.rejects(EmbeddedStore.open(dir), (err: unknown) => {
			assert.ok(err instanceof DataDirLockedError);
			assert.match(err.message, /already in use by this process/);
			return true;
		});
		const child = await tryOpenInChild(dir);
		assert.equal(child.ok, false);
		assert.equal(child.name, "DataDirLockedError");
		assert.match(child.error ?? "", new RegExp(`in use by process ${process.pid}`));
		assert.match(child.error ?? "", /LOCK/);
		await store.close();
		const later = await tryOpenInChild(dir);
		assert.equal(later.ok, true, `child should open a released directory: ${later.error}`);
	});

	test("a stale lock left by a dead process is taken over", async () => {
		const dir = await newDir();
		const { stdout } = await run(process.execPath, ["-e", "console.log(process.pid)"]);
		const deadPid = Number(stdout.trim());
		await writeFile(join(dir, "LOCK"), `${deadPid}\n`);
		const store = await EmbeddedStore.open(dir);
		assert.equal((await readFile(join(dir, "LOCK"), "utf8")).trim(), String(process.pid));
		await store.close();
	});

	test("a lock file with garbage in it is treated as stale", async () => {
		const dir = await newDir();
		await writeFile(join(dir, "LOCK"), "not a pid");
		const store = await EmbeddedStore.open(dir);
		await store.close();
		const child = await tryOpenInChild(dir);
		assert.equal(child.ok, true);
	});

	test("a low-cardinality index is not kept, and one declared earlier is dropped; queries still answer", async () => {
		const dir = await newDir();
		const first = await EmbeddedStore.open(dir);
		const events = await first.collection({ name: "events", indexes: [{ fields: ["state"] }] });
		for (let i = 0; i < 20; i++)
			await events.insert({ _id: `e${i}`, state: i % 4 === 0 ? "pending" : "done" });
		await first.close();
		assert.match(await readFile(join(dir, "events.db"), "utf8"), /"\$\$indexCreated":\{"fieldName":"state"/);

		const second = await EmbeddedStore.open(dir);
		const again = await second.collection({
			name: "events",
			indexes: [{ fields: ["state"], lowCardinality: true }],
		});
		await again.update({ _id: "e1" }, { $set: { state: "pending" } });
		const pending = await again.find({ state: "pending" }, { sort: { _id: 1 } });
		assert.deepEqual(
			pending.map((e) => e._id),
			["e0", "e1", "e12", "e16", "e4", "e8"],
		);
		await second.close();
		// Closing compacts the datafile, which declares every index the collection still has.
		assert.doesNotMatch(await readFile(join(dir, "events.db"), "utf8"), /indexCreated/);
	});

	test("datafile lines are NeDB's own, with or without dates", () => {
		const nedb = createRequire(import.meta.url)("@seald-io/nedb/lib/model.js") as {
			serialize(d: unknown): string;
			deserialize(s: string): unknown;
		};
		const docs = [
			{
				_id: "a",
				n: 1,
				s: "x",
				nil: null,
				gone: undefined,
				list: [1, undefined, { k: "v" }],
				deep: { a: { b: [] } },
			},
			{ _id: "b", at: new Date(1_700_000_000_000), nested: [{ when: new Date(0) }] },
			{ $$deleted: true, _id: "c" },
			{ $$indexCreated: { fieldName: "state", unique: false, sparse: false } },
		];
		for (const doc of docs) {
			assert.equal(serialize(doc), nedb.serialize(doc));
			assert.deepEqual(nedb.deserialize(serialize(doc)), nedb.deserialize(nedb.serialize(doc)));
		}
	});

	test("a loop of writes leaves the event loop room: timers and I/O run between them", async () => {
		const store = await EmbeddedStore.open(await newDir());
		const things = await store.collection({ name: "things" });
		let ticks = 0;
		const ticker = setInterval(() => ticks++, 1);
		const started = performance.now();
		for (let i = 0; i < 3000; i++) await things.insert({ _id: `t${i}`, n: i });
		const elapsed = performance.now() - started;
		clearInterval(ticker);
		await store.close();
		// A starved loop would see no tick at all until the writes end.
		assert.ok(ticks >= Math.min(20, elapsed / 10), `${ticks} ticks in ${elapsed.toFixed(0)} ms of writes`);
	});
});
