// The run engine: numbering, queuing, booking (with atomic job limits), results and run
// progress, as functions of the store (through RunRepository), injected ports (tokens,
// definitions, events) and a clock. The run service's actions and timers call it; the reaper,
// reconciler and retention (reaper.ts, reconciler.ts, retention.ts) drive it too.

import { randomUUID } from "node:crypto";
import type { ActiveJobDoc, BookResult, JobDoc, JobResultDoc, RunDoc } from "../../schemas/run.ts";
import { evaluateChecks } from "../run/conditions.ts";
import { evaluateScript } from "../run/lua.ts";
import type { FinalResult } from "../run/state.ts";
import { DuplicateKeyError } from "../store/types.ts";
import type { Conditions } from "../workflow/model.ts";
import {
	beginRestart,
	beginRun,
	type ConditionEvaluator,
	finishJob,
	type QueuedJob,
	type RunProgress,
	resumeManualNode,
	stopRunProgress,
} from "./advance.ts";
import { RunConflictError, RunNotFoundError } from "./errors.ts";
import { claimSlots, releaseSlots, slotOwner } from "./job-slots.ts";
import type { Clock, Definition, RunPorts } from "./ports.ts";
import { systemClock } from "./ports.ts";
import { selectJobs, spread } from "./queue-selection.ts";
import type { HatcheryCapabilities } from "./requirements.ts";
import { ACTIVE_RUN_STATUSES, type RunRepository, runId, subRunId } from "./run-repository.ts";
import { withRunLock } from "./run-lock.ts";
import { runVariables } from "./run-vars.ts";

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
}

const iso = (ms: number) => new Date(ms).toISOString();

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
	readonly #hatcherySeen = new Map<string, number>();

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

	/** Changes to one run, serialised across nodes (src/engine/run-lock.ts). */
	withLock<T>(rid: string, fn: () => Promise<T>): Promise<T> {
		return withRunLock(this.repo.store, rid, this.owner, fn);
	}

	/** A run's definition (immutable per definitionId, so cached). */
	async definition(run: RunDoc): Promise<Definition> {
		const cached = this.#definitions.get(run.definitionId);
		if (cached) return cached;
		const def = await this.ports.definition({
			project: run.project,
			workflow: run.workflow,
			branch: run.definitionId.split("/").slice(2, -1).join("/"),
			version: run.definitionVersion,
		});
		const value = { model: def.model, pipelines: def.pipelines };
		if (this.#definitions.size > 500) this.#definitions.clear();
		this.#definitions.set(run.definitionId, value);
		return value;
	}

	evaluator(run: RunDoc): ConditionEvaluator {
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

	/**
	 * A new run: its number is the first free one (a unique insert decides; the counter is only a
	 * hint, updated after the fact), then it begins and its first jobs are queued.
	 */
	async createRun(input: CreateRunInput): Promise<RunDoc> {
		const { project, workflow } = input;
		const def = await this.ports.definition({
			project,
			workflow,
			branch: input.branch,
			version: input.version,
		});
		const counterId = `${project}/${workflow}`;
		const hint = await this.repo.counters.findOne({ _id: counterId });
		let number = (hint?.last ?? 0) + 1;
		let created: RunDoc | undefined;
		for (let attempt = 0; attempt < 200 && !created; attempt++) {
			const now = this.now();
			const vars = runVariables({
				project,
				workflow,
				number,
				branch: input.branch ?? def.branch,
				commit: input.commit,
				payload: input.payload,
				params: input.params,
				triggeredBy: input.triggeredBy,
			});
			const doc: RunDoc = {
				_id: runId(project, workflow, number),
				project,
				workflow,
				number,
				sub: 0,
				branch: vars["git.branch"] ?? def.branch,
				commit: vars["git.hash"] ?? null,
				definitionId: def.definitionId,
				definitionVersion: def.version,
				repositoryId: def.repositoryId ?? null,
				status: "Waiting",
				progress: {
					state: { workflow, status: "Waiting", vars: {}, nodes: {}, startedAt: now },
					pipelines: {},
					stageConditions: {},
				},
				vars,
				build: {},
				tags: {},
				triggeredBy: input.triggeredBy,
				created: iso(now),
				updated: iso(now),
				ended: null,
				createdMs: now,
			};
			try {
				// The unique _id makes the number ours: two requests cannot get the same one.
				await this.repo.runs.insert(doc);
				created = doc;
			} catch (e) {
				if (!(e instanceof DuplicateKeyError)) throw e;
				// Taken: try the next one; now and then re-read the hint, other creators moved on.
				number++;
				if (attempt % 4 === 3) {
					const fresh = await this.repo.counters.findOne({ _id: counterId });
					if (fresh && fresh.last >= number) number = fresh.last + 1;
				}
			}
		}
		if (!created) throw new RunConflictError(`could not allocate a run number for ${workflow}: try again`);
		// Never move the hint backwards (creators finish out of order).
		const hintNow = await this.repo.counters.findOne({ _id: counterId });
		if (!hintNow || hintNow.last < created.number)
			await this.repo.counters.replace({ _id: counterId, last: created.number });
		await this.repo.activeRuns.replace({ _id: created._id });
		this.#definitions.set(created.definitionId, { model: def.model, pipelines: def.pipelines });
		const fresh = created;
		return this.withLock(fresh._id, async () => {
			// The reconciler may have begun it already (it is listed as active from the insert on).
			const current = await this.repo.runs.findOne({ _id: fresh._id });
			if (current && current.status !== "Waiting") return current;
			const { progress, queue } = await beginRun(
				fresh._id,
				def.model,
				def.pipelines,
				fresh.vars,
				this.evaluator(fresh),
				this.now(),
			);
			await this.enqueue(fresh, queue);
			return this.saveRun(fresh, progress);
		});
	}

	/** Writes the job records and queue entries (idempotent: job ids are deterministic). */
	async enqueue(run: RunDoc, queued: QueuedJob[]): Promise<void> {
		const now = this.now();
		let count = 0;
		for (const q of queued) {
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
			};
			try {
				await this.repo.jobs.insert(doc);
			} catch (e) {
				if (e instanceof DuplicateKeyError) continue; // queued already (a replay)
				throw e;
			}
			count++;
			try {
				await this.repo.queue.insert({
					_id: q.id,
					project: run.project,
					workflow: run.workflow,
					node: q.node,
					runNumber: run.number,
					oneAtATime: q.oneAtATime,
					queuedAt: now,
					requirements: q.job.requirements,
				});
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
		this.ports.emit("run.updated", {
			runId: run._id,
			project: run.project,
			workflow: run.workflow,
			number: run.number,
			sub: run.sub ?? 0,
			status,
			branch: run.branch,
			commit: run.commit,
			repositoryId: run.repositoryId ?? null,
		});
		return next;
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
		const result: JobResultDoc = { _id: job._id, status, reason, steps, at: this.now() };
		try {
			await this.repo.results.insert(result);
		} catch (e) {
			if (e instanceof DuplicateKeyError) return false;
			throw e;
		}
		await this.repo.queue.remove({ _id: job._id });
		// The job record is written twice in its life (queued, ended): the booking and the
		// start live in active_jobs, which is small.
		const active = await this.repo.activeJobs.findOne({ _id: job._id });
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
		this.ports.emit("job.updated", { jobId: job._id, runId: job.runId, status });
		return true;
	}

	/** A booking is over (its job ended): token revoked, slots freed, entry removed. Idempotent. */
	async endBooking(active: ActiveJobDoc): Promise<void> {
		if (active.tokenId) await this.ports.revokeJobToken(active.tokenId).catch(() => {});
		if (active.slots && active.slotOwner) await releaseSlots(this.repo.store, active.slots, active.slotOwner);
		await this.repo.activeJobs.remove({ _id: active._id });
	}

	async applyResult(rid: string, job: JobDoc, result: JobResultDoc): Promise<void> {
		await this.withLock(rid, async () => {
			const run = await this.repo.runs.findOne({ _id: rid });
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
			if (!done.applied) return;
			await this.enqueue(run, done.queue);
			await this.saveRun(run, done.progress);
		});
	}

	/** The latest sub-run of a number, or RunNotFoundError. */
	async findRun(project: string, workflow: string, number: number): Promise<RunDoc> {
		const run = await this.repo.findRun(project, workflow, number);
		if (!run) throw new RunNotFoundError(`run ${workflow} #${number}`, { project, workflow, number });
		return run;
	}

	/** Stops an active run and its live jobs (their workers learn it from their heartbeat). */
	async stopRun(found: RunDoc, who: string): Promise<{ run: RunDoc; stoppedJobs: string[] }> {
		const stoppedJobs: string[] = [];
		const run = await this.withLock(found._id, async () => {
			const current = (await this.repo.runs.findOne({ _id: found._id }))!;
			if (!ACTIVE_RUN_STATUSES.has(current.status)) return current;
			const { progress } = stopRunProgress(current.progress, this.now(), `stopped by ${who}`);
			const live = (await this.repo.jobsOfRun(current)).filter(
				(j) => j.status === "Waiting" || j.status === "Booked" || j.status === "Building",
			);
			for (const j of live) {
				await this.repo.queue.remove({ _id: j._id });
				// The run lock is held here and the stop rewrites the whole progress: don't apply each job.
				await this.finalizeJob(j, "Stopped", `stopped by ${who}`, [], { apply: false });
				stoppedJobs.push(j._id);
			}
			return this.saveRun(current, progress);
		});
		return { run, stoppedJobs };
	}

	/** Starts a node waiting for a manual start. */
	async resumeNode(found: RunDoc, node: string, who: string): Promise<RunDoc> {
		return this.withLock(found._id, async () => {
			const current = (await this.repo.runs.findOne({ _id: found._id }))!;
			const state = current.progress.state.nodes[node];
			if (!state) throw new RunNotFoundError(`node ${node}`, { node });
			if (state.status !== "Manual")
				throw new RunConflictError(`node ${node} is ${state.status}, not waiting for a manual start`);
			const def = await this.definition(current);
			const { progress, queue } = await resumeManualNode(
				current._id,
				def.model,
				def.pipelines,
				current.progress,
				node,
				who,
				this.evaluator(current),
				this.now(),
			);
			await this.enqueue(current, queue);
			return this.saveRun(current, progress);
		});
	}

	/** Runs a node and everything below it again, as a sub-run of the same number. */
	async restartRun(previous: RunDoc, node: string, who: string): Promise<RunDoc> {
		if (ACTIVE_RUN_STATUSES.has(previous.status))
			throw new RunConflictError(`run #${previous.number} is still ${previous.status}: stop it first`);
		if (!previous.progress.state.nodes[node]) throw new RunNotFoundError(`node ${node}`, { node });
		const def = await this.definition(previous);
		const sub = (previous.sub ?? 0) + 1;
		const now = this.now();
		const doc: RunDoc = {
			...previous,
			_id: subRunId(previous.project, previous.workflow, previous.number, sub),
			sub,
			status: "Waiting",
			triggeredBy: who,
			created: iso(now),
			updated: iso(now),
			ended: null,
			createdMs: now,
			latestSub: undefined,
		};
		try {
			await this.repo.runs.insert(doc);
		} catch (e) {
			if (e instanceof DuplicateKeyError) throw new RunConflictError("this run is being restarted already");
			throw e;
		}
		await this.repo.activeRuns.replace({ _id: doc._id });
		// The run itself is final (checked above): nothing else writes it now.
		await this.repo.runs.update(
			{ _id: runId(previous.project, previous.workflow, previous.number) },
			{ $set: { latestSub: sub } },
		);
		return this.withLock(doc._id, async () => {
			const { progress, queue } = await beginRestart(
				doc._id,
				def.model,
				def.pipelines,
				previous.progress,
				node,
				doc.vars,
				this.evaluator(doc),
				this.now(),
			);
			await this.enqueue(doc, queue);
			return this.saveRun(doc, progress);
		});
	}

	/** `worker export` values: cds.build.NAME for the following steps, jobs and nodes. */
	async addBuildVariables(rid: string, values: Record<string, string>): Promise<void> {
		await this.withLock(rid, async () => {
			const run = await this.repo.runs.findOne({ _id: rid });
			if (run) await this.repo.runs.replace({ ...run, build: { ...run.build, ...values } });
		});
	}

	/** Jobs waiting for a hatchery that `caps` could run, fair between projects, at most `limit`. */
	async queueFor(caps: HatcheryCapabilities, limit: number): Promise<string[]> {
		const now = this.now();
		// A hatchery's capabilities are recorded every few seconds, not at every poll.
		const seen = this.#hatcherySeen.get(caps.name) ?? Number.NEGATIVE_INFINITY;
		if (now - seen > 5000) {
			if (this.#hatcherySeen.size > 1000) this.#hatcherySeen.clear();
			this.#hatcherySeen.set(caps.name, now);
			await this.repo.hatcheries.replace({ _id: caps.name, capabilities: caps, seenAt: now });
		}
		// No sort in the query: the store then stops reading at the limit (FerretDB sorts in
		// memory after reading everything); the queue is small and ordered in selectJobs.
		const waiting = await this.repo.queue.find({}, { limit: Math.max(50, limit * 10) });
		const fair = await selectJobs(waiting, caps, limit * 3, (q) => this.repo.earlierRunBusy(q));
		return spread(fair, limit, this.random);
	}

	/**
	 * A hatchery books a job. The booking claim decides between hatcheries; the slot claims
	 * enforce the project and workflow limits atomically (job-slots.ts). Order matters for crash
	 * safety: the active entry is written before the slots are claimed and removed after they
	 * are released, so the reaper can tell a stale slot from a booking in progress.
	 */
	async book(id: string, hatchery: string): Promise<BookResult> {
		const job = await this.repo.jobs.findOne({ _id: id });
		if (job?.status !== "Waiting" || (await this.repo.results.findOne({ _id: id }))) return { won: false };
		const s = this.settings;
		// A cheap early refusal (not the guarantee: the slots are).
		const running = await this.repo.activeJobs.find({ project: job.project });
		if (running.length >= s.maxRunningJobsPerProject) {
			this.congested.projects.add(job.project);
			return { won: false, reason: "project concurrency limit" };
		}
		if (running.filter((j) => j.workflow === job.workflow).length >= s.maxRunningJobsPerWorkflow) {
			this.congested.workflows.add(`${job.project}/${job.workflow}`);
			return { won: false, reason: "workflow concurrency limit" };
		}
		const owner = slotOwner(job._id, randomUUID());
		const booking = await this.repo.store.claim("booking", job._id, owner);
		if (!booking.won) return { won: false };
		const active: ActiveJobDoc = {
			_id: job._id,
			project: job.project,
			workflow: job.workflow,
			hatchery,
			status: "Booked",
			bookedAt: this.now(),
			startedAt: null,
			tokenId: "",
			timeoutSeconds: job.timeoutSeconds,
			slotOwner: owner,
			slots: null,
		};
		await this.repo.activeJobs.replace(active);
		const undo = async () => {
			await this.repo.activeJobs.remove({ _id: job._id });
			await this.repo.store.release("booking", job._id, owner);
		};
		const verdict = await claimSlots(
			this.repo.store,
			job,
			owner,
			{ project: s.maxRunningJobsPerProject, workflow: s.maxRunningJobsPerWorkflow },
			Math.floor(this.random() * 1_000_000),
		);
		if (!verdict.won) {
			await undo();
			if (verdict.reason.startsWith("project")) this.congested.projects.add(job.project);
			else this.congested.workflows.add(`${job.project}/${job.workflow}`);
			return { won: false, reason: verdict.reason };
		}
		let token: { token: string; id: string };
		try {
			token = await this.ports.issueJobToken({
				job: job._id,
				run: job.runId,
				project: job.project,
				ttlSeconds: job.timeoutSeconds + 3600,
			});
		} catch (e) {
			await releaseSlots(this.repo.store, verdict.slots, owner);
			await undo();
			throw e;
		}
		await this.repo.activeJobs.replace({ ...active, tokenId: token.id, slots: verdict.slots });
		await this.repo.queue.remove({ _id: job._id });
		this.ports.emit("job.booked", { jobId: job._id, hatchery });
		return {
			won: true,
			token: token.token,
			jobId: job._id,
			runId: job.runId,
			timeoutSeconds: job.timeoutSeconds,
			requirements: job.requirements,
		};
	}

	/** A hatchery could not start the worker of a booked job: the job fails with the reason. */
	async unbook(id: string, reason: string): Promise<boolean> {
		const job = await this.repo.jobs.findOne({ _id: id });
		if (!job) return false;
		await this.finalizeJob(job, "Fail", `worker could not start: ${reason}`);
		return true;
	}

	/** Jobs booked to a hatchery that have not ended (it kills orphan workers with it). */
	async liveJobs(hatchery: string): Promise<string[]> {
		return (await this.repo.activeJobs.find({ hatchery })).map((j) => j._id);
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
