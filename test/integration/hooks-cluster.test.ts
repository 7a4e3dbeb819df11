// Hook replicas over real NATS and FerretDB, with the real repository, workflow and run services
// (a local bare repository with as-code files, linked with `cds push`): no lost event, no
// duplicate run, events on JetStream, and an event accepted by a node that is killed (-9) right
// after its 202 is processed once another node is up.

import assert from "node:assert/strict";
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { AckPolicy, connect, DeliverPolicy } from "nats";
import type { HookMessage } from "../../services/hook.service.ts";
import { type AsCodeRepo, linkAsCodeRepo } from "../helpers/ascode-repo.ts";
import { type NodeProcess, spawnNode } from "../helpers/cluster.ts";
import {
	ALLOW_LOCAL_REPOSITORIES,
	freePort,
	startTestServer,
	type TestServer,
	waitReady,
} from "../helpers/server.ts";
import { mongoUrlFor, natsConnectOptions, serverUrl, uniqueDbName } from "../helpers/servers.ts";

const mongo = serverUrl("MONGO_URL");
const nats = serverUrl("NATS_URL");
const skip = mongo.skip || nats.skip;

const PROJECT = `HK${Date.now().toString(36).toUpperCase()}${randomBytes(2).toString("hex").toUpperCase()}`;

async function waitFor(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 30_000) {
	const deadline = Date.now() + timeoutMs;
	while (!(await probe())) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

/** Whether the server at `url` is `node` (and not another process that took the port), within 60 s. */
async function isOurNode(url: string, nodeId: string, node: NodeProcess): Promise<boolean> {
	const deadline = Date.now() + 60_000;
	while (Date.now() < deadline && node.child.exitCode === null) {
		const live = await fetch(`${url}/health/live`)
			.then((r) => r.json() as Promise<{ node?: string }>)
			.catch(() => null);
		if (live) return live.node === nodeId;
		await new Promise((r) => setTimeout(r, 100));
	}
	return false;
}

describe("hook replicas over NATS and FerretDB, with the real services", { skip }, () => {
	const db = uniqueDbName("hooks_cluster");
	const env = {
		...ALLOW_LOCAL_REPOSITORIES,
		NATS_URL: nats.url ?? "",
		MONGO_URL: mongo.url ? mongoUrlFor(mongo.url, db) : "",
		CDS_NAMESPACE: db,
		CDS_SECRET_KEY: randomBytes(32).toString("base64"),
		CDS_HOOKS_RETRY_BASE_MS: "100",
		CDS_HOOKS_RETRY_MAX_MS: "500",
		CDS_HOOKS_PROCESS_INTERVAL_MS: "100",
		// Short: the event the killed node may have claimed is taken over soon.
		CDS_HOOKS_LEASE_MS: "5000",
	};
	let home: TestServer;
	let repo: AsCodeRepo;
	const replicas: TestServer[] = [];
	const children: NodeProcess[] = [];

	const signed = (body: string, delivery: string) => ({
		"content-type": "application/json",
		"x-github-event": "push",
		"x-github-delivery": delivery,
		"x-hub-signature-256": `sha256=${createHmac("sha256", repo.webhook.secret).update(body).digest("hex")}`,
	});
	// Every branch points at master's commit: each delivery defines that branch and runs it once.
	const pushBody = (branch: string) =>
		JSON.stringify({
			ref: `refs/heads/${branch}`,
			before: "1".repeat(40),
			after: repo.head,
			repository: { full_name: "org/app" },
		});
	/** The runs of the project, from the run service's own collection. */
	const runs = async () => {
		const c = await home.server.store.collection<{ _id: string; branch: string }>({ name: "runs" });
		return c.find({ project: PROJECT });
	};

	before(async () => {
		// Projects, workflows and repositories; no run service and no hook service yet.
		home = await startTestServer({
			...env,
			SERVICES: "api,auth,project,workflow,repository",
			NODE_ID: `home-${process.pid}`,
		});
		repo = await linkAsCodeRepo({
			apiUrl: home.url,
			token: home.adminToken,
			key: PROJECT,
			broker: home.server.broker,
			pollSeconds: 86_400,
		});
	});
	after(async () => {
		for (const c of children) await c.kill9();
		for (const r of replicas) await r.stop();
		await home?.stop();
		repo?.remove();
	});

	test("an event accepted by a node killed right after its 202 is processed once a node is back", async () => {
		// The node listens on a port found free a moment before; on a shared machine another process
		// may take it first, so the node is only trusted once /health/live names it.
		const nodeId = `hook-node-${process.pid}`;
		let node: NodeProcess | null = null;
		let url = "";
		for (let attempt = 1; node === null; attempt++) {
			const port = await freePort();
			const candidate = spawnNode(nodeId, {
				...env,
				SERVICES: "api,hook-webhook",
				CDS_API_PORT: String(port),
				CDS_API_HOST: "127.0.0.1",
				LOG_LEVEL: "error",
			});
			children.push(candidate);
			url = `http://127.0.0.1:${port}`;
			const ours = await isOurNode(url, nodeId, candidate);
			if (ours) node = candidate;
			else {
				await candidate.kill9();
				if (attempt === 3) throw new Error(`the hook node never came up: ${candidate.output.join("")}`);
			}
		}
		await waitReady(url, 60_000);
		await waitFor("the hook node to see the repository service", async () => {
			const body = pushBody("probe");
			const r = await fetch(`${url}/api/v1/hooks/repository/${randomUUID()}`, {
				method: "POST",
				headers: signed(body, "probe"),
				body,
			}).catch(() => null);
			// The hook source's own answer for an unknown hook — not a 404 of a node whose
			// hook-webhook service is not registered yet.
			return (
				r?.status === 404 &&
				((await r.json().catch(() => ({}))) as { message?: string }).message === "webhook not found"
			);
		});
		const body = pushBody("killed");
		const res = await fetch(`${url}/api/v1/hooks/repository/${repo.webhook.uuid}`, {
			method: "POST",
			headers: signed(body, "delivery-before-kill"),
			body,
		});
		const answer = await res.text();
		await node.kill9();
		assert.equal(res.status, 202, `${answer}\n${node.output.join("")}`);
		assert.deepEqual(await runs(), [], "nothing could run: no run service was up");
		// A node is back with the hook service and the run service.
		const back = await startTestServer({ ...env, SERVICES: "api,run,hook", NODE_ID: `back-${process.pid}` });
		replicas.push(back);
		await waitFor("the event to be processed", async () => (await runs()).length === 1, 60_000);
		assert.equal((await runs())[0]!.branch, "killed");
		await new Promise((r) => setTimeout(r, 500));
		assert.equal((await runs()).length, 1);
	});

	test("two replicas, 250 deliveries with 20 % duplicates sent to both: one acceptance and one run each, all on JetStream", async () => {
		// Two fresh replicas with the default lease (60 s): under load an event's processing may take
		// seconds, and a lease much shorter than the request timeout would not keep it to one replica.
		for (const r of replicas.splice(0)) await r.stop();
		const lease = { ...env, CDS_HOOKS_LEASE_MS: "60000" };
		replicas.push(
			await startTestServer({ ...lease, SERVICES: "api,run,hook", NODE_ID: `first-${process.pid}` }),
		);
		replicas.push(
			await startTestServer({ ...lease, SERVICES: "api,hook", NODE_ID: `second-${process.pid}` }),
		);
		await replicas[1]!.server.broker.waitForServices(
			["hook", "hook-webhook", "run", "workflow", "repository"],
			30_000,
		);
		const runsBefore = (await runs()).length;
		const unique = 200;
		const deliveries = Array.from({ length: unique }, (_, i) => ({ id: `c-${i}`, body: pushBody(`b${i}`) }));
		// Each duplicate goes to the other replica, at the same time as its original.
		const pairs = deliveries.map((d, i) => (i < 50 ? [d, d] : [d]));
		const statuses: number[] = [];
		let next = 0;
		await Promise.all(
			Array.from({ length: 16 }, async () => {
				while (next < pairs.length) {
					const group = pairs[next++]!;
					await Promise.all(
						group.map(async (d, k) => {
							const target = replicas[(k + group.length) % replicas.length]!;
							const r = await fetch(`${target.url}/api/v1/hooks/repository/${repo.webhook.uuid}`, {
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
		assert.equal(statuses.length, 250);
		assert.equal(
			statuses.filter((s) => s === 202).length,
			unique,
			JSON.stringify(statuses.filter((s) => s !== 202 && s !== 200)),
		);
		assert.equal(statuses.filter((s) => s === 200).length, 50);
		await waitFor("every run", async () => (await runs()).length >= runsBefore + unique, 240_000);
		await new Promise((r) => setTimeout(r, 1000));
		const created = (await runs()).filter((r) => r.branch !== "killed");
		assert.equal(created.length, unique, "no duplicate run");
		assert.equal(new Set(created.map((r) => r.branch)).size, unique, "no lost event");

		// Outside systems replay the stream: one message per accepted event (the killed node's included).
		const nc = await connect(natsConnectOptions(nats.url!));
		try {
			const jsm = await nc.jetstreamManager();
			const ci = await jsm.consumers.add("CDS_HOOKS", {
				filter_subject: `cds.hooks.${PROJECT}.>`,
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
