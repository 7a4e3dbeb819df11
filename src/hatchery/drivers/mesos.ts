// The Mesos hatchery: a Mesos framework over the v1 scheduler HTTP API (src/mesos). A booked
// job is queued until an offer matches what its task needs (cpus, memory, agent attributes),
// then launched as one task on that offer (ACCEPT + LAUNCH); offers nobody needs are declined
// with a refuse filter, and offers are SUPPRESSed while no job waits and REVIVEd when one comes.
// Every status update carrying a uuid is ACKNOWLEDGEd (else the agent sends it again).
//
// The framework id is kept (src/mesos/framework-id.ts) and the framework registers with a
// failover_timeout: a hatchery restarted within it SUBSCRIBEs with the same id, keeps its
// tasks, and learns them by an implicit RECONCILE (task ids carry the job id: task-id.ts), so it
// adopts them; a task that ended while no instance listened has its terminal status redelivered
// (never acknowledged): its live job fails with it at the next reconcile. Beyond the timeout the
// master has killed the tasks and refuses the id (ERROR): the live jobs without a task fail at
// the new framework's first reconcile. Without any such evidence, a live job still without a
// task at two reconciles in a row of one subscription fails too (its end was missed).
// A stream that ends, or that misses its heartbeats (three intervals, the interval given by
// SUBSCRIBED), is re-subscribed; a non-leading master's 307 is followed to the leader.
//
// The token is in neither the task's definition nor its environment: the task's shell fetches
// its assignment once from this hatchery (src/mesos/assignment-server.ts) into the worker's
// stdin. Task states map to worker states and failure reasons in src/mesos/task-state.ts.

import os from "node:os";
import type { HatcherySettings } from "../../../config/hatchery.ts";
import type { MesosSettings } from "../../../config/mesos.ts";
import { ConfigError } from "../../../config/settings.ts";
import type { HatcheryCapabilities } from "../../engine/requirements.ts";
import { Backoff } from "../../hooks/backoff.ts";
import { AssignmentServer } from "../../mesos/assignment-server.ts";
import { type FrameworkIdKeeper, frameworkIdKeeper } from "../../mesos/framework-id.ts";
import { matchOffer, type TaskNeeds, taskResources } from "../../mesos/offer-match.ts";
import type { Call, Event, Offer, TaskInfo, TaskStatus } from "../../mesos/scheduler-api.ts";
import { SchedulerClient, type Subscription } from "../../mesos/scheduler-client.ts";
import { jobOfTask, taskIdFor } from "../../mesos/task-id.ts";
import { taskOutcome } from "../../mesos/task-state.ts";
import type {
	HatcheryCapacity,
	HatcheryDriver,
	ReconcileResult,
	WorkerAssignment,
	WorkerHandle,
} from "../contract.ts";
import { WorkerBook } from "../worker-book.ts";
import { sandboxFor } from "./local.ts";
import {
	type RemoteWorkerOptions,
	remoteCapabilities,
	remoteWorkerOptions,
} from "./remote-worker-options.ts";

/** Heartbeat intervals without any event after which the stream is deemed dead. */
const MISSED_HEARTBEATS = 3;
/** How long the answers of an implicit reconciliation may keep coming at start. */
const RECONCILE_QUIET_MS = 400;
/** The longest a restarted hatchery waits at start for the first of those answers. */
const ADOPTION_WAIT_MS = 3000;

export interface MesosDriverOptions extends RemoteWorkerOptions {
	settings: MesosSettings;
	keeper: FrameworkIdKeeper;
}

interface TaskEntry extends WorkerHandle {
	taskId: string;
	needs: TaskNeeds;
	/** Kept while the task waits for an offer (and may be relaunched after a dropped launch). */
	assignment?: WorkerAssignment;
	/** Set while waiting for an offer. */
	queuedAt?: number;
	launchedAt?: number;
	agentId?: string;
	seenRunning?: boolean;
	/** This driver sent the KILL: the end is no failure. */
	killing?: boolean;
	reported?: boolean;
	ours: boolean;
}

/** The registry's factory: the node's hatchery settings → a Mesos framework, subscribed already. */
export async function createMesosDriver(
	settings: HatcherySettings,
	log?: (msg: string) => void,
): Promise<MesosDriver> {
	const m = settings.mesos;
	if (m.masters.length === 0)
		throw new ConfigError(
			"CDS_HATCHERY_DRIVER=mesos needs CDS_MESOS_MASTERS (the masters' http://host:5050 URLs)",
		);
	const driver = new MesosDriver({
		settings: m,
		...remoteWorkerOptions(settings, sandboxFor(settings, log)),
		keeper: await frameworkIdKeeper(settings.name, m.storeUrl, settings.dataDir),
		log,
	});
	await driver.start();
	return driver;
}

export class MesosDriver implements HatcheryDriver {
	readonly kind = "mesos";
	private readonly opts: MesosDriverOptions;
	private readonly client: SchedulerClient;
	private readonly assignments = new AssignmentServer();
	/** By task id. */
	private readonly tasks = new Map<string, TaskEntry>();
	private readonly book: WorkerBook;
	private readonly backoff = new Backoff({ baseMs: 200, maxMs: 5000 });
	private frameworkId?: string;
	private sub?: Subscription;
	private subscribed = false;
	/** What the master was last told on this subscription (undefined: not known — a call failed). */
	private suppressed: boolean | undefined = false;
	/**
	 * SUPPRESS and REVIVE go one after the other, each once the previous one was answered: two
	 * calls on two connections reach the master in either order, and a REVIVE that overtakes the
	 * SUPPRESS before it leaves the master suppressed while this driver believes it revived — no
	 * offer, no job launched, ever (nothing toggles it again while jobs keep waiting).
	 */
	private suppression: Promise<void> = Promise.resolve();
	/** Counts subscriptions: a SUPPRESS/REVIVE of an earlier one is not sent on a later one. */
	private generation = 0;
	private heartbeatMs = 15_000;
	private lastEventAt = Date.now();
	private lastUpdateAt = 0;
	private watchdog?: NodeJS.Timeout;
	private onSubscribed?: () => void;
	/** Live jobs without a task at the last reconcile of this subscription: failed when still so at the next. */
	private missing = new Set<string>();
	/**
	 * Jobs whose task (a previous instance's) ended while no instance listened: the master
	 * redelivers that unacknowledged terminal status after the restart. The evidence a live job's
	 * task is gone, with the reason.
	 */
	private readonly endedUnheard = new Map<string, string>();
	/**
	 * The master refused the kept framework id (removed: it outlived its failover timeout, or was
	 * torn down): every task of the previous instance is gone — evidence for each live job of
	 * this hatchery that has no task in this instance.
	 */
	private previousFrameworkRemoved = false;
	private closed = false;
	private loop?: Promise<void>;

	constructor(opts: MesosDriverOptions) {
		this.opts = opts;
		this.book = new WorkerBook(opts);
		this.client = new SchedulerClient({
			masters: opts.settings.masters,
			principal: opts.settings.principal,
			secret: opts.settings.secret,
		});
	}

	private log(msg: string): void {
		this.opts.log?.(`mesos: ${msg}`);
	}

	/** Serves assignments, subscribes, and waits (bounded) for the answers of the implicit reconcile. */
	async start(): Promise<void> {
		const s = this.opts.settings;
		await this.assignments.listen(s.assignmentListen.host, s.assignmentListen.port, s.assignmentUrl);
		this.frameworkId = await this.opts.keeper.load();
		const hadId = this.frameworkId !== undefined;
		const subscribed = new Promise<void>((resolve) => {
			this.onSubscribed = resolve;
		});
		this.loop = this.connectLoop();
		const gaveUp = await Promise.race([subscribed.then(() => false), sleep(10_000).then(() => true)]);
		if (gaveUp) {
			this.log("no master answered within 10 s; still trying");
			return;
		}
		// A framework of a previous instance may have tasks: the answers of the implicit
		// reconciliation (no end marker in the API) are awaited a little, so the first reconcile
		// of the hatchery finds them adopted. A new framework has none.
		if (!hadId || !this.subscribed) return;
		const since = this.lastUpdateAt;
		const deadline = Date.now() + ADOPTION_WAIT_MS;
		while (Date.now() < deadline && this.lastUpdateAt === since) await sleep(50);
		while (Date.now() < deadline && Date.now() - this.lastUpdateAt < RECONCILE_QUIET_MS) await sleep(50);
	}

	private frameworkInfo() {
		const s = this.opts.settings;
		return {
			user: s.user,
			name: `cds-hatchery-${this.opts.name}`,
			...(this.frameworkId ? { id: { value: this.frameworkId } } : {}),
			failover_timeout: s.failoverTimeoutSeconds,
			checkpoint: true,
			role: s.role,
			hostname: os.hostname(),
			...(s.principal ? { principal: s.principal } : {}),
			// TASK_DROPPED / UNREACHABLE / GONE say more than TASK_LOST about why a job's worker went.
			capabilities: [{ type: "PARTITION_AWARE" as const }],
		};
	}

	private async connectLoop(): Promise<void> {
		while (!this.closed) {
			try {
				const call: Call = {
					type: "SUBSCRIBE",
					...(this.frameworkId ? { framework_id: { value: this.frameworkId } } : {}),
					subscribe: { framework_info: this.frameworkInfo() },
				};
				this.lastEventAt = Date.now();
				const sub = await this.client.subscribe(call, (e) => this.onEvent(e));
				this.sub = sub;
				if (this.closed) sub.close();
				this.watch();
				const why = await sub.ended;
				if (!this.closed) this.log(`${why} (${sub.master}); subscribing again`);
			} catch (e) {
				if (!this.closed) this.log((e as Error).message);
			}
			this.subscribed = false;
			if (this.watchdog) clearInterval(this.watchdog);
			if (this.closed) return;
			await sleep(this.backoff.next());
		}
	}

	/** A stream silent for MISSED_HEARTBEATS intervals is dead although its socket lives: drop it. */
	private watch(): void {
		if (this.watchdog) clearInterval(this.watchdog);
		this.watchdog = setInterval(
			() => {
				if (Date.now() - this.lastEventAt > MISSED_HEARTBEATS * this.heartbeatMs) {
					this.log(`no heartbeat for ${MISSED_HEARTBEATS} intervals: reconnecting`);
					this.sub?.close();
				}
			},
			Math.max(100, Math.min(1000, this.heartbeatMs / 2)),
		);
		this.watchdog.unref();
	}

	private send(call: Omit<Call, "framework_id">): void {
		if (!this.subscribed || !this.frameworkId) return;
		void this.client
			.call({ framework_id: { value: this.frameworkId }, ...call } as Call)
			.catch((e) => this.log((e as Error).message));
	}

	private onEvent(e: Event): void {
		this.lastEventAt = Date.now();
		switch (e.type) {
			case "SUBSCRIBED": {
				const id = e.subscribed!.framework_id.value;
				this.frameworkId = id;
				this.heartbeatMs = (e.subscribed!.heartbeat_interval_seconds ?? 15) * 1000;
				this.subscribed = true;
				// A new subscription starts unsuppressed (a new leader knows nothing of the last one's).
				this.suppressed = false;
				this.generation++;
				// "Missing at two reconciles in a row" counts within one subscription: both after its
				// implicit reconciliation was asked, never one before and one after a re-subscription.
				this.missing.clear();
				this.backoff.reset();
				void this.opts.keeper
					.save(id)
					.catch((err) => this.log(`keeping the framework id: ${(err as Error).message}`));
				// Implicit (every task of the framework: a previous instance's too) then explicit.
				this.lastUpdateAt = Date.now();
				this.send({ type: "RECONCILE", reconcile: { tasks: [] } });
				this.reconcileKnown();
				// KILLs sent while no master listened are lost: again.
				for (const t of this.tasks.values())
					if (t.killing && !t.reported && t.launchedAt !== undefined) this.killTask(t);
				this.updateSuppression();
				this.onSubscribed?.();
				return;
			}
			case "OFFERS":
				this.handleOffers(e.offers?.offers ?? []);
				return;
			case "UPDATE":
				this.handleUpdate(e.update!.status);
				return;
			case "RESCIND":
				// Nothing kept: an ACCEPT that crossed it gets TASK_DROPPED, and its job waits again.
				return;
			case "INVERSE_OFFERS":
			case "RESCIND_INVERSE_OFFER":
				// Maintenance windows: worker tasks are short and nothing here reschedules them.
				return;
			case "MESSAGE":
				return;
			case "FAILURE":
				if (e.failure?.agent_id) this.log(`agent ${e.failure.agent_id.value} lost`);
				return;
			case "ERROR": {
				// Mesos' advice: give the subscription up. Instead of SUBSCRIBED it means the
				// subscription is refused — mostly "framework removed" (failover timeout passed,
				// torn down): the id is worth nothing any more. After SUBSCRIBED (another
				// instance took the framework over): subscribe again, with the same id.
				const refused = !this.subscribed;
				this.log(
					`error from the master: ${e.error?.message ?? "?"}${refused ? ": subscribing as a new framework" : ""}`,
				);
				if (refused) {
					if (this.frameworkId) this.previousFrameworkRemoved = true;
					this.frameworkId = undefined;
					void this.opts.keeper.clear().catch(() => {});
				}
				this.subscribed = false;
				this.sub?.close();
				return;
			}
			case "HEARTBEAT":
				return;
		}
	}

	private reconcileKnown(): void {
		const tasks = [...this.tasks.values()]
			.filter((t) => !t.reported && t.launchedAt !== undefined)
			.map((t) => ({
				task_id: { value: t.taskId },
				...(t.agentId ? { agent_id: { value: t.agentId } } : {}),
			}));
		if (tasks.length > 0) this.send({ type: "RECONCILE", reconcile: { tasks } });
	}

	private waiting(): TaskEntry[] {
		return [...this.tasks.values()].filter((t) => t.queuedAt !== undefined && !t.reported);
	}

	private updateSuppression(): void {
		const want = this.waiting().length === 0;
		if (want === this.suppressed || !this.subscribed || !this.frameworkId) return;
		this.suppressed = want;
		const generation = this.generation;
		const frameworkId = this.frameworkId;
		const call = (want ? { type: "SUPPRESS", suppress: {} } : { type: "REVIVE", revive: {} }) as Call;
		this.suppression = this.suppression.then(async () => {
			if (generation !== this.generation || !this.subscribed) return;
			try {
				await this.client.call({ ...call, framework_id: { value: frameworkId } });
			} catch (e) {
				this.log((e as Error).message);
				// Unknown now: the next updateSuppression (maintain's at the latest) tells it again.
				if (generation === this.generation && this.suppressed === want) this.suppressed = undefined;
			}
		});
	}

	private handleOffers(offers: Offer[]): void {
		const refuse = { refuse_seconds: this.opts.settings.refuseSeconds };
		const declined: Offer[] = [];
		for (const offer of offers) {
			const queue = this.waiting();
			const taken = matchOffer(
				offer,
				queue.map((t) => t.needs),
			);
			if (taken.length === 0) {
				declined.push(offer);
				continue;
			}
			const infos: TaskInfo[] = [];
			for (const i of taken) {
				const t = queue[i]!;
				infos.push(this.taskInfo(t, offer));
				t.queuedAt = undefined;
				t.launchedAt = Date.now();
				t.agentId = offer.agent_id.value;
			}
			this.send({
				type: "ACCEPT",
				accept: {
					offer_ids: [offer.id],
					operations: [{ type: "LAUNCH", launch: { task_infos: infos } }],
					filters: refuse,
				},
			});
		}
		if (declined.length > 0)
			this.send({ type: "DECLINE", decline: { offer_ids: declined.map((o) => o.id), filters: refuse } });
		this.updateSuppression();
	}

	private taskInfo(t: TaskEntry, offer: Offer): TaskInfo {
		const s = this.opts.settings;
		const a = t.assignment!;
		const line = `${JSON.stringify({ type: "assign", apiUrl: a.apiUrl, token: a.token, jobId: a.jobId })}\n`;
		const url = this.assignments.offer(a.jobId, line, s.startTimeoutMs + 60_000);
		const fetch = s.fetchCommand.split(/\s+/).filter(Boolean).map(shellQuote).join(" ");
		const worker = s.workerCommand.split(/\s+/).filter(Boolean);
		const env = { ...this.opts.workerEnv, CDS_WORKER_NAME: t.taskId };
		return {
			name: `cds-worker ${a.jobId}`.slice(0, 200),
			task_id: { value: t.taskId },
			agent_id: offer.agent_id,
			resources: taskResources(t.needs, s.role),
			command: {
				shell: false,
				value: "/bin/sh",
				// The fetched line is the worker's stdin; the spent URL is all a step could see.
				arguments: ["sh", "-c", `u=$1; shift; ${fetch} "$u" | exec "$@"`, "cds-worker", url, ...worker],
				environment: { variables: Object.entries(env).map(([name, value]) => ({ name, value })) },
			},
			labels: {
				labels: [
					{ key: "cds-ts.ovh/job-id", value: a.jobId },
					{ key: "cds-ts.ovh/hatchery", value: this.opts.name },
				],
			},
		};
	}

	private handleUpdate(status: TaskStatus): void {
		this.lastUpdateAt = Date.now();
		if (status.uuid && status.agent_id)
			this.send({
				type: "ACKNOWLEDGE",
				acknowledge: { agent_id: status.agent_id, task_id: status.task_id, uuid: status.uuid },
			});
		const id = status.task_id.value;
		let t = this.tasks.get(id);
		if (!t) {
			const jobId = jobOfTask(this.opts.name, id);
			const outcome = taskOutcome(status, false, false);
			if (jobId && outcome.kind === "over") this.endedUnheard.set(jobId, unheardEnd(status, outcome.failure));
			if (!jobId || outcome.kind === "over" || outcome.kind === "requeue") return;
			// A task of a previous instance of this hatchery: adopted (reconcile kills it if its job is over).
			t = {
				name: id,
				taskId: id,
				jobId,
				startedAt: Date.now(),
				state: "provisioning",
				needs: { cpus: 0, memMb: 0, attributes: {} },
				launchedAt: Date.now(),
				ours: false,
				adopted: true,
			};
			this.tasks.set(id, t);
		}
		if (t.reported) return;
		if (status.agent_id) t.agentId = status.agent_id.value;
		const outcome = taskOutcome(status, t.seenRunning === true, t.killing === true);
		switch (outcome.kind) {
			case "provisioning":
				if (!t.seenRunning) t.state = "provisioning";
				return;
			case "running":
				t.state = "running";
				t.seenRunning = true;
				// Kept until now for a relaunch after TASK_DROPPED; a started task is never relaunched.
				t.assignment = undefined;
				return;
			case "requeue": {
				this.log(`task ${id} dropped (${status.message ?? status.reason}): its job waits for another offer`);
				this.tasks.delete(id);
				this.assignments.forget(t.jobId!);
				const again: TaskEntry = {
					...t,
					taskId: taskIdFor(this.opts.name, t.jobId!),
					queuedAt: Date.now(),
					launchedAt: undefined,
					agentId: undefined,
				};
				again.name = again.taskId;
				this.tasks.set(again.taskId, again);
				this.updateSuppression();
				return;
			}
			case "over":
				// An adopted task's worker may have ended before it fetched its job from the previous
				// instance (then nobody reports the job), and this end may come before the hatchery
				// listens to exits (during start): kept as evidence for the next reconcile.
				if (!t.ours && t.jobId) this.endedUnheard.set(t.jobId, unheardEnd(status, outcome.failure));
				// An unreachable agent may come back with the task: it must not run on unwatched.
				if (status.state === "TASK_UNREACHABLE") this.killTask(t);
				this.ended(t, outcome.code, outcome.failure);
		}
	}

	private ended(t: TaskEntry, code: number | null, failure?: WorkerHandle["failure"]): void {
		if (t.reported) return;
		t.queuedAt = undefined;
		this.tasks.delete(t.taskId);
		if (t.jobId) this.assignments.forget(t.jobId);
		this.book.end(t, code, failure, t.killing === true);
		this.updateSuppression();
	}

	async capabilities(): Promise<HatcheryCapabilities> {
		return remoteCapabilities(this.opts);
	}

	async capacity(): Promise<HatcheryCapacity> {
		return this.book.capacity(this.tasks.values());
	}

	async freeSlots(): Promise<number> {
		return this.book.freeSlots(this.tasks.values());
	}

	/**
	 * Every task is listed `unconfirmed`: TASK_RUNNING is its agent's last word, and the master
	 * keeps saying it (to reconciliations too) after the agent's machine died, until it removes
	 * the agent for missing its health checks — `agent_ping_timeout` × `max_agent_ping_timeouts`,
	 * 15 s × 5 by default — and only then sends TASK_UNREACHABLE. The scheduler API tells no
	 * agent's liveness before that. Vouching for them would keep a dead agent's jobs Building that
	 * long; their workers' own heartbeats tell instead.
	 */
	async list(): Promise<WorkerHandle[]> {
		return this.book.handles(this.tasks.values()).map((h) => ({ ...h, unconfirmed: true }));
	}

	onExit(listener: (h: WorkerHandle, code: number | null) => void): void {
		this.book.onExit(listener);
	}

	async spawn(a: WorkerAssignment): Promise<WorkerHandle> {
		const s = this.opts.settings;
		const taskId = taskIdFor(this.opts.name, a.jobId);
		const t: TaskEntry = {
			name: taskId,
			taskId,
			jobId: a.jobId,
			startedAt: Date.now(),
			state: "provisioning",
			needs: {
				cpus: s.cpus,
				memMb: Math.max(s.memMb, a.requirements.memoryMb ?? 0),
				// A job's region is an agent attribute (Mesos' fault domains are agent attributes too).
				attributes: a.requirements.region ? { ...s.attributes, region: a.requirements.region } : s.attributes,
			},
			assignment: a,
			queuedAt: Date.now(),
			ours: true,
		};
		this.tasks.set(taskId, t);
		this.updateSuppression();
		return { name: t.name, jobId: t.jobId, startedAt: t.startedAt, state: t.state };
	}

	async kill(jobId: string): Promise<void> {
		for (const t of [...this.tasks.values()]) {
			if (t.jobId !== jobId || t.reported) continue;
			t.killing = true;
			if (t.launchedAt === undefined) this.ended(t, null);
			else this.killTask(t);
		}
	}

	private killTask(t: TaskEntry): void {
		this.send({
			type: "KILL",
			kill: { task_id: { value: t.taskId }, ...(t.agentId ? { agent_id: { value: t.agentId } } : {}) },
		});
	}

	/** Bounded waiting: a job no offer took, or whose task did not start, fails with the reason. */
	async maintain(): Promise<void> {
		// A SUPPRESS/REVIVE that failed is told again.
		this.updateSuppression();
		const limit = this.opts.settings.startTimeoutMs;
		const now = Date.now();
		for (const t of [...this.tasks.values()]) {
			if (t.reported) continue;
			if (t.queuedAt !== undefined && now - t.queuedAt > limit) {
				const n = t.needs;
				const attrs = Object.entries(n.attributes).map(([k, v]) => `${k}=${v}`);
				this.ended(t, null, {
					reason: `no Mesos offer matched its task (cpus ${n.cpus}, mem ${n.memMb} MiB${attrs.length ? `, ${attrs.join(", ")}` : ""}) within ${Math.round(limit / 1000)} s`,
					started: false,
				});
			} else if (
				t.launchedAt !== undefined &&
				!t.seenRunning &&
				t.ours &&
				!t.killing &&
				now - t.launchedAt > limit
			) {
				this.ended(t, null, {
					reason: `mesos task ${t.taskId} did not start within ${Math.round(limit / 1000)} s`,
					started: false,
				});
				t.killing = true;
				this.killTask(t);
			}
		}
	}

	async reconcile(liveJobs: readonly string[]): Promise<ReconcileResult> {
		const live = new Set(liveJobs);
		let adopted = 0;
		let killed = 0;
		const withTask = new Set<string>();
		for (const t of [...this.tasks.values()]) {
			if (t.reported) continue;
			if (t.jobId && live.has(t.jobId)) {
				withTask.add(t.jobId);
				if (!t.ours && t.adopted) adopted++;
			} else if (!t.killing) {
				this.log(`task ${t.taskId}: its job ${t.jobId} is over: killed`);
				await this.kill(t.jobId ?? "");
				killed++;
			} else if (t.launchedAt !== undefined) this.killTask(t); // its KILL may have been lost
		}
		for (const jobId of [...this.endedUnheard.keys()])
			if (!live.has(jobId) || withTask.has(jobId)) this.endedUnheard.delete(jobId);
		if (this.subscribed) {
			// A live job of this hatchery without a task: failed at once on evidence (the master
			// redelivered its task's end), else when still so at the next reconcile of this
			// subscription — lost while no instance listened (the framework outlived its failover
			// timeout). Not at one: the answers of an implicit reconciliation have no end marker.
			const missing = new Set(liveJobs.filter((j) => !withTask.has(j)));
			const removed = this.previousFrameworkRemoved;
			this.previousFrameworkRemoved = false;
			for (const jobId of missing) {
				const ended =
					this.endedUnheard.get(jobId) ??
					(removed
						? "its Mesos task is gone (the master removed its framework: it outlived its failover timeout, or was torn down)"
						: undefined);
				if (ended !== undefined || this.missing.has(jobId)) {
					this.endedUnheard.delete(jobId);
					missing.delete(jobId);
					this.taskGone(
						jobId,
						ended ??
							"its Mesos task is gone (its framework outlived the failover timeout, or its end was missed)",
					);
				}
			}
			this.missing = missing;
			this.reconcileKnown();
		}
		return { adopted, killed };
	}

	private taskGone(jobId: string, reason: string): void {
		this.book.lost(jobId, `mesos task of ${jobId}`, reason);
	}

	async close(options: { leaveRunning?: boolean } = {}): Promise<void> {
		if (!options.leaveRunning && this.subscribed && this.frameworkId) {
			// TEARDOWN kills every task of the framework and forgets it.
			await this.client
				.call({ type: "TEARDOWN", framework_id: { value: this.frameworkId } })
				.catch((e) => this.log(`teardown: ${(e as Error).message}`));
			await this.opts.keeper.clear().catch(() => {});
		}
		this.closed = true;
		if (this.watchdog) clearInterval(this.watchdog);
		this.sub?.close();
		await this.loop?.catch(() => {});
		await this.assignments.close();
		await this.opts.keeper.close().catch(() => {});
	}
}

/** Why a live job whose task of a previous instance ended cannot end well. */
function unheardEnd(status: TaskStatus, failure?: WorkerHandle["failure"]): string {
	return (
		failure?.reason ??
		`its Mesos task, launched by a previous hatchery instance, ended (${status.state.replace(/^TASK_/, "").toLowerCase()}) before its job did`
	);
}

function shellQuote(s: string): string {
	return /^[A-Za-z0-9_./=:-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function sleep(ms: number): Promise<void> {
	return new Promise((r) => setTimeout(r, ms).unref());
}
