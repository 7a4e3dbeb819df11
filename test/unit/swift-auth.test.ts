// Swift's cached credentials (TempAuth's; Keystone's are the shared client's:
// openstack-keystone.test.ts): one fetch for concurrent callers, renewed shortly before expiry
// and after invalidate (Swift answered 401).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CachedAuth, TOKEN_RENEW_MARGIN_MS } from "../../src/artifacts/swift/auth.ts";

describe("Swift cached credentials", () => {
	test("a token is reused until shortly before it expires, and fetched again when invalidated", async () => {
		let now = 0;
		let fetched = 0;
		const auth = new CachedAuth(
			async () => {
				fetched++;
				return { creds: { token: `t${fetched}`, storageUrl: "s" }, expiresAt: 3_600_000 };
			},
			() => now,
		);
		const [a, b] = await Promise.all([auth.credentials(), auth.credentials()]);
		assert.equal(a.token, "t1");
		assert.equal(b.token, "t1", "concurrent callers share one fetch");
		now = 3_600_000 - TOKEN_RENEW_MARGIN_MS - 1;
		assert.equal((await auth.credentials()).token, "t1");
		now = 3_600_000 - TOKEN_RENEW_MARGIN_MS;
		assert.equal((await auth.credentials()).token, "t2", "renewed before expiry");
		auth.invalidate();
		assert.equal((await auth.credentials()).token, "t3");
	});
});
