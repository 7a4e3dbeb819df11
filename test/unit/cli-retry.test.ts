// The CLI waits out a 503 on reads (a service restarting, a node that just died) for a bounded
// time, and never repeats a write.

import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, describe, test } from "node:test";
import { ApiError } from "../../src/cli/errors.ts";
import { ApiClient } from "../../src/cli/http.ts";
import { isRetriable, nextRetry, retryDelayMs } from "../../src/cli/retry.ts";

describe("retry rules", () => {
	test("only a GET (or HEAD) answered 503 is asked again", () => {
		assert.equal(isRetriable("GET", 503), true);
		assert.equal(isRetriable("head", 503), true);
		assert.equal(isRetriable("POST", 503), false);
		assert.equal(isRetriable("DELETE", 503), false);
		assert.equal(isRetriable("GET", 500), false);
		assert.equal(isRetriable("GET", 404), false);
	});

	test("Retry-After in seconds is honoured, else the delay doubles; capped at 5 s", () => {
		assert.equal(retryDelayMs(1, "2"), 2000);
		assert.equal(retryDelayMs(1, "0"), 0);
		assert.equal(retryDelayMs(1, "120"), 5000);
		assert.equal(retryDelayMs(1, null), 500);
		assert.equal(retryDelayMs(3, null), 2000);
		assert.equal(retryDelayMs(10, "soon"), 5000);
	});

	test("no retry that would end past the deadline", () => {
		assert.equal(nextRetry("GET", 503, 1, "2", 1_000, 3_000), 2000);
		assert.equal(nextRetry("GET", 503, 1, "2", 1_001, 3_000), undefined);
		assert.equal(nextRetry("POST", 503, 1, "0", 0, 10_000), undefined);
	});
});

describe("ApiClient against a gateway that answers 503", () => {
	let server: Server;
	let url = "";
	let calls: string[] = [];
	let unavailableFor = 0;

	before(async () => {
		server = createServer((req, res) => {
			calls.push(`${req.method} ${req.url}`);
			if (calls.length <= unavailableFor) {
				res.writeHead(503, { "content-type": "application/json", "retry-after": "0" });
				res.end(JSON.stringify({ code: 503, type: "SERVICE_UNAVAILABLE", message: "a service is away" }));
				return;
			}
			res.writeHead(200, { "content-type": "application/json" });
			res.end(JSON.stringify({ ok: true }));
		});
		await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
		url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
	});
	after(() => server.close());

	const client = (notes: string[], retryForMs = 5_000) =>
		new ApiClient({ apiUrl: url, token: "t", timeoutMs: 5_000, retryForMs, onRetry: (m) => notes.push(m) });

	test("a GET answered 503 twice gets its answer on the third try, with one note", async () => {
		calls = [];
		unavailableFor = 2;
		const notes: string[] = [];
		assert.deepEqual(await client(notes).get("/projects"), { ok: true });
		assert.equal(calls.length, 3);
		assert.equal(notes.length, 1);
		assert.match(notes[0], /HTTP 503/);
	});

	test("a POST answered 503 is sent once and says it was not repeated", async () => {
		calls = [];
		unavailableFor = 5;
		const notes: string[] = [];
		const err = await client(notes)
			.post("/projects/DEMO/workflows/W/runs", {})
			.then(
				() => undefined,
				(e: unknown) => e,
			);
		assert.ok(err instanceof ApiError);
		assert.equal(err.status, 503);
		assert.match(err.message, /was not repeated/);
		assert.deepEqual(calls, ["POST /api/v1/projects/DEMO/workflows/W/runs"]);
		assert.deepEqual(notes, []);
	});

	test("a GET still unavailable when the retry window ends fails with a clear 503", async () => {
		calls = [];
		unavailableFor = 1_000_000;
		const err = await client([], 0)
			.get("/projects")
			.catch((e: unknown) => e);
		assert.ok(err instanceof ApiError);
		assert.equal(err.status, 503);
		assert.match(err.message, /still unavailable after retrying/);
	});
});
