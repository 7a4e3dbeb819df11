// The metrics registry, its Prometheus text exposition, the merge of node snapshots, the store
// decorator, what CdsMetrics counts from events, and who may scrape.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CdsMetrics } from "../../src/ops/cds-metrics.ts";
import { isScrapeToken, scrapeVerdict } from "../../src/ops/metrics-access.ts";
import { MetricsRegistry, mergeNodeSnapshots, renderExposition } from "../../src/ops/metrics.ts";
import { CLAIMS_LABEL, instrumentStore } from "../../src/ops/store-metrics.ts";
import { openStore } from "../../src/store/index.ts";
import { tempDataDir } from "../helpers/store-temp-dir.ts";

describe("metrics registry and exposition", () => {
	test("counters, gauges and histograms render in the text format, cumulative buckets and +Inf", () => {
		const r = new MetricsRegistry();
		r.counter("x_total", "Things", ["kind"]).labels('a"b\\c\nd').inc(2);
		r.gauge("g", "A gauge").labels().set(1.5);
		const h = r.histogram("lat_seconds", "Latency", ["op"], [0.1, 1]).labels("find");
		h.observe(0.05);
		h.observe(0.5);
		h.observe(5);
		assert.equal(
			renderExposition(r.snapshot()),
			[
				"# HELP x_total Things",
				"# TYPE x_total counter",
				'x_total{kind="a\\"b\\\\c\\nd"} 2',
				"# HELP g A gauge",
				"# TYPE g gauge",
				"g 1.5",
				"# HELP lat_seconds Latency",
				"# TYPE lat_seconds histogram",
				'lat_seconds_bucket{op="find",le="0.1"} 1',
				'lat_seconds_bucket{op="find",le="1"} 2',
				'lat_seconds_bucket{op="find",le="+Inf"} 3',
				'lat_seconds_sum{op="find"} 5.55',
				'lat_seconds_count{op="find"} 3',
				"",
			].join("\n"),
		);
	});

	test("a label set is bound once; histogram children never observed stay out of the exposition", () => {
		const r = new MetricsRegistry();
		const f = r.histogram("h", "H", ["a", "b"], [1]);
		assert.equal(f.labels("x", "y"), f.labels("x", "y"));
		assert.throws(() => f.labels("x"), /2 label values expected/);
		assert.doesNotMatch(renderExposition(r.snapshot()), /^h_/m);
		assert.throws(() => r.counter("h", "again"), /declared twice/);
	});

	test("node snapshots merge family by family, each sample labelled with its node", () => {
		const node = (id: string, n: number) => {
			const r = new MetricsRegistry();
			r.counter("runs_total", "Runs", ["status"]).labels("Success").inc(n);
			return { node: id, families: r.snapshot() };
		};
		const text = renderExposition(mergeNodeSnapshots([node("a", 1), node("b", 2)]));
		assert.equal((text.match(/# TYPE runs_total counter/g) ?? []).length, 1);
		assert.match(text, /^runs_total\{node="a",status="Success"\} 1$/m);
		assert.match(text, /^runs_total\{node="b",status="Success"\} 2$/m);
	});
});

describe("store metrics", () => {
	test("every collection operation and claim is observed under its collection and operation", async () => {
		const { dir, remove } = await tempDataDir();
		{
			const store = await openStore({ dataDir: dir });
			const m = new CdsMetrics();
			let clock = 0;
			const timed = instrumentStore(store, m.storeLatency, () => (clock += 2)); // each operation "takes" 2 ms
			try {
				const c = await timed.collection({ name: "things" });
				assert.equal(c, await timed.collection({ name: "things" }), "wrapped once");
				await c.insert({ _id: "a", n: 1 });
				await c.findOne({ _id: "a" });
				await c.update({ _id: "a" }, { $set: { n: 2 } });
				assert.equal((await c.find({})).length, 1);
				assert.equal((await timed.claim("s", "k", "me")).won, true);
				await assert.rejects(c.insert({ _id: "a" }), /duplicate/, "errors pass through, and are timed too");
				const find = m.storeLatency.labels("things", "find");
				assert.equal(find.count, 1);
				assert.equal(find.sum, 0.002);
				assert.equal(m.storeLatency.labels("things", "insert").count, 2);
				assert.equal(m.storeLatency.labels(CLAIMS_LABEL, "claim").count, 1);
				assert.equal(m.storeLatency.labels("things", "remove").count, 0);
			} finally {
				await timed.close();
				await remove();
			}
		}
	});
});

describe("CdsMetrics", () => {
	const text = (m: CdsMetrics) => renderExposition(m.snapshot());

	test("a run is counted once when it ends, whatever number of saves follow", () => {
		const m = new CdsMetrics();
		m.onEvent("run.created", { runId: "r1" });
		for (const status of ["Waiting", "Building", "Success", "Success"])
			m.onEvent("run.updated", { runId: "r1", sub: 0, status });
		m.onEvent("run.updated", { runId: "r1", sub: 1, status: "Fail" }); // its restart, #1.1
		m.onEvent("job.queued", { count: 3 });
		m.onEvent("job.booked", { jobId: "j", hatchery: "h1" });
		const t = text(m);
		assert.match(t, /^cds_runs_created_total 1$/m);
		assert.match(t, /^cds_runs_ended_total\{status="Success"\} 1$/m);
		assert.match(t, /^cds_runs_ended_total\{status="Fail"\} 1$/m);
		assert.match(t, /^cds_jobs_queued_total 3$/m);
		assert.match(t, /^cds_jobs_booked_total\{hatchery="h1"\} 1$/m);
	});

	test("ended jobs are read in one batch: queue wait, worker start and hatchery", async () => {
		const m = new CdsMetrics();
		m.onEvent("job.updated", { jobId: "j1", status: "Success" });
		m.onEvent("job.updated", { jobId: "j2", status: "Fail" });
		m.onEvent("job.updated", { jobId: "gone", status: "Fail" });
		const queries: unknown[] = [];
		const jobs = {
			async find(query: unknown) {
				queries.push(query);
				return [
					{ _id: "j1", hatchery: "h1", queuedAt: 1000, bookedAt: 3000, startedAt: 3500 },
					{ _id: "j2", hatchery: "h1", queuedAt: 1000, bookedAt: null, startedAt: null },
				];
			},
		};
		await m.flushJobs(async () => jobs as any);
		assert.deepEqual(queries, [{ _id: { $in: ["j1", "j2", "gone"] } }]);
		await m.flushJobs(async () => jobs as any);
		assert.equal(queries.length, 1, "nothing pending: no query");
		const t = text(m);
		assert.match(t, /^cds_jobs_ended_total\{hatchery="h1",status="Success"\} 1$/m);
		assert.match(t, /^cds_jobs_ended_total\{hatchery="h1",status="Fail"\} 1$/m);
		assert.match(t, /^cds_job_queue_wait_seconds_sum 2$/m);
		assert.match(t, /^cds_job_queue_wait_seconds_count 1$/m);
		assert.match(t, /^cds_worker_start_seconds_sum 0.5$/m);
		assert.match(t, /^cds_job_times_dropped_total 1$/m);
	});

	test("hook events by source and outcome, hook intents by source and type", () => {
		const m = new CdsMetrics();
		m.hookEmitted("webhook", "stored");
		m.hookEmitted("webhook", "duplicate");
		m.hookEmitted("poller", "error");
		m.onEvent("hooks.event", { source: "webhook", type: "push" });
		const t = text(m);
		assert.match(t, /^cds_hook_events_total\{source="webhook",outcome="stored"\} 1$/m);
		assert.match(t, /^cds_hook_events_total\{source="webhook",outcome="duplicate"\} 1$/m);
		assert.match(t, /^cds_hook_events_total\{source="poller",outcome="error"\} 1$/m);
		assert.match(t, /^cds_hook_intents_total\{source="webhook",type="push"\} 1$/m);
	});

	test("event-loop lag is reported once sampled, and a blocked loop shows", async () => {
		const m = new CdsMetrics();
		m.start();
		try {
			await new Promise((r) => setTimeout(r, 60)); // the monitor's first period only starts it
			const until = Date.now() + 120;
			while (Date.now() < until) {
				// block the loop
			}
			await new Promise((r) => setTimeout(r, 60));
			const t = text(m);
			const max = Number(/^cds_event_loop_lag_max_seconds (\S+)$/m.exec(t)?.[1]);
			assert.ok(max >= 0.05, `max lag ${max} s after a 120 ms block`);
			assert.match(t, /^cds_event_loop_lag_seconds\{quantile="0.99"\} /m);
		} finally {
			m.stop();
		}
	});
});

describe("who may scrape", () => {
	test("the scrape token matches exactly; admins pass, other tokens are 403, unknown ones 401", () => {
		assert.equal(isScrapeToken("a-scrape-token-0123456789", "a-scrape-token-0123456789"), true);
		assert.equal(isScrapeToken("a-scrape-token-012345678", "a-scrape-token-0123456789"), false);
		assert.equal(isScrapeToken("anything", undefined), false);
		assert.equal(isScrapeToken("", ""), false);
		assert.deepEqual(scrapeVerdict({ id: "t", role: "admin", project: null }), { allowed: true });
		assert.equal((scrapeVerdict({ id: "t", role: "admin", project: "P" }) as { code: number }).code, 403);
		assert.equal((scrapeVerdict({ id: "t", role: "read", project: null }) as { code: number }).code, 403);
		assert.equal(
			(scrapeVerdict({ id: "t", role: "admin", project: null, job: "j" }) as { code: number }).code,
			403,
		);
		assert.equal((scrapeVerdict(null) as { code: number }).code, 401);
	});
});
