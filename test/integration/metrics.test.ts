// /metrics on a two-node cluster over NATS and MongoDB (FerretDB), nodes started in-process: the
// gateway node (api,auth) answers for both, its own samples and the run node's merged and
// labelled by node. Scrapes need a system administrator token or CDS_METRICS_TOKEN (401 without a
// token, 403 with any other); a run moves the counters, the job histograms and the store
// latency histogram, and a scrape during the run sees it in the cluster gauges; a schedule's
// ticks are counted as hook events and intents; a source's emits are counted by outcome, and a
// dead letter on the processor's node and in the store's gauge.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { HookSourceMixin } from "../../mixins/hook-source.mixin.ts";
import type { HookSource, HookSourceContext } from "../../src/hooks/source.ts";
import { tearDownCluster, testCluster } from "../helpers/cluster.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { serverUrl } from "../helpers/servers.ts";

const nats = serverUrl("NATS_URL");
const mongo = serverUrl("MONGO_URL");
const SCRAPE_TOKEN = "scrape-token-for-metrics-0123456789";
const WF = "/api/v1/projects/MET/workflows";

interface Sample {
	name: string;
	labels: Record<string, string>;
	value: number;
}

/** The samples of a Prometheus text exposition (the subset /metrics writes). */
function parseExposition(text: string): Sample[] {
	const samples: Sample[] = [];
	for (const line of text.split("\n")) {
		if (line === "" || line.startsWith("#")) continue;
		const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
		assert.ok(m, `not an exposition line: ${line}`);
		const labels: Record<string, string> = {};
		for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
			labels[l[1]!] = l[2]!;
		samples.push({ name: m[1]!, labels, value: m[3] === "+Inf" ? Number.POSITIVE_INFINITY : Number(m[3]) });
	}
	return samples;
}

/** The sum of the samples named `name` whose labels include `match`. */
function sum(samples: Sample[], name: string, match: Record<string, string> = {}): number {
	return samples
		.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
		.reduce((a, s) => a + s.value, 0);
}

describe("metrics: the gateway scrapes the whole cluster", { skip: nats.skip || mongo.skip }, () => {
	let gateway: TestServer;
	let runNode: TestServer;
	let dbUrl: string;

	const scrape = async (token: string | null) => {
		const res = await fetch(`${gateway.url}/metrics`, {
			headers: token ? { authorization: `Bearer ${token}` } : {},
		});
		return { status: res.status, type: res.headers.get("content-type") ?? "", text: await res.text() };
	};
	const samples = async () => {
		const r = await scrape(SCRAPE_TOKEN);
		assert.equal(r.status, 200, r.text);
		return parseExposition(r.text);
	};

	async function waitRun(wf: string, n: number, timeoutMs = 60_000) {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const r = (await gateway.api("GET", `${WF}/${wf}/runs/${n}`)).body;
			if (["Success", "Fail", "Stopped"].includes(r.status)) return r;
			if (Date.now() > deadline) throw new Error(`run ${wf} #${n} still ${r.status} after ${timeoutMs} ms`);
			await new Promise((res) => setTimeout(res, 100));
		}
	}

	before(async () => {
		const cluster = await testCluster(
			"cds_metrics",
			{ natsUrl: nats.url!, mongoUrl: mongo.url! },
			{ CDS_METRICS_TOKEN: SCRAPE_TOKEN, CDS_HATCHERY_POLL_MS: "100" },
		);
		dbUrl = cluster.dbUrl;
		// Each node listens on its own port and the gateway's auth service gets its own admin token
		// (the helper picks both); the gateway announces its URL.
		const { CDS_API_PORT: _port, CDS_PUBLIC_URL: _url, CDS_ADMIN_TOKEN: _admin, ...env } = cluster.env;
		runNode = await startTestServer({
			...env,
			SERVICES: "project,workflow,run,hatchery,hook",
			CDS_HOOKS_SCHEDULE_LOOP_MS: "200",
			NODE_ID: "met-run",
		});
		gateway = await startTestServer({ ...env, SERVICES: "api,auth", NODE_ID: "met-gateway" });
		assert.equal(
			(await gateway.api("POST", "/api/v1/projects", { key: "MET", name: "metrics" })).status,
			201,
		);
	});

	after(async () => {
		await runNode?.stop();
		await gateway?.stop();
		await tearDownCluster([], [dbUrl]);
	});

	test("401 without a token or with an unknown one, 403 with a token that is neither admin nor the scrape token", async () => {
		assert.equal((await scrape(null)).status, 401);
		assert.equal((await scrape("not-a-token-at-all-0123456789")).status, 401);
		const created = await gateway.api("POST", "/api/v1/auth/tokens", { role: "admin", project: "MET" });
		assert.equal(created.status, 201, JSON.stringify(created.body));
		const projectAdmin = await scrape(created.body.token);
		assert.equal(projectAdmin.status, 403, projectAdmin.text);
		assert.match(JSON.parse(projectAdmin.text).message, /CDS_METRICS_TOKEN/);
		// The scrape token opens nothing else.
		assert.equal((await gateway.api("GET", "/api/v1/projects", undefined, SCRAPE_TOKEN)).status, 401);
		const admin = await scrape(gateway.adminToken);
		assert.equal(admin.status, 200);
		assert.equal(admin.type, "text/plain; version=0.0.4; charset=utf-8");
	});

	test("a run moves the counters and histograms of the node that ran it, and is seen in the gauges meanwhile", async () => {
		const before = await samples();
		assert.equal(sum(before, "cds_metrics_nodes", { state: "answered" }), 2);
		assert.equal(sum(before, "cds_metrics_nodes", { state: "failed" }), 0);
		const nodes = new Set(
			before.filter((s) => s.name === "cds_runs_created_total").map((s) => s.labels.node),
		);
		assert.deepEqual([...nodes].sort(), ["met-gateway", "met-run"]);
		for (const name of ["cds_event_loop_lag_seconds", "cds_event_loop_lag_max_seconds"])
			assert.ok(
				before.some((s) => s.name === name && s.labels.node === "met-run"),
				`${name} of the run node`,
			);

		const files = [
			{ path: "w.yml", content: "name: metered\nversion: v1.0\npipeline: slow\n" },
			{
				path: "slow.pip.yml",
				content:
					"version: v1.0\nname: slow\njobs:\n- job: build\n  steps:\n  - script:\n    - sleep 4\n    - echo done\n",
			},
		];
		const imported = await gateway.api("POST", "/api/v1/projects/MET/import", { files });
		assert.equal(imported.status, 200, JSON.stringify(imported.body));
		const started = await gateway.api("POST", `${WF}/metered/runs`, {});
		assert.equal(started.status, 201, JSON.stringify(started.body));

		// While its job runs (4 s of sleep), the cluster gauges read from the store show it.
		let seenBuilding = false;
		for (let i = 0; i < 600 && !seenBuilding; i++) {
			const now = await samples();
			seenBuilding =
				sum(now, "cds_jobs_active", { state: "Building" }) >= 1 &&
				sum(now, "cds_runs_active", { status: "Building" }) >= 1;
			const run = (await gateway.api("GET", `${WF}/metered/runs/${started.body.number}`)).body;
			if (!["Waiting", "Building"].includes(run.status)) break;
			if (!seenBuilding) await new Promise((r) => setTimeout(r, 100));
		}
		assert.ok(seenBuilding, "a scrape during the run shows a Building run and a Building job");

		const run = await waitRun("metered", started.body.number);
		assert.equal(run.status, "Success", JSON.stringify(run));
		const after = await samples();
		const delta = (name: string, match: Record<string, string> = {}) =>
			sum(after, name, match) - sum(before, name, match);
		assert.equal(delta("cds_runs_created_total", { node: "met-run" }), 1);
		assert.equal(delta("cds_runs_ended_total", { node: "met-run", status: "Success" }), 1);
		assert.equal(delta("cds_runs_ended_total"), 1, "counted once, on one node");
		assert.ok(delta("cds_jobs_queued_total") >= 1);
		assert.equal(delta("cds_jobs_booked_total"), 1);
		assert.equal(delta("cds_jobs_ended_total", { status: "Success" }), 1);
		assert.equal(delta("cds_job_queue_wait_seconds_count"), 1);
		assert.equal(delta("cds_worker_start_seconds_count"), 1);
		assert.ok(sum(after, "cds_worker_start_seconds_sum") > 0, "a worker takes some time to start");
		// Every store operation of the run node is timed: runs were written and read.
		assert.ok(delta("cds_store_operation_seconds_count", { node: "met-run", collection: "runs" }) >= 2);
		assert.ok(delta("cds_store_operation_seconds_sum", { node: "met-run", collection: "runs" }) > 0);
		const inf = after.find(
			(s) =>
				s.name === "cds_store_operation_seconds_bucket" &&
				s.labels.collection === "runs" &&
				s.labels.operation === "replace" &&
				s.labels.le === "+Inf",
		);
		assert.ok(inf && inf.value >= 1, "the runs replace histogram has samples");
		assert.equal(sum(after, "cds_job_queue_depth"), 0);
		assert.equal(sum(after, "cds_jobs_active", { state: "Building" }), 0);
	});

	test("hook events are counted by source and outcome, their intents by source and type", async () => {
		const files = [
			{ path: "t.yml", content: "name: ticked\nversion: v1.0\npipeline: tick\n" },
			{
				path: "tick.pip.yml",
				content: "version: v1.0\nname: tick\njobs:\n- job: t\n  steps:\n  - script:\n    - echo tick\n",
			},
		];
		assert.equal((await gateway.api("POST", "/api/v1/projects/MET/import", { files })).status, 200);
		const schedule = await gateway.api("POST", `${WF}/ticked/schedules`, { cron: "* * * * * *" });
		assert.equal(schedule.status, 201, JSON.stringify(schedule.body));
		let now: Sample[] = [];
		try {
			for (let i = 0; i < 300; i++) {
				now = await samples();
				if (sum(now, "cds_hook_intents_total", { source: "scheduler", type: "schedule" }) >= 1) break;
				await new Promise((r) => setTimeout(r, 100));
			}
		} finally {
			await gateway.api("DELETE", `${WF}/ticked/schedules/${schedule.body.id}`);
		}
		assert.ok(
			sum(now, "cds_hook_events_total", { node: "met-run", source: "scheduler", outcome: "stored" }) >= 1,
		);
		assert.ok(
			sum(now, "cds_hook_intents_total", { node: "met-run", source: "scheduler", type: "schedule" }) >= 1,
		);
	});

	test("per source: received, stored, duplicate and failed emits; dead letters counted and kept", async () => {
		// A source of the test's own on the run node, through the same mixin as every source.
		let ctx: HookSourceContext | null = null;
		const probe: HookSource = {
			name: "probe",
			idPrefix: "probe",
			settingsSchema: {},
			async start(c) {
				ctx = c;
			},
			async stop() {},
			health: () => ({ ok: true, emitted: 0, lastEmitAt: null, lastError: null }),
		};
		runNode.server.broker.createService({
			name: "hook-probe",
			mixins: [
				HookSourceMixin(
					() => probe,
					() => ({}),
				),
			],
		});
		await runNode.server.broker.waitForServices(["hook-probe"]);
		const before = await samples();
		const count = (s: Sample[], name: string, labels: Record<string, string> = {}) =>
			sum(s, name, { node: "met-run", source: "probe", ...labels });
		assert.equal(count(before, "cds_hook_received_total"), 0);
		const deadBefore = sum(before, "cds_hook_dead_letters");

		// A run of a workflow that does not exist: stored, then a dead letter (404, permanent).
		const event = {
			project: "MET",
			intents: [{ kind: "start-run" as const, type: "probe", workflow: "no-such-workflow", vars: {} }],
		};
		assert.equal(await ctx!.emit(event, "one"), "stored");
		assert.equal(await ctx!.emit(event, "one"), "duplicate");
		await assert.rejects(ctx!.emit(event, ""), /dedupKey/);
		let now: Sample[] = [];
		for (let i = 0; i < 300; i++) {
			now = await samples();
			if (count(now, "cds_hook_dead_letters_total", { reason: "permanent" }) >= 1) break;
			await new Promise((r) => setTimeout(r, 100));
		}
		assert.equal(count(now, "cds_hook_received_total"), 3);
		assert.equal(count(now, "cds_hook_events_total", { outcome: "stored" }), 1);
		assert.equal(count(now, "cds_hook_events_total", { outcome: "duplicate" }), 1);
		assert.equal(count(now, "cds_hook_events_total", { outcome: "error" }), 1);
		assert.equal(count(now, "cds_hook_dead_letters_total", { reason: "permanent" }), 1);
		assert.equal(sum(now, "cds_hook_dead_letters"), deadBefore + 1, "the store's dead letters");
		const listed = await gateway.api("GET", "/api/v1/projects/MET/hooks/dead-letters");
		assert.equal(listed.status, 200);
		assert.deepEqual(
			listed.body.items.map((d: { id: string; source: string }) => `${d.source} ${d.id}`),
			["probe probe:one"],
		);
	});
});
