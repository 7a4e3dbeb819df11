// Calls around dead nodes, over real NATS and MongoDB, with nodes as child processes killed
// with kill -9: while the service behind a route is away (not registered yet, or its node just
// died) the gateway answers 503 with Retry-After — never 404 for a route that exists, never 500
// — and reads land on a live replica when one is left.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { memoryIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { type NodeProcess, spawnNode, tearDownCluster, testCluster } from "../helpers/cluster.ts";
import { waitReady } from "../helpers/server.ts";
import { serverUrl } from "../helpers/servers.ts";

const nats = serverUrl("NATS_URL");
const mongo = serverUrl("MONGO_URL");

/** Every route of the run node: the run service's and the worker API's. */
const RUN_ROUTES: Array<[string, string]> = [
	["GET", "/api/v1/projects/DEMO/workflows/W/runs"],
	["GET", "/api/v1/projects/DEMO/workflows/W/runs/1"],
	["POST", "/api/v1/projects/DEMO/workflows/W/runs"],
	["GET", "/api/v1/worker/job"],
	["POST", "/api/v1/worker/job/heartbeat"],
	["POST", "/api/v1/worker/job/logs"],
	["POST", "/api/v1/worker/job/steps/0"],
	["POST", "/api/v1/worker/job/result"],
];

describe("calls around dead nodes over NATS", { skip: nats.skip || mongo.skip }, () => {
	const nodes: NodeProcess[] = [];
	let env: Record<string, string>;
	let url = "";
	let dbUrl = "";

	const node = (name: string, services: string) => {
		const n = spawnNode(name, { ...env, SERVICES: services });
		nodes.push(n);
		return n;
	};

	const call = async (method: string, route: string, body?: unknown) => {
		const res = await fetch(`${url}${route}`, {
			method,
			headers: { authorization: `Bearer ${env.CDS_ADMIN_TOKEN}`, "content-type": "application/json" },
			body: method === "GET" ? undefined : JSON.stringify(body ?? {}),
		});
		const text = await res.text();
		return {
			status: res.status,
			retryAfter: res.headers.get("retry-after"),
			body: text ? JSON.parse(text) : undefined,
		};
	};

	/** The run node's routes, each answered 503 with Retry-After and the public error shape. */
	const assertRunRoutesUnavailable = async (when: string) => {
		for (const [method, route] of RUN_ROUTES) {
			const r = await call(method, route);
			assert.equal(r.status, 503, `${when}: ${method} ${route} → ${r.status} ${JSON.stringify(r.body)}`);
			assert.ok(Number(r.retryAfter) > 0, `${when}: ${method} ${route} has Retry-After`);
			assert.deepEqual(Object.keys(r.body).sort(), ["code", "message", "type"]);
			assert.equal(r.body.type, "SERVICE_UNAVAILABLE");
		}
		const unknown = await call("GET", "/api/v1/nothing/here");
		assert.equal(unknown.status, 404, `${when}: an unknown route stays 404`);
	};

	const cds = async (argv: string[], timeoutSeconds: number) => {
		const out = memoryIo({
			CDS_API_URL: url,
			CDS_TOKEN: env.CDS_ADMIN_TOKEN,
			CDS_TIMEOUT: String(timeoutSeconds),
		});
		const code = await main(argv, out.io);
		return { code, stdout: out.stdout, stderr: out.stderr };
	};

	before(async () => {
		({ env, url, dbUrl } = await testCluster("cds_nodeloss", { natsUrl: nats.url!, mongoUrl: mongo.url! }));
		node("gw", "api,auth");
		node("pw1", "project,workflow");
		node("pw2", "project,workflow");
		await waitReady(url, 60_000).catch((e) => {
			throw new Error(`${e.message}\n${nodes.map((n) => n.output.join("")).join("\n")}`);
		});
	});

	after(() => tearDownCluster(nodes, [dbUrl]));

	test("routes of a service that has not registered yet answer 503 + Retry-After", async () => {
		// The run node is not started: the gateway never saw its routes, yet knows they exist.
		await assertRunRoutesUnavailable("before the run node starts");
	});

	test("kill -9 of a project,workflow replica: reads answer from the other one", async () => {
		node("run1", "run");
		assert.equal((await call("POST", "/api/v1/projects", { key: "DEMO", name: "Demo" })).status, 201);
		const files = [
			{ path: "w.yml", content: "name: W\nversion: v1.0\npipeline: p\n" },
			{
				path: "p.pip.yml",
				content: "version: v1.0\nname: p\njobs:\n- job: j\n  steps:\n  - script: echo hi\n",
			},
		];
		assert.equal((await call("POST", "/api/v1/projects/DEMO/import", { files })).status, 200);
		// The CLI waits out the 503s of the run node's start, then reads the runs.
		const before = await cds(["workflow", "status", "DEMO", "W"], 60);
		assert.match(before.stderr, /workflow W has no run yet/);

		await nodes.find((n) => n.name === "pw1")!.kill9();
		// Round robin sends every other call to the dead node until it is declared gone.
		for (let i = 0; i < 4; i++) {
			const project = await call("GET", "/api/v1/projects/DEMO");
			assert.equal(project.status, 200, JSON.stringify(project.body));
			assert.equal(project.body.key, "DEMO");
			const workflow = await call("GET", "/api/v1/projects/DEMO/workflows/W");
			assert.equal(workflow.status, 200, JSON.stringify(workflow.body));
		}
		const run = await call("POST", "/api/v1/projects/DEMO/workflows/W/runs", {});
		assert.equal(run.status, 201, JSON.stringify(run.body));
		const status = await cds(["workflow", "status", "DEMO", "W"], 30);
		assert.equal(status.code, 0, status.stderr);
		assert.match(status.stdout, /W #1/);
	});

	test("kill -9 of the run node: its routes answer 503 + Retry-After until it is back", async () => {
		await nodes.find((n) => n.name === "run1")!.kill9();
		// While the dead node is still registered (calls to it fail fast) …
		await assertRunRoutesUnavailable("right after the kill");
		// … and once it has left the registry (its aliases are gone from the gateway).
		await assertRunRoutesUnavailable("after the node left");

		const down = await cds(["workflow", "status", "DEMO", "W"], 1);
		assert.equal(down.code, 1);
		assert.match(down.stderr, /HTTP 503/);
		assert.doesNotMatch(down.stderr, /internal server error|not found/i);

		node("run2", "run");
		// The CLI retries the read while the new run node registers, and answers from it.
		const back = await cds(["workflow", "status", "DEMO", "W", "1"], 60);
		assert.equal(back.code, 0, back.stderr);
		assert.match(back.stdout, /W #1/);
	});
});
