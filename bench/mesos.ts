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
import { tmpdir } from "node:os";
import path from "node:path";
import { readHatcherySettings } from "../config/hatchery.ts";
import { createMesosDriver } from "../src/hatchery/drivers/mesos.ts";
import { MesosMasterStandIn } from "../test/standins/mesos/master.ts";
import { benchHeader, delaysMs, driveJobs, round, summary } from "./driver-jobs.ts";

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

const run = await driveJobs(driver, {
	jobs: JOBS,
	tag: "mesos",
	requirements: { binaries: [], services: [] },
	sampleMs: 5,
});
const calls = master.calls.length;
await driver.close();
await master.stop();
rmSync(dir, { recursive: true, force: true });

const latencies = delaysMs(run.queuedAt, (job) => run.runningAt.get(job));
console.log(
	JSON.stringify(
		{
			...benchHeader("mesos"),
			jobs: JOBS,
			failed: run.failed,
			tasksAtOnce: AT_ONCE,
			offerIntervalMs: OFFER_INTERVAL_MS,
			task: "reads its one-time assignment, sleeps 0.2 s (no worker): driver + stand-in master",
			jobsPerSecond: round((JOBS * 1000) / (run.done - run.began)),
			queuedToRunningMs: summary(latencies, [50, 95, 99]),
			schedulerCalls: calls,
			totalSeconds: round((run.done - run.began) / 1000),
		},
		null,
		2,
	),
);
process.exit(0);
