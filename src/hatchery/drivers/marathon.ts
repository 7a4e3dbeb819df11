// The Marathon hatchery: one Marathon app per job (`instances: 1`), under a group of this
// hatchery's own (CDS_MARATHON_APP_PREFIX/<hatchery>), labelled with the hatchery and the job.
// The app definition holds no token (anyone with read access to Marathon sees it): the
// worker's assignment comes from a one-time URL the hatchery serves (../marathon/assignments.ts).
//
// The driver reads its apps (label selector, tasks and last failures embedded) every
// CDS_MARATHON_POLL_MS: a restarted hatchery of the same name finds the apps of its previous
// instance at once and adopts those whose job is live. Reconciliation both ways: apps whose
// job is over are deleted; a job whose app ended without its worker reporting — its task lost,
// dropped, killed as unhealthy, its assignment not fetched —, or that does not start within
// CDS_MARATHON_START_TIMEOUT_MS, is reported with Marathon's reason (WorkerHandle.failure),
// which the hatchery turns into the job's failure; a live job whose app vanished fails too.
// Every app is deleted at its job's end: Marathon would otherwise relaunch it.

import type { HatcherySettings } from "../../../config/hatchery.ts";
import type { MarathonSettings } from "../../../config/marathon.ts";
import type { HatcheryCapabilities } from "../../engine/requirements.ts";
import { MarathonClient, MarathonError } from "../../marathon/client.ts";
import type { MarathonApp, QueueItem } from "../../marathon/types.ts";
import type { SandboxPlan } from "../../sandbox/plan.ts";
import type {
	HatcheryCapacity,
	HatcheryDriver,
	ReconcileResult,
	WorkerAssignment,
	WorkerHandle,
} from "../contract.ts";
import { WorkerBook } from "../worker-book.ts";
import { appState, notStartedReason } from "../marathon/app-state.ts";
import {
	appId,
	assignmentLine,
	hatcheryGroup,
	LABEL_HATCHERY,
	LABEL_JOB,
	workerApp,
} from "../marathon/app-spec.ts";
import { AssignmentServer } from "../marathon/assignments.ts";
import { sandboxFor } from "./local.ts";
import {
	type RemoteWorkerOptions,
	remoteCapabilities,
	remoteWorkerOptions,
} from "./remote-worker-options.ts";

export interface MarathonDriverOptions extends RemoteWorkerOptions {
	settings: MarathonSettings;
}

interface AppEntry extends WorkerHandle {
	appId: string;
	/** A task of it was seen (staging or running): an app without one has ended. */
	seenTask?: boolean;
	/** Its task was seen running. */
	seenRunning?: boolean;
	/** Deleted by this driver (job over, stopped): its end is no failure. */
	deleting?: boolean;
	reported?: boolean;
	ours: boolean;
	/** When this instance learnt of the app: a list asked for before cannot show it. */
	knownAt: number;
}

export async function createMarathonDriver(
	settings: HatcherySettings,
	log?: (msg: string) => void,
): Promise<MarathonDriver> {
	const sandbox: SandboxPlan = sandboxFor(settings, log);
	const driver = new MarathonDriver({
		settings: settings.marathon,
		...remoteWorkerOptions(settings, sandbox),
		log,
	});
	await driver.start();
	return driver;
}

export class MarathonDriver implements HatcheryDriver {
	readonly kind = "marathon";
	readonly client: MarathonClient;
	readonly assignments: AssignmentServer;
	private readonly opts: MarathonDriverOptions;
	private readonly apps = new Map<string, AppEntry>();
	private readonly book: WorkerBook;
	private readonly spawning = new Set<string>();
	private timer?: NodeJS.Timeout;
	private polling?: Promise<void>;
	private closed = false;

	constructor(opts: MarathonDriverOptions) {
		this.opts = opts;
		this.book = new WorkerBook(opts);
		const m = opts.settings;
		this.client = new MarathonClient({
			url: m.url ?? "",
			auth: m.token
				? { token: m.token }
				: m.user
					? { username: m.user, password: m.password ?? "" }
					: undefined,
			timeoutMs: m.requestTimeoutMs,
		});
		this.assignments = new AssignmentServer(opts.log);
	}

	/** Serves assignments, reads this hatchery's apps once (adoption), then keeps reading them. */
	async start(): Promise<void> {
		await this.assignments.listen(this.opts.settings.assignmentListen, this.opts.settings.assignmentUrl);
		await this.poll();
		const tick = () => {
			this.timer = setTimeout(async () => {
				await this.poll().catch((e) => this.opts.log?.(`marathon: ${(e as Error).message}`));
				if (!this.closed) tick();
			}, this.opts.settings.pollMs);
			this.timer.unref();
		};
		tick();
	}

	/** One read of this hatchery's apps (shared by concurrent callers). */
	private poll(): Promise<void> {
		this.polling ??= this.readApps().finally(() => {
			this.polling = undefined;
		});
		return this.polling;
	}

	private async readApps(): Promise<void> {
		const asked = Date.now();
		const apps = await this.client.listApps({
			label: `${LABEL_HATCHERY}==${this.opts.name}`,
			embed: ["apps.tasks", "apps.lastTaskFailure"],
		});
		const group = `${hatcheryGroup(this.opts.settings.appPrefix, this.opts.name)}/`;
		const mine = apps.filter((a) => a.id.startsWith(group) && a.labels?.[LABEL_JOB]);
		let queue: QueueItem[] | undefined;
		if (mine.some((a) => (a.tasks ?? []).length === 0))
			queue = await this.client.queue().catch(() => undefined);
		const seen = new Set<string>();
		for (const app of mine) {
			seen.add(app.id);
			this.observe(
				app,
				queue?.find((q) => q.app?.id === app.id),
			);
		}
		for (const e of this.apps.values())
			if (!seen.has(e.appId) && !this.spawning.has(e.appId) && e.knownAt < asked) {
				this.apps.delete(e.appId);
				this.ended(
					e,
					null,
					e.deleting
						? undefined
						: { reason: `marathon app ${e.appId} was deleted`, started: e.state === "running" },
				);
			}
		this.assignments.forget();
	}

	private observe(app: MarathonApp, queued: QueueItem | undefined): void {
		let e = this.apps.get(app.id);
		if (!e) {
			// An app scaled to 0 that this instance never knew is on its way out: nothing to adopt.
			if (!this.spawning.has(app.id) && app.instances === 0) return;
			e = {
				name: app.id,
				appId: app.id,
				jobId: app.labels![LABEL_JOB]!,
				startedAt: Date.parse(app.version) || Date.now(),
				state: "provisioning",
				ours: this.spawning.has(app.id),
				adopted: this.spawning.has(app.id) ? undefined : true,
				knownAt: Date.now(),
			};
			this.apps.set(app.id, e);
		}
		if (e.reported) return;
		if ((app.tasks ?? []).length > 0) e.seenTask = true;
		const s = appState(app, queued, {
			task: e.seenTask === true,
			running: e.seenRunning === true || e.adopted === true,
		});
		if (s.kind === "running") {
			e.state = "running";
			e.seenRunning = true;
		} else if (s.kind === "provisioning") {
			e.state = "provisioning";
			if (!e.deleting && Date.now() - e.startedAt > this.opts.settings.startTimeoutMs) {
				const reason = `marathon app not started in ${Math.round(this.opts.settings.startTimeoutMs / 1000)}s: ${notStartedReason(queued)}`;
				this.opts.log?.(`${app.id} of job ${e.jobId}: ${reason}`);
				this.ended(e, null, { reason, started: false });
				void this.deleteApp(e);
			}
		} else {
			this.ended(
				e,
				s.exitCode,
				s.failure ? { reason: s.failure, started: e.seenRunning === true } : undefined,
			);
			void this.deleteApp(e);
		}
	}

	private ended(e: AppEntry, code: number | null, failure?: WorkerHandle["failure"]): void {
		this.book.end(e, code, failure, e.deleting === true);
	}

	async capabilities(): Promise<HatcheryCapabilities> {
		return remoteCapabilities(this.opts);
	}

	async capacity(): Promise<HatcheryCapacity> {
		return this.book.capacity(
			this.apps.values(),
			[...this.spawning].filter((id) => !this.apps.has(id)).length,
		);
	}

	async freeSlots(): Promise<number> {
		return this.book.freeSlots(
			this.apps.values(),
			[...this.spawning].filter((id) => !this.apps.has(id)).length,
		);
	}

	/**
	 * Every app is listed `unconfirmed`: its task's TASK_RUNNING is what Mesos last told
	 * Marathon, and a task whose agent's machine died stays so until the Mesos master removes
	 * the agent (75 s by default) and Marathon hears TASK_UNREACHABLE — then the instance is
	 * `Unreachable`, replaced only after its `unreachableStrategy`. Marathon's API tells no
	 * agent's liveness before that. Vouching for them would keep a dead agent's jobs Building that
	 * long; their workers' own heartbeats tell instead.
	 */
	async list(): Promise<WorkerHandle[]> {
		return this.book.handles(this.apps.values()).map((h) => ({ ...h, unconfirmed: true }));
	}

	onExit(listener: (h: WorkerHandle, code: number | null) => void): void {
		this.book.onExit(listener);
	}

	async spawn(a: WorkerAssignment): Promise<WorkerHandle> {
		const m = this.opts.settings;
		const id = appId(m.appPrefix, this.opts.name, a.jobId, `${Date.now()}-${Math.random()}`);
		this.spawning.add(id);
		try {
			const url = this.assignments.offer(id, assignmentLine(a), m.startTimeoutMs);
			const def = workerApp({
				hatchery: this.opts.name,
				assignment: a,
				settings: m,
				id,
				assignmentUrl: url,
				workerEnv: this.opts.workerEnv,
			});
			await this.client.createApp(def).catch((e) => {
				// A retry after a lost answer finds the app made.
				if (e instanceof MarathonError && e.status === 409 && /already exists/.test(e.message)) return;
				throw e;
			});
			const entry: AppEntry = this.apps.get(id) ?? {
				name: id,
				appId: id,
				jobId: a.jobId,
				startedAt: Date.now(),
				state: "provisioning",
				ours: true,
				knownAt: Date.now(),
			};
			entry.ours = true;
			entry.adopted = undefined;
			this.apps.set(id, entry);
			return entry;
		} catch (e) {
			this.assignments.forget(id);
			throw e;
		} finally {
			this.spawning.delete(id);
		}
	}

	private async deleteApp(e: AppEntry): Promise<void> {
		if (e.deleting) return;
		e.deleting = true;
		this.assignments.forget(e.appId);
		await this.client
			.deleteApp(e.appId, { force: true })
			.catch((err) => this.opts.log?.(`marathon: deleting ${e.appId}: ${(err as Error).message}`));
	}

	async kill(jobId: string): Promise<void> {
		const e = [...this.apps.values()].find((x) => x.jobId === jobId && !x.reported);
		if (!e) return;
		await this.deleteApp(e);
	}

	async reconcile(liveJobs: readonly string[]): Promise<ReconcileResult> {
		await this.poll();
		const live = new Set(liveJobs);
		let adopted = 0;
		let killed = 0;
		const withApp = new Set<string>();
		for (const e of this.apps.values()) {
			if (e.reported) {
				// Ended, but its deletion failed or was missed: delete it again.
				if (!live.has(e.jobId ?? "")) await this.deleteApp({ ...e, deleting: false });
				continue;
			}
			if (e.jobId) withApp.add(e.jobId);
			if (e.jobId && live.has(e.jobId)) {
				if (!e.ours && e.adopted) adopted++;
			} else if (!e.deleting) {
				this.opts.log?.(`marathon app ${e.appId}: its job ${e.jobId} is over: deleted`);
				e.reported = true;
				await this.deleteApp(e);
				killed++;
			}
		}
		// A live job of this hatchery without an app at two reconciles in a row: its app vanished
		// while no instance watched. Its job fails now.
		this.book.judgeMissing(liveJobs, withApp, (jobId) => ({
			name: jobId,
			reason: "its Marathon app is gone",
		}));
		return { adopted, killed };
	}

	async close(options: { leaveRunning?: boolean } = {}): Promise<void> {
		this.closed = true;
		clearTimeout(this.timer);
		await this.polling?.catch(() => {});
		await this.assignments.close();
		if (!options.leaveRunning)
			await Promise.all([...this.apps.values()].filter((e) => !e.deleting).map((e) => this.deleteApp(e)));
		await this.client.close();
	}
}
