// What every driver of remote workers (Kubernetes pods, Marathon apps, Mesos tasks, Nova
// servers) takes from the node's hatchery settings the same way, and the capabilities it
// announces: its workers run on other hosts, so it offers what its settings say rather than
// what this host has.

import os from "node:os";
import type { HatcherySettings } from "../../../config/hatchery.ts";
import { hostEnv } from "../../../config/process-env.ts";
import type { SandboxPlan } from "../../sandbox/plan.ts";
import type { HatcheryCapabilities } from "../contract.ts";

export interface RemoteWorkerOptions {
	name: string;
	maxWorkers: number;
	maxProvisioning: number;
	models: string[];
	binaries: string[];
	memoryMb: number;
	/** The worker's environment on its host (workspace, sandbox plan…); never the token. */
	workerEnv: Record<string, string>;
	log?: (msg: string) => void;
}

export function remoteWorkerOptions(settings: HatcherySettings, sandbox: SandboxPlan): RemoteWorkerOptions {
	return {
		name: settings.name,
		maxWorkers: settings.maxWorkers,
		maxProvisioning: settings.maxProvisioning,
		models: settings.models,
		binaries: settings.binaries ?? [],
		memoryMb: settings.memoryMb,
		workerEnv: {
			HOME: settings.baseDir,
			LANG: hostEnv().LANG ?? "C.UTF-8",
			CDS_WORKER_BASEDIR: settings.baseDir,
			CDS_WORKER_SANDBOX: JSON.stringify(sandbox),
		},
	};
}

export function remoteCapabilities(
	o: Pick<RemoteWorkerOptions, "name" | "models" | "binaries" | "memoryMb">,
): HatcheryCapabilities {
	return {
		name: o.name,
		models: o.models,
		binaries: o.binaries,
		hostname: os.hostname(),
		osArch: "linux/amd64",
		memoryMb: o.memoryMb,
		services: [],
	};
}
