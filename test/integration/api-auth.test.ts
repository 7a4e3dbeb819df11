// Walks every route of the OpenAPI document: 401 without a token, 403 with a token of
// another project (saying nothing about the project), and the admin token passes the gate.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "../helpers/server.ts";

let srv: TestServer;
let otherProjectToken: string;

function sampleValue(name: string, schema: any): unknown {
	if (name === "key" || name === "project") return "ALPHA";
	if (schema?.enum) return schema.enum[0];
	switch (schema?.type) {
		case "integer":
		case "number":
			return 1;
		case "boolean":
			return false;
		case "array":
			return [];
		case "object":
			return {};
		default:
			return "sample";
	}
}

function concretePath(path: string, parameters: any[]): string {
	return path.replace(/\{([^}]+)\}/g, (_, name) => {
		const p = parameters.find((x) => x.name === name);
		return encodeURIComponent(String(sampleValue(name, p?.schema)));
	});
}

describe("authentication and per-project authorisation on every route", () => {
	before(async () => {
		srv = await startTestServer();
		for (const key of ["ALPHA", "BETA"]) {
			const r = await srv.api("POST", "/api/v1/projects", { key, name: key });
			assert.equal(r.status, 201, JSON.stringify(r.body));
		}
		const t = await srv.api("POST", "/api/v1/auth/tokens", { project: "BETA", role: "admin" });
		assert.equal(t.status, 201, JSON.stringify(t.body));
		otherProjectToken = t.body.token;
	});
	after(async () => srv?.stop());

	test("health probes need no token", async () => {
		assert.equal((await fetch(`${srv.url}/health/live`)).status, 200);
		assert.equal((await fetch(`${srv.url}/health/ready`)).status, 200);
		// Also under the API's prefix, where a user who read "/api/v1/…" everywhere looks first.
		const ready = await fetch(`${srv.url}/api/v1/health/ready`);
		assert.equal(ready.status, 200);
		assert.deepEqual(await ready.json(), { status: "ready" });
		assert.equal((await fetch(`${srv.url}/api/v1/health/live`)).status, 200);
	});

	test("every documented route: 401 without token, 403 for another project's token", async () => {
		const doc = (await srv.api("GET", "/api/v1/openapi.json")).body;
		assert.equal(doc.openapi, "3.0.3");
		const operations: Array<{ method: string; path: string; op: any }> = [];
		for (const [path, methods] of Object.entries<any>(doc.paths)) {
			for (const [method, op] of Object.entries<any>(methods)) operations.push({ method, path, op });
		}
		assert.ok(operations.length >= 25, `only ${operations.length} operations documented`);
		let projectScoped = 0;
		for (const { method, path, op } of operations) {
			const url = `/api/v1${concretePath(path, op.parameters ?? [])}`;
			const body = method === "get" || method === "delete" ? undefined : {};
			const anonymous = await srv.api(method.toUpperCase(), url, body, null);
			assert.equal(anonymous.status, 401, `${method} ${url} without token → ${anonymous.status}`);
			assert.equal(anonymous.body.type, "UNAUTHORIZED");
			const bogus = await srv.api(method.toUpperCase(), url, body, "cds_not-a-real-token");
			assert.equal(bogus.status, 401, `${method} ${url} with a bogus token → ${bogus.status}`);

			if (path.includes("{key}")) {
				projectScoped++;
				const foreign = await srv.api(method.toUpperCase(), url, body, otherProjectToken);
				assert.equal(foreign.status, 403, `${method} ${url} with BETA's token → ${foreign.status}`);
				assert.deepEqual(Object.keys(foreign.body).sort(), ["code", "message", "type"]);
				assert.doesNotMatch(foreign.body.message, /ALPHA/);
				// The same answer for a project that does not exist: nothing is revealed.
				const ghostUrl = url.replace("/ALPHA", "/GHOST");
				const ghost = await srv.api(method.toUpperCase(), ghostUrl, body, otherProjectToken);
				assert.equal(ghost.status, 403);
				assert.deepEqual(ghost.body, foreign.body);
			}
		}
		assert.ok(projectScoped >= 15, `only ${projectScoped} project routes`);
	});

	test("a project token reaches its own project but cannot create projects", async () => {
		const own = await srv.api("GET", "/api/v1/projects/BETA", undefined, otherProjectToken);
		assert.equal(own.status, 200);
		const list = await srv.api("GET", "/api/v1/projects", undefined, otherProjectToken);
		assert.deepEqual(
			list.body.items.map((p: { key: string }) => p.key),
			["BETA"],
		);
		const create = await srv.api("POST", "/api/v1/projects", { key: "GAMMA", name: "g" }, otherProjectToken);
		assert.equal(create.status, 403);
	});

	test("read tokens cannot write; revoked and expired tokens stop working", async () => {
		const read = (await srv.api("POST", "/api/v1/auth/tokens", { project: "ALPHA", role: "read" })).body;
		assert.equal(
			(await srv.api("GET", "/api/v1/projects/ALPHA/variables", undefined, read.token)).status,
			200,
		);
		const write = await srv.api(
			"POST",
			"/api/v1/projects/ALPHA/variables",
			{ name: "x", type: "string", value: "1" },
			read.token,
		);
		assert.equal(write.status, 403);
		const revoked = await srv.api("DELETE", `/api/v1/auth/tokens/${read.id}`);
		assert.equal(revoked.status, 200);
		assert.equal((await srv.api("GET", "/api/v1/projects/ALPHA", undefined, read.token)).status, 401);

		const bad = await srv.api("POST", "/api/v1/auth/tokens", {
			project: "ALPHA",
			role: "read",
			expires: "yesterday",
		});
		assert.equal(bad.status, 422);
		assert.equal(bad.body.type, "VALIDATION_ERROR");
	});

	test("tokens are stored hashed: the raw store holds no token in clear", async () => {
		const created = (await srv.api("POST", "/api/v1/auth/tokens", { project: "ALPHA", role: "write" })).body;
		const { readdirSync, readFileSync } = await import("node:fs");
		const raw = readdirSync(srv.dataDir)
			.filter((f) => f.endsWith(".db"))
			.map((f) => readFileSync(`${srv.dataDir}/${f}`, "utf8"))
			.join("\n");
		assert.ok(raw.length > 0, "no store files found");
		assert.ok(!raw.includes(created.token), "a token was stored in clear");
		assert.ok(!raw.includes(srv.adminToken), "the admin token was stored in clear");
	});
});
