// What the Kubernetes suites share: the real API server of KUBECONFIG (test/tools/start-kube.sh;
// skipped outside CI when unset, a failure under CI=true) and the process kubelet stand-in
// (test/standins/process-kubelet) whose node the real scheduler binds the pods to.

import path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { ProcessKubelet } from "../standins/process-kubelet/kubelet.ts";

export function kubeconfigFile(): { file: string; skip: false } | { file: undefined; skip: string } {
	const file = process.env.KUBECONFIG;
	if (file) return { file, skip: false };
	if (process.env.CI === "true")
		throw new Error("KUBECONFIG is not set but CI=true: .ci/run must start the Kubernetes control plane");
	return { file: undefined, skip: 'KUBECONFIG is not set (eval "$(bash test/tools/start-kube.sh DIR)")' };
}

export function kubeConfig(file: string): KubeConfig {
	const kc = new KubeConfig();
	kc.loadFromFile(file);
	return kc;
}

export async function startKubelet(
	file: string,
	failImages = /^unpullable\//,
	nodeName = `process-node-${process.pid}`,
): Promise<ProcessKubelet> {
	// A node of this test process's own: suites running at once do not share pods.
	const kubelet = new ProcessKubelet({
		kubeConfig: kubeConfig(file),
		nodeName,
		failImages,
		log: (m) => process.stderr.write(`[process-kubelet] ${m}\n`),
	});
	await kubelet.start();
	return kubelet;
}

/** The environment that pins a hatchery's pods to `kubelet`'s node. */
export function onNode(kubelet: ProcessKubelet): Record<string, string> {
	return { CDS_KUBERNETES_NODE_SELECTOR: `kubernetes.io/hostname=${kubelet.nodeName}` };
}

/** The worker command of pods on the process kubelet: this repository's launcher with this Node. */
export const WORKER_COMMAND = `${process.execPath} ${path.resolve(import.meta.dirname, "../../bin/cds-worker.mjs")}`;
