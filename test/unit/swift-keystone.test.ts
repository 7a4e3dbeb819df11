// Keystone v3 for the Swift store: the address (v2.0 → v3 with a warning), the password body,
// the token response's expiry and object-store endpoint by region, and token caching.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CachedAuth, TOKEN_RENEW_MARGIN_MS } from "../../src/artifacts/swift/auth.ts";
import { keystoneV3Url, parseTokenResponse, passwordAuthBody } from "../../src/artifacts/swift/keystone.ts";

// The shape of POST /v3/auth/tokens (the Identity API v3 reference), two regions.
const TOKEN = {
	token: {
		methods: ["password"],
		expires_at: "2026-12-03T20:00:00.000000Z",
		project: { id: "p1", name: "cds", domain: { id: "default", name: "Default" } },
		catalog: [
			{
				type: "identity",
				name: "keystone",
				endpoints: [{ interface: "public", region_id: "RegionOne", url: "http://ks/v3" }],
			},
			{
				type: "object-store",
				name: "swift",
				endpoints: [
					{ interface: "admin", region_id: "GRA", region: "GRA", url: "http://admin-gra/v1/AUTH_p1" },
					{ interface: "public", region_id: "GRA", region: "GRA", url: "https://gra/v1/AUTH_p1/" },
					{ interface: "public", region_id: "SBG", region: "SBG", url: "https://sbg/v1/AUTH_p1" },
				],
			},
		],
	},
};

describe("Keystone v3 for Swift", () => {
	test("a v2.0 address is used as v3 at the same host, with a warning naming both", () => {
		const r = keystoneV3Url("https://auth.cloud.ovh.net/v2.0");
		assert.equal(r.url, "https://auth.cloud.ovh.net/v3");
		assert.match(
			r.warning!,
			/v2\.0 address https:\/\/auth\.cloud\.ovh\.net\/v2\.0.*https:\/\/auth\.cloud\.ovh\.net\/v3/,
		);
		assert.deepEqual(keystoneV3Url("https://ks:5000/v3/"), { url: "https://ks:5000/v3" });
		assert.deepEqual(keystoneV3Url("https://ks:5000"), { url: "https://ks:5000/v3" });
		assert.deepEqual(keystoneV3Url("https://ks/identity"), { url: "https://ks/identity/v3" });
	});

	test("the password body is scoped to the project in the domain", () => {
		assert.deepEqual(passwordAuthBody({ user: "u", password: "pw", project: "cds", domain: "Default" }), {
			auth: {
				identity: {
					methods: ["password"],
					password: { user: { name: "u", domain: { name: "Default" }, password: "pw" } },
				},
				scope: { project: { name: "cds", domain: { name: "Default" } } },
			},
		});
	});

	test("the object-store endpoint: public, in the region when one is given", () => {
		assert.deepEqual(parseTokenResponse(TOKEN, "SBG"), {
			expiresAt: Date.parse("2026-12-03T20:00:00Z"),
			storageUrl: "https://sbg/v1/AUTH_p1",
		});
		assert.equal(parseTokenResponse(TOKEN).storageUrl, "https://gra/v1/AUTH_p1");
		assert.throws(
			() => parseTokenResponse(TOKEN, "BHS"),
			/no public object-store endpoint in region BHS \(regions: GRA, SBG\)/,
		);
		const noSwift = { token: { ...TOKEN.token, catalog: [TOKEN.token.catalog[0]] } };
		assert.throws(() => parseTokenResponse(noSwift), /no object-store service/);
		assert.throws(() => parseTokenResponse({ token: { catalog: [] } }), /expires_at/);
		assert.throws(() => parseTokenResponse({}), /without a token/);
	});

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
