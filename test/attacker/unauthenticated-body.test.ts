// Attack: make the gateway parse megabytes of JSON without a valid token (issue #11). The token is
// checked before the body is read, so a body that would be a parse error still answers 401, not
// 400; an authenticated client's deeply nested document is refused (400) before JSON.parse.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "../helpers/server.ts";

let srv: TestServer;
const HALF = 2 * 1024 * 1024;
/** 4 MiB of nesting: `[[[[…]]]]`. */
const NESTED = `${"[".repeat(HALF)}${"]".repeat(HALF)}`;

async function post(route: string, body: string, token?: string) {
	const headers: Record<string, string> = { "content-type": "application/json" };
	if (token !== undefined) headers.authorization = `Bearer ${token}`;
	const res = await fetch(`${srv.url}${route}`, { method: "POST", headers, body });
	const text = await res.text();
	return { status: res.status, body: JSON.parse(text) as { code: number; type: string; message: string } };
}

describe("attacker: request bodies before authentication", () => {
	before(async () => {
		srv = await startTestServer({ CDS_MAX_BODY_BYTES: String(8 * 1024 * 1024) });
	});
	after(async () => srv?.stop());

	test("4 MB of nested JSON without a token → 401", async () => {
		const results = await Promise.all([1, 2, 3, 4].map(() => post("/api/v1/projects", NESTED)));
		for (const r of results) {
			assert.equal(r.status, 401);
			assert.deepEqual([r.body.code, r.body.type], [401, "UNAUTHORIZED"]);
		}
		assert.equal((await fetch(`${srv.url}/health/ready`)).status, 200);
	});

	test("4 MB of nested JSON with a bad token → 401", async () => {
		const r = await post("/api/v1/projects", NESTED, "not-a-real-token");
		assert.equal(r.status, 401);
		assert.equal(r.body.type, "UNAUTHORIZED");
	});

	test("the body is not parsed before the token: broken JSON answers 401, not 400", async () => {
		for (const token of [undefined, "forged"]) {
			const r = await post("/api/v1/projects", '{"key": "X", ', token);
			assert.equal(r.status, 401, `token ${token}`);
		}
		// Over the size limit too: no token, no 413 either.
		const big = await post("/api/v1/projects", "x".repeat(9 * 1024 * 1024));
		assert.equal(big.status, 401);
	});

	test("with a valid token the same bodies are refused without stalling: 400 too deep, 400 invalid, 413", async () => {
		const deep = await post("/api/v1/projects", NESTED, srv.adminToken);
		assert.equal(deep.status, 400);
		assert.equal(deep.body.type, "JSON_TOO_DEEP");
		const broken = await post("/api/v1/projects", '{"key": "X", ', srv.adminToken);
		assert.equal(broken.status, 400);
		assert.equal(broken.body.type, "INVALID_JSON");
		const big = await post("/api/v1/projects", "x".repeat(9 * 1024 * 1024), srv.adminToken);
		assert.equal(big.status, 413);
		const ok = await post(
			"/api/v1/projects",
			JSON.stringify({ key: "DEEP", name: "still serving" }),
			srv.adminToken,
		);
		assert.equal(ok.status, 201);
	});
});
