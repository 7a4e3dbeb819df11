// Owns workflow runs and their jobs: creating a run (numbered per workflow), driving it
// through the pure state machines of src/run (via src/engine/advance.ts), the job queue the
// hatcheries book from, job results, stop and manual resume, and the reaper that fails jobs
// whose worker vanished. Everything lives in the store: any replica can pick up a run that
// another (now dead) replica was driving.

import type { Context, Service, ServiceSchema } from "moleculer";
import type { Config, RunSettings } from "../config/index.ts";
import { conflict, invalid, notFound } from "../mixins/errors.ts";
import type { GatewayMeta } from "../mixins/meta.ts";
import { everyInterval } from "../mixins/periodic.ts";
import { runtimeOf } from "../mixins/runtime.ts";
import { StoreMixin, storeOf } from "../mixins/store.mixin.ts";
import RunWorkerApi from "./run-worker.mixin.ts";
import {
	jobId,
	beginRestart,
	beginRun,
	type ConditionEvaluator,
	finishJob,
	type QueuedJob,
	type RunProgress,
	resumeManualNode,
	runningJobs,
	settleRun,
	stopRunProgress,
} from "../src/engine/advance.ts";
import { type HatcheryCapabilities, unmetRequirement, whyNoHatchery } from "../src/engine/requirements.ts";
import { BlobSweeper, expiredRunNumbers } from "../src/engine/garbage.ts";
import { withRunLock } from "../src/engine/run-lock.ts";
import { runVariables } from "../src/engine/run-vars.ts";
import { NAME_PATTERN, PROJECT_KEY_PATTERN } from "../src/project/variables.ts";
import { evaluateChecks } from "../src/run/conditions.ts";
import { evaluateScript } from "../src/run/lua.ts";
import type { FinalResult } from "../src/run/state.ts";
import type { Collection, Doc } from "../src/store/types.ts";
import { DuplicateKeyError } from "../src/store/types.ts";
import type { Conditions, Job, Pipeline, Requirement, Workflow } from "../src/workflow/model.ts";

export type JobStatus = "Waiting" | "Booked" | "Building" | "Success" | "Fail" | "Stopped";

export interface RunDoc extends Doc {
	project: string;
	workflow: string;
	number: number;
	/** 0 for a run, 1, 2… for its restarts (CDS's sub-runs: same number). */
	sub: number;
	/** On the run itself (sub 0): its latest restart, so reads find it by _id. */
	latestSub?: number;
	branch: string;
	commit: string | null;
	definitionId: string;
	definitionVersion: number;
	/** As-code workflows: the linked repository, to report commit statuses to. */
	repositoryId?: string | null;
	status: string;
	progress: RunProgress;
	vars: Record<string, string>;
	/** `worker export` values, as cds.build.NAME for later jobs and nodes. */
	build: Record<string, string>;
	tags: Record<string, string>;
	triggeredBy: string;
	created: string;
	updated: string;
	ended: string | null;
	/** Epoch ms, for concurrency accounting and the one_at_a_time queue. */
	createdMs: number;
}

export interface JobDoc extends Doc {
	runId: string;
	project: string;
	workflow: string;
	runNumber: number;
	node: string;
	pipeline: string;
	jobIndex: number;
	attempt: number;
	stage: string;
	name: string;
	job: Job;
	requirements: Requirement[];
	status: JobStatus;
	queuedAt: number;
	hatchery: string | null;
	worker: string | null;
	bookedAt: number | null;
	startedAt: number | null;
	endedAt: number | null;
	reason: string | null;
	timeoutSeconds: number;
}

/** What a job finally was, inserted once: the insert decides who finalises (worker or reaper). */
export interface JobResultDoc extends Doc {
	status: FinalResult;
	reason: string | null;
	steps: unknown[];
	at: number;
}

interface QueueDoc extends Doc {
	project: string;
	workflow: string;
	node: string;
	runNumber: number;
	oneAtATime: boolean;
	queuedAt: number;
	requirements: Requirement[];
}

/** A booked or running job: what the reaper and the concurrency limits look at. */
interface ActiveJobDoc extends Doc {
	project: string;
	workflow: string;
	hatchery: string;
	status: "Booked" | "Building";
	bookedAt: number;
	startedAt: number | null;
	tokenId: string;
	timeoutSeconds: number;
}

interface HatcheryDoc extends Doc {
	capabilities: HatcheryCapabilities;
	seenAt: number;
}

interface RunLocals {
	collections: Record<string, Collection<any>>;
	runSettings: RunSettings;
	timers: NodeJS.Timeout[];
	definitions: Map<string, { model: Workflow; pipelines: Pipeline[] }>;
	hatcherySeen: Map<string, number>;
	/** Job records by id: they change only when the job ends, so workers' calls read them from here. */
	jobCache: Map<string, JobDoc>;
	serviceStartedAt: number;
	sweeper: BlobSweeper;
}

interface RunMethods {
	runs(): Collection<RunDoc>;
	jobs(): Collection<JobDoc>;
	queue(): Collection<QueueDoc>;
	results(): Collection<JobResultDoc>;
	hatcheries(): Collection<HatcheryDoc>;
	activeJobs(): Collection<ActiveJobDoc>;
	activeRuns(): Collection<Doc>;
	jobsOfRun(run: RunDoc): Promise<JobDoc[]>;
	definition(ctx: Context | null, run: RunDoc): Promise<{ model: Workflow; pipelines: Pipeline[] }>;
	evaluator(run: RunDoc): ConditionEvaluator;
	enqueue(run: RunDoc, jobs: QueuedJob[]): Promise<void>;
	saveRun(run: RunDoc, progress: RunProgress): Promise<RunDoc>;
	applyResult(runId: string, job: JobDoc, result: JobResultDoc): Promise<void>;
	finalizeJob(
		job: JobDoc,
		status: FinalResult,
		reason: string | null,
		steps?: unknown[],
		options?: { apply?: boolean },
	): Promise<boolean>;
	reap(): Promise<void>;
	collectGarbage(graceMs: number): Promise<{ expiredRefs: number; deletedBlobs: number; purgedRuns: number }>;
	purgeDeletedBranches(): Promise<number>;
	reconcile(): Promise<void>;
	findRun(key: string, name: string, number: number): Promise<RunDoc>;
	presentRun(run: RunDoc, jobs?: JobDoc[]): Record<string, unknown>;
	lockOwner(): string;
}

export type RunThis = Service & RunLocals & RunMethods;

const keyParam = { type: "string", pattern: PROJECT_KEY_PATTERN, max: 64 } as const;
const nameParam = { type: "string", pattern: NAME_PATTERN, max: 128 } as const;
const numberParam = { type: "number", integer: true, min: 1, convert: true } as const;
const ACTIVE = new Set(["Waiting", "Building", "Manual"]);

export function runId(project: string, workflow: string, number: number): string {
	return `${project}/${workflow}/${String(number).padStart(10, "0")}`;
}

const nowIso = () => new Date().toISOString();

export default function RunService(config: Config): ServiceSchema<any, RunMethods, RunLocals, RunThis> {
	return {
		name: "run",
		mixins: [
			StoreMixin([
				{
					name: "runs",
					indexes: [{ fields: ["project", "workflow"] }, { fields: ["status"], lowCardinality: true }],
				},
				{ name: "jobs", indexes: [{ fields: ["runId"] }, { fields: ["status"], lowCardinality: true }] },
				{ name: "job_queue" },
				{ name: "job_results" },
				{ name: "hatcheries" },
				{ name: "heartbeats" },
				{ name: "logs", indexes: [{ fields: ["jobId"] }] },
				{ name: "job_steps", indexes: [{ fields: ["jobId"] }] },
				{ name: "artifact_refs", indexes: [{ fields: ["scope", "tag"] }] },
				{ name: "cache_refs", indexes: [{ fields: ["scope", "tag"] }] },
				{ name: "report_refs" },
				// Small working sets, so that nothing hot scans the big collections (FerretDB
				// answers only _id from an index; any other filter reads the whole collection).
				{ name: "active_jobs" },
				{ name: "active_runs" },
				{ name: "run_counters" },
				{ name: "branch_deletions" },
			]),
			RunWorkerApi(config) as Partial<ServiceSchema>,
		],
		settings: { rest: "/projects" },

		events: {
			/** A deleted branch's runs are purged after CDS_DELETED_BRANCH_RETENTION_MS (see collectGarbage). */
			async "workflow.branchDeleted"(
				this: RunThis,
				ctx: Context<{ project: string; workflow: string; branch: string; deletedAt: string }>,
			) {
				const { project, workflow, branch, deletedAt } = ctx.params;
				await (this.collections.branch_deletions as Collection<Doc>).replace({
					_id: `${project}/${workflow}/${branch}`,
					project,
					workflow,
					branch,
					deletedAt: Date.parse(deletedAt) || Date.now(),
				});
			},
		},

		actions: {
			create: {
				rest: "POST /:key/workflows/:name/runs",
				summary: "Start a run of a workflow",
				permission: { level: "write", project: "key" },
				params: {
					key: keyParam,
					name: nameParam,
					branch: { type: "string", max: 255, optional: true },
					commit: { type: "string", max: 255, optional: true },
					version: { type: "number", integer: true, min: 1, optional: true, convert: true },
					params: {
						type: "record",
						key: { type: "string", max: 255 },
						value: { type: "string", max: 65536 },
						optional: true,
					},
					payload: { type: "any", optional: true },
				},
				async handler(
					this: RunThis,
					ctx: Context<
						{
							key: string;
							name: string;
							branch?: string;
							commit?: string;
							version?: number;
							params?: Record<string, string>;
							payload?: unknown;
						},
						GatewayMeta
					>,
				) {
					const { key, name } = ctx.params;
					if (ctx.params.payload !== undefined && JSON.stringify(ctx.params.payload).length > 256 * 1024) {
						throw invalid("payload larger than 256 KiB", [{ field: "payload", message: "too large" }]);
					}
					const def = (await ctx.call("workflow.get", {
						key,
						name,
						branch: ctx.params.branch,
						version: ctx.params.version,
					})) as {
						branch: string;
						version: number;
						definitionId: string;
						model: Workflow;
						pipelines: Pipeline[];
						repositoryId?: string | null;
					};
					const triggeredBy = ctx.meta.user?.id ?? "system";
					// The counter is only a hint (updated after the fact); the unique insert decides.
					const counters = this.collections.run_counters as Collection<{ _id: string; last: number }>;
					const hint = await counters.findOne({ _id: `${key}/${name}` });
					let number = (hint?.last ?? 0) + 1;
					let run: RunDoc | undefined;
					for (let attempt = 0; attempt < 200 && !run; attempt++) {
						const vars = runVariables({
							project: key,
							workflow: name,
							number,
							branch: ctx.params.branch ?? def.branch,
							commit: ctx.params.commit,
							payload: ctx.params.payload,
							params: ctx.params.params,
							triggeredBy,
						});
						const doc: RunDoc = {
							_id: runId(key, name, number),
							project: key,
							workflow: name,
							number,
							sub: 0,
							branch: vars["git.branch"] ?? def.branch,
							commit: vars["git.hash"] ?? null,
							definitionId: def.definitionId,
							definitionVersion: def.version,
							repositoryId: def.repositoryId ?? null,
							status: "Waiting",
							progress: {
								state: { workflow: name, status: "Waiting", vars: {}, nodes: {}, startedAt: Date.now() },
								pipelines: {},
								stageConditions: {},
							},
							vars,
							build: {},
							tags: {},
							triggeredBy,
							created: nowIso(),
							updated: nowIso(),
							ended: null,
							createdMs: Date.now(),
						};
						try {
							// The unique _id makes the number ours: two requests cannot get the same one.
							await this.runs().insert(doc);
							run = doc;
						} catch (e) {
							if (!(e instanceof DuplicateKeyError)) throw e;
							// Taken: try the next one; now and then re-read the hint, other creators moved on.
							number++;
							if (attempt % 4 === 3) {
								const fresh = await counters.findOne({ _id: `${key}/${name}` });
								if (fresh && fresh.last >= number) number = fresh.last + 1;
							}
						}
					}
					if (!run) throw conflict(`could not allocate a run number for ${name}: try again`);
					// Never move the hint backwards (creators finish out of order).
					const hintNow = await counters.findOne({ _id: `${key}/${name}` });
					if (!hintNow || hintNow.last < run.number)
						await counters.replace({ _id: `${key}/${name}`, last: run.number });
					await this.activeRuns().replace({ _id: run._id });
					this.definitions.set(run.definitionId, { model: def.model, pipelines: def.pipelines });
					const created = run;
					await withRunLock(storeOf(this.broker), created._id, this.lockOwner(), async () => {
						// The reconciler may have begun it already (it is listed as active from the insert on).
						const current = await this.runs().findOne({ _id: created._id });
						if (current && current.status !== "Waiting") {
							run = current;
							return;
						}
						const { progress, queue } = await beginRun(
							created._id,
							def.model,
							def.pipelines,
							created.vars,
							this.evaluator(created),
							Date.now(),
						);
						await this.enqueue(created, queue);
						run = await this.saveRun(created, progress);
					});
					ctx.meta.$statusCode = 201;
					(ctx.meta as Record<string, unknown>).$location =
						`/api/v1/projects/${key}/workflows/${name}/runs/${created.number}`;
					ctx.emit("run.created", {
						project: key,
						workflow: name,
						number: created.number,
						runId: created._id,
					});
					return this.presentRun(run!);
				},
			},

			list: {
				rest: "GET /:key/workflows/:name/runs",
				summary: "List the runs of a workflow, newest first",
				permission: { level: "read", project: "key" },
				params: {
					key: keyParam,
					name: nameParam,
					branch: { type: "string", max: 255, optional: true },
					limit: { type: "number", integer: true, min: 1, max: 200, optional: true, convert: true },
				},
				async handler(
					this: RunThis,
					ctx: Context<{ key: string; name: string; branch?: string; limit?: number }>,
				) {
					const q: Record<string, unknown> = { project: ctx.params.key, workflow: ctx.params.name };
					if (ctx.params.branch) q.branch = ctx.params.branch;
					const runs = await this.runs().find(q, { sort: { number: -1 }, limit: ctx.params.limit ?? 20 });
					return { items: runs.map((r) => this.presentRun(r)), next: null };
				},
			},

			get: {
				rest: "GET /:key/workflows/:name/runs/:number",
				summary: "A run with its nodes, stages and jobs",
				permission: { level: "read", project: "key" },
				params: { key: keyParam, name: nameParam, number: numberParam },
				async handler(this: RunThis, ctx: Context<{ key: string; name: string; number: number }>) {
					const run = await this.findRun(ctx.params.key, ctx.params.name, ctx.params.number);
					const jobs = await this.jobsOfRun(run);
					return this.presentRun(run, jobs);
				},
			},

			stop: {
				rest: "POST /:key/workflows/:name/runs/:number/stop",
				summary: "Stop a run: its workers are told to stop, then killed",
				permission: { level: "write", project: "key" },
				params: { key: keyParam, name: nameParam, number: numberParam },
				async handler(
					this: RunThis,
					ctx: Context<{ key: string; name: string; number: number }, GatewayMeta>,
				) {
					const found = await this.findRun(ctx.params.key, ctx.params.name, ctx.params.number);
					const who = ctx.meta.user?.id ?? "system";
					let stoppedJobs: JobDoc[] = [];
					const run = await withRunLock(storeOf(this.broker), found._id, this.lockOwner(), async () => {
						const current = (await this.runs().findOne({ _id: found._id }))!;
						if (!ACTIVE.has(current.status)) return current;
						const { progress } = stopRunProgress(current.progress, Date.now(), `stopped by ${who}`);
						stoppedJobs = (await this.jobsOfRun(current)).filter(
							(j) => j.status === "Waiting" || j.status === "Booked" || j.status === "Building",
						);
						for (const j of stoppedJobs) {
							await this.queue().remove({ _id: j._id });
							// The run lock is held here and the stop rewrites the whole progress: don't apply each job.
							await this.finalizeJob(j, "Stopped", `stopped by ${who}`, [], { apply: false });
						}
						return this.saveRun(current, progress);
					});
					ctx.emit("run.stopped", { runId: run._id, jobs: stoppedJobs.map((j) => j._id) });
					return this.presentRun(run);
				},
			},

			resume: {
				rest: "POST /:key/workflows/:name/runs/:number/resume",
				summary: "Resume a node waiting for a manual start",
				permission: { level: "write", project: "key" },
				params: {
					key: keyParam,
					name: nameParam,
					number: numberParam,
					node: { type: "string", min: 1, max: 128 },
				},
				async handler(
					this: RunThis,
					ctx: Context<{ key: string; name: string; number: number; node: string }, GatewayMeta>,
				) {
					const found = await this.findRun(ctx.params.key, ctx.params.name, ctx.params.number);
					const who = ctx.meta.user?.id ?? "system";
					const run = await withRunLock(storeOf(this.broker), found._id, this.lockOwner(), async () => {
						const current = (await this.runs().findOne({ _id: found._id }))!;
						const state = current.progress.state.nodes[ctx.params.node];
						if (!state) throw notFound(`node ${ctx.params.node}`, { node: ctx.params.node });
						if (state.status !== "Manual") {
							throw conflict(`node ${ctx.params.node} is ${state.status}, not waiting for a manual start`);
						}
						const def = await this.definition(ctx, current);
						const { progress, queue } = await resumeManualNode(
							current._id,
							def.model,
							def.pipelines,
							current.progress,
							ctx.params.node,
							who,
							this.evaluator(current),
							Date.now(),
						);
						await this.enqueue(current, queue);
						return this.saveRun(current, progress);
					});
					return this.presentRun(run);
				},
			},

			restart: {
				rest: "POST /:key/workflows/:name/runs/:number/restart",
				summary: "Run a node and everything below it again, as a sub-run of the same number",
				permission: { level: "write", project: "key" },
				params: {
					key: keyParam,
					name: nameParam,
					number: numberParam,
					node: { type: "string", min: 1, max: 128 },
				},
				async handler(
					this: RunThis,
					ctx: Context<{ key: string; name: string; number: number; node: string }, GatewayMeta>,
				) {
					const previous = await this.findRun(ctx.params.key, ctx.params.name, ctx.params.number);
					if (ACTIVE.has(previous.status))
						throw conflict(`run #${previous.number} is still ${previous.status}: stop it first`);
					if (!previous.progress.state.nodes[ctx.params.node])
						throw notFound(`node ${ctx.params.node}`, { node: ctx.params.node });
					const def = await this.definition(ctx, previous);
					const sub = (previous.sub ?? 0) + 1;
					const doc: RunDoc = {
						...previous,
						_id: `${runId(previous.project, previous.workflow, previous.number)}.${String(sub).padStart(3, "0")}`,
						sub,
						status: "Waiting",
						triggeredBy: ctx.meta.user?.id ?? "system",
						created: nowIso(),
						updated: nowIso(),
						ended: null,
						createdMs: Date.now(),
						latestSub: undefined,
					};
					try {
						await this.runs().insert(doc);
					} catch (e) {
						if (e instanceof DuplicateKeyError) throw conflict("this run is being restarted already");
						throw e;
					}
					await this.activeRuns().replace({ _id: doc._id });
					// The run itself is final (checked above): nothing else writes it now.
					await this.runs().update(
						{ _id: runId(previous.project, previous.workflow, previous.number) },
						{ $set: { latestSub: sub } },
					);
					const run = await withRunLock(storeOf(this.broker), doc._id, this.lockOwner(), async () => {
						const { progress, queue } = await beginRestart(
							doc._id,
							def.model,
							def.pipelines,
							previous.progress,
							ctx.params.node,
							doc.vars,
							this.evaluator(doc),
							Date.now(),
						);
						await this.enqueue(doc, queue);
						return this.saveRun(doc, progress);
					});
					ctx.meta.$statusCode = 201;
					(ctx.meta as Record<string, unknown>).$location =
						`/api/v1/projects/${previous.project}/workflows/${previous.workflow}/runs/${previous.number}`;
					return this.presentRun(run);
				},
			},

			/** Jobs waiting for a hatchery that `capabilities` could run, oldest first, fair between projects. Internal. */
			queueFor: {
				params: {
					capabilities: { type: "object" },
					limit: { type: "number", integer: true, min: 1, max: 1000 },
				},
				async handler(this: RunThis, ctx: Context<{ capabilities: HatcheryCapabilities; limit: number }>) {
					const caps = ctx.params.capabilities;
					// A hatchery's capabilities are recorded every few seconds, not at every poll.
					const seen = this.hatcherySeen.get(caps.name) ?? 0;
					if (Date.now() - seen > 5000) {
						this.hatcherySeen.set(caps.name, Date.now());
						await this.hatcheries().replace({ _id: caps.name, capabilities: caps, seenAt: Date.now() });
					}
					// No sort in the query: the store then stops reading at the limit (FerretDB sorts in
					// memory after reading everything); the queue is small and ordered here instead.
					const window = Math.max(50, ctx.params.limit * 10);
					const waiting = (await this.queue().find({}, { limit: window })).sort(
						(a, b) => a.queuedAt - b.queuedAt,
					);
					const fit: QueueDoc[] = [];
					for (const q of waiting) {
						if (unmetRequirement(q.requirements, caps) !== undefined) continue;
						// one_at_a_time: wait while an earlier run has this node running or queued.
						if (q.oneAtATime) {
							const earlier = await this.jobs().find({
								project: q.project,
								workflow: q.workflow,
								node: q.node,
								runNumber: { $lt: q.runNumber },
							});
							if (
								earlier.some(
									(j) => j.status === "Waiting" || j.status === "Booked" || j.status === "Building",
								)
							)
								continue;
						}
						fit.push(q);
					}
					// Fair queueing: round-robin across projects, each in queue order.
					const byProject = new Map<string, QueueDoc[]>();
					for (const q of fit) byProject.set(q.project, [...(byProject.get(q.project) ?? []), q]);
					const fair: string[] = [];
					const want = ctx.params.limit * 3;
					while (fair.length < want && byProject.size > 0) {
						for (const [p, list] of byProject) {
							const next = list.shift();
							if (next) fair.push(next._id);
							if (list.length === 0) byProject.delete(p);
							if (fair.length >= want) break;
						}
					}
					// Replicas asking at once would all race for the same first jobs: each starts at a
					// random place among the first few, so most bookings succeed at the first try.
					const offset =
						fair.length > ctx.params.limit
							? Math.floor(Math.random() * (fair.length - ctx.params.limit + 1))
							: 0;
					return fair.slice(offset, offset + ctx.params.limit);
				},
			},

			/**
			 * A hatchery books a job: the first to insert the booking wins (atomic on every store),
			 * receives a token scoped to that job and spawns its worker. Internal.
			 */
			book: {
				params: {
					jobId: { type: "string", max: 1024 },
					hatchery: { type: "string", max: 256 },
					worker: { type: "string", max: 256 },
				},
				async handler(this: RunThis, ctx: Context<{ jobId: string; hatchery: string; worker: string }>) {
					const job = await this.jobs().findOne({ _id: ctx.params.jobId });
					if (job?.status !== "Waiting" || (await this.results().findOne({ _id: job._id })))
						return { won: false };
					const s = this.runSettings;
					const running = await this.activeJobs().find({ project: job.project });
					if (running.length >= s.maxRunningJobsPerProject)
						return { won: false, reason: "project concurrency limit" };
					if (running.filter((j) => j.workflow === job.workflow).length >= s.maxRunningJobsPerWorkflow) {
						return { won: false, reason: "workflow concurrency limit" };
					}
					const claim = await storeOf(this.broker).claim("booking", job._id, ctx.params.hatchery);
					if (!claim.won) return { won: false };
					await this.queue().remove({ _id: job._id });
					const { token, id: tokenId } = (await ctx.call("auth.issueJobToken", {
						job: job._id,
						run: job.runId,
						project: job.project,
						ttlSeconds: job.timeoutSeconds + 3600,
					})) as { token: string; id: string };
					await this.activeJobs().replace({
						_id: job._id,
						project: job.project,
						workflow: job.workflow,
						hatchery: ctx.params.hatchery,
						status: "Booked",
						bookedAt: Date.now(),
						startedAt: null,
						tokenId,
						timeoutSeconds: job.timeoutSeconds,
					});
					ctx.emit("job.booked", { jobId: job._id, hatchery: ctx.params.hatchery });
					return {
						won: true,
						token,
						jobId: job._id,
						runId: job.runId,
						timeoutSeconds: job.timeoutSeconds,
						// What the driver needs to choose where the worker runs (model/image, memory, binaries…).
						requirements: job.requirements,
					};
				},
			},

			/** A hatchery's spawn failed: the job goes back to the queue (or fails after repeated failures). Internal. */
			unbook: {
				params: { jobId: { type: "string", max: 1024 }, reason: { type: "string", max: 2048 } },
				async handler(this: RunThis, ctx: Context<{ jobId: string; reason: string }>) {
					const job = await this.jobs().findOne({ _id: ctx.params.jobId });
					if (!job) return { ok: false };
					await this.finalizeJob(job, "Fail", `worker could not start: ${ctx.params.reason}`);
					return { ok: true };
				},
			},

			/**
			 * Retention: artifacts of runs beyond each workflow's history_length (or
			 * CDS_HISTORY_LENGTH) lose their references, and blobs nothing refers to are deleted
			 * once seen unreferenced for `graceMs`. Runs itself periodically; ops may call it. Internal.
			 */
			collectGarbage: {
				params: { graceMs: { type: "number", integer: true, min: 0, optional: true } },
				async handler(this: RunThis, ctx: Context<{ graceMs?: number }>) {
					return this.collectGarbage(ctx.params.graceMs ?? this.runSettings.gcGraceMs);
				},
			},

			/** Jobs a hatchery launched that are still live, so it can kill orphans after a restart. Internal. */
			liveJobs: {
				params: { hatchery: { type: "string", max: 256 } },
				async handler(this: RunThis, ctx: Context<{ hatchery: string }>) {
					const jobs = await this.activeJobs().find({ hatchery: ctx.params.hatchery });
					return jobs.map((j) => j._id);
				},
			},
		},

		methods: {
			runs(this: RunThis) {
				return this.collections.runs as Collection<RunDoc>;
			},
			jobs(this: RunThis) {
				return this.collections.jobs as Collection<JobDoc>;
			},
			queue(this: RunThis) {
				return this.collections.job_queue as Collection<QueueDoc>;
			},
			results(this: RunThis) {
				return this.collections.job_results as Collection<JobResultDoc>;
			},
			hatcheries(this: RunThis) {
				return this.collections.hatcheries as Collection<HatcheryDoc>;
			},
			activeJobs(this: RunThis) {
				return this.collections.active_jobs as Collection<ActiveJobDoc>;
			},
			activeRuns(this: RunThis) {
				return this.collections.active_runs as Collection<Doc>;
			},
			/** Every attempt of every job the run's progress knows, read by _id. */
			async jobsOfRun(this: RunThis, run: RunDoc) {
				const out: JobDoc[] = [];
				for (const [node, p] of Object.entries(run.progress.pipelines)) {
					for (const j of p.stages.flatMap((st) => st.jobs)) {
						for (let attempt = 1; attempt <= j.attempt; attempt++) {
							const doc = await this.jobs().findOne({ _id: jobId(run._id, node, j.id, attempt) });
							if (!doc) continue;
							const active =
								doc.status === "Waiting" ? await this.activeJobs().findOne({ _id: doc._id }) : null;
							out.push(
								active
									? {
											...doc,
											status: active.status,
											hatchery: active.hatchery,
											bookedAt: active.bookedAt,
											startedAt: active.startedAt,
										}
									: doc,
							);
						}
					}
				}
				return out.sort((a, b) => a.queuedAt - b.queuedAt || a._id.localeCompare(b._id));
			},
			lockOwner(this: RunThis) {
				return this.broker.nodeID;
			},

			async definition(this: RunThis, ctx: Context | null, run: RunDoc) {
				const cached = this.definitions.get(run.definitionId);
				if (cached) return cached;
				const caller = ctx ?? this.broker;
				// As the system, not as the caller: a worker's token reaches only the worker routes.
				const def = (await caller.call(
					"workflow.get",
					{
						key: run.project,
						name: run.workflow,
						branch: run.definitionId.split("/").slice(2, -1).join("/"),
						version: run.definitionVersion,
					},
					{ meta: { user: undefined } },
				)) as { model: Workflow; pipelines: Pipeline[] };
				const value = { model: def.model, pipelines: def.pipelines };
				if (this.definitions.size > 500) this.definitions.clear();
				this.definitions.set(run.definitionId, value);
				return value;
			},

			evaluator(this: RunThis, run: RunDoc): ConditionEvaluator {
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
			},

			async enqueue(this: RunThis, run: RunDoc, queued: QueuedJob[]) {
				const now = Date.now();
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
						timeoutSeconds: q.job.timeout ?? this.runSettings.defaultJobTimeoutSeconds,
					};
					try {
						await this.jobs().insert(doc);
					} catch (e) {
						if (e instanceof DuplicateKeyError) continue; // queued already (a replay)
						throw e;
					}
					try {
						await this.queue().insert({
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
				if (queued.length > 0) this.broker.broadcast("job.queued", { count: queued.length });
			},

			async saveRun(this: RunThis, run: RunDoc, progress: RunProgress) {
				const status = progress.state.status;
				const ended = ACTIVE.has(status) ? null : (run.ended ?? nowIso());
				const next: RunDoc = { ...run, progress, status, updated: nowIso(), ended };
				await this.runs().replace(next);
				if (ended) await this.activeRuns().remove({ _id: run._id });
				this.broker.emit("run.updated", {
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
			},

			/**
			 * Ends a job attempt once: the insert of its result decides between a late worker and
			 * the reaper. Returns false when someone else already finalised it.
			 */
			async finalizeJob(
				this: RunThis,
				job: JobDoc,
				status: FinalResult,
				reason: string | null,
				steps: unknown[] = [],
				options: { apply?: boolean } = {},
			) {
				const result: JobResultDoc = { _id: job._id, status, reason, steps, at: Date.now() };
				try {
					await this.results().insert(result);
				} catch (e) {
					if (e instanceof DuplicateKeyError) return false;
					throw e;
				}
				await this.queue().remove({ _id: job._id });
				// The job record is written twice in its life (queued, ended): the booking and the
				// start live in active_jobs, which is small.
				const active = await this.activeJobs().findOne({ _id: job._id });
				await this.jobs().update(
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
				this.jobCache.delete(job._id);
				if (active) {
					await this.broker.call("auth.revokeJobToken", { id: active.tokenId }).catch(() => {});
					await this.activeJobs().remove({ _id: job._id });
				}
				if (options.apply === false) {
					this.broker.emit("job.updated", { jobId: job._id, runId: job.runId, status });
					return true;
				}
				await this.applyResult(job.runId, job, result).catch((e: Error) =>
					this.logger.warn(
						`run ${job.runId}: result of ${job._id} not applied yet (${e.message}); the reconciler will`,
					),
				);
				this.broker.emit("job.updated", { jobId: job._id, runId: job.runId, status });
				return true;
			},

			async applyResult(this: RunThis, rid: string, job: JobDoc, result: JobResultDoc) {
				await withRunLock(storeOf(this.broker), rid, this.lockOwner(), async () => {
					const run = await this.runs().findOne({ _id: rid });
					if (!run) return;
					const def = await this.definition(null, run);
					const done = await finishJob(
						run._id,
						def.model,
						def.pipelines,
						run.progress,
						{ node: job.node, jobIndex: job.jobIndex, attempt: job.attempt },
						result.status,
						result.reason ?? undefined,
						this.evaluator(run),
						Date.now(),
					);
					if (!done.applied) return;
					await this.enqueue(run, done.queue);
					await this.saveRun(run, done.progress);
				});
			},

			async findRun(this: RunThis, key: string, name: string, number: number) {
				// The latest sub-run of that number (a restart replaces what `number` shows).
				const base = await this.runs().findOne({ _id: runId(key, name, number) });
				const run = base?.latestSub
					? await this.runs().findOne({ _id: `${base._id}.${String(base.latestSub).padStart(3, "0")}` })
					: base;
				if (!run) throw notFound(`run ${name} #${number}`, { project: key, workflow: name, number });
				return run;
			},

			presentRun(this: RunThis, run: RunDoc, jobs?: JobDoc[]) {
				const nodes = Object.values(run.progress.state.nodes).map((n) => {
					const p = run.progress.pipelines[n.name];
					return {
						name: n.name,
						status: n.status,
						reason: n.reason ?? null,
						startedAt: n.startedAt ? new Date(n.startedAt).toISOString() : null,
						doneAt: n.doneAt ? new Date(n.doneAt).toISOString() : null,
						resumedBy: n.resumedBy ?? null,
						pipeline: p?.pipeline ?? null,
						stages: (p?.stages ?? []).map((s) => ({
							name: s.name,
							status: s.status,
							jobs: s.jobs.map((j) => {
								const doc = jobs
									?.filter((d) => d.node === n.name && d.jobIndex === j.id)
									.sort((a, b) => b.attempt - a.attempt)[0];
								return {
									name: j.name,
									// The state machine calls a started job Building; until a worker takes it, it waits in the queue.
									status:
										j.status === "Building" &&
										doc &&
										(doc.status === "Waiting" || doc.status === "Booked") &&
										doc.attempt === j.attempt
											? "Waiting"
											: j.status,
									attempt: j.attempt,
									reason: j.reason ?? doc?.reason ?? null,
									id: doc?._id ?? null,
									startedAt: doc?.startedAt ? new Date(doc.startedAt).toISOString() : null,
									endedAt: doc?.endedAt ? new Date(doc.endedAt).toISOString() : null,
								};
							}),
						})),
					};
				});
				return {
					id: run._id,
					project: run.project,
					workflow: run.workflow,
					number: run.number,
					sub: run.sub ?? 0,
					status: run.status,
					branch: run.branch,
					commit: run.commit,
					definitionVersion: run.definitionVersion,
					triggeredBy: run.triggeredBy,
					created: run.created,
					updated: run.updated,
					ended: run.ended,
					tags: run.tags,
					nodes,
				};
			},

			/**
			 * Runs of branches deleted longer ago than the retention delay go, with their jobs and
			 * logs (unless the branch came back: it has a definition again). Their artifacts then lose
			 * their references, and the sweeper deletes the blobs.
			 */
			async purgeDeletedBranches(this: RunThis) {
				const deletions = this.collections.branch_deletions as Collection<
					Doc & { project: string; workflow: string; branch: string; deletedAt: number }
				>;
				let purged = 0;
				for (const d of await deletions.find({})) {
					if (Date.now() - d.deletedAt < this.runSettings.deletedBranchRetentionMs) continue;
					const back = await this.broker
						.call(
							"workflow.get",
							{ key: d.project, name: d.workflow, branch: d.branch },
							{ meta: { user: undefined } },
						)
						.then(
							(w: any) => w?.branch === d.branch,
							() => false,
						);
					if (!back) {
						for (const run of await this.runs().find({
							project: d.project,
							workflow: d.workflow,
							branch: d.branch,
						})) {
							if (ACTIVE.has(run.status)) continue;
							// Claims first, documents after: a finished run is neither booked nor advanced
							// any more, and its claims would otherwise stay in _claims for ever.
							const store = storeOf(this.broker);
							await store.forget("run-lock", run._id);
							for (const job of await this.jobsOfRun(run)) {
								await store.forget("booking", job._id);
								await (this.collections.logs as Collection<Doc>).remove({ jobId: job._id }, { multi: true });
								await (this.collections.job_steps as Collection<Doc>).remove(
									{ jobId: job._id },
									{ multi: true },
								);
								await this.results().remove({ _id: job._id });
								await this.jobs().remove({ _id: job._id });
							}
							await (this.collections.artifact_refs as Collection<Doc>).remove(
								{ scope: run._id },
								{ multi: true },
							);
							await this.runs().remove({ _id: run._id });
							purged++;
						}
					}
					await deletions.remove({ _id: d._id });
				}
				return purged;
			},

			async collectGarbage(this: RunThis, graceMs: number) {
				const refs = this.collections.artifact_refs as Collection<{
					_id: string;
					scope: string;
					sha256: string;
				}>;
				const counters = this.collections.run_counters as Collection<{ _id: string; last: number }>;
				let expiredRefs = 0;
				const allRefs = await refs.find({});
				for (const counter of await counters.find({})) {
					const [project, ...rest] = counter._id.split("/");
					const workflow = rest.join("/");
					const base = await this.runs().findOne({ _id: runId(project!, workflow, counter.last) });
					const keep = base
						? ((await this.definition(null, base).catch(() => undefined))?.model.historyLength ??
							this.runSettings.historyLength)
						: this.runSettings.historyLength;
					const { below } = expiredRunNumbers(counter.last, keep);
					const prefix = `${project}/${workflow}/`;
					for (const ref of allRefs) {
						if (!ref.scope.startsWith(prefix)) continue;
						const number = Number.parseInt(ref.scope.slice(prefix.length), 10);
						if (Number.isFinite(number) && number < below) {
							await refs.remove({ _id: ref._id });
							expiredRefs++;
						}
					}
				}
				const referenced = new Set<string>();
				for (const name of ["artifact_refs", "cache_refs", "report_refs"]) {
					for (const r of await (this.collections[name] as Collection<{ _id: string; sha256: string }>).find(
						{},
					))
						referenced.add(r.sha256);
				}
				const { artifacts } = runtimeOf(this.broker);
				const stored: string[] = [];
				for await (const sha of artifacts.list()) stored.push(sha);
				const doomed = this.sweeper.sweep(stored, referenced, Date.now(), graceMs);
				for (const sha of doomed) await artifacts.delete(sha);
				const purgedRuns = await this.purgeDeletedBranches();
				return { expiredRefs, deletedBlobs: doomed.length, purgedRuns };
			},

			/** Jobs whose worker stopped heartbeating (or never started) end as lost; unservable jobs fail. */
			async reap(this: RunThis) {
				const s = this.runSettings;
				const now = Date.now();
				const beats = this.collections.heartbeats as Collection<{ _id: string; at: number }>;
				for (const entry of await this.activeJobs().find({})) {
					const doc = await this.jobs().findOne({ _id: entry._id });
					if (!doc) {
						await this.activeJobs().remove({ _id: entry._id });
						continue;
					}
					const job = { ...doc, status: entry.status, startedAt: entry.startedAt, bookedAt: entry.bookedAt };
					if (job.status === "Building") {
						const beat = await beats.findOne({ _id: job._id });
						// Heartbeats could not arrive while this service was down: count from its start.
						const last = Math.max(beat?.at ?? 0, job.startedAt ?? 0, this.serviceStartedAt);
						if (now - last > s.heartbeatTimeoutMs) await this.finalizeJob(job, "Fail", "worker lost");
						else if (job.startedAt && now - job.startedAt > (job.timeoutSeconds + 30) * 1000) {
							await this.finalizeJob(job, "Fail", `job timed out after ${job.timeoutSeconds} s`);
						}
					} else if (job.bookedAt && now - job.bookedAt > s.bookingTimeoutMs) {
						await this.finalizeJob(job, "Fail", "worker lost: it never started");
					}
				}
				const waiting = await this.queue().find(
					{ queuedAt: { $lt: now - s.noHatcheryTimeoutMs } },
					{ limit: 200 },
				);
				if (waiting.length > 0) {
					const live = (await this.hatcheries().find({}))
						.filter((h) => now - h.seenAt < 30_000)
						.map((h) => h.capabilities);
					for (const q of waiting) {
						const why = whyNoHatchery(q.requirements, live);
						if (!why) continue;
						const job = await this.jobs().findOne({ _id: q._id });
						if (job) await this.finalizeJob(job, "Fail", why);
						else await this.queue().remove({ _id: q._id });
					}
				}
			},

			/**
			 * After a crash the store may hold a job result not yet applied to its run, or a run
			 * whose queued jobs were never written: bring every active run up to date.
			 */
			async reconcile(this: RunThis) {
				for (const entry of await this.activeRuns().find({}, { limit: 500 })) {
					const run = await this.runs().findOne({ _id: entry._id });
					if (!run || !ACTIVE.has(run.status)) {
						await this.activeRuns().remove({ _id: entry._id });
						continue;
					}
					try {
						const def = await this.definition(null, run);
						for (const q of runningJobs(run._id, def.model, def.pipelines, run.progress)) {
							const result = await this.results().findOne({ _id: q.id });
							if (result) {
								const job = await this.jobs().findOne({ _id: q.id });
								if (job) await this.applyResult(run._id, job, result);
							} else if (!(await this.jobs().findOne({ _id: q.id }))) {
								await this.enqueue(run, [q]);
							}
						}
						if (run.status === "Waiting") {
							await withRunLock(storeOf(this.broker), run._id, this.lockOwner(), async () => {
								const current = (await this.runs().findOne({ _id: run._id }))!;
								if (current.status !== "Waiting") return;
								const { progress, queue } = await beginRun(
									current._id,
									def.model,
									def.pipelines,
									current.vars,
									this.evaluator(current),
									Date.now(),
								);
								await this.enqueue(current, queue);
								await this.saveRun(current, progress);
							});
						} else {
							await withRunLock(storeOf(this.broker), run._id, this.lockOwner(), async () => {
								const current = (await this.runs().findOne({ _id: run._id }))!;
								if (!ACTIVE.has(current.status)) return;
								const { progress, queue } = await settleRun(
									current._id,
									def.model,
									def.pipelines,
									current.progress,
									this.evaluator(current),
									Date.now(),
								);
								await this.enqueue(current, queue);
								if (JSON.stringify(progress) !== JSON.stringify(current.progress))
									await this.saveRun(current, progress);
							});
						}
					} catch (e) {
						this.logger.warn(`reconcile ${run._id}: ${(e as Error).message}`);
					}
				}
			},
		},

		created(this: RunThis) {
			this.runSettings = config.run;
			this.timers = [];
			this.definitions = new Map();
			this.hatcherySeen = new Map();
			this.jobCache = new Map();
			this.sweeper = new BlobSweeper();
		},

		async started(this: RunThis) {
			this.serviceStartedAt = Date.now();
			const loop = (every: number, fn: () => Promise<unknown>) =>
				this.timers.push(everyInterval(every, fn, (e) => this.logger.warn(e.message)));
			loop(1000, () => this.reap());
			loop(3000, () => this.reconcile());
			loop(this.runSettings.gcIntervalMs, async () => {
				await this.collectGarbage(this.runSettings.gcGraceMs);
			});
			void this.reconcile().catch(() => {});
		},

		async stopped(this: RunThis) {
			for (const t of this.timers) clearInterval(t);
		},
	};
}
