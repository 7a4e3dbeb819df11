// What the auth service remembers of tokens it read (src/auth/token-cache.ts).

import assert from "node:assert/strict";
import { test } from "node:test";
import { TokenCache } from "../../src/auth/token-cache.ts";

test("a token read is served from memory until its time is up, and never after an eviction", () => {
	let now = 1_000;
	const cache = new TokenCache<{ revoked: boolean }>(5_000, () => now);
	assert.equal(cache.get("t1"), undefined);
	cache.set("t1", { revoked: false });
	now += 4_999;
	assert.deepEqual(cache.get("t1"), { revoked: false });
	now += 1;
	assert.equal(cache.get("t1"), undefined, "expired: read from the store again");
	cache.set("t1", { revoked: false });
	cache.evict("t1");
	assert.equal(cache.get("t1"), undefined, "revoked: read from the store again");
});
