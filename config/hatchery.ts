// Hatchery knobs: its identity, capacity and what it offers to job requirements.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DRIVER_KINDS } from "../src/hatchery/drivers/index.ts";
import { type MarathonSettings, readMarathonSettings } from "./marathon.ts";
import { type NovaSettings, readNovaSettings } from "./nova.ts";
import { type MesosSettings, readMesosSettings } from "./mesos.ts";
import {
	bool,
	bytes,
	ConfigError,
	duration,
	type Env,
	int,
	list,
	oneOf,
	optionalString,
	readAll,
	string,
} from "./settings.ts";

export const SANDBOX_CHOICES = ["auto", "bwrap", "unshare", "none"] as const;
export const ON_STOP_CHOICES = ["leave", "stop"] as const;
export const SANDBOX_NETWORK_CHOICES = ["auto", "nat", "none", "host"] as const;

const NAME = {
	pattern: /^[A-Za-z0-9._-]{1,128}$/,
	expected: "letters, digits, '.', '_' and '-' (at most 128)",
};

export const HATCHERY_SETTINGS = {
	driver: oneOf(
		"CDS_HATCHERY_DRIVER",
		DRIVER_KINDS,
		"local",
		"where this hatchery starts workers (`src/hatchery/drivers`): `local` processes on this host, `kubernetes` pods (one per job; see docs/kubernetes.md), `marathon` apps (one per job; see docs/marathon-mesos.md), `mesos` tasks of a framework (docs/marathon-mesos.md), or `openstack` Nova servers (one per job; see docs/openstack.md)",
	),
	name: string(
		"CDS_HATCHERY_NAME",
		() => `local-${os.hostname()}`.replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 128),
		"a hatchery's identity, stable across restarts: a restarted hatchery adopts the workers of its live jobs (they are not killed) and kills only those whose job is over",
		NAME,
		"`local-<hostname>`",
	),
	maxWorkers: int("CDS_HATCHERY_MAX_WORKERS", 10, "workers at once", { min: 1 }),
	maxProvisioning: int("CDS_HATCHERY_MAX_PROVISIONING", 4, "workers starting at once", { min: 1 }),
	warmPool: int(
		"CDS_HATCHERY_WARM_POOL",
		0,
		"idle warm workers kept ready (they get a job and a token only when assigned)",
	),
	jobsPerWorker: int(
		"CDS_HATCHERY_JOBS_PER_WORKER",
		1,
		"jobs a worker process serves in sequence (fresh workspace and token each)",
		{ min: 1 },
	),
	models: list("CDS_HATCHERY_MODELS", "worker models this hatchery offers, comma-separated"),
	binaries: list(
		"CDS_HATCHERY_BINARIES",
		"binaries this hatchery offers (default: detected on PATH)",
		undefined,
		"detected",
	),
	memoryMb: bytes(
		"CDS_HATCHERY_MEMORY_MB",
		() => Math.floor(os.totalmem() / 1024 / 1024),
		"memory offered to job requirements, in MiB (`2GiB` converts)",
		{ min: 1 },
		"total RAM",
	),
	pollMs: duration(
		"CDS_HATCHERY_POLL_MS",
		1000,
		"how often the hatchery looks at the queue without a `job.queued` signal",
		{ min: 10 },
	),
	drainSeconds: duration(
		"CDS_HATCHERY_DRAIN_SECONDS",
		30,
		"how long a hatchery told to stop (SIGTERM, SIGINT) waits for its running jobs to end, taking no new one, before it exits, still serving its own services meanwhile (without NATS it does not wait: in one process the run service and the gateway stop with it)",
		{ min: 0 },
	),
	onStop: oneOf(
		"CDS_HATCHERY_ON_STOP",
		ON_STOP_CHOICES,
		"leave",
		"what a stopping hatchery does with the jobs still running after the drain: `leave` them running (they report to the cluster and the restarted hatchery of the same name adopts them, as after a crash) or `stop` them (their jobs end Stopped)",
	),
	sandbox: oneOf(
		"CDS_HATCHERY_SANDBOX",
		SANDBOX_CHOICES,
		"auto",
		"how the local driver isolates each job: `bwrap` (bubblewrap: own PID, mount, IPC and network namespaces, an unprivileged uid under a root hatchery), `unshare` (the same with util-linux unshare), `auto` (bwrap, else unshare, else the node exits 2 naming the fix), `none` (unsandboxed, warned at every start: only where every job is trusted)",
	),
	sandboxNetwork: oneOf(
		"CDS_SANDBOX_NETWORK",
		SANDBOX_NETWORK_CHOICES,
		"auto",
		"network of sandboxed steps: `nat` (user-mode NAT through slirp4netns: the internet yes, this host and private ranges no), `none` (loopback only), `host` (this host's network, warned), `auto` (`nat` when slirp4netns is installed, else `none` with a warning)",
	),
	sandboxUid: int(
		"CDS_SANDBOX_UID",
		65534,
		"the unprivileged uid steps run as when the hatchery runs as root",
		{
			min: 1,
		},
	),
	sandboxGid: int("CDS_SANDBOX_GID", 65534, "the gid steps run as when the hatchery runs as root", {
		min: 1,
	}),
	sandboxHide: list(
		"CDS_SANDBOX_HIDE",
		"more host paths steps must not see, comma-separated (the data directory, the workers' directory, homes, /tmp and /run are always hidden)",
	),
	sandboxShare: list(
		"CDS_SANDBOX_SHARE",
		"host directories every sandboxed step sees read-write, comma-separated (shared caches, test volumes): what one job writes there, the next one reads",
	),
	helmBin: optionalString(
		"CDS_HELM_BIN",
		"the helm binary workers render Kubernetes deployments' charts with (`helm template`); set and missing: the node exits 2",
		undefined,
		"`helm` on PATH, else `$CDS_CI_CACHE/helm-v4.3.2/helm` (test/tools/build-helm.sh), else none",
	),
	workerBaseDir: optionalString(
		"CDS_WORKER_BASEDIR",
		"where workers make their per-job workspaces",
		undefined,
		"`$CDS_DATA_DIR/workers`",
	),
	persistentWorkspacesDir: optionalString(
		"CDS_PERSISTENT_WORKSPACES_DIR",
		"where the local hatchery keeps nodes' persistent workspaces (one directory each, leased to one job at a time; sizes are recorded, not enforced)",
		undefined,
		"`$CDS_WORKER_BASEDIR/persistent-workspaces`",
	),
};

const PAIR = { pattern: /^[^=\s]+=[^=\s]+$/, expected: "name=value pairs" };

/** The Kubernetes driver's knobs (CDS_HATCHERY_DRIVER=kubernetes); its maximum of pods is CDS_HATCHERY_MAX_WORKERS. */
export const KUBERNETES_SETTINGS = {
	kubeconfig: optionalString(
		"KUBECONFIG",
		"the kubeconfig file of the Kubernetes driver; unset in a pod: the in-cluster service account; neither: the node exits 2",
	),
	inClusterHost: optionalString(
		"KUBERNETES_SERVICE_HOST",
		"set by Kubernetes in every pod: the driver then uses the pod's service account",
	),
	namespace: string(
		"CDS_KUBERNETES_NAMESPACE",
		"default",
		"the namespace of the worker pods and their token Secrets",
		{ pattern: /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, expected: "a DNS label" },
	),
	images: list(
		"CDS_KUBERNETES_IMAGES",
		"worker model → image, `model=image` comma-separated; a model not listed is its own image name",
		PAIR,
	),
	defaultImage: string(
		"CDS_KUBERNETES_DEFAULT_IMAGE",
		"ovhcom/cds-worker:latest",
		"the image of jobs that require no model",
	),
	workerCommand: string(
		"CDS_KUBERNETES_WORKER_COMMAND",
		"node /opt/cds/bin/cds-worker.mjs",
		"the worker's command in the image, space-separated (it reads its assignment from the mounted job Secret on stdin)",
	),
	serviceAccount: optionalString(
		"CDS_KUBERNETES_SERVICE_ACCOUNT",
		"the service account of worker pods (default: the namespace's `default`; its token is not mounted either way)",
	),
	nodeSelector: list(
		"CDS_KUBERNETES_NODE_SELECTOR",
		"node selector of worker pods, `label=value` comma-separated",
		PAIR,
	),
	tolerations: list(
		"CDS_KUBERNETES_TOLERATIONS",
		"tolerations of worker pods, `key=value:Effect` or `key:Effect` comma-separated (`Effect`: NoSchedule, PreferNoSchedule, NoExecute)",
		{
			pattern: /^[^=:\s]+(=[^=:\s]+)?:(NoSchedule|PreferNoSchedule|NoExecute)$/,
			expected: "key=value:Effect or key:Effect",
		},
	),
	runAsUser: int(
		"CDS_KUBERNETES_RUN_AS_USER",
		1000,
		"the uid (and gid) worker pods run as: non-root, as the restricted Pod Security Standard requires",
		{ min: 1 },
	),
	fsGroup: int(
		"CDS_KUBERNETES_FS_GROUP",
		1000,
		"the fsGroup of worker pods: the group that may read the job Secret (mode 0440) and write the workspace volume",
		{ min: 1 },
	),
	stepContainer: bool(
		"CDS_KUBERNETES_STEP_CONTAINER",
		true,
		"run a job's steps in a second container of its pod, which never sees the job token (its Secret volume, the worker's processes); `false`: steps run in the worker's container under CDS_HATCHERY_SANDBOX (needs bwrap in the image)",
	),
	helmBin: string(
		"CDS_KUBERNETES_HELM_BIN",
		"helm",
		"the helm binary in the worker image, given to the pods' workers as CDS_HELM_BIN (Kubernetes deployment steps render charts with it); a bare name is looked up on the image's PATH",
	),
	startTimeoutMs: duration(
		"CDS_KUBERNETES_START_TIMEOUT_MS",
		60_000,
		"how long a worker pod may stay stuck (ImagePullBackOff, Unschedulable…) before its job fails with that reason",
		{ min: 100 },
	),
};

export interface KubernetesSettings
	extends Omit<
		ReturnType<typeof readAll<typeof KUBERNETES_SETTINGS>>,
		"images" | "nodeSelector" | "tolerations"
	> {
	images: Record<string, string>;
	nodeSelector: Record<string, string>;
	tolerations: string[];
}

function pairs(items: string[] | undefined): Record<string, string> {
	const out: Record<string, string> = {};
	for (const item of items ?? []) {
		const at = item.indexOf("=");
		out[item.slice(0, at)] = item.slice(at + 1);
	}
	return out;
}

export interface HatcherySettings
	extends Omit<
		ReturnType<typeof readAll<typeof HATCHERY_SETTINGS>>,
		"workerBaseDir" | "models" | "binaries" | "sandboxHide" | "sandboxShare" | "helmBin"
	> {
	/** The helm binary handed to workers (CDS_HELM_BIN), "" when none was found. */
	helm: string;
	models: string[];
	sandboxHide: string[];
	sandboxShare: string[];
	/** The node's data directory: steps never see it. */
	dataDir: string;
	/** undefined: detect on PATH. */
	binaries: string[] | undefined;
	baseDir: string;
	/** Where the local driver keeps persistent workspaces. */
	persistentWorkspacesDir: string;
	kubernetes: KubernetesSettings;
	marathon: MarathonSettings;
	/** The Nova compute driver's (config/nova.ts). */
	openstack: NovaSettings;
	mesos: MesosSettings;
}

export function readHatcherySettings(env: Env, dataDir: string): HatcherySettings {
	const { workerBaseDir, persistentWorkspacesDir, models, sandboxHide, sandboxShare, helmBin, ...rest } =
		readAll(env, HATCHERY_SETTINGS);
	const baseDir = path.resolve(workerBaseDir ?? path.join(dataDir, "workers"));
	return {
		...rest,
		helm: findHelm(env, helmBin),
		models: models ?? [],
		sandboxHide: sandboxHide ?? [],
		sandboxShare: (sandboxShare ?? []).map((p) => path.resolve(p)),
		dataDir: path.resolve(dataDir),
		baseDir,
		persistentWorkspacesDir: path.resolve(
			persistentWorkspacesDir ?? path.join(baseDir, "persistent-workspaces"),
		),
		kubernetes: readKubernetesSettings(env),
		marathon: readMarathonSettings(env, rest.driver === "marathon"),
		openstack: readNovaSettings(env),
		mesos: readMesosSettings(env),
	};
}

/** CDS_HELM_BIN when set (it must be an executable file), else helm on PATH, else the CI cache's. */
function findHelm(env: Env, configured: string | undefined): string {
	const executable = (file: string) => {
		try {
			fs.accessSync(file, fs.constants.X_OK);
			return fs.statSync(file).isFile();
		} catch {
			return false;
		}
	};
	if (configured) {
		if (!executable(configured))
			throw new ConfigError(`CDS_HELM_BIN=${configured}: no executable file there`);
		return path.resolve(configured);
	}
	for (const dir of (env.PATH ?? "").split(":").filter(Boolean))
		if (executable(path.join(dir, "helm"))) return path.join(dir, "helm");
	const cache = env.CDS_CI_CACHE || path.join(env.HOME || os.homedir(), ".cache/cds-ts");
	const cached = path.join(cache, "helm-v4.3.2/helm");
	return executable(cached) ? cached : "";
}

function readKubernetesSettings(env: Env): KubernetesSettings {
	const { images, nodeSelector, tolerations, ...rest } = readAll(env, KUBERNETES_SETTINGS);
	return {
		...rest,
		images: pairs(images),
		nodeSelector: pairs(nodeSelector),
		tolerations: tolerations ?? [],
	};
}
