// The webhook receiver and the processor on a real node (embedded store) with the real
// repository, workflow and run services: a local bare repository with as-code files linked with
// `cds push`, and signed GitHub-format deliveries announcing its commits. Then the poller (real
// git) and the scheduler (injected clock) on two replicas, and the retention of processed events.

import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import { attachRuntime, runtimeOf } from "../../services/support/runtime.ts";
import { attachStore } from "../../mixins/store.mixin.ts";
import { hookServices } from "../../services/hook.service.ts";
import { webhookEventKey } from "../../src/hooks/sources/webhook.ts";
import type { Doc } from "../../src/store/types.ts";
import RunService from "../../services/run.service.ts";
import { type AsCodeRepo, git, linkAsCodeRepo } from "../helpers/ascode-repo.ts";
import { ALLOW_LOCAL_REPOSITORIES, startTestServer, type TestServer } from "../helpers/server.ts";

function githubHeaders(secret: string, body: string, delivery: string, event = "push") {
	return {
		"content-type": "application/json",
		"x-github-event": event,
		"x-github-delivery": delivery,
		"x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
	};
}

function pushBody(branch: string, commit: string) {
	return JSON.stringify({
		ref: `refs/heads/${branch}`,
		before: "1".repeat(40),
		after: commit,
		head_commit: { id: commit, message: "feat: x", author: { name: "Ada", email: "ada@example.com" } },
		repository: { full_name: "org/app" },
	});
}

async function waitFor<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 30_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const v = await probe();
		if (v) return v;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

interface RunRow extends Doc {
	_id: string;
	branch: string;
	commit: string;
	vars: Record<string, string>;
}

/** A node with the gateway, the hook services and the real services they call (no hatchery: runs wait). */
async function startNode(env: Record<string, string> = {}) {
	const server = await startTestServer({
		...ALLOW_LOCAL_REPOSITORIES,
		SERVICES: "api,auth,project,workflow,repository,run,hook",
		CDS_HOOKS_RETRY_BASE_MS: "50",
		CDS_HOOKS_PROCESS_INTERVAL_MS: "50",
		...env,
	});
	const repo = await linkAsCodeRepo({
		apiUrl: server.url,
		token: server.adminToken,
		key: "DEMO",
		broker: server.server.broker,
		pollSeconds: 86_400,
	});
	const post = (body: string, delivery: string, secret = repo.webhook.secret, uuid = repo.webhook.uuid) =>
		fetch(`${server.url}/api/v1/hooks/repository/${uuid}`, {
			method: "POST",
			headers: githubHeaders(secret, body, delivery),
			body,
		});
	const runsOf = async (branch?: string) => {
		const c = await server.server.store.collection<RunRow>({ name: "runs" });
		return c.find(branch ? { project: "DEMO", branch } : { project: "DEMO" });
	};
	const event = (id: string) => server.server.broker.call("hook.getEvent", { id }) as Promise<any>;
	return { server, repo, post, runsOf, event };
}

describe("hook service: webhook receiver and processor, with the real services", () => {
	let node: Awaited<ReturnType<typeof startNode>>;
	let repo: AsCodeRepo;

	before(async () => {
		node = await startNode();
		repo = node.repo;
	});
	after(async () => {
		await node?.server.stop();
		repo?.remove();
	});

	test("a signed GitHub push → 202, then the branch is defined and runs at that commit with the git.* variables", async () => {
		const commit = repo.pushBranch("feature/x");
		const body = pushBody("feature/x", commit);
		const res = await node.post(body, "delivery-1");
		assert.equal(res.status, 202);
		const answer = (await res.json()) as { event: string };
		assert.equal(answer.event, `wh:${webhookEventKey(repo.id, Buffer.from(body))}`);
		// Durable before the answer: the event is in the store, with what it asks.
		const stored = await node.event(answer.event);
		assert.equal(stored.source, "webhook");
		assert.deepEqual(
			stored.intents.map((i: any) => [i.kind, i.branch, i.commit, i.run]),
			[["define-branch", "feature/x", commit, true]],
		);
		const run = await waitFor("the run", async () => (await node.runsOf("feature/x"))[0]);
		assert.equal(run!.commit, commit);
		for (const [k, v] of Object.entries({
			"git.branch": "feature/x",
			"git.repository": "org/app",
			"git.hash": commit,
			"git.hash.short": commit.slice(0, 7),
			"git.author": "Ada",
			"git.author.email": "ada@example.com",
			"git.message": "feat: x",
		}))
			assert.equal(run!.vars[k], v, k);
		const defined = await node.server.api("GET", "/api/v1/projects/DEMO/workflows/app?branch=feature%2Fx");
		assert.equal(defined.status, 200, "the branch has its definition");
		await waitFor("the event to be done", async () => (await node.event(answer.event)).state === "done");
		// The same delivery again: 200 duplicate, nothing more happens.
		const again = await node.post(body, "delivery-1");
		assert.equal(again.status, 200);
		assert.equal(((await again.json()) as any).duplicate, true);
		await new Promise((r) => setTimeout(r, 300));
		assert.equal((await node.runsOf("feature/x")).length, 1);
	});

	test("a bad signature → 401 and no side effect; an unknown hook → 404; a ping → 200; a broken body → 400", async () => {
		const runsBefore = (await node.runsOf()).length;
		const body = pushBody("master", repo.head);
		const bad = await node.post(body, "delivery-bad", "not-the-secret");
		assert.equal(bad.status, 401);
		assert.equal(((await bad.json()) as any).type, "UNAUTHORIZED");
		const unsigned = await fetch(`${node.server.url}/api/v1/hooks/repository/${repo.webhook.uuid}`, {
			method: "POST",
			headers: { "content-type": "application/json", "x-github-event": "push" },
			body,
		});
		assert.equal(unsigned.status, 401);
		assert.equal(await node.event(`wh:${webhookEventKey(repo.id, Buffer.from(body))}`), null);
		assert.equal((await node.post(body, "d", repo.webhook.secret, randomUUID())).status, 404);
		const ping = await fetch(`${node.server.url}/api/v1/hooks/repository/${repo.webhook.uuid}`, {
			method: "POST",
			headers: githubHeaders(repo.webhook.secret, "{}", "ping-1", "ping"),
			body: "{}",
		});
		assert.equal(ping.status, 200);
		assert.equal((await node.post("{oops", "broken-1")).status, 400);
		await new Promise((r) => setTimeout(r, 300));
		assert.equal((await node.runsOf()).length, runsBefore);
	});

	test("a body over 1 MB → 413 with a clear error, unread and unstored; the receiver keeps serving", async () => {
		const huge = JSON.stringify({
			...JSON.parse(pushBody("after-huge", repo.head)),
			padding: "x".repeat(2 * 1024 * 1024),
		});
		const res = await node.post(huge, "delivery-huge");
		assert.equal(res.status, 413);
		const error = (await res.json()) as { code: number; type: string; message: string };
		assert.equal(error.code, 413);
		assert.equal(typeof error.type, "string");
		assert.match(error.message, /large/i);
		assert.equal(await node.event(`wh:${webhookEventKey(repo.id, Buffer.from(huge))}`), null);
		assert.equal((await node.post(pushBody("after-huge", repo.head), "delivery-after-huge")).status, 202);
		await waitFor(
			"the run after the refused body",
			async () => (await node.runsOf("after-huge")).length === 1,
		);
	});

	test("a deleted branch loses its definition (workflow.deleteBranch)", async () => {
		const before = await node.server.api("GET", "/api/v1/projects/DEMO/workflows/app?branch=feature%2Fx");
		assert.equal(before.status, 200);
		const body = JSON.stringify({
			ref: "refs/heads/feature/x",
			before: "a".repeat(40),
			after: "0".repeat(40),
			deleted: true,
		});
		assert.equal((await node.post(body, "delivery-del")).status, 202);
		assert.equal(
			(await node.event(`wh:${webhookEventKey(repo.id, Buffer.from(body))}`)).intents[0].kind,
			"delete-branch",
		);
		await waitFor("the definition of feature/x to go", async () => {
			const r = await node.server.api("GET", "/api/v1/projects/DEMO/workflows/app?branch=feature%2Fx");
			return r.status === 404;
		});
	});

	test("run service down: the event is retried with backoff and creates its run once, when it is back", async () => {
		const { broker, config } = node.server.server;
		await broker.destroyService(broker.getLocalService("run")!);
		const body = pushBody("retry", repo.head);
		assert.equal((await node.post(body, "delivery-retry")).status, 202);
		const id = `wh:${webhookEventKey(repo.id, Buffer.from(body))}`;
		const failed = await waitFor("failed attempts", async () => {
			const e = await node.event(id);
			return e.attempts >= 2 ? e : null;
		});
		assert.equal(failed.state, "pending");
		assert.ok(failed.lastError);
		assert.equal((await node.runsOf("retry")).length, 0);
		broker.createService(RunService(config) as ServiceSchema);
		await broker.waitForServices(["run"]);
		await waitFor("the retried run", async () => (await node.runsOf("retry")).length === 1);
		await waitFor("done", async () => (await node.event(id)).state === "done");
		await new Promise((r) => setTimeout(r, 300));
		assert.equal((await node.runsOf("retry")).length, 1);
	});

	test("250 deliveries with 20 % duplicates → one acceptance and one run per unique delivery", async () => {
		const unique = 200;
		const deliveries: Array<{ id: string; body: string }> = [];
		for (let i = 0; i < unique; i++) deliveries.push({ id: `bulk-${i}`, body: pushBody(`b${i}`, repo.head) });
		for (let i = 0; i < 50; i++) deliveries.push(deliveries[(i * 7) % unique]!);
		deliveries.sort(() => Math.random() - 0.5);
		const statuses: number[] = [];
		let next = 0;
		await Promise.all(
			Array.from({ length: 32 }, async () => {
				while (next < deliveries.length) {
					const d = deliveries[next++]!;
					const res = await node.post(d.body, d.id);
					statuses.push(res.status);
					await res.arrayBuffer();
				}
			}),
		);
		assert.equal(statuses.filter((s) => s === 202).length, unique);
		assert.equal(statuses.filter((s) => s === 200).length, 50);
		const bulk = async () => (await node.runsOf()).filter((r) => /^b\d+$/.test(r.branch));
		await waitFor("all runs", async () => (await bulk()).length >= unique, 120_000);
		await new Promise((r) => setTimeout(r, 500));
		const created = await bulk();
		assert.equal(created.length, unique);
		assert.equal(new Set(created.map((r) => r.branch)).size, unique);
	});
});

describe("hook service: retention of processed events", () => {
	let node: Awaited<ReturnType<typeof startNode>>;
	let repo: AsCodeRepo;

	before(async () => {
		node = await startNode({
			CDS_HOOKS_RETRY_MAX_MS: "100",
			CDS_HOOKS_SWEEP_INTERVAL_MS: "3600000",
			CDS_HOOKS_EVENT_RETENTION_MS: "1500",
			// Retried every 50 ms, the failing event would pass the default 10 attempts and become a
			// dead letter (kept, not pending) before the commit is pushed.
			CDS_HOOKS_DEAD_LETTER_ATTEMPTS: "1000",
			CDS_HOOKS_CATCHUP_WINDOW_MS: "1000",
		});
		repo = node.repo;
	});
	after(async () => {
		await node?.server.stop();
		repo?.remove();
	});

	test("a processed event is purged after CDS_HOOKS_EVENT_RETENTION_MS; one still failing is kept", async () => {
		const store = node.server.server.store;
		const done = pushBody("kept", repo.head);
		assert.equal((await node.post(done, "kept-then-purged")).status, 202);
		const doneId = `wh:${webhookEventKey(repo.id, Buffer.from(done))}`;
		await waitFor("processed", async () => (await node.event(doneId))?.state === "done");
		// A delivery announcing a commit the repository does not have yet: it fails until it is pushed.
		git(repo.clone, "checkout", "--quiet", "-B", "release", "master");
		git(repo.clone, "commit", "--quiet", "--allow-empty", "-m", "release");
		const early = git(repo.clone, "rev-parse", "HEAD");
		const failing = pushBody("release", early);
		assert.equal((await node.post(failing, "still-failing")).status, 202);
		const failingId = `wh:${webhookEventKey(repo.id, Buffer.from(failing))}`;
		await waitFor("a failed attempt", async () => (await node.event(failingId))?.attempts >= 1);

		// Within the retention the event is kept, and it still refuses a redelivery.
		await node.server.server.broker.call("hook.runSweep");
		assert.equal((await node.event(doneId)).state, "done");
		const redelivered = await node.post(done, "kept-then-purged");
		assert.equal(redelivered.status, 200);
		assert.equal(((await redelivered.json()) as any).duplicate, true);

		await new Promise((r) => setTimeout(r, 1700));
		await node.server.server.broker.call("hook.runSweep");
		assert.equal(await node.event(doneId), null);
		// Its processing claim went with it (the claims collection does not grow with every event).
		assert.equal(await store.holder("hook-event", doneId), null);
		const claims = await store.collection({ name: "_claims" });
		assert.equal((await claims.find({ scope: "hook-event", key: doneId })).length, 0);
		assert.equal((await claims.find({ scope: "hook-event", key: failingId })).length > 0, true);
		assert.equal((await node.event(failingId)).state, "pending");
		git(repo.clone, "push", "--quiet", "origin", "release");
		await waitFor("the failing event, once the commit is pushed", async () => {
			return (await node.event(failingId))?.state === "done";
		});
		assert.equal((await node.runsOf("release")).length, 1);
	});
});

const mongo = process.env.MONGO_URL;
const nats = process.env.NATS_URL;

describe("hook sources on two replicas (injected clock): poller (real git) and scheduler, with the real services over NATS", {
	skip: mongo && nats ? false : "needs NATS_URL and MONGO_URL",
}, () => {
	let main: TestServer;
	let repo: AsCodeRepo;
	let clock = Date.parse("2025-01-01T12:00:00Z");
	const replicas: ServiceBroker[] = [];
	const SERVICE_OF: Record<string, string> = {
		runPoller: "hook-poller",
		runScheduler: "hook-scheduler",
		runProcessor: "hook",
	};
	const both = async (action: string) =>
		(await Promise.all(replicas.map((b) => b.call(`${SERVICE_OF[action]}.${action}`, {})))) as number[];
	const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
	const runs = async () => {
		const c = await main.server.store.collection<RunRow>({ name: "runs" });
		return c.find({ project: "DEMO" }, { sort: { number: 1 } });
	};

	before(async () => {
		const { mongoUrlFor, uniqueDbName } = await import("../helpers/servers.ts");
		const { brokerOptions } = await import("../../moleculer.config.ts");
		const { randomBytes } = await import("node:crypto");
		const db = uniqueDbName("hooks_replicas");
		main = await startTestServer({
			...ALLOW_LOCAL_REPOSITORIES,
			NATS_URL: nats!,
			MONGO_URL: mongoUrlFor(mongo!, db),
			CDS_NAMESPACE: db,
			CDS_SECRET_KEY: randomBytes(32).toString("base64"),
			SERVICES: "api,auth,project,workflow,repository,run",
			NODE_ID: `main-${process.pid}`,
		});
		repo = await linkAsCodeRepo({
			apiUrl: main.url,
			token: main.adminToken,
			key: "DEMO",
			broker: main.server.broker,
			pollSeconds: 60,
		});
		// Two hook replicas (in this process, to share the injected clock), the other services over NATS.
		for (const name of ["replica-a", "replica-b"]) {
			const broker = new ServiceBroker({
				...brokerOptions(main.server.config),
				nodeID: `${name}-${process.pid}`,
				logger: false,
			});
			attachStore(broker, main.server.store);
			attachRuntime(broker, runtimeOf(main.server.broker));
			for (const schema of hookServices(main.server.config, { now: () => clock, loops: false }))
				broker.createService(schema);
			await broker.start();
			await broker.waitForServices(["repository", "workflow", "run"]);
			replicas.push(broker);
		}
	});
	after(async () => {
		for (const b of replicas) await b.stop();
		await main?.stop();
		repo?.remove();
	});

	test("poller: baseline, new branch, deleted branch — each seen by exactly one replica", async () => {
		// First tick: one replica polls and records the baseline; nothing is emitted. Under load a
		// first pass can miss (the repository service not yet available to a replica, or the poll
		// failing, which health() tells): production polls again next tick, and so does this test.
		let first = sum(await both("runPoller"));
		if (first === 0) {
			clock += 60_000;
			first = sum(await both("runPoller"));
		}
		const health = () => Promise.all(replicas.map((b) => b.call("hook-poller.health", {})));
		assert.equal(first, 1, `one replica records the baseline: ${JSON.stringify(await health())}`);
		await both("runProcessor");
		assert.deepEqual(await runs(), []);

		const commit = repo.pushBranch("feature/x");
		clock += 60_000;
		assert.equal(sum(await both("runPoller")), 1, "one replica polls per tick");
		await both("runProcessor");
		const created = await runs();
		assert.equal(created.length, 1);
		assert.equal(created[0]!.branch, "feature/x");
		assert.equal(created[0]!.commit, commit);
		assert.equal(created[0]!.vars["git.hash"], commit);
		// Same tick again: nothing.
		assert.equal(sum(await both("runPoller")), 0);

		git(repo.clone, "push", "--quiet", "origin", "--delete", "feature/x");
		clock += 60_000;
		await both("runPoller");
		await both("runProcessor");
		// The deletion is one event; under load a pass can leave it for the next one (a claim or a
		// call that timed out is retried), so passes go on for a few seconds before judging.
		let defined = await main.api("GET", "/api/v1/projects/DEMO/workflows/app?branch=feature%2Fx");
		for (let i = 0; i < 20 && defined.status !== 404; i++) {
			await new Promise((r) => setTimeout(r, 250));
			await both("runProcessor");
			defined = await main.api("GET", "/api/v1/projects/DEMO/workflows/app?branch=feature%2Fx");
		}
		assert.equal(
			defined.status,
			404,
			`the deleted branch lost its definition: ${JSON.stringify(defined.body)}`,
		);
		assert.equal((await runs()).length, 1);
	});

	test("scheduler: one run per tick with two replicas, one catch-up after an outage, CRUD checks", async () => {
		const scheduled = async () => (await runs()).filter((r) => r.vars["cds.hook.tick"]);
		// Process until `count` scheduled runs exist (or 30 s pass): on a loaded machine an attempt can
		// fail (a call times out) and is retried after a backoff; the exact count is asserted after.
		const processUntil = async (count: number) => {
			const deadline = Date.now() + 30_000;
			do {
				await both("runProcessor");
				if ((await scheduled()).length >= count) return;
				await new Promise((r) => setTimeout(r, 250));
			} while (Date.now() < deadline);
		};
		clock = Date.parse("2025-01-01T12:00:30Z");
		await assert.rejects(
			replicas[0]!.call("hook.createSchedule", { key: "DEMO", name: "app", cron: "61 * * * *" }),
			/invalid cron/,
		);
		await assert.rejects(
			replicas[0]!.call("hook.createSchedule", {
				key: "DEMO",
				name: "app",
				cron: "* * * * *",
				timezone: "Nowhere/X",
			}),
			/unknown timezone/,
		);
		const schedule = (await replicas[0]!.call("hook.createSchedule", {
			key: "DEMO",
			name: "app",
			cron: "*/5 * * * *",
			timezone: "Europe/Paris",
			payload: { deploy: true },
		})) as { id: string };
		// Ticks at 12:05 and 12:10 UTC, both replicas checking every 20 s.
		for (let i = 0; i < 30; i++) {
			clock += 20_000;
			await both("runScheduler");
		}
		await processUntil(2);
		assert.deepEqual(
			(await scheduled()).map((r) => r.vars["cds.hook.tick"]),
			["2025-01-01T13:05:00", "2025-01-01T13:10:00"],
		);
		assert.equal((await scheduled())[0]!.vars["cds.hook.schedule"], schedule.id);
		// Every hook node down for 3 hours: one catch-up run, for the latest tick.
		clock += 3 * 3600_000;
		await both("runScheduler");
		await processUntil(3);
		const after = await scheduled();
		assert.equal(after.length, 3);
		assert.equal(after[2]!.vars["cds.hook.tick"], "2025-01-01T16:10:00");
		const listed = (await replicas[1]!.call("hook.listSchedules", { key: "DEMO", name: "app" })) as {
			items: any[];
		};
		assert.deepEqual(
			listed.items.map((s) => s.id),
			[schedule.id],
		);
		await replicas[1]!.call("hook.deleteSchedule", { key: "DEMO", name: "app", id: schedule.id });
		clock += 3600_000;
		assert.deepEqual(await both("runScheduler"), [0, 0]);
	});
});
