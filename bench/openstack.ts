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
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { readHatcherySettings } from "../config/hatchery.ts";
import { hostEnv } from "../config/process-env.ts";
import { createOpenStackDriver } from "../src/hatchery/drivers/openstack.ts";
import { OpenStackStandin } from "../test/standins/openstack/cloud.ts";

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

const queuedAt = new Map<string, number>();
const runningAt = new Map<string, number>();
let ended = 0;
let wake: () => void = () => {};
driver.onExit((h) => {
	// A server whose worker ended between two listings is first seen SHUTOFF: started then.
	if (h.jobId && !runningAt.has(h.jobId)) runningAt.set(h.jobId, Date.now());
	ended++;
	wake();
});
const sampler = setInterval(async () => {
	for (const w of await driver.list())
		if (w.state !== "provisioning" && w.jobId && !runningAt.has(w.jobId)) runningAt.set(w.jobId, Date.now());
}, 10);

const began = Date.now();
let lastSpawn = 0;
for (let i = 0; i < JOBS; i++) {
	while ((await driver.freeSlots()) <= 0) await new Promise<void>((r) => (wake = r));
	const jobId = `BENCH/nova/1/job-${i}`;
	queuedAt.set(jobId, Date.now());
	await driver.spawn({
		jobId,
		runId: "bench",
		token: `token-${i}-${Math.random()}`,
		apiUrl: "http://127.0.0.1:1",
		timeoutSeconds: 600,
		requirements: { binaries: [], services: [] },
	});
	lastSpawn = Date.now();
}
while (ended < JOBS) await new Promise<void>((r) => (wake = r));
while (cloud.listServers().length > 0) await new Promise((r) => setTimeout(r, 20));
const allGone = Date.now();
clearInterval(sampler);
await driver.close();
await cloud.stop();
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
			bench: "openstack",
			node: process.version,
			cpus: cpus().length,
			loadAverage: loadavg().map((x) => round(x)),
			jobs: JOBS,
			serversAtOnce: AT_ONCE,
			pollMs: POLL_MS,
			standinBuildMs: 100,
			worker: "`true` (no CDS cluster): driver + Keystone/Nova stand-in + one shell per server",
			serversCreatedPerSecond: round((JOBS * 1000) / (lastSpawn - began)),
			jobsPerSecond: round((JOBS * 1000) / (allGone - began)),
			queuedToStartedMs: {
				seen: latencies.length,
				p50: pct(50),
				p90: pct(90),
				p99: pct(99),
				max: latencies.at(-1),
			},
			totalSeconds: round((allGone - began) / 1000),
		},
		null,
		2,
	),
);
process.exit(0);
