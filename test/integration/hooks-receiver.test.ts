// The webhook receiver, the processor, the poller (real git) and the scheduler (injected
// clock) on a real node with the embedded store. The repository, workflow and run services
// of issue 4 part A are stood in for by the small Fake* services below (test-only).

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import { attachRuntime, runtimeOf } from "../../mixins/runtime.ts";
import { attachStore, storeOf } from "../../mixins/store.mixin.ts";
import ApiService from "../../services/api.service.ts";
import { hookServices, type RepositoryDoc } from "../../services/hook.service.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

interface Calls {
	syncs: Array<{ repositoryId: string; branch: string; commit: string }>;
	deletes: Array<{ repositoryId: string; branch: string }>;
	runs: Array<Record<string, any>>;
	/** run.create fails this many more times (the run service "down"). */
	failRuns: number;
}

/** Stand-in for part A's repository service. */
function FakeRepositoryService(repos: RepositoryDoc[]): ServiceSchema {
	return {
		name: "repository",
		actions: {
			byHookUuid: (ctx: any) => repos.find((r) => r.webhook?.uuid === ctx.params.uuid) ?? null,
			get: (ctx: any) => repos.find((r) => r.id === ctx.params.id) ?? null,
			listPollable: () => repos.filter((r) => r.poll),
			reportStatus: () => ({ reported: false }),
		},
	};
}

/** Stand-in for part A's workflow.syncBranch / deleteBranch (and workflow.get for schedules). */
function FakeWorkflowService(calls: Calls): ServiceSchema {
	return {
		name: "workflow",
		actions: {
			syncBranch: (ctx: any) => {
				calls.syncs.push(ctx.params);
				return { workflows: ["build"], changed: true };
			},
			deleteBranch: (ctx: any) => {
				calls.deletes.push(ctx.params);
				return { removed: ["build"] };
			},
			get: (ctx: any) => ({ key: ctx.params.key, name: ctx.params.name }),
		},
	};
}

/** Stand-in for run.create: records each call. */
function FakeRunService(calls: Calls): ServiceSchema {
	return {
		name: "run",
		actions: {
			create: async (ctx: any) => {
				if (calls.failRuns > 0) {
					calls.failRuns--;
					throw new Error("run service unavailable");
				}
				calls.runs.push(ctx.params);
				return { number: calls.runs.length };
			},
		},
	};
}

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

async function waitFor<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 10_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const v = await probe();
		if (v) return v;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 20));
	}
}

const SECRET = "webhook-secret-0123456789";
const repo: RepositoryDoc = {
	id: "repo-1",
	project: "DEMO",
	manager: "github",
	url: "https://example.invalid/org/app.git",
	repo: "org/app",
	defaultBranch: "main",
	webhook: { uuid: randomUUID(), secret: SECRET },
	poll: null,
};

/** A node with the gateway, the hook service and the stand-ins, serving HTTP. */
async function startHookNode(calls: Calls, env: Record<string, string> = {}): Promise<TestServer> {
	const server = await startTestServer({
		SERVICES: "auth",
		CDS_HOOKS_RETRY_BASE_MS: "50",
		CDS_HOOKS_PROCESS_INTERVAL_MS: "50",
		...env,
	});
	const { broker, config } = server.server;
	broker.createService(FakeRepositoryService([repo]));
	broker.createService(FakeWorkflowService(calls));
	broker.createService(FakeRunService(calls));
	for (const schema of hookServices(config)) broker.createService(schema);
	broker.createService(ApiService(config));
	await broker.waitForServices(["api", "hook", "hook-webhook", "repository", "workflow", "run"]);
	await waitFor("the gateway", () =>
		fetch(`${server.url}/health/live`).then(
			(r) => r.ok,
			() => false,
		),
	);
	return server;
}

describe("hook service: webhook receiver and processor", () => {
	let server: TestServer;
	const calls: Calls = { syncs: [], deletes: [], runs: [], failRuns: 0 };
	const post = (uuid: string, body: string, headers: Record<string, string>) =>
		fetch(`${server.url}/api/v1/hooks/repository/${uuid}`, { method: "POST", headers, body });

	before(async () => {
		server = await startHookNode(calls);
	});
	after(async () => server?.stop());

	test("a signed GitHub push → 202, then syncBranch and run.create with the git.* variables", async () => {
		const commit = "a".repeat(40);
		const body = pushBody("feature/x", commit);
		const res = await post(repo.webhook!.uuid, body, githubHeaders(SECRET, body, "delivery-1"));
		assert.equal(res.status, 202);
		const answer = (await res.json()) as { event: string };
		// Durable before the answer: the event is in the store.
		const stored = (await server.server.broker.call("hook.getEvent", { id: answer.event })) as any;
		assert.equal(stored.source, "webhook");
		await waitFor("the run", () => calls.runs.length === 1);
		assert.deepEqual(calls.syncs[0], { repositoryId: "repo-1", branch: "feature/x", commit });
		assert.deepEqual(calls.runs[0], {
			key: "DEMO",
			name: "build",
			branch: "feature/x",
			commit,
			params: {
				"git.branch": "feature/x",
				"git.repository": "org/app",
				"git.hash": commit,
				"git.hash.short": "aaaaaaa",
				"git.author": "Ada",
				"git.author.email": "ada@example.com",
				"git.message": "feat: x",
			},
		});
		await waitFor("the event to be done", async () => {
			const e = (await server.server.broker.call("hook.getEvent", { id: answer.event })) as any;
			return e.state === "done";
		});
		// The same delivery again: 200 duplicate, nothing more happens.
		const again = await post(repo.webhook!.uuid, body, githubHeaders(SECRET, body, "delivery-1"));
		assert.equal(again.status, 200);
		assert.equal(((await again.json()) as any).duplicate, true);
		await new Promise((r) => setTimeout(r, 200));
		assert.equal(calls.runs.length, 1);
	});

	test("a bad signature → 401 and no side effect; an unknown hook → 404; a ping → 200", async () => {
		const runsBefore = calls.runs.length;
		const body = pushBody("main", "b".repeat(40));
		const bad = await post(repo.webhook!.uuid, body, githubHeaders("not-the-secret", body, "delivery-bad"));
		assert.equal(bad.status, 401);
		assert.equal(((await bad.json()) as any).type, "UNAUTHORIZED");
		const unsigned = await post(repo.webhook!.uuid, body, {
			"content-type": "application/json",
			"x-github-event": "push",
		});
		assert.equal(unsigned.status, 401);
		assert.equal(await server.server.broker.call("hook.getEvent", { id: "wh:repo-1:delivery-bad" }), null);
		assert.equal((await post(randomUUID(), body, githubHeaders(SECRET, body, "d"))).status, 404);
		const ping = await post(repo.webhook!.uuid, "{}", githubHeaders(SECRET, "{}", "ping-1", "ping"));
		assert.equal(ping.status, 200);
		const broken = await post(repo.webhook!.uuid, "{oops", githubHeaders(SECRET, "{oops", "broken-1"));
		assert.equal(broken.status, 400);
		await new Promise((r) => setTimeout(r, 200));
		assert.equal(calls.runs.length, runsBefore);
	});

	test("a body over 1 MB → 413 with a clear error, unread and unstored; the receiver keeps serving", async () => {
		const runsBefore = calls.runs.length;
		const huge = JSON.stringify({
			...JSON.parse(pushBody("main", "f".repeat(40))),
			padding: "x".repeat(2 * 1024 * 1024),
		});
		const res = await post(repo.webhook!.uuid, huge, githubHeaders(SECRET, huge, "delivery-huge"));
		assert.equal(res.status, 413);
		const error = (await res.json()) as { code: number; type: string; message: string };
		assert.equal(error.code, 413);
		assert.equal(typeof error.type, "string");
		assert.match(error.message, /large/i);
		assert.equal(await server.server.broker.call("hook.getEvent", { id: "wh:repo-1:delivery-huge" }), null);
		const body = pushBody("main", "9".repeat(40));
		assert.equal(
			(await post(repo.webhook!.uuid, body, githubHeaders(SECRET, body, "delivery-after-huge"))).status,
			202,
		);
		await waitFor("the run after the refused body", () => calls.runs.length === runsBefore + 1);
	});

	test("a deleted branch calls workflow.deleteBranch", async () => {
		const body = JSON.stringify({
			ref: "refs/heads/feature/x",
			before: "a".repeat(40),
			after: "0".repeat(40),
			deleted: true,
		});
		const res = await post(repo.webhook!.uuid, body, githubHeaders(SECRET, body, "delivery-del"));
		assert.equal(res.status, 202);
		await waitFor("deleteBranch", () => calls.deletes.length === 1);
		assert.deepEqual(calls.deletes[0], { repositoryId: "repo-1", branch: "feature/x" });
	});

	test("run service down: the event is retried with backoff and creates its run once, later", async () => {
		const runsBefore = calls.runs.length;
		calls.failRuns = 3;
		const body = pushBody("main", "c".repeat(40));
		const res = await post(repo.webhook!.uuid, body, githubHeaders(SECRET, body, "delivery-retry"));
		assert.equal(res.status, 202);
		await waitFor("the retried run", () => calls.runs.length === runsBefore + 1);
		const event = (await server.server.broker.call("hook.getEvent", {
			id: "wh:repo-1:delivery-retry",
		})) as any;
		await waitFor(
			"done",
			async () =>
				((await server.server.broker.call("hook.getEvent", { id: event._id })) as any).state === "done",
		);
		assert.ok(event.attempts >= 1, `attempts ${event.attempts}`);
		await new Promise((r) => setTimeout(r, 300));
		assert.equal(calls.runs.length, runsBefore + 1);
	});

	test("1,000 deliveries with 20 % duplicates → one acceptance and one run per unique delivery", async () => {
		const runsBefore = calls.runs.length;
		const unique = 800;
		const deliveries: Array<{ id: string; body: string }> = [];
		for (let i = 0; i < unique; i++)
			deliveries.push({
				id: `bulk-${i}`,
				body: pushBody(`b${i}`, i.toString(16).padStart(40, "0").replace(/^0/, "1")),
			});
		for (let i = 0; i < 200; i++) deliveries.push(deliveries[(i * 7) % unique]!);
		deliveries.sort(() => Math.random() - 0.5);
		const statuses: number[] = [];
		let next = 0;
		await Promise.all(
			Array.from({ length: 32 }, async () => {
				while (next < deliveries.length) {
					const d = deliveries[next++]!;
					const res = await post(repo.webhook!.uuid, d.body, githubHeaders(SECRET, d.body, d.id));
					statuses.push(res.status);
					await res.arrayBuffer();
				}
			}),
		);
		assert.equal(statuses.filter((s) => s === 202).length, unique);
		assert.equal(statuses.filter((s) => s === 200).length, 200);
		await waitFor("all runs", () => calls.runs.length >= runsBefore + unique, 30_000);
		await new Promise((r) => setTimeout(r, 300));
		const created = calls.runs.slice(runsBefore);
		assert.equal(created.length, unique);
		assert.equal(new Set(created.map((r) => r.branch)).size, unique);
	});
});

describe("hook service: poller (real git) and scheduler (injected clock), two replicas", () => {
	let server: TestServer;
	let workDir: string;
	let clock = Date.parse("2025-01-01T12:00:00Z");
	const calls: Calls = { syncs: [], deletes: [], runs: [], failRuns: 0 };
	const replicas: ServiceBroker[] = [];
	const git = (cwd: string, ...args: string[]) =>
		execFileSync("git", args, {
			cwd,
			encoding: "utf8",
			env: {
				...process.env,
				GIT_AUTHOR_NAME: "t",
				GIT_AUTHOR_EMAIL: "t@x",
				GIT_COMMITTER_NAME: "t",
				GIT_COMMITTER_EMAIL: "t@x",
			},
		}).trim();
	const pollRepo = (): RepositoryDoc => ({
		id: "repo-poll",
		project: "DEMO",
		manager: "git",
		url: path.join(workDir, "remote.git"),
		repo: "local/remote",
		defaultBranch: "main",
		webhook: null,
		poll: { intervalSeconds: 60 },
	});
	const SERVICE_OF: Record<string, string> = {
		runPoller: "hook-poller",
		runScheduler: "hook-scheduler",
		runProcessor: "hook",
	};
	const both = async (action: string) =>
		(await Promise.all(replicas.map((b) => b.call(`${SERVICE_OF[action]}.${action}`, {})))) as number[];

	before(async () => {
		workDir = mkdtempSync(path.join(tmpdir(), "cds-hooks-git-"));
		git(workDir, "init", "--bare", "-b", "main", "remote.git");
		git(workDir, "clone", "-q", "remote.git", "clone");
		const clone = path.join(workDir, "clone");
		writeFileSync(path.join(clone, "README"), "hello\n");
		git(clone, "add", ".");
		git(clone, "commit", "-qm", "first");
		git(clone, "push", "-q", "origin", "HEAD:main");
		server = await startTestServer({ SERVICES: "auth" });
		// Two hook replicas sharing the node's store (as two processes share MongoDB).
		for (const name of ["replica-a", "replica-b"]) {
			const broker = new ServiceBroker({ nodeID: name, logger: false });
			attachStore(broker, server.server.store);
			attachRuntime(broker, runtimeOf(server.server.broker));
			broker.createService(FakeRepositoryService([pollRepo()]));
			broker.createService(FakeWorkflowService(calls));
			broker.createService(FakeRunService(calls));
			for (const schema of hookServices(server.server.config, { now: () => clock, loops: false }))
				broker.createService(schema);
			await broker.start();
			replicas.push(broker);
		}
	});
	after(async () => {
		for (const b of replicas) await b.stop();
		await server?.stop();
		rmSync(workDir, { recursive: true, force: true });
	});

	test("poller: baseline, new branch, new commit, deleted branch — each seen by exactly one replica", async () => {
		const clone = path.join(workDir, "clone");
		// First tick: one replica polls and records the baseline; nothing is emitted.
		assert.equal(
			(await both("runPoller")).reduce((a, b) => a + b, 0),
			1,
		);
		await both("runProcessor");
		assert.equal(calls.syncs.length, 0);

		git(clone, "checkout", "-qb", "feature/x");
		writeFileSync(path.join(clone, "x"), "x\n");
		git(clone, "add", ".");
		git(clone, "commit", "-qm", "x");
		git(clone, "push", "-q", "origin", "feature/x");
		const commit = git(clone, "rev-parse", "HEAD");
		clock += 60_000;
		const polled = await both("runPoller");
		assert.equal(
			polled.reduce((a, b) => a + b, 0),
			1,
			"one replica polls per tick",
		);
		await both("runProcessor");
		assert.deepEqual(calls.syncs, [{ repositoryId: "repo-poll", branch: "feature/x", commit }]);
		assert.equal(calls.runs.length, 1);
		assert.equal(calls.runs[0]!.params["git.branch"], "feature/x");
		assert.equal(calls.runs[0]!.params["git.hash"], commit);

		// Same tick again: nothing.
		assert.equal(
			(await both("runPoller")).reduce((a, b) => a + b, 0),
			0,
		);

		git(clone, "push", "-q", "origin", "--delete", "feature/x");
		clock += 60_000;
		await both("runPoller");
		await both("runProcessor");
		assert.deepEqual(calls.deletes, [{ repositoryId: "repo-poll", branch: "feature/x" }]);
		assert.equal(calls.runs.length, 1);
	});

	test("scheduler: one run per tick with two replicas, one catch-up after an outage, CRUD checks", async () => {
		calls.runs.length = 0;
		clock = Date.parse("2025-01-01T12:00:30Z");
		await assert.rejects(
			replicas[0]!.call("hook.createSchedule", { key: "DEMO", name: "build", cron: "61 * * * *" }),
			/invalid cron/,
		);
		await assert.rejects(
			replicas[0]!.call("hook.createSchedule", {
				key: "DEMO",
				name: "build",
				cron: "* * * * *",
				timezone: "Nowhere/X",
			}),
			/unknown timezone/,
		);
		const schedule = (await replicas[0]!.call("hook.createSchedule", {
			key: "DEMO",
			name: "build",
			cron: "*/5 * * * *",
			timezone: "Europe/Paris",
			payload: { deploy: true },
		})) as { id: string };
		// Ticks at 12:05 and 12:10 UTC, both replicas checking every 20 s.
		for (let i = 0; i < 30; i++) {
			clock += 20_000;
			await both("runScheduler");
		}
		await both("runProcessor");
		assert.deepEqual(
			calls.runs.map((r) => r.params["cds.hook.tick"]),
			["2025-01-01T13:05:00", "2025-01-01T13:10:00"],
		);
		assert.deepEqual(calls.runs[0]!.payload, { deploy: true });
		// Every hook node down for 3 hours: one catch-up run, for the latest tick.
		clock += 3 * 3600_000;
		await both("runScheduler");
		await both("runProcessor");
		assert.equal(calls.runs.length, 3);
		assert.equal(calls.runs[2]!.params["cds.hook.tick"], "2025-01-01T16:10:00");
		const listed = (await replicas[1]!.call("hook.listSchedules", { key: "DEMO", name: "build" })) as any[];
		assert.deepEqual(
			listed.map((s) => s.id),
			[schedule.id],
		);
		await replicas[1]!.call("hook.deleteSchedule", { key: "DEMO", name: "build", id: schedule.id });
		clock += 3600_000;
		assert.deepEqual(await both("runScheduler"), [0, 0]);
	});
});

describe("hook service: retention of processed events", () => {
	let server: TestServer;
	const calls: Calls = { syncs: [], deletes: [], runs: [], failRuns: 0 };
	const post = (body: string, delivery: string) =>
		fetch(`${server.url}/api/v1/hooks/repository/${repo.webhook!.uuid}`, {
			method: "POST",
			headers: githubHeaders(SECRET, body, delivery),
			body,
		});
	const event = (id: string) => server.server.broker.call("hook.getEvent", { id }) as Promise<any>;
	const runtimeStore = () => storeOf(server.server.broker);

	before(async () => {
		server = await startHookNode(calls, {
			CDS_HOOKS_RETRY_MAX_MS: "100",
			CDS_HOOKS_SWEEP_INTERVAL_MS: "3600000",
			CDS_HOOKS_EVENT_RETENTION_MS: "1500",
			CDS_HOOKS_CATCHUP_WINDOW_MS: "1000",
		});
	});
	after(async () => server?.stop());

	test("a processed event is purged after CDS_HOOKS_EVENT_RETENTION_MS; one still failing is kept", async () => {
		const done = pushBody("main", "d".repeat(40));
		assert.equal((await post(done, "kept-then-purged")).status, 202);
		await waitFor("processed", async () => (await event("wh:repo-1:kept-then-purged"))?.state === "done");
		calls.failRuns = 1_000_000;
		const failing = pushBody("release", "e".repeat(40));
		assert.equal((await post(failing, "still-failing")).status, 202);
		await waitFor("a failed attempt", async () => (await event("wh:repo-1:still-failing"))?.attempts >= 1);

		// Within the retention the event is kept, and it still refuses a redelivery.
		await server.server.broker.call("hook.runSweep");
		assert.equal((await event("wh:repo-1:kept-then-purged")).state, "done");
		const redelivered = await post(done, "kept-then-purged");
		assert.equal(redelivered.status, 200);
		assert.equal(((await redelivered.json()) as any).duplicate, true);

		await new Promise((r) => setTimeout(r, 1700));
		await server.server.broker.call("hook.runSweep");
		assert.equal(await event("wh:repo-1:kept-then-purged"), null);
		// Its processing claim went with it (the claims collection does not grow with every event).
		assert.equal(await runtimeStore().holder("hook-event", "wh:repo-1:kept-then-purged"), null);
		const claims = await runtimeStore().collection({ name: "_claims" });
		assert.equal((await claims.find({ scope: "hook-event", key: "wh:repo-1:kept-then-purged" })).length, 0);
		assert.equal(
			(await claims.find({ scope: "hook-event", key: "wh:repo-1:still-failing" })).length > 0,
			true,
		);
		const pending = await event("wh:repo-1:still-failing");
		assert.equal(pending.state, "pending");
		calls.failRuns = 0;
		await waitFor("the failing event, once the run service is back", async () => {
			return (await event("wh:repo-1:still-failing"))?.state === "done";
		});
		assert.equal(calls.runs.filter((r) => r.branch === "release").length, 1);
	});
});
