// Bad input gets a precise 4xx in the shape {code, type, message, data}; nothing stored is
// lost; the server keeps serving. Password values never sit in clear in the store.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "../helpers/server.ts";

let srv: TestServer;

describe("API errors, limits and secrets at rest", () => {
	before(async () => {
		srv = await startTestServer();
		assert.equal((await srv.api("POST", "/api/v1/projects", { key: "DEMO", name: "Demo" })).status, 201);
	});
	after(async () => srv?.stop());

	test("validation errors name the field (422)", async () => {
		const r = await srv.api("POST", "/api/v1/projects", { key: "lower-case", name: "x" });
		assert.equal(r.status, 422);
		assert.equal(r.body.code, 422);
		assert.equal(r.body.type, "VALIDATION_ERROR");
		assert.equal(r.body.data.errors[0].field, "key");
		assert.equal(typeof r.body.message, "string");
	});

	test("duplicates → 409, unknown entities → 404, unknown routes → 404", async () => {
		const dup = await srv.api("POST", "/api/v1/projects", { key: "DEMO", name: "again" });
		assert.equal(dup.status, 409);
		assert.equal(dup.body.type, "CONFLICT");
		const missing = await srv.api("GET", "/api/v1/projects/NOPE");
		assert.equal(missing.status, 404);
		assert.equal(missing.body.type, "NOT_FOUND");
		const route = await srv.api("GET", "/api/v1/no/such/route");
		assert.equal(route.status, 404);
	});

	test("malformed JSON → 400, a 10 MB body → 413, and the server keeps serving", async () => {
		const broken = await srv.api("POST", "/api/v1/projects", '{"key": "X", ');
		assert.equal(broken.status, 400);
		assert.equal(broken.body.type, "INVALID_JSON");
		const big = await srv.api("POST", "/api/v1/projects/DEMO/import", {
			files: [{ path: "big.yml", content: "x".repeat(10 * 1024 * 1024) }],
		});
		assert.equal(big.status, 413);
		assert.deepEqual(Object.keys(big.body).sort(), ["code", "message", "type"]);
		assert.equal(big.body.type, "PAYLOAD_TOO_LARGE");
		const still = await srv.api("GET", "/api/v1/projects/DEMO");
		assert.equal(still.status, 200);
		assert.equal(still.body.name, "Demo");
	});

	test("no stack trace ever reaches a client", async () => {
		const r = await srv.api("POST", "/api/v1/projects/DEMO/import", { files: "not-a-list" });
		assert.equal(r.status, 422);
		assert.doesNotMatch(JSON.stringify(r.body), /\bat .*\.(ts|js):\d+/);
	});

	test("password variables are encrypted at rest and never returned in clear", async () => {
		const clear = "s3cr3t-value-that-must-not-leak";
		const add = await srv.api("POST", "/api/v1/projects/DEMO/variables", {
			name: "db.password",
			type: "password",
			value: clear,
		});
		assert.equal(add.status, 201, JSON.stringify(add.body));
		assert.equal(add.body.value, "**********");
		const app = await srv.api("POST", "/api/v1/projects/DEMO/applications", {
			name: "api",
			variables: {
				token: { type: "password", value: `${clear}-app` },
				plain: { type: "string", value: "visible" },
			},
		});
		assert.equal(app.status, 201, JSON.stringify(app.body));
		const list = await srv.api("GET", "/api/v1/projects/DEMO/variables");
		assert.equal(list.body.items[0].value, "**********");
		const shown = await srv.api("GET", "/api/v1/projects/DEMO/applications/api");
		assert.ok(JSON.stringify(shown.body).includes("visible"));
		assert.ok(!JSON.stringify(shown.body).includes(clear));

		const raw = readdirSync(srv.dataDir)
			.map((f) => {
				try {
					return readFileSync(`${srv.dataDir}/${f}`, "utf8");
				} catch {
					return "";
				}
			})
			.join("\n");
		assert.ok(raw.includes("db.password"), "the variable is in the store");
		assert.ok(!raw.includes(clear), "a password value sits in clear in the store files");
	});

	test("bad variable values are refused and the stored value is kept", async () => {
		await srv.api("POST", "/api/v1/projects/DEMO/variables", { name: "count", type: "number", value: "3" });
		const bad = await srv.api("PUT", "/api/v1/projects/DEMO/variables/count", {
			type: "number",
			value: "three",
		});
		assert.equal(bad.status, 422);
		const list = await srv.api("GET", "/api/v1/projects/DEMO/variables");
		const count = list.body.items.find((v: { name: string }) => v.name === "count");
		assert.equal(count.value, "3");
	});

	test("listings are paginated with an opaque cursor", async () => {
		for (const k of ["P1", "P2", "P3", "P4", "P5"])
			await srv.api("POST", "/api/v1/projects", { key: k, name: k });
		const seen: string[] = [];
		let cursor: string | null = null;
		do {
			const q: string = cursor ? `?limit=2&cursor=${cursor}` : "?limit=2";
			const page = await srv.api("GET", `/api/v1/projects${q}`);
			assert.equal(page.status, 200);
			assert.ok(page.body.items.length <= 2);
			seen.push(...page.body.items.map((p: { key: string }) => p.key));
			cursor = page.body.next;
		} while (cursor);
		assert.deepEqual(seen, ["DEMO", "P1", "P2", "P3", "P4", "P5"]);
		const p = (await srv.api("GET", "/api/v1/projects/P1")).body;
		assert.match(p.created, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
	});
});
