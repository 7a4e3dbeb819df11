// The run engine's core: a run's definition and condition evaluator, queuing jobs, saving
// progress, ending a job once (the result insert decides between a late worker and the
// reaper) and applying its result to the run. State is the store (through RunRepository);
// other services are reached through injected ports; time comes from an injected clock.
// Around it: run-commands.ts (create, stop, resume, restart), booking.ts (queue and booking
// with atomic job limits), reaper.ts, reconciler.ts and retention.ts.

import type { ActiveJobDoc, JobDoc, JobResultDoc, QueueDoc, RunDoc } from "../../schemas/run.ts";
import { evaluateChecks } from "../run/conditions.ts";
import { evaluateScript } from "../run/lua.ts";
import type { FinalResult } from "../run/state.ts";
import { DuplicateKeyError } from "../store/types.ts";
import type { Conditions } from "../workflow/model.ts";
import { definitionBranch } from "../workflow/definitions.ts";
import { type ConditionEvaluator, finishJob, type QueuedJob, type RunProgress } from "./advance.ts";
import { RunInputError, RunNotFoundError } from "./errors.ts";
import { releaseSlots } from "./job-slots.ts";
import { QueueView } from "./queue-view.ts";
import type { Clock, Definition, RunPorts } from "./ports.ts";
import { systemClock } from "./ports.ts";
import { ACTIVE_RUN_STATUSES, type RunRepository } from "./run-repository.ts";
import { type RunLease, withRunLock } from "./run-lock.ts";
import { jobWorkspace, releaseWorkspace } from "./workspaces.ts";

/** The knobs the engine reads (config.run). */
export interface EngineSettings {
	heartbeatTimeoutMs: number;
	bookingTimeoutMs: number;
	noHatcheryTimeoutMs: number;
	defaultJobTimeoutSeconds: number;
	maxRunningJobsPerProject: number;
	maxRunningJobsPerWorkflow: number;
	historyLength: number;
	deletedBranchRetentionMs: number;
}

export interface RunEngineOptions {
	repo: RunRepository;
	ports: RunPorts;
	settings: EngineSettings;
	/** Owner of run leases: the node id. */
	owner: string;
	clock?: Clock;
	random?: () => number;
}

export interface CreateRunInput {
	project: string;
	workflow: string;
	branch?: string;
	commit?: string;
	version?: number;
	params?: Record<string, string>;
	payload?: unknown;
	triggeredBy: string;
	/**
	 * Makes the creation idempotent: a run already created under this id (for this workflow) is
	 * answered instead of a new one — a hook event processed again after its node died mid-way.
	 */
	requestId?: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** How long bookings count a project's or workflow's running jobs after it met its limit (booking.ts). */
export const LIMITED_MEMORY_MS = 30_000;

export class RunEngine {
	readonly repo: RunRepository;
	readonly ports: RunPorts;
	readonly settings: EngineSettings;
	readonly owner: string;
	readonly clock: Clock;
	readonly random: () => number;
	/** Heartbeats could not arrive while this engine was not running: the reaper counts from here. */
	readonly startedAt: number;
	/** Projects and workflows (`project/workflow`) whose bookings hit a limit: the reaper sweeps their slots. */
	readonly congested = { projects: new Set<string>(), workflows: new Set<string>() };
	readonly #definitions = new Map<string, Definition>();
	readonly #written = new Map<string, { run: RunDoc; gen: number }>();
	readonly #booked = new Map<string, { job: JobDoc; active: ActiveJobDoc }>();
	/** Bookings as this node wrote them last, once it also started them (see startedBooking). */
	readonly #started = new Map<string, ActiveJobDoc>();
	/** The job queue as this node last read it, with its own changes since (queue-view.ts). */
	readonly queueView = new QueueView();
	/** Jobs this node queued, as written, until booked (see queuedJob). */
	readonly #queued = new Map<string, JobDoc>();
	/**
	 * Run creations in flight per workflow (`project/workflow`), the highest number they tried and
	 * the stored hint the first of them read, which the others share (run-commands.ts).
	 */
	readonly runNumbering = new Map<string, { inFlight: number; highest: number; hint?: Promise<number> }>();
	/** When each hatchery's capabilities were last recorded (booking.ts). */
	readonly hatcherySeen = new Map<string, number>();
	/** Booking claims seen without their active entry, by job: owner and when first seen (reaper.ts). */
	readonly orphanBookings = new Map<string, { owner: string; since: number }>();
	/** When a booking last met the limit of a project (`p:<project>`) or workflow (`w:<project>/<workflow>`). */
	readonly #limitedAt = new Map<string, number>();
	lastOrphanSweep = Number.NEGATIVE_INFINITY;
	lastWorkspaceSweep = Number.NEGATIVE_INFINITY;
	/** The reason last written on each waiting job (booking.ts), so it is written once per change. */
	readonly waitingReasons = new Map<string, string>();

	constructor(options: RunEngineOptions) {
		this.repo = options.repo;
		this.ports = options.ports;
		this.settings = options.settings;
		this.owner = options.owner;
		this.clock = options.clock ?? systemClock;
		this.random = options.random ?? Math.random;
		this.startedAt = this.clock.now();
	}

	now(): number {
		return this.clock.now();
	}

	/** A booking met a limit: the reaper sweeps its slots, and bookings check the count first for a while. */
	limited(project: string | undefined, workflow: string | undefined): void {
		if (this.#limitedAt.size > 10_000) this.#limitedAt.clear();
		if (project !== undefined) {
			this.congested.projects.add(project);
			this.#limitedAt.set(`p:${project}`, this.now());
		}
		if (workflow !== undefined) {
			this.congested.workflows.add(workflow);
			this.#limitedAt.set(`w:${workflow}`, this.now());
		}
	}

	/** Whether a booking met the project's or workflow's limit in the last LIMITED_MEMORY_MS. */
	recentlyLimited(project: string, workflow: string): boolean {
		const since = this.now() - LIMITED_MEMORY_MS;
		return (
			(this.#limitedAt.get(`p:${project}`) ?? -Infinity) > since ||
			(this.#limitedAt.get(`w:${workflow}`) ?? -Infinity) > since
		);
	}

	/** Changes to one run, serialised across nodes (src/engine/run-lock.ts). */
	withLock<T>(rid: string, fn: (lease: RunLease) => Promise<T>): Promise<T> {
		return withRunLock(this.repo.store, rid, this.owner, fn);
	}

	/**
	 * A run as this node last wrote it, with the generation of the run lock it wrote it under (-1:
	 * created, never locked). Every change to a stored run is made under its lock, whose
	 * generations are contiguous: winning generation g + 1 right after writing under g (or 0 after
	 * creating it) proves nobody wrote it since, so the read is spared. Anything else reads.
	 */
	rememberRun(run: RunDoc, gen: number | undefined): void {
		if (gen === undefined || !ACTIVE_RUN_STATUSES.has(run.status)) {
			this.#written.delete(run._id);
			return;
		}
		if (this.#written.size >= 1000) this.#written.clear();
		this.#written.set(run._id, { run, gen });
	}

	/** A job this node just booked, as stored: its worker's first call (worker /job) need not read it back. */
	rememberBooking(job: JobDoc, active: ActiveJobDoc): void {
		if (this.#booked.size >= 10_000) this.#booked.clear();
		this.#booked.set(job._id, { job, active });
	}

	/**
	 * The job and booking this node wrote when it booked the job, once (a second call reads the
	 * store). Only the booking and the worker's first call write a booking; whether the job ended
	 * meanwhile is the caller's to check (its result).
	 */
	takeBooking(jobId: string): { job: JobDoc; active: ActiveJobDoc } | undefined {
		const booked = this.#booked.get(jobId);
		this.#booked.delete(jobId);
		return booked;
	}

	/**
	 * The worker's first call started the booking this node wrote (status Building): ending the
	 * job needs not read the booking back. Only the booking and the worker's first call write it.
	 */
	startedBooking(active: ActiveJobDoc): void {
		if (this.#started.size >= 10_000) this.#started.clear();
		this.#started.set(active._id, active);
	}

	/**
	 * A job this node queued, as written, once (bookings offered again read the store). Its status
	 * changes only when it ends, after its result is stored: the booking checks that. A job with a
	 * persistent workspace is not remembered (its waiting reason changes).
	 */
	queuedJob(jobId: string): JobDoc | undefined {
		const job = this.#queued.get(jobId);
		this.#queued.delete(jobId);
		return job;
	}

	/** The run, under a lease of its lock: from memory when this node wrote it last (rememberRun). */
	async lockedRun(rid: string, lease: RunLease): Promise<RunDoc | null> {
		const mine = this.#written.get(rid);
		this.#written.delete(rid);
		if (mine && lease.gen !== undefined && mine.gen === lease.gen - 1) return mine.run;
		return this.repo.runs.findOne({ _id: rid });
	}

	/** A run's definition (immutable per definitionId, so cached). */
	async definition(run: RunDoc): Promise<Definition> {
		const cached = this.#definitions.get(run.definitionId);
		if (cached) return cached;
		const def = await this.ports.definition({
			project: run.project,
			workflow: run.workflow,
			branch: definitionBranch(run.definitionId),
			version: run.definitionVersion,
		});
		const value = { model: def.model, pipelines: def.pipelines };
		if (this.#definitions.size > 500) this.#definitions.clear();
		this.#definitions.set(run.definitionId, value);
		return value;
	}

	/** A definition just read elsewhere (run creation), so the run's next steps need not ask again. */
	rememberDefinition(definitionId: string, def: Definition): void {
		if (this.#definitions.size > 500) this.#definitions.clear();
		this.#definitions.set(definitionId, def);
	}

	evaluator(run: Pick<RunDoc, "vars" | "build">): ConditionEvaluator {
		const vars = () => ({
			...run.vars,
			...Object.fromEntries(Object.entries(run.build).map(([k, v]) => [`cds.build.${k}`, v])),
		});
		const evaluate = async (conditions: Conditions) => {
			const checks = evaluateChecks(conditions.checks, vars());
			if (!checks.ok) return { ok: false, reason: checks.failed ?? "conditions not satisfied" };
			if (conditions.script) {
				const r = await evaluateScript(conditions.script, vars());
				if (!r.ok)
					return {
						ok: false,
						reason: r.error ? `condition script: ${r.error}` : "condition script returned false",
					};
			}
			return { ok: true };
		};
		return { node: (_node, c) => evaluate(c), stage: (_node, _stage, c) => evaluate(c) };
	}

	/** Writes the job records and queue entries (idempotent: job ids are deterministic). */
	async enqueue(run: RunDoc, queued: QueuedJob[]): Promise<void> {
		const now = this.now();
		let count = 0;
		const nodes = queued.length > 0 ? (await this.definition(run)).model.nodes : [];
		for (const q of queued) {
			const spec = nodes.find((n) => n.name === q.node)?.persistentWorkspace;
			const workspace = spec ? jobWorkspace(run, q.node, spec) : undefined;
			const doc: JobDoc = {
				_id: q.id,
				runId: run._id,
				project: run.project,
				workflow: run.workflow,
				runNumber: run.number,
				node: q.node,
				pipeline: q.pipeline,
				jobIndex: q.jobIndex,
				attempt: q.attempt,
				stage: q.stage,
				name: q.name,
				job: q.job,
				requirements: q.job.requirements,
				status: "Waiting",
				queuedAt: now,
				hatchery: null,
				worker: null,
				bookedAt: null,
				startedAt: null,
				endedAt: null,
				reason: null,
				timeoutSeconds: q.job.timeout ?? this.settings.defaultJobTimeoutSeconds,
				...(workspace ? { workspace } : {}),
			};
			try {
				await this.repo.jobs.insert(doc);
			} catch (e) {
				if (e instanceof DuplicateKeyError) continue; // queued already (a replay)
				throw e;
			}
			if (!workspace) {
				if (this.#queued.size >= 10_000) this.#queued.clear();
				this.#queued.set(doc._id, doc);
			}
			count++;
			const entry: QueueDoc = {
				_id: q.id,
				project: run.project,
				workflow: run.workflow,
				node: q.node,
				runNumber: run.number,
				oneAtATime: q.oneAtATime,
				queuedAt: now,
				requirements: q.job.requirements,
				...(workspace ? { workspace: { id: workspace.id, name: workspace.name } } : {}),
			};
			try {
				await this.repo.queue.insert(entry);
				this.queueView.add(entry);
			} catch (e) {
				if (!(e instanceof DuplicateKeyError)) throw e;
			}
		}
		if (count > 0) this.ports.broadcast("job.queued", { count });
	}

	async saveRun(run: RunDoc, progress: RunProgress): Promise<RunDoc> {
		const status = progress.state.status;
		const ended = ACTIVE_RUN_STATUSES.has(status) ? null : (run.ended ?? iso(this.now()));
		const next: RunDoc = { ...run, progress, status, updated: iso(this.now()), ended };
		await this.repo.runs.replace(next);
		if (ended) await this.repo.activeRuns.remove({ _id: run._id });
		this.emitRunUpdated(next);
		return next;
	}

	/** Tells subscribers a run changed (a signal: they read the store). */
	emitRunUpdated(run: RunDoc): void {
		this.ports.emit("run.updated", {
			runId: run._id,
			project: run.project,
			workflow: run.workflow,
			number: run.number,
			sub: run.sub ?? 0,
			status: run.status,
			branch: run.branch,
			commit: run.commit,
			repositoryId: run.repositoryId ?? null,
			// The definition's own branch: the run's git branch (`-p git.branch=…`, a branch with no
			// definition of its own) may not have one, and subscribers read the definition by both.
			definitionBranch: definitionBranch(run.definitionId),
			definitionVersion: run.definitionVersion,
		});
	}

	/**
	 * Ends a job attempt once: the insert of its result decides between a late worker and the
	 * reaper. Returns false when someone else already finalised it.
	 */
	async finalizeJob(
		job: JobDoc,
		status: FinalResult,
		reason: string | null,
		steps: unknown[] = [],
		options: { apply?: boolean } = {},
	): Promise<boolean> {
		this.#booked.delete(job._id);
		const result: JobResultDoc = { _id: job._id, status, reason, steps, at: this.now() };
		try {
			await this.repo.results.insert(result);
		} catch (e) {
			if (e instanceof DuplicateKeyError) return false;
			throw e;
		}
		// The job record is written twice in its life (queued, ended): the booking and the
		// start live in active_jobs, which is small. Booked and started by this node: as written.
		const started = this.#started.get(job._id);
		this.#started.delete(job._id);
		this.#queued.delete(job._id);
		const active = started ?? (await this.repo.activeJobs.findOne({ _id: job._id }));
		// A complete booking removed the queue entry already (one that died before doing so
		// leaves it to book(), which drops entries of ended jobs).
		this.queueView.remove(job._id);
		if (!active?.slots) await this.repo.queue.remove({ _id: job._id });
		await this.repo.jobs.update(
			{ _id: job._id },
			{
				$set: {
					status,
					reason,
					endedAt: result.at,
					hatchery: active?.hatchery ?? job.hatchery,
					bookedAt: active?.bookedAt ?? job.bookedAt,
					startedAt: active?.startedAt ?? job.startedAt,
				},
			},
		);
		if (active) await this.endBooking(active);
		if (options.apply !== false) {
			await this.applyResult(job.runId, job, result).catch((e: Error) =>
				this.ports.warn(
					`run ${job.runId}: result of ${job._id} not applied yet (${e.message}); the reconciler will`,
				),
			);
		}
		this.ports.emit("job.updated", {
			jobId: job._id,
			runId: job.runId,
			status,
			project: job.project,
			workflow: job.workflow,
			runNumber: job.runNumber,
			node: job.node,
		});
		return true;
	}

	/** A booking is over (its job ended): token revoked, slots freed, entry removed. Idempotent. */
	async endBooking(active: ActiveJobDoc): Promise<void> {
		if (active.slots && active.slotOwner) await releaseSlots(this.repo.store, active.slots, active.slotOwner);
		await releaseWorkspace(this, active);
		await this.repo.activeJobs.remove({ _id: active._id });
		// The token died with the entry that held its hash; the auth nodes forget it now.
		if (active.tokenId)
			await this.ports
				.revokeJobToken({ id: active.tokenId, job: active._id, stored: !active.tokenHash })
				.catch(() => {});
	}

	async applyResult(rid: string, job: JobDoc, result: JobResultDoc): Promise<void> {
		await this.withLock(rid, async (lease) => {
			const run = await this.lockedRun(rid, lease);
			if (!run) return;
			const def = await this.definition(run);
			const done = await finishJob(
				run._id,
				def.model,
				def.pipelines,
				run.progress,
				{ node: job.node, jobIndex: job.jobIndex, attempt: job.attempt },
				result.status,
				result.reason ?? undefined,
				this.evaluator(run),
				this.now(),
			);
			if (!done.applied) {
				this.rememberRun(run, lease.gen);
				return;
			}
			await this.enqueue(run, done.queue);
			this.rememberRun(await this.saveRun(run, done.progress), lease.gen);
		});
	}

	/** The latest sub-run of a number, or RunNotFoundError. */
	async findRun(project: string, workflow: string, number: number): Promise<RunDoc> {
		const run = await this.repo.findRun(project, workflow, number);
		if (!run) throw new RunNotFoundError(`run ${workflow} #${number}`, { project, workflow, number });
		return run;
	}

	/**
	 * `worker export` values: cds.build.NAME for the following steps, jobs and nodes. `sealed`
	 * names those of `values` given sealed (they held a secret); a name exported again in
	 * clear is no longer sealed, so a clear value that merely looks sealed is never opened.
	 */
	async addBuildVariables(rid: string, values: Record<string, string>, sealed: string[] = []): Promise<void> {
		await this.withLock(rid, async () => {
			const run = await this.repo.runs.findOne({ _id: rid });
			if (!run) return;
			const sealedBuild = [
				...new Set([...(run.sealedBuild ?? []).filter((name) => !(name in values)), ...sealed]),
			];
			await this.repo.runs.replace({
				...run,
				build: { ...run.build, ...values },
				...(sealedBuild.length > 0 || run.sealedBuild ? { sealedBuild } : {}),
			});
		});
	}

	/**
	 * `worker tag KEY=VALUE`: tags merged into the run's (later values win), at most `max` per run.
	 * Returns the run's tags, or a RunInputError when the merge would exceed the cap.
	 */
	async addTags(rid: string, tags: Record<string, string>, max: number): Promise<Record<string, string>> {
		return this.withLock(rid, async () => {
			const run = await this.repo.runs.findOne({ _id: rid });
			if (!run) throw new RunNotFoundError("run", { run: rid });
			const merged = { ...(run.tags ?? {}), ...tags };
			if (Object.keys(merged).length > max)
				throw new RunInputError("tags", `a run holds at most ${max} tags`);
			await this.repo.runs.replace({ ...run, tags: merged });
			return merged;
		});
	}

	/** A deleted branch's runs are purged after the retention delay (retention.ts). */
	async recordBranchDeletion(project: string, workflow: string, branch: string, deletedAt: number) {
		await this.repo.branchDeletions.replace({
			_id: `${project}/${workflow}/${branch}`,
			project,
			workflow,
			branch,
			deletedAt,
		});
	}
}
