// A STAND-IN for a kubelet, for the Kubernetes suites (no container runtime can run here): it
// registers a Node (Ready), watches the pods the real kube-scheduler binds to it, runs each
// container's command as a local process, and reports pod phase and container statuses back to
// the real API server, as a kubelet does.
//
// What it models: the Node object and its Ready heartbeat; pods bound to the node started at
// once (no image pull: the image is ignored — every image "is" this host — except for the
// failure injection below); each container's `command` + `args`, `env` (plain values) and
// `workingDir`; each container in a mount and a PID namespace of its own (`unshare`: needs root,
// as CI is), as a container runtime does — a container does not see another's processes; Secret
// volumes written to a private directory (files with the volume's `defaultMode`, group
// `fsGroup`) and emptyDir volumes (one directory per pod, shared by its containers),
// bind-mounted at their `mountPath`;
// phase Pending → Running → Succeeded/Failed with the containers' exit codes; graceful deletion
// (SIGTERM to the container's process group, SIGKILL after the grace period, then the final
// delete that a kubelet does); pods deleted from the API killed.
// Failure injection: images matching `failImages` never start (ErrImagePull, then
// ImagePullBackOff, as a kubelet reports them); `evict(pod)` kills the pod and marks it Failed
// with reason Evicted (node-pressure eviction); `loseNode()` kills every pod and deletes the
// Node (the pod GC of the real controller manager then deletes its pods).
// What it does NOT model: images, resources and limits (not enforced), the security context
// (processes run as the kubelet's root, whatever runAsUser says: the real API server's
// admission checks it, not this), probes, init and sidecar containers, restarts (restartPolicy is treated as Never), configmap/emptyDir/hostPath
// volumes (emptyDir is a fresh directory, the others are refused), networking (pods share the
// host's), exec/logs/port-forward, cgroups, multiple containers beyond running them side by side.

import { type ChildProcess, spawn } from "node:child_process";
import {
	chmodSync,
	chownSync,
	createWriteStream,
	mkdirSync,
	mkdtempSync,
	rmSync,
	writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
	CoreV1Api,
	type KubeConfig,
	makeInformer,
	PatchStrategy,
	setHeaderOptions,
	type V1Pod,
} from "@kubernetes/client-node";

export interface ProcessKubeletOptions {
	kubeConfig: KubeConfig;
	nodeName?: string;
	/** Images that fail to pull (ErrImagePull, then ImagePullBackOff). */
	failImages?: RegExp;
	/** Where pods' directories (logs, secret volumes) go. */
	dir?: string;
	log?: (msg: string) => void;
}

interface RunningPod {
	uid: string;
	name: string;
	namespace: string;
	children: ChildProcess[];
	exits: Array<number | null>;
	dir: string;
	terminating?: boolean;
}

const MERGE = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

export class ProcessKubelet {
	readonly nodeName: string;
	private readonly api: CoreV1Api;
	private readonly opts: ProcessKubeletOptions;
	private readonly pods = new Map<string, RunningPod>();
	private readonly seen = new Set<string>();
	private informer?: ReturnType<typeof makeInformer<V1Pod>>;
	private heartbeat?: NodeJS.Timeout;
	private readonly dir: string;
	private stopped = false;

	constructor(opts: ProcessKubeletOptions) {
		this.opts = opts;
		this.nodeName = opts.nodeName ?? "process-node";
		this.api = opts.kubeConfig.makeApiClient(CoreV1Api);
		this.dir = opts.dir ?? mkdtempSync(path.join(tmpdir(), "process-kubelet-"));
	}

	async start(): Promise<void> {
		// A fresh kubelet runs nothing: pods an earlier one left on this node are gone.
		const left = await this.api.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${this.nodeName}` });
		for (const p of left.items)
			await this.finalDelete({
				name: p.metadata?.name ?? "",
				namespace: p.metadata?.namespace ?? "default",
				uid: p.metadata?.uid ?? "",
			});
		await this.api.deleteNode({ name: this.nodeName }).catch(() => {});
		await this.api.createNode({
			body: {
				metadata: { name: this.nodeName, labels: { "kubernetes.io/hostname": this.nodeName } },
			},
		});
		await this.reportNode();
		this.heartbeat = setInterval(() => void this.reportNode().catch(() => {}), 10_000);
		this.heartbeat.unref();
		const selector = `spec.nodeName=${this.nodeName}`;
		this.informer = makeInformer<V1Pod>(
			this.opts.kubeConfig,
			`/api/v1/pods?fieldSelector=${encodeURIComponent(selector)}`,
			() => this.api.listPodForAllNamespaces({ fieldSelector: selector }),
		);
		this.informer.on("add", (p) => void this.sync(p));
		this.informer.on("update", (p) => void this.sync(p));
		this.informer.on("delete", (p) => this.killPod(p.metadata?.uid ?? "", 0));
		this.informer.on("error", () => {
			if (!this.stopped) setTimeout(() => void this.informer?.start().catch(() => {}), 1000);
		});
		await this.informer.start();
	}

	private async reportNode(): Promise<void> {
		const now = new Date();
		await this.api.patchNodeStatus(
			{
				name: this.nodeName,
				body: {
					status: {
						capacity: { cpu: "64", memory: "256Gi", pods: "1000" },
						allocatable: { cpu: "64", memory: "256Gi", pods: "1000" },
						conditions: [
							{
								type: "Ready",
								status: "True",
								reason: "KubeletReady",
								message: "process kubelet is posting ready status",
								lastHeartbeatTime: now,
								lastTransitionTime: now,
							},
						],
						addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
						nodeInfo: {
							architecture: "amd64",
							operatingSystem: "linux",
							kubeletVersion: "v1.34.3",
							kubeProxyVersion: "",
							bootID: "",
							containerRuntimeVersion: "process://0",
							kernelVersion: "",
							machineID: "",
							osImage: "process kubelet",
							systemUUID: "",
						},
					},
				},
			},
			MERGE,
		);
	}

	private async patchStatus(pod: { name: string; namespace: string }, status: object): Promise<void> {
		await this.api
			.patchNamespacedPodStatus({ name: pod.name, namespace: pod.namespace, body: { status } }, MERGE)
			.catch((e: Error) => this.opts.log?.(`status of ${pod.name}: ${e.message}`));
	}

	private async sync(p: V1Pod): Promise<void> {
		const uid = p.metadata?.uid ?? "";
		const name = p.metadata?.name ?? "";
		const namespace = p.metadata?.namespace ?? "default";
		if (this.stopped || !uid) return;
		if (p.metadata?.deletionTimestamp) {
			const running = this.pods.get(uid);
			if (running && !running.terminating) {
				running.terminating = true;
				await this.killPod(uid, (p.metadata.deletionGracePeriodSeconds ?? 30) * 1000);
			}
			if (!this.pods.has(uid)) await this.finalDelete({ name, namespace, uid });
			return;
		}
		if (this.seen.has(uid)) return;
		this.seen.add(uid);
		const containers = p.spec?.containers ?? [];
		const failing = containers.find((c) => this.opts.failImages?.test(c.image ?? ""));
		if (failing) {
			const waiting = (reason: string) => ({
				phase: "Pending",
				conditions: [{ type: "PodScheduled", status: "True" }],
				containerStatuses: containers.map((c) => ({
					name: c.name,
					image: c.image ?? "",
					imageID: "",
					ready: false,
					restartCount: 0,
					state: {
						waiting: { reason, message: `Back-off pulling image "${failing.image}": not found` },
					},
				})),
			});
			await this.patchStatus({ name, namespace }, waiting("ErrImagePull"));
			setTimeout(() => void this.patchStatus({ name, namespace }, waiting("ImagePullBackOff")), 500).unref();
			return;
		}
		try {
			await this.run(p);
		} catch (e) {
			await this.patchStatus(
				{ name, namespace },
				{ phase: "Failed", reason: "ProcessKubeletError", message: (e as Error).message },
			);
		}
	}

	/** Secret volumes: their keys as files in the pod's directory, for bind mounts. */
	private async volumes(p: V1Pod, podDir: string): Promise<Map<string, string>> {
		const dirs = new Map<string, string>();
		for (const v of p.spec?.volumes ?? []) {
			const dir = path.join(podDir, "volumes", v.name);
			mkdirSync(dir, { recursive: true, mode: 0o700 });
			const fsGroup = p.spec?.securityContext?.fsGroup;
			if (v.emptyDir) chmodSync(dir, 0o777);
			if (v.secret) {
				// A kubelet waits for the Secret of a mount; so does this one, a little.
				let secret: Awaited<ReturnType<CoreV1Api["readNamespacedSecret"]>> | undefined;
				for (let i = 0; i < 50 && !secret; i++) {
					secret = await this.api
						.readNamespacedSecret({
							name: v.secret.secretName ?? "",
							namespace: p.metadata?.namespace ?? "default",
						})
						.catch(() => undefined);
					if (!secret) await new Promise((r) => setTimeout(r, 200));
				}
				if (!secret) throw new Error(`secret ${v.secret.secretName} not found`);
				for (const [key, value] of Object.entries(secret.data ?? {})) {
					const file = path.join(dir, key);
					writeFileSync(file, Buffer.from(value, "base64"));
					chmodSync(file, v.secret.defaultMode ?? 0o644);
					if (fsGroup !== undefined) chownSync(file, 0, fsGroup);
				}
			} else if (!v.emptyDir) throw new Error(`volume ${v.name}: only secret and emptyDir are modelled`);
			dirs.set(v.name, dir);
		}
		return dirs;
	}

	private async run(p: V1Pod): Promise<void> {
		const uid = p.metadata!.uid!;
		const name = p.metadata!.name!;
		const namespace = p.metadata!.namespace ?? "default";
		const podDir = path.join(this.dir, uid);
		mkdirSync(podDir, { recursive: true, mode: 0o700 });
		const volumes = await this.volumes(p, podDir);
		const pod: RunningPod = { uid, name, namespace, children: [], exits: [], dir: podDir };
		this.pods.set(uid, pod);
		const containers = p.spec?.containers ?? [];
		const startedAt = new Date();
		for (const c of containers) {
			const command = [...(c.command ?? []), ...(c.args ?? [])];
			if (command.length === 0) throw new Error(`container ${c.name}: no command (images are not modelled)`);
			// Bind mounts in a mount namespace of the container's own; the mount points are made on
			// the host (under /run, a tmpfs, by convention of the suites).
			const mounts = (c.volumeMounts ?? []).map((m) => {
				const source = volumes.get(m.name);
				if (!source) throw new Error(`container ${c.name}: no volume ${m.name}`);
				mkdirSync(m.mountPath, { recursive: true });
				return `mount --bind ${shellQuote(source)} ${shellQuote(m.mountPath)}`;
			});
			const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOSTNAME: name };
			for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
			// Its own mount and PID namespaces (a fresh /proc); --kill-child: killing the unshare
			// process (a crashed container) kills the container's whole PID namespace.
			const argv = [
				"unshare",
				"--mount",
				"--propagation",
				"private",
				"--pid",
				"--fork",
				"--kill-child",
				"--mount-proc",
				"sh",
				"-c",
				`${[...mounts, 'exec "$@"'].join(" && ")}`,
				"container",
				...command,
			];
			const out = createWriteStream(path.join(podDir, `${c.name}.log`));
			const child = spawn(argv[0]!, argv.slice(1), {
				env,
				cwd: c.workingDir ?? podDir,
				detached: true,
				stdio: ["ignore", "pipe", "pipe"],
			});
			// Both streams into one log: neither may end it before the other is done.
			child.stdout?.pipe(out, { end: false });
			child.stderr?.pipe(out, { end: false });
			child.on("close", () => out.end());
			pod.children.push(child);
			child.on("exit", (code, signal) => {
				pod.exits[containers.indexOf(c)] = code ?? (signal ? 128 + 9 : 1);
				if (pod.exits.filter((x) => x !== undefined).length === containers.length) void this.finished(pod, p);
			});
			child.on("error", () => {});
		}
		await this.patchStatus(
			{ name, namespace },
			{
				phase: "Running",
				hostIP: "127.0.0.1",
				podIP: "127.0.0.1",
				startTime: startedAt,
				conditions: [
					{ type: "PodScheduled", status: "True" },
					{ type: "Initialized", status: "True" },
					{ type: "ContainersReady", status: "True" },
					{ type: "Ready", status: "True" },
				],
				containerStatuses: containers.map((c) => ({
					name: c.name,
					image: c.image ?? "",
					imageID: "",
					ready: true,
					started: true,
					restartCount: 0,
					state: { running: { startedAt } },
				})),
			},
		);
	}

	private async finished(pod: RunningPod, p: V1Pod): Promise<void> {
		this.pods.delete(pod.uid);
		rmSync(path.join(pod.dir, "volumes"), { recursive: true, force: true });
		if (pod.terminating) {
			await this.finalDelete(pod);
			return;
		}
		if (this.stopped) return;
		const ok = pod.exits.every((x) => x === 0);
		const finishedAt = new Date();
		await this.patchStatus(pod, {
			phase: ok ? "Succeeded" : "Failed",
			conditions: [
				{ type: "PodScheduled", status: "True" },
				{ type: "Ready", status: "False", reason: ok ? "PodCompleted" : "PodFailed" },
			],
			containerStatuses: (p.spec?.containers ?? []).map((c, i) => ({
				name: c.name,
				image: c.image ?? "",
				imageID: "",
				ready: false,
				restartCount: 0,
				state: {
					terminated: {
						exitCode: pod.exits[i] ?? 1,
						reason: pod.exits[i] === 0 ? "Completed" : "Error",
						finishedAt,
					},
				},
			})),
		});
	}

	/** What a kubelet does once a deleted pod's containers are gone: the pod object goes. */
	private async finalDelete(pod: { name: string; namespace: string; uid: string }): Promise<void> {
		await this.api
			.deleteNamespacedPod({ name: pod.name, namespace: pod.namespace, gracePeriodSeconds: 0 })
			.catch((e: Error) => {
				if ((e as { code?: number }).code !== 404) this.opts.log?.(`deleting ${pod.name}: ${e.message}`);
			});
	}

	/** SIGTERM to every container's process group, SIGKILL after `graceMs`; resolves when they are gone. */
	private async killPod(uid: string, graceMs: number): Promise<void> {
		const pod = this.pods.get(uid);
		if (!pod) return;
		const alive = () => pod.children.filter((c) => c.exitCode === null && c.signalCode === null);
		// Grace 0: the machine is gone, nothing gets a chance to report.
		if (graceMs > 0) for (const c of alive()) signalGroup(c, "SIGTERM");
		const deadline = Date.now() + graceMs;
		while (alive().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
		for (const c of alive()) signalGroup(c, "SIGKILL");
		while (alive().length > 0) await new Promise((r) => setTimeout(r, 20));
	}

	/** Node-pressure eviction: the pod is killed and marked Failed, reason Evicted. */
	async evict(podName: string, namespace = "default"): Promise<void> {
		const pod = [...this.pods.values()].find((x) => x.name === podName && x.namespace === namespace);
		if (!pod) throw new Error(`no running pod ${podName}`);
		pod.terminating = false;
		this.pods.delete(pod.uid);
		for (const c of pod.children) signalGroup(c, "SIGKILL");
		for (const c of pod.children) c.removeAllListeners("exit");
		await this.patchStatus(pod, {
			phase: "Failed",
			reason: "Evicted",
			message: "The node was low on resource: memory.",
		});
	}

	/** The node is lost: its pods die with it and the Node object goes. */
	async loseNode(): Promise<void> {
		await this.stop(0);
	}

	/** Process ids of a pod's containers (for tests that kill them). */
	pidsOf(podName: string): number[] {
		const pod = [...this.pods.values()].find((x) => x.name === podName);
		return (pod?.children ?? []).map((c) => c.pid).filter((x): x is number => x !== undefined);
	}

	/** Stops the kubelet: its containers get `graceMs` after a SIGTERM (0: SIGKILL at once). */
	async stop(graceMs = 1000): Promise<void> {
		this.stopped = true;
		if (this.heartbeat) clearInterval(this.heartbeat);
		this.informer?.stop();
		await Promise.all([...this.pods.keys()].map((uid) => this.killPod(uid, graceMs)));
		// The suites' nodes come and go: a stopped one leaves no Node behind (the pod GC of the
		// controller manager then removes pods still bound to it).
		await this.api.deleteNode({ name: this.nodeName }).catch(() => {});
	}
}

function signalGroup(c: ChildProcess, signal: NodeJS.Signals): void {
	if (c.pid === undefined) return;
	try {
		process.kill(-c.pid, signal);
	} catch {
		try {
			c.kill(signal);
		} catch {
			/* gone */
		}
	}
}

function shellQuote(s: string): string {
	return `'${s.replace(/'/g, `'\\''`)}'`;
}
