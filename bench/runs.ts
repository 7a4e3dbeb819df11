// npm run bench:runs — latency from a run request to its first step's start, and sustained
// throughput of single-job runs (`script: "true"`), for each worker mode, embedded and (when
// NATS_URL and MONGO_URL are set) over NATS + MongoDB. Prints one JSON document.
//
//   BENCH_RUNS=200 npm run bench:runs         (runs per scenario, default 200)
//   BENCH_SCENARIOS=embedded-warm,... npm run bench:runs
//   BENCH_SANDBOX=none npm run bench:runs     (jobs unsandboxed, to measure what the sandbox costs)
//   CDS_HATCHERY_* and CDS_SANDBOX_* knobs of the calling shell apply to the benchmarked node,
//   e.g. CDS_SANDBOX_NETWORK=none to measure what the steps' NAT costs.
//
// The nats-mongo scenarios are one node with every service over NATS and the MongoDB-wire store
// (FerretDB: `store` in the output names its version; BENCH_STORE_LABEL adds its backend, e.g.
// "postgresql", which the wire protocol does not tell).

import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startTestServer, type TestServer } from "../test/helpers/server.ts";
import { hostEnv } from "../config/process-env.ts";
import { sandboxFor } from "../src/hatchery/drivers/local.ts";
import { cpuMeter, speedLoopMs, storePids } from "./cpu.ts";

const host = hostEnv();

interface Scenario {
	name: string;
	store: "embedded" | "mongo";
	env: Record<string, string>;
}

const RUNS = Number(host.BENCH_RUNS ?? 200);
const cpus = (await import("node:os")).cpus().length;
const CONCURRENCY = Number(host.BENCH_CONCURRENCY ?? 40);
const LATENCY_RUNS = Number(host.BENCH_LATENCY_RUNS ?? 30);
/** Hatchery and sandbox knobs of the calling shell, passed on to the benchmarked node. */
const KNOBS = Object.fromEntries(
	Object.entries(host).filter(
		(e): e is [string, string] =>
			(e[0].startsWith("CDS_HATCHERY_") || e[0].startsWith("CDS_SANDBOX_")) && e[1] !== undefined,
	),
);

const WORKER_MODES: Record<string, Record<string, string>> = {
	// Single-use workers, spawned per job.
	spawn: { CDS_HATCHERY_WARM_POOL: "0", CDS_HATCHERY_JOBS_PER_WORKER: "1", CDS_HATCHERY_MAX_WORKERS: "8" },
	// Reusable warm workers: a pool of idle processes receives jobs on stdin.
	warm: {
		CDS_HATCHERY_WARM_POOL: "4",
		CDS_HATCHERY_JOBS_PER_WORKER: "100000",
		CDS_HATCHERY_MAX_WORKERS: "6",
	},
};

function scenarios(): Scenario[] {
	const all: Scenario[] = [];
	for (const [mode, env] of Object.entries(WORKER_MODES)) {
		all.push({ name: `embedded-${mode}`, store: "embedded", env });
		if (host.NATS_URL && host.MONGO_URL) {
			const db = `bench_${Date.now().toString(36)}_${mode}`;
			const mongo = new URL(host.MONGO_URL);
			mongo.pathname = `/${db}`;
			all.push({
				name: `nats-mongo-${mode}`,
				store: "mongo",
				env: {
					...env,
					NATS_URL: host.NATS_URL,
					MONGO_URL: mongo.toString(),
					CDS_NAMESPACE: db,
					CDS_SECRET_KEY: randomBytes(32).toString("base64"),
				},
			});
		}
	}
	const only = host.BENCH_SCENARIOS?.split(",");
	return only ? all.filter((s) => only.includes(s.name)) : all;
}

function percentile(sorted: number[], p: number): number {
	if (sorted.length === 0) return Number.NaN;
	const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
	return Math.round(sorted[i]! * 10) / 10;
}

async function runScenario(s: Scenario) {
	const workdir = mkdtempSync(path.join(tmpdir(), "cds-bench-"));
	let srv: TestServer | undefined;
	try {
		srv = await startTestServer({
			...s.env,
			LOG_LEVEL: "error",
			CDS_WORKER_BASEDIR: path.join(workdir, "workers"),
			CDS_HATCHERY_POLL_MS: "200",
			CDS_MAX_JOBS_PER_PROJECT: "1000",
			CDS_MAX_JOBS_PER_WORKFLOW: "1000",
			...KNOBS,
			// Jobs are sandboxed as on a default node; BENCH_SANDBOX=none measures them without.
			...(host.BENCH_SANDBOX ? { CDS_HATCHERY_SANDBOX: host.BENCH_SANDBOX } : {}),
		});
		const store = await storeInfo(srv);
		const plan = sandboxFor(srv.server.config.hatchery);
		const { api } = srv;
		await api("POST", "/api/v1/projects", { key: "BENCH", name: "bench" });
		const files = [
			{ path: "w.yml", content: "name: noop\nversion: v1.0\npipeline: noop\n" },
			{
				path: "noop.pip.yml",
				content: 'version: v1.0\nname: noop\njobs:\n- job: noop\n  steps:\n  - script: "true"\n',
			},
		];
		const imported = await api("POST", "/api/v1/projects/BENCH/import", { files });
		if (imported.status !== 200) throw new Error(`import failed: ${JSON.stringify(imported.body)}`);
		const steps = await srv.server.store.collection<{
			_id: string;
			jobId: string;
			index: number;
			started?: string;
		}>({
			name: "job_steps",
		});
		const stepStart = async (number: number) => {
			const jobId = `BENCH/noop/${String(number).padStart(10, "0")}/noop/j0/a1`;
			const step = await steps.findOne({ _id: `${jobId}/00000` });
			return step?.started ? Date.parse(step.started) : undefined;
		};

		// Warm-up: lazy start-up costs are not measured.
		for (let i = 0; i < 3; i++) await api("POST", "/api/v1/projects/BENCH/workflows/noop/runs", {});
		let finished = 3;
		await waitAll(srv, finished, 60_000);

		// Latency: one run at a time on an otherwise idle node, request → first step started.
		const latencies: number[] = [];
		for (let i = 0; i < LATENCY_RUNS; i++) {
			await new Promise((r) => setTimeout(r, 150)); // lets a warm pool refill, as between real requests
			const t0 = Date.now();
			const r = await api("POST", "/api/v1/projects/BENCH/workflows/noop/runs", {});
			await waitAll(srv, ++finished, 60_000);
			const started = await stepStart(r.body.number);
			if (started !== undefined) latencies.push(started - t0);
		}
		latencies.sort((a, b) => a - b);

		// Throughput: RUNS runs requested with CONCURRENCY requests in flight.
		const requested = new Map<number, number>();
		// CPU of this process (the node), its workers and their steps' sandboxes; and of the store
		// servers named by BENCH_STORE_PIDS.
		const meter = cpuMeter([process.pid], s.store === "mongo" ? storePids(host.BENCH_STORE_PIDS) : []);
		const start = performance.now();
		let next = 0;
		const submit = async () => {
			while (next < RUNS) {
				next++;
				const t = Date.now();
				const r = await api("POST", "/api/v1/projects/BENCH/workflows/noop/runs", {});
				if (r.status !== 201) throw new Error(`run request failed: ${r.status} ${JSON.stringify(r.body)}`);
				requested.set(r.body.number, t);
			}
		};
		await Promise.all(Array.from({ length: CONCURRENCY }, submit));
		await waitAll(srv, finished + RUNS, 300_000);
		const seconds = (performance.now() - start) / 1000;
		const cpu = meter(RUNS);
		const loaded: number[] = [];
		for (const [number, t0] of requested) {
			const started = await stepStart(number);
			if (started !== undefined) loaded.push(started - t0);
		}
		loaded.sort((a, b) => a - b);
		const stats = (xs: number[]) => ({
			p50: percentile(xs, 50),
			p95: percentile(xs, 95),
			p99: percentile(xs, 99),
			samples: xs.length,
		});
		return {
			scenario: s.name,
			mode: s.store === "embedded" ? "one node, embedded store" : "one node over NATS + MongoDB-wire store",
			store,
			knobs: KNOBS,
			sandbox: { kind: plan.kind, network: plan.network },
			runs: RUNS,
			seconds: Math.round(seconds * 100) / 100,
			runs_per_s: Math.round((RUNS / seconds) * 10) / 10,
			// CPU milliseconds per run, and the rate these CPUs would allow if the runs had them to
			// themselves (an estimate for a busy machine: the rate above is what other work left).
			cpu_ms_per_run: cpu,
			cpu_bound_runs_per_s: Math.round(((cpus * 1000) / (cpu.total ?? cpu.node)) * 10) / 10,
			first_step_delay_ms: stats(latencies),
			first_step_delay_under_load_ms: stats(loaded),
		};
	} finally {
		await srv?.stop().catch(() => {});
		rmSync(workdir, { recursive: true, force: true });
	}
}

/** The store the node uses: embedded, or the MongoDB-wire server's name and version. */
async function storeInfo(srv: TestServer): Promise<string> {
	const store = srv.server.store as unknown as {
		kind: string;
		db?: { admin(): { command(c: object): Promise<any> } };
	};
	if (store.kind !== "mongo" || !store.db) return store.kind;
	const info = await store.db
		.admin()
		.command({ buildInfo: 1 })
		.catch(() => ({}));
	const server = info.ferretdbVersion ? `FerretDB ${info.ferretdbVersion}` : `MongoDB ${info.version ?? "?"}`;
	return host.BENCH_STORE_LABEL ? `${server} (${host.BENCH_STORE_LABEL})` : server;
}

async function waitAll(srv: TestServer, count: number, timeoutMs: number) {
	// Cheap checks only (the bench shares the server's process): the small active-run set
	// and a count, never a read of every run document; less often against a store server, whose
	// CPU the node's own work needs.
	const pause = srv.server.store.kind === "mongo" ? 100 : 20;
	const runs = await srv.server.store.collection<{ _id: string; status: string }>({ name: "runs" });
	const active = await srv.server.store.collection({ name: "active_runs" });
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		if ((await active.count({})) === 0 && (await runs.count({})) >= count) {
			const failed = await runs.count({ status: { $ne: "Success" } });
			if (failed > 0) throw new Error(`${failed} run(s) did not succeed`);
			return;
		}
		if (Date.now() > deadline) throw new Error(`runs not finished in ${timeoutMs} ms`);
		await new Promise((r) => setTimeout(r, pause));
	}
}

const results = [];
const speedBefore = speedLoopMs();
for (const s of scenarios()) {
	try {
		results.push(await runScenario(s));
	} catch (e) {
		results.push({ scenario: s.name, error: (e as Error).message });
	}
}
const os = await import("node:os");
const out = {
	bench: "runs",
	node: process.version,
	cpus: os.cpus().length,
	// Other work on the machine skews the figures: the load average when the bench ended.
	loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100),
	// The machine's speed before and after (bench/cpu.ts speedLoopMs): figures of other hours
	// compare only at a like speed.
	speedLoopMs: { before: speedBefore, after: speedLoopMs() },
	results,
};
const file = host.BENCH_OUTPUT ?? "bench-runs.json";
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
process.exit(0);
