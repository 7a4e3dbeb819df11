// Two claim ledgers on one `_claims` collection, as two nodes sharing a store: what one ledger
// remembers of a key (where its search for the latest generation starts) never makes it believe
// a stale generation, whatever the other did meanwhile (take-overs, forget and a fresh start).

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { CLAIMS_COLLECTION, ClaimLedger, openStore } from "../../src/store/index.ts";
import type { Collection, Doc, Store } from "../../src/store/types.ts";
import { tempDataDir } from "../helpers/store-temp-dir.ts";

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
	for (const c of cleanups) await c();
});

/** Two ledgers over one collection, and a count of the reads it serves. */
async function twoNodes(): Promise<{
	a: ClaimLedger;
	b: ClaimLedger;
	reads: () => number;
	/** Round trips that wrote, by kind (insert, insertMany, update). */
	writes: Record<string, number>;
	claims: Collection<Doc>;
}> {
	const dir = await tempDataDir();
	const store: Store = await openStore({ dataDir: dir.dir });
	cleanups.push(async () => {
		await store.close();
		await dir.remove();
	});
	const claims = await store.collection(CLAIMS_COLLECTION);
	let reads = 0;
	const writes: Record<string, number> = {};
	const counted = new Proxy(claims, {
		get(target, prop, receiver) {
			const value = Reflect.get(target, prop, receiver);
			if (prop === "findOne" || prop === "find")
				return (...args: unknown[]) => {
					reads++;
					return (value as (...a: unknown[]) => unknown).apply(target, args);
				};
			if (prop === "insert" || prop === "insertMany" || prop === "update")
				return (...args: unknown[]) => {
					writes[prop] = (writes[prop] ?? 0) + 1;
					return (value as (...a: unknown[]) => unknown).apply(target, args);
				};
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
	return { a: new ClaimLedger(counted), b: new ClaimLedger(claims), reads: () => reads, writes, claims };
}

describe("claim ledger: what a ledger remembers of a key", () => {
	test("a key taken over many times by another ledger: the holder is the true latest", async () => {
		const { a, b } = await twoNodes();
		assert.deepEqual(await a.claim("s", "k", "alice"), { won: true, owner: "alice", gen: 0 });
		await a.release("s", "k", "alice");
		for (let i = 0; i < 5; i++) {
			assert.equal((await b.claim("s", "k", `bob${i}`)).won, true);
			if (i < 4) await b.release("s", "k", `bob${i}`);
		}
		assert.deepEqual(await a.claim("s", "k", "alice"), { won: false, owner: "bob4" });
		assert.deepEqual(await a.holder("s", "k"), { owner: "bob4" });
		await b.release("s", "k", "bob4");
		// Each claim and each release is a generation: alice's is the 13th.
		assert.deepEqual(await a.claim("s", "k", "alice"), { won: true, owner: "alice", gen: 12 });
		assert.deepEqual(await b.claim("s", "k", "bob"), { won: false, owner: "alice" });
	});

	test("a key forgotten and claimed afresh by another ledger is not shadowed by an old generation", async () => {
		const { a, b, claims } = await twoNodes();
		for (let i = 0; i < 4; i++) {
			assert.equal((await a.claim("f", "k", `a${i}`)).won, true);
			await a.release("f", "k", `a${i}`);
		}
		await b.forget("f", "k");
		assert.equal((await claims.find({ scope: "f", key: "k" })).length, 0);
		assert.deepEqual(await b.claim("f", "k", "bob"), { won: true, owner: "bob", gen: 0 });
		assert.deepEqual(await a.claim("f", "k", "alice"), { won: false, owner: "bob" });
		assert.deepEqual(await a.holder("f", "k"), { owner: "bob" });
		// A release by a former owner whose generation number exists again touches nothing.
		await a.release("f", "k", "a3");
		assert.deepEqual(await a.holder("f", "k"), { owner: "bob" });
		await b.release("f", "k", "bob");
		assert.deepEqual(await a.claim("f", "k", "alice"), { won: true, owner: "alice", gen: 2 });
	});

	test("a holder whose claim expired and was taken over releases nothing of the new holder's", async () => {
		const { a, b } = await twoNodes();
		assert.equal((await a.claim("exp", "k", "alice", { ttlMs: 50 })).won, true);
		await new Promise((r) => setTimeout(r, 80));
		assert.deepEqual(await b.claim("exp", "k", "bob"), { won: true, owner: "bob", gen: 1 });
		// alice's ledger addresses the generation she won, which is no longer the latest.
		await a.release("exp", "k", "alice");
		assert.deepEqual(await a.holder("exp", "k"), { owner: "bob" });
		assert.deepEqual(await a.claim("exp", "k", "carol"), { won: false, owner: "bob" });
		await b.release("exp", "k", "bob");
		assert.deepEqual(await a.claim("exp", "k", "carol"), { won: true, owner: "carol", gen: 3 });
	});

	test("a key claimed and released in turn costs fewer reads once the ledger knows it", async () => {
		const { a, reads } = await twoNodes();
		const cycle = async (kept: boolean) => {
			const before = reads();
			assert.equal((await a.claim("lock", `run-${kept}`, "me", { kept })).won, true);
			await a.release("lock", `run-${kept}`, "me");
			return reads() - before;
		};
		await cycle(false); // generation 0: one insert, then a release (a free generation 1)
		for (let i = 0; i < 5; i++) await cycle(false);
		// One read to claim (the known generation; the insert after it is the probe for a newer
		// one), none to release (an insert after the owner's generation). Without the ledger's
		// memory: generation 0, its hint, the successor — and a refused insert first.
		assert.equal(await cycle(false), 1);
		// A kept key (never forgotten while claimable): the claim after this ledger's release reads nothing.
		for (let i = 0; i < 3; i++) await cycle(true);
		assert.equal(await cycle(true), 0);
	});

	test("a kept key another ledger claimed after this one's release: the blind insert loses, the claim finds the holder", async () => {
		const { a, b } = await twoNodes();
		assert.equal((await a.claim("slot", "k", "alice", { kept: true })).won, true);
		await a.release("slot", "k", "alice");
		assert.deepEqual(await b.claim("slot", "k", "bob", { kept: true }), { won: true, owner: "bob", gen: 2 });
		assert.deepEqual(await a.claim("slot", "k", "carol", { kept: true }), { won: false, owner: "bob" });
		await b.release("slot", "k", "bob");
		await b.claim("slot", "k", "dave", { kept: true });
		await b.release("slot", "k", "dave");
		assert.deepEqual(await a.claim("slot", "k", "carol", { kept: true }), {
			won: true,
			owner: "carol",
			gen: 6,
		});
		assert.deepEqual(await b.holder("slot", "k"), { owner: "carol" });
	});

	test("a generation that looks live but was released after this ledger read it is not taken for the holder", async () => {
		const { a, b } = await twoNodes();
		assert.equal((await b.claim("r", "k", "bob")).won, true);
		assert.deepEqual(await a.claim("r", "k", "alice"), { won: false, owner: "bob" }); // a knows generation 0
		await b.release("r", "k", "bob"); // generation 0 is unchanged; a free generation 1 follows it
		assert.deepEqual(await a.claim("r", "k", "alice"), { won: true, owner: "alice", gen: 2 });
	});

	test("claimAll and releaseAll: one round trip for what the ledger can guess, the rest as claim and release do", async () => {
		const { a, b, reads, writes } = await twoNodes();
		const all = (owner: string) =>
			["k1", "k2"].map((key) => ({ scope: "slot", key, owner, options: { kept: true } }));
		assert.deepEqual(
			(await a.claimAll(all("alice"))).map((r) => r.won),
			[true, true],
		);
		await a.releaseAll(all("alice"));
		assert.deepEqual(
			writes,
			{ insertMany: 2 },
			"two never-seen keys claimed, then released, in one insert each",
		);
		assert.equal(reads(), 0);
		// Another ledger takes k2 meanwhile: the guess for it loses, and the search finds bob.
		assert.equal((await b.claim("slot", "k2", "bob", { kept: true })).won, true);
		const results = await a.claimAll([...all("carol"), { scope: "booking", key: "job-1", owner: "carol" }]);
		assert.deepEqual(results, [
			{ won: true, owner: "carol", gen: 2 },
			{ won: false, owner: "bob" },
			{ won: true, owner: "carol", gen: 0 },
		]);
		assert.deepEqual(await b.holder("slot", "k1"), { owner: "carol" });
		// releaseAll of a claim this ledger does not hold (bob's k2) releases nothing of it.
		await a.releaseAll(all("carol"));
		assert.equal(await b.holder("slot", "k1"), null);
		assert.deepEqual(await b.holder("slot", "k2"), { owner: "bob" });
		assert.equal((writes as Record<string, number>).update ?? 0, 0, "releases insert, never update");
	});
});
