// 200 one-step jobs through the Marathon hatchery driver against the Marathon stand-in
// (test/standins/marathon, in this process): the driver creates each job's app with its
// one-time assignment URL, the stand-in fetches it into the task's sandbox and runs the app's
// command as a local process, the driver sees the task run and end by reading its apps
// (CDS_MARATHON_POLL_MS = 100 here) and deletes the app. The "step" reads the assignment and
// sleeps 200 ms instead of running a worker (no CDS cluster is involved), so the figures are
// the driver's and the stand-in's, not a job's.
//
//   npm run bench:marathon
//
// Prints JSON: jobs per second (first spawn → last app deleted), apps created per second
// (spawn calls answered), queued → running latency as the driver sees it (spawn called → its
// app listed running) and as Marathon reports it (the stand-in's TASK_RUNNING event), with
// CDS_HATCHERY_MAX_WORKERS apps at once.

import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { readHatcherySettings } from "../config/hatchery.ts";
import { hostEnv } from "../config/process-env.ts";
import { createMarathonDriver } from "../src/hatchery/drivers/marathon.ts";
import { MarathonApps } from "../test/standins/marathon/apps.ts";
import { MarathonStandin } from "../test/standins/marathon/server.ts";

const JOBS = 200;
const AT_ONCE = 20;
const NAME = "bench-marathon";

const dir = mkdtempSync(path.join(tmpdir(), "bench-marathon-"));
const standin = new MarathonStandin();
const apps = new MarathonApps(standin, {
	dir: path.join(dir, "sandboxes"),
	taskEnv: { PATH: hostEnv().PATH ?? "" },
});
const url = await standin.start();
// Marathon's own view: when each app's task was reported running.
const taskRunningAt = new Map<string, number>();
const publish = standin.publish.bind(standin);
standin.publish = (event) => {
	if (event.eventType === "status_update_event" && event.taskStatus === "TASK_RUNNING")
		taskRunningAt.set(String(event.appId), Date.now());
	return publish(event);
};

const settings = readHatcherySettings(
	{
		...hostEnv(),
		CDS_HATCHERY_DRIVER: "marathon",
		CDS_HATCHERY_NAME: NAME,
		CDS_HATCHERY_MAX_WORKERS: String(AT_ONCE),
		CDS_HATCHERY_MAX_PROVISIONING: String(AT_ONCE),
		CDS_HATCHERY_SANDBOX: "none",
		CDS_MARATHON_URL: url,
		CDS_MARATHON_POLL_MS: "100",
		CDS_MARATHON_ASSIGNMENT_LISTEN: "127.0.0.1:0",
		CDS_MARATHON_WORKER_COMMAND: "sh -c 'cat >/dev/null; sleep 0.2'",
	},
	dir,
);
const driver = await createMarathonDriver(settings, () => {});

const queuedAt = new Map<string, number>();
const appOf = new Map<string, string>();
const runningAt = new Map<string, number>();
let ended = 0;
let wake: () => void = () => {};
driver.onExit(() => {
	ended++;
	wake();
});
const sampler = setInterval(async () => {
	for (const w of await driver.list())
		if (w.state === "running" && w.jobId && !runningAt.has(w.jobId)) runningAt.set(w.jobId, Date.now());
}, 10);

const began = Date.now();
let lastSpawn = 0;
for (let i = 0; i < JOBS; i++) {
	while ((await driver.freeSlots()) <= 0) await new Promise<void>((r) => (wake = r));
	const jobId = `BENCH/marathon/1/job-${i}`;
	queuedAt.set(jobId, Date.now());
	const handle = await driver.spawn({
		jobId,
		runId: "bench",
		token: `token-${i}-${Math.random()}`,
		apiUrl: "http://127.0.0.1:1",
		timeoutSeconds: 600,
		requirements: { model: "busybox", binaries: [], services: [] },
	});
	appOf.set(jobId, handle.name);
	lastSpawn = Date.now();
}
while (ended < JOBS) await new Promise<void>((r) => (wake = r));
while (apps.apps.size > 0) await new Promise((r) => setTimeout(r, 20));
const allGone = Date.now();
clearInterval(sampler);
await driver.close();
await apps.stop();
await standin.stop();
rmSync(dir, { recursive: true, force: true });

const round = (x: number) => Math.round(x * 10) / 10;
const summary = (values: number[]) => {
	const sorted = values.sort((a, b) => a - b);
	const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
	return { seen: sorted.length, p50: pct(50), p95: pct(95), max: sorted.at(-1) };
};
const driverSeen = [...queuedAt].filter(([j]) => runningAt.has(j)).map(([j, t]) => runningAt.get(j)! - t);
const marathonSeen = [...queuedAt]
	.filter(([j]) => taskRunningAt.has(appOf.get(j)!))
	.map(([j, t]) => taskRunningAt.get(appOf.get(j)!)! - t);
console.log(
	JSON.stringify(
		{
			bench: "marathon",
			node: process.version,
			cpus: cpus().length,
			loadAverage: loadavg().map((x) => round(x)),
			jobs: JOBS,
			appsAtOnce: AT_ONCE,
			step: "reads its assignment on stdin, sleeps 200 ms (no worker): driver + Marathon stand-in",
			jobsPerSecond: round((JOBS * 1000) / (allGone - began)),
			appsCreatedPerSecond: round((JOBS * 1000) / (lastSpawn - began)),
			queuedToRunningMs: { driver: summary(driverSeen), marathonTaskRunning: summary(marathonSeen) },
			totalSeconds: round((allGone - began) / 1000),
		},
		null,
		2,
	),
);
process.exit(0);
