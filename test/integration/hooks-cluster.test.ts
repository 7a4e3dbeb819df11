// Hook replicas over real NATS and FerretDB: no lost event, no duplicate run, events on
// JetStream, and an event accepted by a node that is killed right after its 202 is processed
// once another node is up. Part A's services are stood in for by the Fake* services below.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { ServiceSchema } from "moleculer";
import { AckPolicy, connect, DeliverPolicy } from "nats";
import ApiService from "../../services/api.service.ts";
import HookService, { type HookMessage, type RepositoryDoc } from "../../services/hook.service.ts";
import { freePort, startTestServer, type TestServer } from "../helpers/server.ts";
import { mongoUrlFor, serverUrl, uniqueDbName } from "../helpers/servers.ts";

const mongo = serverUrl("MONGO_URL");
const nats = serverUrl("NATS_URL");
const skip = mongo.skip || nats.skip;

const PROJECT = `HK${Date.now().toString(36).toUpperCase()}${randomBytes(2).toString("hex").toUpperCase()}`;
const SECRET = "cluster-webhook-secret";
const repo: RepositoryDoc = {
	id: `repo-${randomUUID()}`,
	project: PROJECT,
	manager: "github",
	url: "https://example.invalid/org/app.git",
	repo: "org/app",
	defaultBranch: "main",
	webhook: { uuid: randomUUID(), secret: SECRET },
	poll: null,
};

interface Calls {
	runs: Array<Record<string, any>>;
}

function FakeRepositoryService(): ServiceSchema {
	return {
		name: "repository",
		actions: {
			byHookUuid: (ctx: any) => (ctx.params.uuid === repo.webhook!.uuid ? repo : null),
			listPollable: () => [],
			reportStatus: () => ({ reported: false }),
		},
	};
}
function FakeWorkflowService(): ServiceSchema {
	return {
		name: "workflow",
		actions: {
			syncBranch: () => ({ workflows: ["build"], changed: false }),
			deleteBranch: () => ({ removed: [] }),
		},
	};
}
function FakeRunService(calls: Calls): ServiceSchema {
	return {
		name: "run",
		actions: {
			create: (ctx: any) => {
				calls.runs.push(ctx.params);
				return { number: calls.runs.length };
			},
		},
	};
}

function signed(body: string, delivery: string) {
	return {
		"content-type": "application/json",
		"x-github-event": "push",
		"x-github-delivery": delivery,
		"x-hub-signature-256": `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`,
	};
}
const pushBody = (branch: string, i: number) =>
	JSON.stringify({
		ref: `refs/heads/${branch}`,
		before: "1".repeat(40),
		after: (i + 1).toString(16).padStart(40, "a"),
		repository: { full_name: "org/app" },
	});

async function waitFor(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 30_000) {
	const deadline = Date.now() + timeoutMs;
	while (!(await probe())) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

describe("hook replicas over NATS and FerretDB", { skip }, () => {
	const db = uniqueDbName("hooks_cluster");
	const env = {
		NATS_URL: nats.url ?? "",
		MONGO_URL: mongo.url ? mongoUrlFor(mongo.url, db) : "",
		CDS_NAMESPACE: db,
		CDS_SECRET_KEY: randomBytes(32).toString("base64"),
		SERVICES: "auth",
		CDS_HOOKS_RETRY_BASE_MS: "100",
		CDS_HOOKS_RETRY_MAX_MS: "500",
		CDS_HOOKS_PROCESS_INTERVAL_MS: "100",
		CDS_HOOKS_LEASE_MS: "5000",
	};
	const calls: Calls = { runs: [] };
	let home: TestServer;
	const replicas: TestServer[] = [];
	const children: ChildProcess[] = [];

	before(async () => {
		// The node hosting the stand-ins of part A (the repository service only, at first).
		home = await startTestServer({ ...env, NODE_ID: `home-${process.pid}` });
		home.server.broker.createService(FakeRepositoryService());
		await home.server.broker.waitForServices(["repository"]);
	});
	after(async () => {
		for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
		for (const r of replicas) await r.stop();
		await home?.stop();
	});

	test("an event accepted by a node killed right after its 202 is processed once a node is back", async () => {
		const port = await freePort();
		const child = spawn(
			process.execPath,
			[path.join(import.meta.dirname, "../fixtures/hooks/hook-node.ts")],
			{
				env: {
					...process.env,
					...env,
					CDS_API_PORT: String(port),
					CDS_API_HOST: "127.0.0.1",
					CDS_DATA_DIR: mkdtempSync(path.join(tmpdir(), "cds-hook-node-")),
					NODE_ID: `hook-node-${process.pid}`,
					LOG_LEVEL: "error",
				},
				stdio: ["ignore", "pipe", "pipe"],
			},
		);
		children.push(child);
		let output = "";
		child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
		child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
		const exited = new Promise((r) => child.once("exit", r));
		await waitFor("the hook node", () => output.includes("hook-node ready"), 30_000);
		await waitFor(
			"the hook node to see the repository service",
			async () => {
				const body = pushBody("probe", 0);
				const r = await fetch(`http://127.0.0.1:${port}/api/v1/hooks/repository/${randomUUID()}`, {
					method: "POST",
					headers: signed(body, "probe"),
					body,
				}).catch(() => null);
				return r?.status === 404;
			},
			30_000,
		);
		const body = pushBody("killed", 1);
		const res = await fetch(`http://127.0.0.1:${port}/api/v1/hooks/repository/${repo.webhook!.uuid}`, {
			method: "POST",
			headers: signed(body, "delivery-before-kill"),
			body,
		});
		child.kill("SIGKILL");
		assert.equal(res.status, 202, output);
		await exited;
		assert.equal(calls.runs.length, 0, "nothing could run: workflow and run services were not up");
		// A node is back with the hook service, and part A's services are up.
		home.server.broker.createService(FakeWorkflowService());
		home.server.broker.createService(FakeRunService(calls));
		const back = await startTestServer({ ...env, NODE_ID: `back-${process.pid}` });
		replicas.push(back);
		back.server.broker.createService(HookService(back.server.config));
		back.server.broker.createService(ApiService(back.server.config));
		await back.server.broker.waitForServices(["hook", "api", "workflow", "run"]);
		await waitFor("the event to be processed", () => calls.runs.length === 1);
		assert.equal(calls.runs[0]!.branch, "killed");
		await new Promise((r) => setTimeout(r, 500));
		assert.equal(calls.runs.length, 1);
	});

	test("two replicas, 500 deliveries with 20 % duplicates sent to both: one acceptance and one run each, all on JetStream", async () => {
		const second = await startTestServer({ ...env, NODE_ID: `second-${process.pid}` });
		replicas.push(second);
		second.server.broker.createService(HookService(second.server.config));
		second.server.broker.createService(ApiService(second.server.config));
		await second.server.broker.waitForServices(["hook", "api"]);
		await waitFor("both gateways", async () => {
			for (const r of replicas) {
				const ok = await fetch(`${r.url}/health/live`).then(
					(x) => x.ok,
					() => false,
				);
				if (!ok) return false;
			}
			return true;
		});
		const runsBefore = calls.runs.length;
		const unique = 400;
		const deliveries: Array<{ id: string; body: string }> = [];
		for (let i = 0; i < unique; i++) deliveries.push({ id: `c-${i}`, body: pushBody(`b${i}`, i) });
		// Each duplicate goes to the other replica, at the same time as its original.
		const pairs = deliveries.map((d, i) => (i < 100 ? [d, d] : [d]));
		const statuses: number[] = [];
		let next = 0;
		await Promise.all(
			Array.from({ length: 16 }, async () => {
				while (next < pairs.length) {
					const group = pairs[next++]!;
					await Promise.all(
						group.map(async (d, k) => {
							const target = replicas[(k + group.length) % replicas.length]!;
							const r = await fetch(`${target.url}/api/v1/hooks/repository/${repo.webhook!.uuid}`, {
								method: "POST",
								headers: signed(d.body, d.id),
								body: d.body,
							});
							statuses.push(r.status);
							await r.arrayBuffer();
						}),
					);
				}
			}),
		);
		assert.equal(statuses.length, 500);
		assert.equal(
			statuses.filter((s) => s === 202).length,
			unique,
			JSON.stringify(statuses.filter((s) => s !== 202 && s !== 200)),
		);
		assert.equal(statuses.filter((s) => s === 200).length, 100);
		await waitFor("every run", () => calls.runs.length >= runsBefore + unique, 60_000);
		await new Promise((r) => setTimeout(r, 1000));
		const created = calls.runs.slice(runsBefore);
		assert.equal(created.length, unique, "no duplicate run");
		assert.equal(new Set(created.map((r) => r.branch)).size, unique, "no lost event");

		// Outside systems replay the stream: one message per accepted event (401 in all with the killed node's).
		const nc = await connect({ servers: nats.url });
		try {
			const jsm = await nc.jetstreamManager();
			const subject = `cds.hooks.${PROJECT}.>`;
			const ci = await jsm.consumers.add("CDS_HOOKS", {
				filter_subject: subject,
				deliver_policy: DeliverPolicy.All,
				ack_policy: AckPolicy.None,
				inactive_threshold: 60_000_000_000,
			});
			const consumer = await nc.jetstream().consumers.get("CDS_HOOKS", ci.name);
			const seen: HookMessage[] = [];
			while (seen.length < unique + 1) {
				const batch = await consumer.fetch({ max_messages: 500, expires: 2000 });
				let got = 0;
				for await (const m of batch) {
					seen.push(m.json<HookMessage>());
					assert.equal(m.subject, `cds.hooks.${PROJECT}.push`);
					got++;
				}
				if (got === 0) break;
			}
			assert.equal(seen.length, unique + 1);
			assert.equal(new Set(seen.map((m) => m.id)).size, unique + 1);
			const one = seen.find((m) => m.branch === "b7")!;
			assert.equal(one.type, "push");
			assert.equal(one.project, PROJECT);
			assert.equal(one.vars["git.branch"], "b7");
			assert.equal(one.source, "webhook");
		} finally {
			await nc.close();
		}
	});
});
