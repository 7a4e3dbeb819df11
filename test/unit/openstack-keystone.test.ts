// The one Keystone v3 client (src/openstack/keystone.ts), used by the Nova hatchery and the
// Swift store: the address (v2.0 → v3 with a warning), the password body, the token answer,
// the catalog's endpoint by type, interface and region, and — against a local token endpoint —
// a token shared by concurrent callers, renewed before its end and after `invalidate` (a 401),
// and a refusal that names the user but never holds the password.

import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { keystoneAuth } from "../../src/artifacts/swift/keystone-auth.ts";
import {
	catalogEndpoint,
	errorMessage,
	Keystone,
	keystoneV3Url,
	missingEndpoint,
	OpenStackError,
	parseToken,
	passwordAuthBody,
} from "../../src/openstack/keystone.ts";

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
			{
				type: "compute",
				endpoints: [
					{ interface: "public", region_id: "RegionOne", url: "https://nova.r1/v2.1/" },
					{ interface: "internal", region_id: "RegionOne", url: "http://nova.r1.internal/v2.1" },
					{ interface: "public", region_id: "RegionTwo", url: "https://nova.r2/v2.1" },
				],
			},
		],
	},
};

describe("Keystone v3: addresses, bodies, catalog", () => {
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
		assert.deepEqual(passwordAuthBody({ username: "u", password: "pw", project: "cds", domain: "Default" }), {
			auth: {
				identity: {
					methods: ["password"],
					password: { user: { name: "u", domain: { name: "Default" }, password: "pw" } },
				},
				scope: { project: { name: "cds", domain: { name: "Default" } } },
			},
		});
	});

	test("the token answer: expiry, catalog and project; a malformed one is refused", () => {
		const t = parseToken(TOKEN);
		assert.equal(t.expiresAt, Date.parse("2026-12-03T20:00:00Z"));
		assert.equal(t.projectId, "p1");
		assert.equal(t.catalog.length, 3);
		assert.throws(() => parseToken({ token: { catalog: [] } }), /expires_at/);
		assert.throws(() => parseToken({}), /without a token/);
	});

	test("the endpoint of a service type by interface and region", () => {
		const { catalog } = parseToken(TOKEN);
		assert.equal(catalogEndpoint(catalog, "object-store", "public", "SBG"), "https://sbg/v1/AUTH_p1");
		assert.equal(catalogEndpoint(catalog, "object-store", "public"), "https://gra/v1/AUTH_p1");
		assert.equal(catalogEndpoint(catalog, "compute", "public", "RegionTwo"), "https://nova.r2/v2.1");
		assert.equal(catalogEndpoint(catalog, "compute", "internal"), "http://nova.r1.internal/v2.1");
		assert.equal(catalogEndpoint(catalog, "compute", "public"), "https://nova.r1/v2.1");
		assert.equal(catalogEndpoint(catalog, "object-store", "public", "BHS"), undefined);
		assert.equal(catalogEndpoint(catalog, "volumev3", "public"), undefined);
		assert.match(
			missingEndpoint(catalog, "object-store", "public", "BHS"),
			/no public object-store endpoint in region BHS \(regions: GRA, SBG\)/,
		);
		assert.match(missingEndpoint(catalog, "volumev3", "public"), /no volumev3 service: is it registered/);
	});

	test("error messages: the service's own, else the status and body", () => {
		assert.equal(
			errorMessage(413, '{"overLimit":{"code":413,"message":"Quota exceeded"}}'),
			"Quota exceeded",
		);
		assert.equal(errorMessage(502, "bad gateway"), "HTTP 502: bad gateway");
	});
});

describe("Keystone v3 client against a local token endpoint", () => {
	let server: http.Server;
	let base = "";
	let issued = 0;
	const paths: string[] = [];
	/** The life of the next tokens. */
	let lifeMs = 3_600_000;

	before(async () => {
		server = http.createServer((req, res) => {
			const parts: Buffer[] = [];
			req.on("data", (c: Buffer) => parts.push(c));
			req.on("end", () => {
				paths.push(req.url ?? "");
				const body = JSON.parse(Buffer.concat(parts).toString()) as ReturnType<typeof passwordAuthBody>;
				if (body.auth.identity.password.user.password !== "pw") {
					res.writeHead(401, { "Content-Type": "application/json" }).end(
						JSON.stringify({
							error: {
								code: 401,
								message: "The request you have made requires authentication.",
								title: "Unauthorized",
							},
						}),
					);
					return;
				}
				issued++;
				// A small pause, so that concurrent callers really overlap.
				setTimeout(() => {
					res.writeHead(201, { "Content-Type": "application/json", "X-Subject-Token": `tok-${issued}` }).end(
						JSON.stringify({
							token: { ...TOKEN.token, expires_at: new Date(Date.now() + lifeMs).toISOString() },
						}),
					);
				}, 20);
			});
		});
		await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
		base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	});
	after(() => new Promise<void>((r) => server.close(() => r())));

	const creds = {
		username: "u",
		password: "pw",
		project: "cds",
		domain: "Default",
		region: "SBG",
		interface: "public" as const,
	};

	test("one token for concurrent callers, renewed 5 minutes before its end and after invalidate", async () => {
		lifeMs = 3_600_000;
		let offset = 0;
		const k = new Keystone({ ...creds, authUrl: base }, { now: () => Date.now() + offset });
		const before = issued;
		const [a, b] = await Promise.all([k.current(), k.current()]);
		assert.equal(a.value, b.value, "concurrent callers share one issue");
		assert.equal(issued - before, 1);
		assert.equal(paths.at(-1), "/v3/auth/tokens");
		assert.equal(await k.endpoint("object-store"), "https://sbg/v1/AUTH_p1");
		offset = 3_600_000 - 5 * 60_000 - 10_000;
		assert.equal((await k.current()).value, a.value, "still fresh");
		offset = 3_600_000 - 5 * 60_000 + 10_000;
		const renewed = await k.current();
		assert.notEqual(renewed.value, a.value, "renewed before its end");
		k.invalidate();
		assert.notEqual((await k.current()).value, renewed.value, "renewed after invalidate (a 401)");
	});

	test("a short-lived token is renewed past half its life", async () => {
		lifeMs = 60_000;
		let offset = 0;
		const k = new Keystone({ ...creds, authUrl: base }, { now: () => Date.now() + offset });
		const first = await k.current();
		offset = 20_000;
		assert.equal((await k.current()).value, first.value);
		offset = 40_000;
		assert.notEqual((await k.current()).value, first.value);
		lifeMs = 3_600_000;
	});

	test("a v2.0 address warns once and authenticates on v3 at that host", async () => {
		const warnings: string[] = [];
		const k = new Keystone({ ...creds, authUrl: `${base}/v2.0` }, { warn: (m) => warnings.push(m) });
		assert.equal(warnings.length, 1);
		assert.ok(warnings[0]!.includes(`${base}/v2.0`) && warnings[0]!.includes(`${base}/v3`), warnings[0]);
		await k.current();
		assert.equal(paths.at(-1), "/v3/auth/tokens");
	});

	test("a refusal is an OpenStackError naming the user and Keystone's message, never the password", async () => {
		const e = await new Keystone({ ...creds, password: "not-the-password-0123", authUrl: base })
			.current()
			.catch((x) => x);
		assert.ok(e instanceof OpenStackError);
		assert.equal(e.status, 401);
		assert.match(e.message, /refused user u .*HTTP 401: The request you have made requires authentication/);
		assert.ok(!e.message.includes("not-the-password"));
	});

	test("Swift's credentials: the token and the public object-store endpoint of the region", async () => {
		const auth = keystoneAuth({
			authUrl: base,
			user: "u",
			password: "pw",
			project: "cds",
			domain: "Default",
			region: "GRA",
		});
		const c = await auth.credentials();
		assert.match(c.token, /^tok-/);
		assert.equal(c.storageUrl, "https://gra/v1/AUTH_p1");
		const elsewhere = keystoneAuth({
			authUrl: base,
			user: "u",
			password: "pw",
			project: "cds",
			domain: "Default",
			region: "BHS",
		});
		await assert.rejects(
			elsewhere.credentials(),
			/no public object-store endpoint in region BHS \(regions: GRA, SBG\)/,
		);
	});
});
