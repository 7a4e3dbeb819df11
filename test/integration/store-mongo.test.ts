import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { describe, test } from "node:test";
import { createInterface } from "node:readline";
import { CLAIMS_COLLECTION } from "../../src/store/claim.ts";
import { openStore } from "../../src/store/index.ts";
import { MongoStore } from "../../src/store/mongo-store.ts";
import type { Store } from "../../src/store/types.ts";
import { OUTSIDE_SUBSET, storeContract } from "../helpers/store-contract.ts";
import { mongoUrlFor, serverUrl, uniqueDbName } from "../helpers/servers.ts";

type RaceReport = { owner: string; won: string[]; lost: number; ms: number };

/** Starts one racer per owner, waits until all are connected, then lets them go at once. */
async function raceProcesses(owners: string[], env: Record<string, string>): Promise<RaceReport[]> {
	const children = owners.map((owner) =>
		spawn(process.execPath, [racer], { env: { ...process.env, ...env, RACE_OWNER: owner }, stdio: "pipe" }),
	);
	const lines = children.map((child) => {
		const rl = createInterface({ input: child.stdout });
		let stderr = "";
		child.stderr.on("data", (chunk) => {
			stderr += chunk;
		});
		const exited = once(child, "exit").then(([code]) => {
			if (code !== 0) throw new Error(`racer exited with ${code}: ${stderr}`);
		});
		return { rl, iterator: rl[Symbol.asyncIterator](), exited };
	});
	const next = async (i: number) => {
		const { value, done } = await lines[i]!.iterator.next();
		if (done) {
			await lines[i]!.exited;
			throw new Error("racer ended early");
		}
		return value as string;
	};
	for (let i = 0; i < children.length; i++) assert.equal(await next(i), "ready");
	for (const child of children) child.stdin.write("go\n");
	const reports = await Promise.all(children.map(async (_, i) => JSON.parse(await next(i)) as RaceReport));
	await Promise.all(lines.map((l) => l.exited));
	return reports;
}
const racer = join(import.meta.dirname, "../helpers/store-claim-racer.ts");
const mongo = serverUrl("MONGO_URL");
// FerretDB's SQLite backend, next to MONGO_URL's (PostgreSQL in CI): the same contract must hold on both.
const sqlite = serverUrl("MONGO_SQLITE_URL");

async function dropAndClose(store: Store): Promise<void> {
	await (store as MongoStore).dropDatabase();
}

if (sqlite.skip !== false) {
	test("MongoDB store on FerretDB/SQLite", { skip: sqlite.skip }, () => {});
} else {
	const base = sqlite.url;
	storeContract("mongo-sqlite", {
		open: () =>
			openStore({ mongoUrl: mongoUrlFor(base, uniqueDbName("store_contract")), dataDir: "/nonexistent" }),
		cleanup: dropAndClose,
	});
}

if (mongo.skip !== false) {
	test("MongoDB store", { skip: mongo.skip }, () => {});
} else {
	const base = mongo.url;

	storeContract("mongo", {
		open: () =>
			openStore({ mongoUrl: mongoUrlFor(base, uniqueDbName("store_contract")), dataDir: "/nonexistent" }),
		cleanup: dropAndClose,
	});

	describe("MongoDB store", () => {
		test("openStore with mongoUrl gives the mongo backend on the named database", async () => {
			const db = uniqueDbName("store_open");
			const store = await openStore({ mongoUrl: mongoUrlFor(base, db), dataDir: "/nonexistent" });
			try {
				assert.equal(store.kind, "mongo");
				assert.equal((store as MongoStore).databaseName, db);
				// FerretDB (what tests run against here) gets 4 writes at a time from a node; MongoDB all.
				const ferret = Boolean(
					((await (store as MongoStore).db.admin().command({ buildInfo: 1 })) as { ferretdbVersion?: string })
						.ferretdbVersion,
				);
				assert.equal((store as MongoStore).writeConcurrency, ferret ? 4 : Number.POSITIVE_INFINITY);
			} finally {
				await dropAndClose(store);
				await store.close();
			}
		});

		test("an unreachable server fails within the selection timeout with a clear error", async () => {
			const started = Date.now();
			await assert.rejects(
				MongoStore.connect("mongodb://user:secret@127.0.0.1:1/nothing"),
				(err: unknown) => {
					assert.match(
						(err as Error).message,
						/cannot reach MongoDB at mongodb:\/\/\*\*\*@127\.0\.0\.1:1\/nothing within 5 s/,
					);
					assert.doesNotMatch((err as Error).message, /secret/);
					return true;
				},
			);
			assert.ok(Date.now() - started < 15_000);
			await assert.rejects(MongoStore.connect("http://example.com"), /must start with mongodb:\/\//);
		});

		test("the server itself refuses or alters the shapes outside the subset (why the store refuses them)", async (t) => {
			const store = await MongoStore.connect(mongoUrlFor(base, uniqueDbName("store_subset")));
			try {
				const info = (await store.db.admin().command({ buildInfo: 1 })) as { ferretdbVersion?: string };
				const raw = store.db.collection("raw");
				const outcome = new Map<string, string>();
				for (const [i, { what, value }] of OUTSIDE_SUBSET.entries()) {
					const _id = `raw${i}`;
					try {
						// bypasses the store: the native driver, straight to the server
						await raw.insertOne({ _id, v: value } as never);
						const back = (await raw.findOne({ _id } as never)) as { v?: unknown } | null;
						let same = true;
						try {
							assert.deepStrictEqual(back?.v, value);
						} catch {
							same = false;
						}
						outcome.set(what, same ? "kept" : "altered");
					} catch {
						outcome.set(what, "refused");
					}
				}
				t.diagnostic(
					`${info.ferretdbVersion ? `FerretDB ${info.ferretdbVersion}` : "MongoDB"}: ` +
						[...outcome].map(([what, o]) => `${what}: ${o}`).join("; "),
				);
				if (!info.ferretdbVersion) return;
				// Refused by FerretDB whatever its backend (NaN even drops the connection)...
				for (const what of [
					"an array inside an array",
					"an empty array inside an array",
					"NaN",
					"Infinity",
				]) {
					assert.equal(outcome.get(what), "refused", what);
				}
				// ...or silently stored as something else.
				for (const what of [
					"a lone surrogate in a string",
					"an invalid Date",
					"a Set",
					"undefined in an array",
				]) {
					assert.equal(outcome.get(what), "altered", what);
				}
			} finally {
				await store.dropDatabase();
				await store.close();
			}
		});

		test("4 processes racing for the same 300 keys: every key has exactly one winner", async (t) => {
			const db = uniqueDbName("store_race");
			const url = mongoUrlFor(base, db);
			const store = await MongoStore.connect(url);
			try {
				const keyCount = 300;
				const scope = "race";
				const owners = ["racer-a", "racer-b", "racer-c", "racer-d"];
				const reports = await raceProcesses(owners, {
					RACE_MONGO_URL: url,
					RACE_SCOPE: scope,
					RACE_KEYS: String(keyCount),
				});
				const winnerOf = new Map<string, string>();
				for (const report of reports) {
					assert.equal(report.won.length + report.lost, keyCount);
					for (const key of report.won) {
						assert.equal(
							winnerOf.get(key),
							undefined,
							`${key} won by both ${winnerOf.get(key)} and ${report.owner}`,
						);
						winnerOf.set(key, report.owner);
					}
				}
				assert.equal(winnerOf.size, keyCount, "every key was won by some process");
				for (const [key, owner] of winnerOf) {
					assert.deepEqual(await store.holder(scope, key), { owner }, `store disagrees on ${key}`);
				}
				const claims = await store.collection(CLAIMS_COLLECTION);
				assert.equal(await claims.count({ scope }), keyCount, "one claim document per key");
				const slowest = Math.max(...reports.map((r) => r.ms)) / 1000;
				t.diagnostic(
					`cross-process: ${owners.length * keyCount} claims in ${slowest.toFixed(2)} s = ` +
						`${Math.round((owners.length * keyCount) / slowest)} claims/s; wins ${reports.map((r) => `${r.owner}=${r.won.length}`).join(" ")}`,
				);
			} finally {
				await store.dropDatabase();
				await store.close();
			}
		});
	});
}
