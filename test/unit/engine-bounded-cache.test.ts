// The worker routes' caches: entries age out, and the cache empties itself past its bound.
import assert from "node:assert/strict";
import { test } from "node:test";
import { BoundedCache } from "../../src/engine/bounded-cache.ts";

test("an entry is served until its time to live has passed", () => {
	let now = 1_000;
	const cache = new BoundedCache<string[]>({ maxSize: 10, ttlMs: 60_000, now: () => now });
	cache.set("j", ["s"]);
	now += 59_999;
	assert.deepEqual(cache.get("j"), ["s"]);
	now += 1;
	assert.equal(cache.get("j"), undefined);
	cache.set("j", ["t"]);
	assert.deepEqual(cache.get("j"), ["t"], "a fresh value restarts the clock");
});

test("without a time to live entries stay until deleted", () => {
	let now = 0;
	const cache = new BoundedCache<number>({ maxSize: 10, now: () => now });
	cache.set("a", 1);
	now = Number.MAX_SAFE_INTEGER;
	assert.equal(cache.get("a"), 1);
	cache.delete("a");
	assert.equal(cache.get("a"), undefined);
});

test("past its bound the cache is emptied before the next entry", () => {
	const cache = new BoundedCache<number>({ maxSize: 2 });
	for (const k of ["a", "b", "c"]) cache.set(k, 1);
	assert.equal(cache.size, 3);
	cache.set("d", 4);
	assert.equal(cache.size, 1);
	assert.equal(cache.get("a"), undefined);
	assert.equal(cache.get("d"), 4);
});
