// Commit statuses: a run of an as-code workflow is reported to its repository's provider as
// pending, then success or failure. The provider (Gitea's API shape) is a local HTTP server
// recording what it receives: no real forge can run here.

import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, describe, test } from "node:test";
import { ALLOW_LOOPBACK_OUTBOUND, startTestServer, type TestServer } from "../helpers/server.ts";

interface Received {
	method: string;
	url: string;
	body: any;
	auth: string | undefined;
}

let srv: TestServer;
let forge: Server;
const received: Received[] = [];
let repositoryId: string;

async function until<T>(what: string, fn: () => T | undefined, timeoutMs = 10_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const v = fn();
		if (v !== undefined) return v;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

describe("commit statuses of as-code runs", () => {
	before(async () => {
		forge = createServer((req, res) => {
			let data = "";
			req.on("data", (c) => {
				data += c;
			});
			req.on("end", () => {
				received.push({
					method: req.method ?? "",
					url: req.url ?? "",
					body: data ? JSON.parse(data) : null,
					auth: req.headers.authorization,
				});
				res.writeHead(201, { "content-type": "application/json" });
				res.end(JSON.stringify({ id: 7 }));
			});
		});
		await new Promise<void>((r) => forge.listen(0, "127.0.0.1", () => r()));
		const base = `http://127.0.0.1:${(forge.address() as { port: number }).port}`;
		// The fake forge listens on loopback, which a default server refuses to reach.
		srv = await startTestServer({ ...ALLOW_LOOPBACK_OUTBOUND });
		assert.equal((await srv.api("POST", "/api/v1/projects", { key: "DEMO", name: "Demo" })).status, 201);
		const manager = await srv.api("POST", "/api/v1/projects/DEMO/repositories/managers", {
			name: "forge",
			type: "gitea",
			url: base,
			token: "forge-token",
		});
		assert.equal(manager.status, 201, JSON.stringify(manager.body));
		const linked = await srv.api("POST", "/api/v1/projects/DEMO/repositories", {
			manager: "forge",
			url: `${base}/org/app.git`,
			defaultBranch: "main",
		});
		assert.ok(linked.status === 200 || linked.status === 201, JSON.stringify(linked.body));
		repositoryId = linked.body.id;
	});
	after(async () => {
		await srv?.stop();
		forge?.closeAllConnections();
		await new Promise((r) => forge?.close(r));
	});

	test("linking made a webhook on the provider with the token", () => {
		const hook = received.find((r) => r.method === "POST" && /\/repos\/org\/app\/hooks$/.test(r.url));
		assert.ok(hook, JSON.stringify(received));
		assert.match(hook.auth ?? "", /forge-token/);
		assert.match(hook.body.config.url, /\/api\/v1\/hooks\/repository\/[0-9a-f-]{36}$/);
	});

	test("a run reports pending once, then success; a failed run reports failure", async () => {
		const commit = "0123456789abcdef0123456789abcdef01234567";
		const event = { project: "DEMO", workflow: "app", number: 4, commit, repositoryId };
		const statuses = () => received.filter((r) => r.url.endsWith(`/statuses/${commit}`)).map((r) => r.body);
		srv.server.broker.emit("run.updated", { ...event, runId: "DEMO/app/4", status: "Building" });
		srv.server.broker.emit("run.updated", { ...event, runId: "DEMO/app/4", status: "Building" });
		await until("pending", () => (statuses().length >= 1 ? true : undefined));
		srv.server.broker.emit("run.updated", { ...event, runId: "DEMO/app/4", status: "Success" });
		await until("success", () => (statuses().length >= 2 ? true : undefined));
		assert.deepEqual(
			statuses().map((s) => s.state),
			["pending", "success"],
		);
		assert.equal(statuses()[1].context, "cds/DEMO/app");
		assert.match(statuses()[1].target_url, /\/workflows\/app\/runs\/4$/);

		srv.server.broker.emit("run.updated", { ...event, number: 5, runId: "DEMO/app/5", status: "Fail" });
		await until("failure", () => (statuses().length >= 3 ? true : undefined));
		assert.equal(statuses()[2].state, "failure");
	});
});
