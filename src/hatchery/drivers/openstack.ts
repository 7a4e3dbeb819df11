// The Nova compute hatchery (CDS_HATCHERY_DRIVER=openstack): one server per job, made from the
// job's worker model (image) and memory requirement (flavor), tagged with this hatchery's
// identity and carrying job/run metadata, its worker started by the user-data's boot script
// with the assignment on stdin (src/hatchery/openstack/user-data.ts). Nova has no watch: the
// driver lists its servers by tag every CDS_OPENSTACK_POLL_MS (with backoff on errors) and
// follows their status: ACTIVE → running, SHUTOFF (the worker ended, the script powered off)
// → deleted, ERROR → the job fails with Nova's fault message, gone without being deleted →
// the job fails ("server vanished"). Quota refusals (403/413) fail the spawn with Nova's message.
//
// Persistent workspaces: a Cinder volume per workspace id (created on first use, size rounded
// up to GiB), attached once the server is ACTIVE, detached (waiting for `available`) before
// the server is deleted at the job's end; deleteWorkspace deletes the volume.
//
// Reconciliation both ways: servers whose job is over are deleted (their volume detached
// first); servers of live jobs started by a previous instance of the same name are adopted;
// a live job without a server at two reconciles in a row fails.

import type { HatcherySettings } from "../../../config/hatchery.ts";
import { missingNovaSettings, type NovaSettings } from "../../../config/nova.ts";
import { ConfigError } from "../../../config/settings.ts";
import type { HatcheryCapabilities } from "../../engine/requirements.ts";
import { Backoff } from "../../hooks/backoff.ts";
import { Keystone, OpenStackError } from "../../openstack/keystone.ts";
import { retrying } from "../../openstack/retry.ts";
import { transient } from "../../openstack/request.ts";
import type {
	HatcheryCapacity,
	HatcheryDriver,
	ReconcileResult,
	WorkerAssignment,
	WorkerHandle,
} from "../contract.ts";
import { WorkerBook } from "../worker-book.ts";
import { CinderClient } from "../openstack/cinder.ts";
import { WorkspaceVolumes } from "../openstack/workspace-volumes.ts";
import { type NovaFlavor, type NovaImage, NovaClient, type NovaServer } from "../openstack/nova.ts";
import { serverState } from "../openstack/server-state.ts";
import {
	chooseFlavor,
	hatcheryTag,
	imageNameFor,
	META_JOB,
	META_VOLUME,
	resolveImage,
	serverMetadata,
	serverName,
	TAG_MANAGED,
} from "../openstack/server-spec.ts";
import { renderUserData } from "../openstack/user-data.ts";
import { sandboxFor } from "./local.ts";
import {
	type RemoteWorkerOptions,
	remoteCapabilities,
	remoteWorkerOptions,
} from "./remote-worker-options.ts";

/** `memoryMb` is offered until the flavors are known (then: the largest flavor's RAM). */
export interface OpenStackDriverOptions extends RemoteWorkerOptions {
	settings: NovaSettings;
	keystone: Keystone;
}

interface ServerEntry extends WorkerHandle {
	serverId?: string;
	volumeId?: string;
	attached?: boolean;
	attaching?: boolean;
	/** Being deleted by this driver (job over, stopped): its end is no failure. */
	deleting?: boolean;
	reported?: boolean;
	ours: boolean;
	/** When the server id became known: a listing begun before cannot show it. */
	knownAt?: number;
}

/** The registry's factory: the node's hatchery settings → a Nova driver, polling already. */
export async function createOpenStackDriver(
	settings: HatcherySettings,
	log?: (msg: string) => void,
): Promise<OpenStackDriver> {
	const s = settings.openstack;
	const missing = missingNovaSettings(s);
	if (missing.length > 0)
		throw new ConfigError(`CDS_HATCHERY_DRIVER=openstack needs a cloud: set ${missing.join(", ")}`);
	const sandbox = sandboxFor(settings, log);
	const driver = new OpenStackDriver({
		settings: s,
		keystone: new Keystone(
			{
				authUrl: s.authUrl!,
				username: s.username!,
				password: s.password!,
				project: s.project!,
				domain: s.domain,
				region: s.region,
				interface: s.interface,
			},
			{ warn: (m) => log?.(m) },
		),
		...remoteWorkerOptions(settings, sandbox),
		log,
	});
	await driver.start();
	return driver;
}

export class OpenStackDriver implements HatcheryDriver {
	readonly kind = "openstack";
	private readonly opts: OpenStackDriverOptions;
	private readonly nova: NovaClient;
	private readonly volumes: WorkspaceVolumes;
	private readonly tag: string;
	/** By server name. */
	private readonly entries = new Map<string, ServerEntry>();
	private readonly book: WorkerBook;
	private readonly pollBackoff = new Backoff({ baseMs: 500, maxMs: 30_000 });
	private flavorCache?: NovaFlavor[];
	private imageCache?: NovaImage[];
	private timer?: NodeJS.Timeout;
	private polling?: Promise<void>;
	private closed = false;
	private memoryMb: number;

	constructor(opts: OpenStackDriverOptions) {
		this.opts = opts;
		this.book = new WorkerBook(opts);
		this.memoryMb = opts.memoryMb;
		this.nova = new NovaClient(opts.keystone);
		this.volumes = new WorkspaceVolumes({
			nova: this.nova,
			cinder: new CinderClient(opts.keystone),
			hatchery: opts.name,
			pollMs: opts.settings.pollMs,
			timeoutMs: opts.settings.buildTimeoutMs,
			stopped: () => this.closed,
			log: opts.log,
		});
		this.tag = hatcheryTag(opts.name);
	}

	/** Authenticates and lists this hatchery's servers once (bounded retries), then polls. */
	async start(): Promise<void> {
		const backoff = new Backoff({ baseMs: 200, maxMs: 5000 });
		for (;;) {
			try {
				await this.pollOnce();
				break;
			} catch (e) {
				if (!transient(e) || backoff.attempts >= 6)
					throw new Error(`openstack: cannot list servers: ${text(e)}`);
				await sleep(backoff.next());
			}
		}
		// What a job may ask: the largest flavor's RAM (the host's own RAM means nothing here).
		const flavors = await this.flavors().catch(() => undefined);
		if (flavors && flavors.length > 0) this.memoryMb = Math.max(...flavors.map((f) => f.ram));
		this.schedule(this.opts.settings.pollMs);
	}

	private schedule(ms: number): void {
		if (this.closed) return;
		this.timer = setTimeout(() => {
			void this.poll().then(
				() => {
					this.pollBackoff.reset();
					this.schedule(this.opts.settings.pollMs);
				},
				(e) => {
					const wait = Math.max(this.opts.settings.pollMs, this.pollBackoff.next());
					this.opts.log?.(`openstack: listing servers: ${text(e)}; again in ${wait} ms`);
					this.schedule(wait);
				},
			);
		}, ms);
		this.timer.unref();
	}

	/** One listing at a time: callers share the one in flight. */
	private poll(): Promise<void> {
		this.polling ??= this.pollOnce().finally(() => {
			this.polling = undefined;
		});
		return this.polling;
	}

	private async pollOnce(): Promise<void> {
		const from = Date.now();
		const servers = await this.nova.listServers([this.tag]);
		const seen = new Set<string>();
		for (const s of servers) {
			seen.add(s.id);
			this.observe(s);
		}
		for (const e of [...this.entries.values()]) {
			if (!e.serverId || seen.has(e.serverId) || (e.knownAt ?? 0) >= from) continue;
			this.vanished(e);
		}
	}

	private observe(s: NovaServer): void {
		const jobId = s.metadata?.[META_JOB];
		if (!jobId) return;
		let e = this.entries.get(s.name);
		const state = serverState(s);
		if (!e) {
			// A server of a previous instance: adopted while live (reconcile deletes it if its job is over).
			if (state.kind === "ended" || s.status === "DELETED") {
				void this.nova.deleteServer(s.id).catch(() => {});
				return;
			}
			e = {
				name: s.name,
				jobId,
				serverId: s.id,
				volumeId: s.metadata[META_VOLUME],
				startedAt: s.created ? Date.parse(s.created) : Date.now(),
				state: "provisioning",
				ours: false,
				adopted: true,
				knownAt: 0,
			};
			this.entries.set(s.name, e);
		}
		e.serverId ??= s.id;
		if (e.reported || e.deleting) return;
		if (state.kind === "provisioning") {
			if (Date.now() - e.startedAt > this.opts.settings.buildTimeoutMs) {
				this.ended(e, null, {
					reason: `server ${s.name} did not become ACTIVE within ${this.opts.settings.buildTimeoutMs} ms`,
					started: false,
				});
				void this.release(e);
			}
		} else if (state.kind === "running") {
			if (e.volumeId && !e.attached) void this.attach(e);
			else e.state = "running";
		} else if (state.kind === "failed") {
			this.opts.log?.(`${state.reason}: its job ${e.jobId} fails`);
			this.ended(e, null, { reason: state.reason, started: e.state === "running" });
			void this.release(e);
		} else {
			this.ended(e, 0);
			void this.release(e);
		}
	}

	private vanished(e: ServerEntry): void {
		this.entries.delete(e.name);
		if (!e.reported)
			this.ended(e, null, { reason: `server ${e.name} vanished`, started: e.state === "running" });
	}

	private ended(e: ServerEntry, code: number | null, failure?: WorkerHandle["failure"]): void {
		this.book.end(e, code, failure, e.deleting === true);
	}

	/** Attaches the workspace volume of an ACTIVE server (or finds it attached: adopted servers). */
	private async attach(e: ServerEntry): Promise<void> {
		if (e.attaching || !e.serverId || !e.volumeId) return;
		e.attaching = true;
		try {
			await this.volumes.attach(e.serverId, e.volumeId);
			e.attached = true;
			if (!e.reported && !e.deleting) e.state = "running";
		} catch (err) {
			if (e.reported || e.deleting) return;
			this.ended(e, null, {
				reason: `attaching workspace volume ${e.volumeId}: ${text(err)}`,
				started: false,
			});
			void this.release(e);
		} finally {
			e.attaching = false;
		}
	}

	/** The job is over for this server: detach its workspace volume (wait available), delete it. */
	private async release(e: ServerEntry): Promise<void> {
		if (e.deleting) return;
		e.deleting = true;
		const id = e.serverId;
		if (!id) return;
		try {
			if (e.volumeId) await this.volumes.detach(id, e.volumeId);
		} catch (err) {
			this.opts.log?.(`server ${e.name}: ${text(err)}`);
		}
		await this.retry(`deleting server ${e.name}`, () => this.nova.deleteServer(id)).catch((err) =>
			this.opts.log?.(text(err)),
		);
	}

	private retry<T>(what: string, call: () => Promise<T>, retry?: (e: unknown) => boolean) {
		return retrying(what, call, { retry, stopped: () => this.closed });
	}

	async capabilities(): Promise<HatcheryCapabilities> {
		return remoteCapabilities({ ...this.opts, memoryMb: this.memoryMb });
	}

	async capacity(): Promise<HatcheryCapacity> {
		return this.book.capacity(this.entries.values(), 0);
	}

	async freeSlots(): Promise<number> {
		return this.book.freeSlots(this.entries.values(), 0);
	}

	/**
	 * Every server is listed `unconfirmed`: ACTIVE (and its power state) is what its compute
	 * host's nova-compute last wrote, and stays so after that host died — Nova changes no server
	 * of a dead host by itself. Its `host_status` (microversion 2.16, admin-only by default) turns
	 * UNKNOWN only once the service missed its reports for `service_down_time` (60 s by default),
	 * so even UP proves no life within the heartbeat timeout. Vouching for them would keep a dead
	 * host's jobs Building for good (until someone evacuates or deletes the server); their
	 * workers' own heartbeats tell instead.
	 */
	async list(): Promise<WorkerHandle[]> {
		return this.book.handles(this.entries.values()).map((h) => ({ ...h, unconfirmed: true }));
	}

	onExit(listener: (h: WorkerHandle, code: number | null) => void): void {
		this.book.onExit(listener);
	}

	private async flavors(): Promise<NovaFlavor[]> {
		this.flavorCache ??= await this.nova.flavors();
		return this.flavorCache;
	}

	private async imageId(name: string): Promise<string> {
		try {
			this.imageCache ??= await this.nova.images();
			return resolveImage(this.imageCache, name);
		} catch (e) {
			if (e instanceof OpenStackError) throw e;
			// Images come and go: look again once before giving up.
			this.imageCache = await this.nova.images();
			return resolveImage(this.imageCache, name);
		}
	}

	async spawn(a: WorkerAssignment): Promise<WorkerHandle> {
		const s = this.opts.settings;
		const name = serverName(this.opts.name, a.jobId, `${Date.now()}-${Math.random()}`);
		const entry: ServerEntry = {
			name,
			jobId: a.jobId,
			startedAt: Date.now(),
			state: "provisioning",
			ours: true,
		};
		this.entries.set(name, entry);
		try {
			const flavors = await this.retry("listing flavors", () => this.flavors());
			const flavor = chooseFlavor(flavors, a.requirements.memoryMb, s.defaultFlavor);
			const imageName = imageNameFor(a.requirements.model, s);
			const imageRef = await this.retry("finding the image", () => this.imageId(imageName));
			const volume = a.workspace ? await this.volumes.ready(a.workspace) : undefined;
			entry.volumeId = volume?.id;
			const userData = renderUserData({
				apiUrl: a.apiUrl,
				token: a.token,
				jobId: a.jobId,
				workerCommand: s.workerCommand,
				env: { ...this.opts.workerEnv, CDS_WORKER_NAME: name },
				workspace:
					a.workspace && volume
						? { ws: a.workspace, volumeId: volume.id, path: `${s.workspaceMount}/${a.workspace.id}` }
						: undefined,
				attachWaitSeconds: Math.ceil(s.buildTimeoutMs / 1000),
			});
			// Retried only when Nova said it did nothing (429, 503): a lost answer may hide a server.
			const serverId = await this.retry(
				`creating server ${name}`,
				() =>
					this.nova.createServer({
						name,
						flavorRef: flavor.id,
						imageRef,
						networks: s.network ? [{ uuid: s.network }] : "auto",
						...(s.keyPair ? { key_name: s.keyPair } : {}),
						metadata: serverMetadata(this.opts.name, a, volume?.id),
						tags: [this.tag, TAG_MANAGED],
						user_data: Buffer.from(userData).toString("base64"),
					}),
				(e) => e instanceof OpenStackError && (e.status === 429 || e.status === 503),
			).catch((e) => {
				if (e instanceof OpenStackError && (e.status === 403 || e.status === 413))
					throw new Error(`Nova refused the server (quota): ${e.message}`);
				throw e;
			});
			entry.serverId = serverId;
			entry.knownAt = Date.now();
			return entry;
		} catch (e) {
			this.entries.delete(name);
			throw new Error(`openstack: ${text(e)}`);
		}
	}

	async kill(jobId: string): Promise<void> {
		const e = [...this.entries.values()].find((x) => x.jobId === jobId && !x.reported);
		if (!e) return;
		await this.release(e);
	}

	async reconcile(liveJobs: readonly string[]): Promise<ReconcileResult> {
		await this.poll();
		const live = new Set(liveJobs);
		let adopted = 0;
		let killed = 0;
		const withServer = new Set<string>();
		for (const e of [...this.entries.values()]) {
			if (e.reported) continue;
			if (e.jobId) withServer.add(e.jobId);
			if (e.jobId && live.has(e.jobId)) {
				if (!e.ours && e.adopted) adopted++;
			} else if (!e.deleting) {
				this.opts.log?.(`server ${e.name}: its job ${e.jobId} is over: deleted`);
				e.reported = true;
				await this.release(e);
				killed++;
			}
		}
		// A live job of this hatchery without a server at two reconciles in a row: its server
		// vanished while no instance looked. Its job fails now.
		this.book.judgeMissing(liveJobs, withServer, (jobId) => ({
			name: `server of ${jobId}`,
			reason: "its server is gone",
		}));
		return { adopted, killed };
	}

	async deleteWorkspace(id: string): Promise<void> {
		await this.volumes.delete(id);
	}

	async close(options: { leaveRunning?: boolean } = {}): Promise<void> {
		this.closed = true;
		if (this.timer) clearTimeout(this.timer);
		if (options.leaveRunning) return;
		await Promise.all(
			[...this.entries.values()].filter((e) => !e.deleting).map((e) => this.release(e).catch(() => {})),
		);
	}
}

function text(e: unknown): string {
	if (e instanceof Error) return e.message.split("\n")[0]!.slice(0, 500);
	return String(e).slice(0, 500);
}

function sleep(ms: number): Promise<void> {
	return new Promise((r) => setTimeout(r, ms));
}
