// The Kubernetes hatchery: one pod per job, in the configured namespace, its assignment (token
// included) in a per-job Secret mounted into the worker's container only (the steps run in the
// pod's step container: src/hatchery/kubernetes/pod-spec.ts) and owned by the pod, so the garbage collector deletes it with the pod (the driver deletes it too).
// The driver knows its pods from an informer (a list, then a watch) on the pods labelled with
// this hatchery's identity, never by polling: a restarted hatchery of the same name sees the
// pods of its previous instance at once and adopts those whose job is live.
//
// Reconciliation both ways: pods whose job is over are deleted; a job whose pod ended without
// its worker reporting — evicted, deleted by someone else, lost with its node — or that is
// stuck before starting (ImagePullBackOff, Unschedulable) for CDS_KUBERNETES_START_TIMEOUT_MS
// is reported with that reason (WorkerHandle.failure), which the hatchery turns into the job's
// failure. API errors are retried with backoff (spawns) or restart the watch with backoff.

import { existsSync } from "node:fs";
import {
	CoreV1Api,
	KubeConfig,
	makeInformer,
	PatchStrategy,
	setHeaderOptions,
	type V1Pod,
} from "@kubernetes/client-node";
import type { HatcherySettings, KubernetesSettings } from "../../../config/hatchery.ts";
import { ConfigError } from "../../../config/settings.ts";
import { Backoff } from "../../hooks/backoff.ts";
import { NO_SANDBOX, type SandboxPlan } from "../../sandbox/plan.ts";
import type { HatcheryCapabilities } from "../../engine/requirements.ts";
import type {
	HatcheryCapacity,
	HatcheryDriver,
	ReconcileResult,
	WorkerAssignment,
	WorkerHandle,
} from "../contract.ts";
import { WorkerBook } from "../worker-book.ts";
import {
	ANNOTATION_JOB,
	jobSecret,
	LABEL_HATCHERY,
	labelValue,
	podName,
	workerPod,
} from "../kubernetes/pod-spec.ts";
import { podState } from "../kubernetes/pod-state.ts";
import { sandboxFor } from "./local.ts";
import {
	type RemoteWorkerOptions,
	remoteCapabilities,
	remoteWorkerOptions,
} from "./remote-worker-options.ts";

const SA_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/** The cluster the settings point at: KUBECONFIG, else the pod's service account, else a ConfigError. */
export function kubeConfigFor(k: KubernetesSettings): KubeConfig {
	const kc = new KubeConfig();
	if (k.kubeconfig) {
		if (!existsSync(k.kubeconfig)) throw new ConfigError(`KUBECONFIG=${k.kubeconfig}: no such file`);
		kc.loadFromFile(k.kubeconfig);
	} else if (k.inClusterHost && existsSync(SA_TOKEN)) kc.loadFromCluster();
	else
		throw new ConfigError(
			"CDS_HATCHERY_DRIVER=kubernetes needs a cluster: set KUBECONFIG, or run the hatchery in a pod with a service account",
		);
	return kc;
}

export interface KubernetesDriverOptions extends RemoteWorkerOptions {
	kubeConfig: KubeConfig;
	settings: KubernetesSettings;
}

interface PodEntry extends WorkerHandle {
	pod: string;
	/** Deleted by this driver (job over, stopped): its end is no failure. */
	deleting?: boolean;
	/** Since when the pod is stuck (ImagePullBackOff…), and why. */
	stuckSince?: number;
	stuck?: string;
	/** This instance created it (else: adopted from a previous instance). */
	ours: boolean;
	reported?: boolean;
}

const MERGE = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

/** The registry's factory: the node's hatchery settings → a Kubernetes driver, watching already. */
export async function createKubernetesDriver(
	settings: HatcherySettings,
	log?: (msg: string) => void,
): Promise<KubernetesDriver> {
	const kubeConfig = kubeConfigFor(settings.kubernetes);
	// With a step container, steps never run in the worker's container: no sandbox plan there.
	const sandbox: SandboxPlan = settings.kubernetes.stepContainer ? NO_SANDBOX : sandboxFor(settings, log);
	const driver = new KubernetesDriver({
		kubeConfig,
		settings: settings.kubernetes,
		...remoteWorkerOptions(settings, sandbox),
		log,
	});
	await driver.start();
	return driver;
}

export class KubernetesDriver implements HatcheryDriver {
	readonly kind = "kubernetes";
	private readonly opts: KubernetesDriverOptions;
	private readonly api: CoreV1Api;
	private readonly namespace: string;
	private readonly selector: string;
	/** By pod name. */
	private readonly pods = new Map<string, PodEntry>();
	private readonly book: WorkerBook;
	private informer?: ReturnType<typeof makeInformer<V1Pod>>;
	private readonly watchBackoff = new Backoff({ baseMs: 200, maxMs: 10_000 });
	/** Pods being created by spawn (names): they count against the capacity from the first call. */
	private readonly spawning = new Set<string>();
	private closed = false;

	constructor(opts: KubernetesDriverOptions) {
		this.opts = opts;
		this.book = new WorkerBook(opts);
		this.api = opts.kubeConfig.makeApiClient(CoreV1Api);
		this.namespace = opts.settings.namespace;
		this.selector = `${LABEL_HATCHERY}=${labelValue(opts.name)}`;
	}

	/** Lists then watches this hatchery's pods; resolves once the first list is in. */
	async start(): Promise<void> {
		const ns = this.namespace;
		this.informer = makeInformer<V1Pod>(
			this.opts.kubeConfig,
			`/api/v1/namespaces/${ns}/pods`,
			() => this.api.listNamespacedPod({ namespace: ns, labelSelector: this.selector }),
			this.selector,
		);
		this.informer.on("add", (p) => this.observe(p));
		this.informer.on("update", (p) => this.observe(p));
		this.informer.on("delete", (p) => this.vanished(p));
		this.informer.on("connect", () => this.watchBackoff.reset());
		this.informer.on("error", (e: unknown) => {
			if (this.closed) return;
			const wait = this.watchBackoff.next();
			this.opts.log?.(`kubernetes watch: ${errorText(e)}; again in ${wait} ms`);
			setTimeout(() => {
				if (!this.closed) void this.informer?.start().catch(() => {});
			}, wait).unref();
		});
		for (;;) {
			try {
				await this.informer.start();
				return;
			} catch (e) {
				if (e instanceof ConfigError) throw e;
				const wait = this.watchBackoff.next();
				if (this.watchBackoff.attempts > 8)
					throw new Error(`kubernetes: cannot list pods in ${ns}: ${errorText(e)}`);
				this.opts.log?.(`kubernetes: cannot list pods in ${ns}: ${errorText(e)}; again in ${wait} ms`);
				await sleep(wait);
			}
		}
	}

	private observe(p: V1Pod): void {
		const name = p.metadata?.name;
		const jobId = p.metadata?.annotations?.[ANNOTATION_JOB];
		if (!name || !jobId) return;
		let e = this.pods.get(name);
		// A pod on its way out that this instance never knew: nothing to adopt.
		if (!e && p.metadata?.deletionTimestamp) return;
		if (!e) {
			e = {
				name,
				pod: name,
				jobId,
				startedAt: p.metadata?.creationTimestamp
					? new Date(p.metadata.creationTimestamp).getTime()
					: Date.now(),
				state: "provisioning",
				ours: this.spawning.has(name),
				adopted: this.spawning.has(name) ? undefined : true,
			};
			this.pods.set(name, e);
		}
		const s = podState(p.status);
		if (s.kind === "running") {
			e.state = "running";
			e.stuck = undefined;
			e.stuckSince = undefined;
		} else if (s.kind === "provisioning") {
			e.state = "provisioning";
			if (s.stuck) {
				e.stuck = s.stuck;
				e.stuckSince ??= Date.now();
				this.checkStuck(e);
			} else e.stuckSince = undefined;
		} else {
			this.ended(e, s.exitCode, s.failure ? { reason: s.failure, started: true } : undefined);
			void this.deletePod(e);
		}
	}

	private vanished(p: V1Pod): void {
		const name = p.metadata?.name;
		const e = name ? this.pods.get(name) : undefined;
		if (!e) return;
		this.pods.delete(e.pod);
		if (!e.reported)
			this.ended(
				e,
				null,
				e.deleting ? undefined : { reason: `pod ${e.pod} was deleted`, started: e.state === "running" },
			);
		void this.deleteSecret(e.pod);
	}

	private ended(e: PodEntry, code: number | null, failure?: WorkerHandle["failure"]): void {
		this.book.end(e, code, failure, e.deleting === true);
	}

	private checkStuck(e: PodEntry): void {
		if (e.stuckSince === undefined || e.reported || e.deleting) return;
		if (Date.now() - e.stuckSince < this.opts.settings.startTimeoutMs) return;
		this.opts.log?.(`pod ${e.pod} of job ${e.jobId} is stuck (${e.stuck}): its job fails`);
		this.ended(e, null, { reason: `pod ${e.stuck}`, started: false });
		void this.deletePod(e);
	}

	async capabilities(): Promise<HatcheryCapabilities> {
		return remoteCapabilities(this.opts);
	}

	async capacity(): Promise<HatcheryCapacity> {
		return this.book.capacity(
			this.pods.values(),
			[...this.spawning].filter((name) => !this.pods.has(name)).length,
		);
	}

	async freeSlots(): Promise<number> {
		return this.book.freeSlots(
			this.pods.values(),
			[...this.spawning].filter((name) => !this.pods.has(name)).length,
		);
	}

	/**
	 * Every pod is listed `unconfirmed`: its phase is what its node's kubelet last wrote, and a
	 * lost node's pods stay Running in the API until the controller manager's pod GC deletes
	 * them (40 s to a minute after the Node object goes) or its taint eviction (minutes after
	 * the node stops answering). Vouching for them would keep a lost node's jobs Building that
	 * long; their workers' own heartbeats tell instead (the RBAC of the chart grants no read of
	 * nodes to tell a live node from a lost one).
	 */
	async list(): Promise<WorkerHandle[]> {
		return this.book.handles(this.pods.values()).map((h) => ({ ...h, unconfirmed: true }));
	}

	onExit(listener: (h: WorkerHandle, code: number | null) => void): void {
		this.book.onExit(listener);
	}

	/** Retries a call on API errors that may pass (network, 429, 5xx), with backoff. */
	private async retrying<T>(what: string, call: () => Promise<T>): Promise<T> {
		const backoff = new Backoff({ baseMs: 100, maxMs: 5000 });
		for (;;) {
			try {
				return await call();
			} catch (e) {
				const code = statusOf(e);
				const transient = code === undefined || code === 429 || code >= 500;
				if (!transient || backoff.attempts >= 5 || this.closed) throw new Error(`${what}: ${errorText(e)}`);
				await sleep(backoff.next());
			}
		}
	}

	async spawn(a: WorkerAssignment): Promise<WorkerHandle> {
		const input = {
			hatchery: this.opts.name,
			assignment: a,
			settings: this.opts.settings,
			workerEnv: this.opts.workerEnv,
			nonce: `${Date.now()}-${Math.random()}`,
		};
		const name = podName(this.opts.name, a.jobId, input.nonce);
		const namespace = this.namespace;
		this.spawning.add(name);
		try {
			await this.retrying(`creating secret ${name}`, () =>
				this.api.createNamespacedSecret({ namespace, body: jobSecret(input) }).catch((e) => {
					if (statusOf(e) === 409) return undefined; // a retry after a lost answer
					throw e;
				}),
			);
			const pod = await this.retrying(`creating pod ${name}`, () =>
				this.api.createNamespacedPod({ namespace, body: workerPod(input) }),
			);
			const entry: PodEntry = this.pods.get(name) ?? {
				name,
				pod: name,
				jobId: a.jobId,
				startedAt: Date.now(),
				state: "provisioning",
				ours: true,
			};
			entry.ours = true;
			entry.adopted = undefined;
			this.pods.set(name, entry);
			// The Secret goes with its pod (garbage collector), whoever deletes the pod.
			await this.api
				.patchNamespacedSecret(
					{
						name,
						namespace,
						body: {
							metadata: {
								ownerReferences: [
									{ apiVersion: "v1", kind: "Pod", name, uid: pod.metadata!.uid!, blockOwnerDeletion: false },
								],
							},
						},
					},
					MERGE,
				)
				.catch((e) => this.opts.log?.(`secret ${name}: owner not set: ${errorText(e)}`));
			return entry;
		} catch (e) {
			await this.deleteSecret(name);
			throw e;
		} finally {
			this.spawning.delete(name);
		}
	}

	private async deletePod(e: PodEntry, graceSeconds?: number): Promise<void> {
		if (e.deleting) return;
		e.deleting = true;
		await this.retrying(`deleting pod ${e.pod}`, () =>
			this.api
				.deleteNamespacedPod({ name: e.pod, namespace: this.namespace, gracePeriodSeconds: graceSeconds })
				.catch((err) => {
					if (statusOf(err) === 404) return undefined;
					throw err;
				}),
		).catch((err) => this.opts.log?.((err as Error).message));
		await this.deleteSecret(e.pod);
	}

	private async deleteSecret(name: string): Promise<void> {
		await this.api.deleteNamespacedSecret({ name, namespace: this.namespace }).catch(() => {});
	}

	async kill(jobId: string, graceMs = 5000): Promise<void> {
		const e = [...this.pods.values()].find((x) => x.jobId === jobId && !x.reported);
		if (!e) return;
		await this.deletePod(e, Math.ceil(graceMs / 1000));
	}

	async maintain(): Promise<void> {
		for (const e of this.pods.values()) this.checkStuck(e);
	}

	async reconcile(liveJobs: readonly string[]): Promise<ReconcileResult> {
		const live = new Set(liveJobs);
		let adopted = 0;
		let killed = 0;
		const withPod = new Set<string>();
		for (const e of this.pods.values()) {
			if (e.reported) continue;
			if (e.jobId) withPod.add(e.jobId);
			if (e.jobId && live.has(e.jobId)) {
				if (!e.ours && e.adopted && !e.reported) adopted++;
			} else if (!e.deleting) {
				this.opts.log?.(`pod ${e.pod}: its job ${e.jobId} is over: deleted`);
				e.reported = true;
				await this.deletePod(e);
				killed++;
			}
		}
		// A live job of this hatchery without a pod, at two reconciles in a row: its pod vanished
		// while no instance watched (a delete missed by a restart). Its job fails now.
		this.book.judgeMissing(liveJobs, withPod, (jobId) => ({
			name: podName(this.opts.name, jobId),
			reason: "its pod is gone",
		}));
		// Secrets of this hatchery left without their pod.
		const secrets = await this.api
			.listNamespacedSecret({ namespace: this.namespace, labelSelector: this.selector })
			.catch(() => undefined);
		for (const s of secrets?.items ?? []) {
			const n = s.metadata?.name;
			if (n && !this.pods.has(n) && !this.spawning.has(n)) await this.deleteSecret(n);
		}
		return { adopted, killed };
	}

	async close(options: { leaveRunning?: boolean } = {}): Promise<void> {
		this.closed = true;
		this.informer?.stop();
		if (options.leaveRunning) return;
		await Promise.all(
			[...this.pods.values()].filter((e) => !e.reported || !e.deleting).map((e) => this.deletePod(e, 2)),
		);
	}
}

function statusOf(e: unknown): number | undefined {
	const code = (e as { code?: unknown })?.code;
	return typeof code === "number" ? code : undefined;
}

function errorText(e: unknown): string {
	if (e instanceof Error) return e.message.split("\n")[0]!.slice(0, 300);
	return String(e).slice(0, 300);
}

function sleep(ms: number): Promise<void> {
	return new Promise((r) => setTimeout(r, ms));
}
