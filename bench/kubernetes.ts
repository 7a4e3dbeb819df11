// 200 one-step jobs through the Kubernetes hatchery driver against the real API server of
// KUBECONFIG (test/tools/start-kube.sh): the driver creates each job's Secret and pod, the real
// scheduler binds it to the process kubelet's node (started here), the container runs, the
// driver sees it end through its watch and deletes pod and Secret. The container is a no-op
// (`true` instead of the worker: no CDS cluster is involved), so the figures are the driver's
// and the control plane's — plus the stand-in kubelet's — not a job's.
//
//   eval "$(bash test/tools/start-kube.sh /tmp/kube)"; npm run bench:kubernetes
//
// Prints JSON: pods created per second (spawn calls answered), pods deleted per second (from the
// first job's end to the last pod gone), queued → running latency (spawn called → the driver
// saw the pod Running) and the whole batch's duration, with CDS_HATCHERY_MAX_WORKERS pods at once.

import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { readHatcherySettings } from "../config/hatchery.ts";
import { hostEnv } from "../config/process-env.ts";
import { createKubernetesDriver } from "../src/hatchery/drivers/kubernetes.ts";
import { LABEL_HATCHERY } from "../src/hatchery/kubernetes/pod-spec.ts";
import { ProcessKubelet } from "../test/standins/process-kubelet/kubelet.ts";
import { kubeConfig } from "../test/kubernetes/helpers.ts";

const JOBS = 200;
const AT_ONCE = 50;
const NAME = "bench-kube";

const host = hostEnv();
if (!host.KUBECONFIG) {
	process.stderr.write('KUBECONFIG is not set: eval "$(bash test/tools/start-kube.sh DIR)" first\n');
	process.exit(2);
}
const dir = mkdtempSync(path.join(tmpdir(), "bench-kube-"));
const kc = kubeConfig(host.KUBECONFIG);
const kubelet = new ProcessKubelet({ kubeConfig: kc, nodeName: "bench-node" });
await kubelet.start();
const settings = readHatcherySettings(
	{
		...host,
		CDS_HATCHERY_DRIVER: "kubernetes",
		CDS_HATCHERY_NAME: NAME,
		CDS_HATCHERY_MAX_WORKERS: String(AT_ONCE),
		CDS_HATCHERY_MAX_PROVISIONING: String(AT_ONCE),
		CDS_HATCHERY_SANDBOX: "none",
		CDS_KUBERNETES_WORKER_COMMAND: "true",
		CDS_KUBERNETES_NODE_SELECTOR: `kubernetes.io/hostname=${kubelet.nodeName}`,
	},
	dir,
);
const driver = await createKubernetesDriver(settings, () => {});
const core = kc.makeApiClient(CoreV1Api);

const queuedAt = new Map<string, number>();
const runningAt = new Map<string, number>();
let ended = 0;
let firstEnd = 0;
let wake: () => void = () => {};
driver.onExit(() => {
	ended++;
	firstEnd ||= Date.now();
	wake();
});
// The driver's own view, sampled: when each job's pod was first seen Running.
const sampler = setInterval(async () => {
	for (const w of await driver.list())
		if (w.state === "running" && w.jobId && !runningAt.has(w.jobId)) runningAt.set(w.jobId, Date.now());
}, 10);

const began = Date.now();
let lastSpawn = 0;
for (let i = 0; i < JOBS; i++) {
	while ((await driver.freeSlots()) <= 0) await new Promise<void>((r) => (wake = r));
	const jobId = `BENCH/kube/1/job-${i}`;
	queuedAt.set(jobId, Date.now());
	await driver.spawn({
		jobId,
		runId: "bench",
		token: `token-${i}-${Math.random()}`,
		apiUrl: "http://127.0.0.1:1",
		timeoutSeconds: 600,
		requirements: { model: "busybox", binaries: [], services: [] },
	});
	lastSpawn = Date.now();
}
while (ended < JOBS) await new Promise<void>((r) => (wake = r));
const selector = `${LABEL_HATCHERY}=${NAME}`;
for (;;) {
	const pods = await core.listNamespacedPod({ namespace: "default", labelSelector: selector });
	if (pods.items.length === 0) break;
	await new Promise((r) => setTimeout(r, 20));
}
const allGone = Date.now();
clearInterval(sampler);
await driver.close();
await kubelet.stop();
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
			bench: "kubernetes",
			node: process.version,
			cpus: cpus().length,
			loadAverage: loadavg().map((x) => round(x)),
			jobs: JOBS,
			podsAtOnce: AT_ONCE,
			container:
				"`true` (no worker): driver + kube-apiserver/etcd/scheduler/controller-manager + process kubelet",
			podsCreatedPerSecond: round((JOBS * 1000) / (lastSpawn - began)),
			podsDeletedPerSecond: round((JOBS * 1000) / (allGone - firstEnd)),
			queuedToRunningMs: {
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
