// N one-step jobs through the Nova hatchery driver against the OpenStack stand-in
// (test/standins/openstack): the driver authenticates with the stand-in's Keystone token
// endpoint, picks flavor and image, creates each job's server with its user-data, sees it ACTIVE
// by listing its servers every CDS_OPENSTACK_POLL_MS, sees it SHUTOFF when the boot script's
// "worker" ends, and deletes it. The worker is `true` (no CDS cluster is involved) and the
// stand-in's servers build in 100 ms, so the figures are the driver's and its polling's, not a
// cloud's (a real Nova boots a VM in tens of seconds) nor a job's.
//
//   npm run bench:openstack            (JOBS=100 AT_ONCE=20 POLL_MS=200 by default)
//
// Prints JSON: servers created per second (spawn calls answered), jobs completed per second,
// queued → started latency (spawn called → the driver saw the server past BUILD: ACTIVE, or
// SHUTOFF already when the worker ended between two listings), the whole batch.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { readHatcherySettings } from "../config/hatchery.ts";
import { hostEnv } from "../config/process-env.ts";
import { createOpenStackDriver } from "../src/hatchery/drivers/openstack.ts";
import { OpenStackStandin } from "../test/standins/openstack/cloud.ts";
import { benchHeader, delaysMs, driveJobs, round, summary } from "./driver-jobs.ts";

const host = hostEnv();
const JOBS = Number(host.JOBS ?? 100);
const AT_ONCE = Number(host.AT_ONCE ?? 20);
const POLL_MS = Number(host.POLL_MS ?? 200);

const dir = mkdtempSync(path.join(tmpdir(), "bench-openstack-"));
const cloud = new OpenStackStandin({ dir: path.join(dir, "cloud"), buildMs: 100 });
await cloud.start();
const driver = await createOpenStackDriver(
	readHatcherySettings(
		{
			PATH: host.PATH,
			...cloud.env(),
			CDS_HATCHERY_DRIVER: "openstack",
			CDS_HATCHERY_NAME: "bench-nova",
			CDS_HATCHERY_MAX_WORKERS: String(AT_ONCE),
			CDS_HATCHERY_MAX_PROVISIONING: String(AT_ONCE),
			CDS_HATCHERY_SANDBOX: "none",
			CDS_OPENSTACK_WORKER_COMMAND: "true",
			CDS_OPENSTACK_POLL_MS: String(POLL_MS),
		},
		dir,
	),
	() => {},
);

const run = await driveJobs(driver, {
	jobs: JOBS,
	tag: "nova",
	requirements: { binaries: [], services: [] },
	// Started once past BUILD; a server whose worker ended between two listings is first seen
	// SHUTOFF: started then.
	started: (w) => w.state !== "provisioning",
	endMeansStarted: true,
});
while (cloud.listServers().length > 0) await new Promise((r) => setTimeout(r, 20));
const allGone = Date.now();
await driver.close();
await cloud.stop();
rmSync(dir, { recursive: true, force: true });

const latencies = delaysMs(run.queuedAt, (job) => run.runningAt.get(job));
console.log(
	JSON.stringify(
		{
			...benchHeader("openstack"),
			jobs: JOBS,
			serversAtOnce: AT_ONCE,
			pollMs: POLL_MS,
			standinBuildMs: 100,
			worker: "`true` (no CDS cluster): driver + Keystone/Nova stand-in + one shell per server",
			serversCreatedPerSecond: round((JOBS * 1000) / (run.lastSpawn - run.began)),
			jobsPerSecond: round((JOBS * 1000) / (allGone - run.began)),
			queuedToStartedMs: summary(latencies, [50, 90, 99]),
			totalSeconds: round((allGone - run.began) / 1000),
		},
		null,
		2,
	),
);
process.exit(0);
