// The Kubernetes driver passes the hatchery driver conformance suite against the real API
// server (KUBECONFIG), its pods run by the process kubelet of this test process: a worker
// killed hard is its container's process killed with -9, as a crashed container. No sandbox
// tool (CDS_HATCHERY_SANDBOX=none, as the chart's images have none): the token stays out of the
// steps' reach by the pod's step container alone.

import path from "node:path";
import { after, describe } from "node:test";
import { ASSIGNMENT_FILE } from "../../src/hatchery/kubernetes/pod-spec.ts";
import { describeDriverConformance } from "../conformance/hatchery-driver.ts";
import type { ProcessKubelet } from "../standins/process-kubelet/kubelet.ts";
import { kubeconfigFile, onNode, startKubelet, WORKER_COMMAND } from "./helpers.ts";

const kube = kubeconfigFile();
let kubelet: ProcessKubelet | undefined;
after(async () => kubelet?.stop());

if (kube.skip === false)
	describeDriverConformance("kubernetes", async () => {
		kubelet = await startKubelet(kube.file);
		return {
			hatcheryEnv: (name, work) => ({
				KUBECONFIG: kube.file,
				...onNode(kubelet!),
				CDS_KUBERNETES_WORKER_COMMAND: WORKER_COMMAND,
				CDS_HATCHERY_SANDBOX: "none",
				CDS_WORKER_BASEDIR: path.join(work, "workers", name),
				CDS_SANDBOX_SHARE: path.join(work, "shared"),
			}),
			sharedDir: (work) => path.join(work, "shared"),
			tokenPaths: [ASSIGNMENT_FILE],
			async killWorker(handle) {
				const pids = kubelet!.pidsOf(handle.name);
				if (pids.length === 0) throw new Error(`pod ${handle.name} runs no process`);
				for (const pid of pids) process.kill(pid, "SIGKILL");
			},
		};
	});
else describe("hatchery driver conformance: kubernetes", { skip: kube.skip }, () => {});
