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
import { tmpdir } from "node:os";
import path from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { readHatcherySettings } from "../config/hatchery.ts";
import { hostEnv } from "../config/process-env.ts";
import { createKubernetesDriver } from "../src/hatchery/drivers/kubernetes.ts";
import { LABEL_HATCHERY } from "../src/hatchery/kubernetes/pod-spec.ts";
import { ProcessKubelet } from "../test/standins/process-kubelet/kubelet.ts";
import { kubeConfig } from "../test/kubernetes/helpers.ts";
import { benchHeader, delaysMs, driveJobs, round, summary } from "./driver-jobs.ts";

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

const run = await driveJobs(driver, {
	jobs: JOBS,
	tag: "kube",
	requirements: { model: "busybox", binaries: [], services: [] },
});
const selector = `${LABEL_HATCHERY}=${NAME}`;
for (;;) {
	const pods = await core.listNamespacedPod({ namespace: "default", labelSelector: selector });
	if (pods.items.length === 0) break;
	await new Promise((r) => setTimeout(r, 20));
}
const allGone = Date.now();
await driver.close();
await kubelet.stop();
rmSync(dir, { recursive: true, force: true });

const latencies = delaysMs(run.queuedAt, (job) => run.runningAt.get(job));
console.log(
	JSON.stringify(
		{
			...benchHeader("kubernetes"),
			jobs: JOBS,
			podsAtOnce: AT_ONCE,
			container:
				"`true` (no worker): driver + kube-apiserver/etcd/scheduler/controller-manager + process kubelet",
			podsCreatedPerSecond: round((JOBS * 1000) / (run.lastSpawn - run.began)),
			podsDeletedPerSecond: round((JOBS * 1000) / (allGone - run.firstEnd)),
			queuedToRunningMs: summary(latencies, [50, 90, 99]),
			totalSeconds: round((allGone - run.began) / 1000),
		},
		null,
		2,
	),
);
process.exit(0);
