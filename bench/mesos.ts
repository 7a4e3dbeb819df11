// 200 one-step jobs through the Mesos hatchery driver against the stand-in master
// (test/standins/mesos, started here with two fake agents): each job is queued, waits for an
// offer, is launched by ACCEPT, its task fetches its one-time assignment from the driver and
// runs, the status updates (acknowledged) bring it to TASK_FINISHED. The task's command reads
// its assignment and sleeps 0.2 s instead of running a worker (no CDS cluster is involved), so
// the figures are the driver's and the stand-in's — offers every 100 ms, as configured here —
// not a job's, nor a real Mesos master's.
//
//   npm run bench:mesos
//
// Prints JSON: jobs per second (first spawn → last task's end), queued → running latency
// (spawn called → the driver saw TASK_RUNNING) p50/p95/p99, with CDS_HATCHERY_MAX_WORKERS at once.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { readHatcherySettings } from "../config/hatchery.ts";
import { createMesosDriver } from "../src/hatchery/drivers/mesos.ts";
import { MesosMasterStandIn } from "../test/standins/mesos/master.ts";

const JOBS = 200;
const AT_ONCE = 50;
const OFFER_INTERVAL_MS = 100;

const dir = mkdtempSync(path.join(tmpdir(), "bench-mesos-"));
const worker = path.join(dir, "worker.sh");
writeFileSync(worker, "cat > /dev/null\nsleep 0.2\n");
const master = new MesosMasterStandIn({
	agents: [
		{ id: "agent-1", hostname: "agent-1", cpus: 32, memMb: 65_536 },
		{ id: "agent-2", hostname: "agent-2", cpus: 32, memMb: 65_536 },
	],
	offerIntervalMs: OFFER_INTERVAL_MS,
	heartbeatSeconds: 1,
});
await master.start();
const settings = readHatcherySettings(
	{
		CDS_HATCHERY_DRIVER: "mesos",
		CDS_HATCHERY_NAME: "bench-mesos",
		CDS_HATCHERY_MAX_WORKERS: String(AT_ONCE),
		CDS_HATCHERY_MAX_PROVISIONING: String(AT_ONCE),
		CDS_HATCHERY_SANDBOX: "none",
		CDS_MESOS_MASTERS: master.urls.join(","),
		CDS_MESOS_WORKER_COMMAND: `sh ${worker}`,
		CDS_MESOS_CPUS: "0.5",
		CDS_MESOS_MEM_MB: "128",
		CDS_MESOS_REFUSE_SECONDS: "1",
	},
	dir,
);
const driver = await createMesosDriver(settings, () => {});

const queuedAt = new Map<string, number>();
const runningAt = new Map<string, number>();
let ended = 0;
let failed = 0;
let wake: () => void = () => {};
driver.onExit((h, code) => {
	ended++;
	if (code !== 0 || h.failure) failed++;
	wake();
});
// The driver's own view, sampled: when each job's task was first seen running.
const sampler = setInterval(async () => {
	for (const w of await driver.list())
		if (w.state === "running" && w.jobId && !runningAt.has(w.jobId)) runningAt.set(w.jobId, Date.now());
}, 5);

const began = Date.now();
for (let i = 0; i < JOBS; i++) {
	while ((await driver.freeSlots()) <= 0) await new Promise<void>((r) => (wake = r));
	const jobId = `BENCH/mesos/1/job-${i}`;
	queuedAt.set(jobId, Date.now());
	await driver.spawn({
		jobId,
		runId: "bench",
		token: `token-${i}-${Math.random()}`,
		apiUrl: "http://127.0.0.1:1",
		timeoutSeconds: 600,
		requirements: { binaries: [], services: [] },
	});
}
while (ended < JOBS) await new Promise<void>((r) => (wake = r));
const done = Date.now();
clearInterval(sampler);
const calls = master.calls.length;
await driver.close();
await master.stop();
rmSync(dir, { recursive: true, force: true });

const latencies = [...queuedAt]
	.filter(([job]) => runningAt.has(job))
	.map(([job, t]) => runningAt.get(job)! - t)
	.sort((a, b) => a - b);
const pct = (p: number) =>
	latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
const round = (x: number) => Math.round(x * 10) / 10;
console.log(
	JSON.stringify(
		{
			bench: "mesos",
			node: process.version,
			cpus: cpus().length,
			loadAverage: loadavg().map((x) => round(x)),
			jobs: JOBS,
			failed,
			tasksAtOnce: AT_ONCE,
			offerIntervalMs: OFFER_INTERVAL_MS,
			task: "reads its one-time assignment, sleeps 0.2 s (no worker): driver + stand-in master",
			jobsPerSecond: round((JOBS * 1000) / (done - began)),
			queuedToRunningMs: {
				seen: latencies.length,
				p50: pct(50),
				p95: pct(95),
				p99: pct(99),
				max: latencies.at(-1),
			},
			schedulerCalls: calls,
			totalSeconds: round((done - began) / 1000),
		},
		null,
		2,
	),
);
process.exit(0);
