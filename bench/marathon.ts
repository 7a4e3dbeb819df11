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
import { tmpdir } from "node:os";
import path from "node:path";
import { readHatcherySettings } from "../config/hatchery.ts";
import { hostEnv } from "../config/process-env.ts";
import { createMarathonDriver } from "../src/hatchery/drivers/marathon.ts";
import { MarathonApps } from "../test/standins/marathon/apps.ts";
import { MarathonStandin } from "../test/standins/marathon/server.ts";
import { benchHeader, delaysMs, driveJobs, round, summary } from "./driver-jobs.ts";

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

const appOf = new Map<string, string>();
const run = await driveJobs(driver, {
	jobs: JOBS,
	tag: "marathon",
	requirements: { model: "busybox", binaries: [], services: [] },
	spawned: (jobId, handle) => appOf.set(jobId, handle.name),
});
while (apps.apps.size > 0) await new Promise((r) => setTimeout(r, 20));
const allGone = Date.now();
await driver.close();
await apps.stop();
await standin.stop();
rmSync(dir, { recursive: true, force: true });

const driverSeen = delaysMs(run.queuedAt, (job) => run.runningAt.get(job));
const marathonSeen = delaysMs(run.queuedAt, (job) => taskRunningAt.get(appOf.get(job)!));
console.log(
	JSON.stringify(
		{
			...benchHeader("marathon"),
			jobs: JOBS,
			appsAtOnce: AT_ONCE,
			step: "reads its assignment on stdin, sleeps 200 ms (no worker): driver + Marathon stand-in",
			jobsPerSecond: round((JOBS * 1000) / (allGone - run.began)),
			appsCreatedPerSecond: round((JOBS * 1000) / (run.lastSpawn - run.began)),
			queuedToRunningMs: {
				driver: summary(driverSeen, [50, 95]),
				marathonTaskRunning: summary(marathonSeen, [50, 95]),
			},
			totalSeconds: round((allGone - run.began) / 1000),
		},
		null,
		2,
	),
);
process.exit(0);
