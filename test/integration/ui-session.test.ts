// The web UI's gateway side without a browser: its static files and headers, the token-for-cookie
// sign-in, CSRF on cookie-authenticated writes, the session's end (sign-out, token revoked,
// expiry), the live stream's permission, and CDS_UI=false (docs/ui.md).

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "../helpers/server.ts";

let srv: TestServer;

async function signIn(
	token: string,
): Promise<{ cookie: string; csrf: string; status: number; setCookie: string }> {
	const res = await fetch(`${srv.url}/api/v1/ui/session`, {
		method: "POST",
		headers: { "content-type": "application/json" },
		body: JSON.stringify({ token }),
	});
	const body = (await res.json()) as { csrf?: string };
	const setCookie = res.headers.get("set-cookie") ?? "";
	return { status: res.status, cookie: setCookie.split(";")[0]!, csrf: body.csrf ?? "", setCookie };
}

const call = (method: string, route: string, headers: Record<string, string>, body?: unknown) =>
	fetch(`${srv.url}${route}`, {
		method,
		headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
		body: body === undefined ? undefined : JSON.stringify(body),
	});

describe("web UI: files, session and CSRF at the gateway", () => {
	before(async () => {
		srv = await startTestServer();
		assert.equal((await srv.api("POST", "/api/v1/projects", { key: "ONE", name: "one" })).status, 201);
		assert.equal((await srv.api("POST", "/api/v1/projects", { key: "TWO", name: "two" })).status, 201);
	});
	after(() => srv?.stop());

	test("the page and its modules come with a strict CSP, nosniff and no framing; nothing outside ui/ is served", async () => {
		for (const path of ["/", "/ui/app.js", "/ui/lib/ansi.js", "/ui/app.css"]) {
			const res = await fetch(`${srv.url}${path}`);
			assert.equal(res.status, 200, path);
			const csp = res.headers.get("content-security-policy") ?? "";
			assert.match(csp, /script-src 'self'/);
			assert.match(csp, /frame-ancestors 'none'/);
			assert.doesNotMatch(csp, /unsafe/);
			assert.equal(res.headers.get("x-content-type-options"), "nosniff");
			if (path.endsWith(".js")) assert.match(res.headers.get("content-type") ?? "", /^text\/javascript/);
		}
		// The shared module is the TypeScript of src/ui with its types stripped.
		const ansi = await (await fetch(`${srv.url}/ui/lib/ansi.js`)).text();
		assert.match(ansi, /export function parseAnsi\(line\s*, start\s*= \{\}\)/);
		assert.doesNotMatch(ansi, /: AnsiStyle/);
		const etag = (await fetch(`${srv.url}/ui/app.js`)).headers.get("etag")!;
		assert.equal((await fetch(`${srv.url}/ui/app.js`, { headers: { "if-none-match": etag } })).status, 304);
		for (const path of [
			"/ui/../package.json",
			"/ui/lib/session.js",
			"/server.ts",
			"/ui/x.ts",
			"/ui/%2e%2e/server.ts",
		])
			assert.equal((await fetch(`${srv.url}${path}`)).status, 404, path);
	});

	test("sign-in: JSON only, a bad token is refused, a good one gives an HttpOnly SameSite=Strict cookie", async () => {
		const form = await fetch(`${srv.url}/api/v1/ui/session`, {
			method: "POST",
			headers: { "content-type": "application/x-www-form-urlencoded" },
			body: `token=${srv.adminToken}`,
		});
		assert.equal(form.status, 415);
		assert.equal((await signIn("not-a-token")).status, 401);
		const s = await signIn(srv.adminToken);
		assert.equal(s.status, 201);
		assert.match(
			s.setCookie,
			/^cds_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/,
		);
		assert.equal(s.setCookie.includes(srv.adminToken), false);
		const me = await call("GET", "/api/v1/auth/me", { cookie: s.cookie });
		assert.equal(me.status, 200);
		assert.equal(((await me.json()) as { id: string }).id, "admin-env");
		const session = await call("GET", "/api/v1/ui/session", { cookie: s.cookie });
		assert.equal(((await session.json()) as { csrf: string }).csrf, s.csrf);
	});

	test("cookie-authenticated writes need the session's CSRF token; a bearer token wins over the cookie", async () => {
		const s = await signIn(srv.adminToken);
		assert.equal(
			(await call("POST", "/api/v1/projects", { cookie: s.cookie }, { key: "C1", name: "c" })).status,
			403,
		);
		assert.equal(
			(
				await call(
					"POST",
					"/api/v1/projects",
					{ cookie: s.cookie, "x-cds-csrf": "x".repeat(43) },
					{ key: "C1", name: "c" },
				)
			).status,
			403,
		);
		const other = await signIn(srv.adminToken);
		assert.equal(
			(
				await call(
					"POST",
					"/api/v1/projects",
					{ cookie: s.cookie, "x-cds-csrf": other.csrf },
					{ key: "C1", name: "c" },
				)
			).status,
			403,
			"another session's token does not do",
		);
		assert.equal(
			(
				await call(
					"POST",
					"/api/v1/projects",
					{ cookie: s.cookie, "x-cds-csrf": s.csrf },
					{ key: "C1", name: "c" },
				)
			).status,
			201,
		);
		const read = (await srv.api("POST", "/api/v1/auth/tokens", { project: "ONE", role: "read" })).body.token;
		const withBearer = await call(
			"POST",
			"/api/v1/projects",
			{ cookie: s.cookie, "x-cds-csrf": s.csrf, authorization: `Bearer ${read}` },
			{ key: "C2", name: "c" },
		);
		assert.equal(withBearer.status, 403, "the read token decides, not the admin cookie");
	});

	test("the session ends with sign-out, with its token's revocation, and at its expiry", async () => {
		const s = await signIn(srv.adminToken);
		assert.equal(
			(await call("DELETE", "/api/v1/ui/session", { cookie: s.cookie })).status,
			403,
			"sign-out is a write",
		);
		const out = await call("DELETE", "/api/v1/ui/session", { cookie: s.cookie, "x-cds-csrf": s.csrf });
		assert.equal(out.status, 204);
		assert.match(out.headers.get("set-cookie") ?? "", /^cds_session=; .*Max-Age=0/);
		assert.equal((await call("GET", "/api/v1/auth/me", { cookie: s.cookie })).status, 401);

		const created = (await srv.api("POST", "/api/v1/auth/tokens", { project: "ONE", role: "write" })).body;
		const t = await signIn(created.token);
		assert.equal((await call("GET", "/api/v1/projects/ONE", { cookie: t.cookie })).status, 200);
		assert.equal((await srv.api("DELETE", `/api/v1/auth/tokens/${created.id}`)).status, 200);
		assert.equal((await call("GET", "/api/v1/projects/ONE", { cookie: t.cookie })).status, 401);

		const e = await signIn(srv.adminToken);
		const sessions = await srv.server.store.collection({ name: "ui_sessions" });
		await sessions.update(
			{},
			{ $set: { expiresAt: new Date(Date.now() - 1000).toISOString() } },
			{ multi: true },
		);
		const before = (await sessions.find({})).length;
		assert.equal((await call("GET", "/api/v1/auth/me", { cookie: e.cookie })).status, 401);
		assert.equal(
			(await sessions.find({})).length,
			before - 1,
			"an expired session is deleted when presented",
		);
		// Those never presented again go when their token opens a new session.
		await signIn(srv.adminToken);
		const stale = (await sessions.find({ tokenId: "admin-env" })).filter(
			(d) => Date.parse(String(d.expiresAt)) <= Date.now(),
		);
		assert.equal(stale.length, 0);
	});

	test("the live stream needs read access to the run's project; an unknown run is a 404", async () => {
		const two = (await srv.api("POST", "/api/v1/auth/tokens", { project: "TWO", role: "read" })).body.token;
		const s = await signIn(two);
		const stream = "/api/v1/ui/projects/ONE/workflows/nope/runs/1/events";
		assert.equal((await call("GET", stream, { cookie: s.cookie })).status, 403);
		assert.equal((await call("GET", stream, {})).status, 401);
		const admin = await call("GET", stream, { authorization: `Bearer ${srv.adminToken}` });
		assert.equal(admin.status, 404);
		assert.match(admin.headers.get("content-type") ?? "", /application\/json/);
	});
});

describe("web UI: CDS_UI=false", () => {
	let off: TestServer;
	before(async () => {
		off = await startTestServer({ CDS_UI: "false" });
	});
	after(() => off?.stop());

	test("no page, no session route, and a session cookie authenticates nothing", async () => {
		assert.equal((await fetch(`${off.url}/`)).status, 404);
		assert.equal((await fetch(`${off.url}/ui/app.js`)).status, 404);
		const res = await fetch(`${off.url}/api/v1/ui/session`, {
			method: "POST",
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ token: off.adminToken }),
		});
		// An unknown /api/v1 route: authentication comes first, and no cookie is set.
		assert.equal(res.status, 401);
		assert.equal(res.headers.get("set-cookie"), null);
		const me = await fetch(`${off.url}/api/v1/auth/me`, {
			headers: { cookie: `cds_session=${"a".repeat(43)}` },
		});
		assert.equal(me.status, 401);
	});
});
