// Owns workflow runs and their jobs over HTTP and for the hatcheries: validates, calls the run
// engine (src/engine/run-engine.ts: numbering, queue, booking with atomic job limits, results,
// progress) and answers; its timers run the reaper, the reconciler and the garbage collector
// (src/engine/reaper.ts, reconciler.ts, retention.ts). Everything lives in the store: any
// replica can pick up a run another (now dead) replica was driving. The worker API is the
// `worker` service (worker-api.service.ts), hosted with this one.

import { callAction } from "./support/call.ts";
import type { Context, Service, ServiceSchema } from "moleculer";
import type { Config } from "../config/index.ts";
import { invalid, notFound } from "./support/errors.ts";
import type { GatewayMeta } from "../schemas/meta.ts";
import { everyInterval } from "./support/periodic.ts";
import { engineCall, openRunEngine } from "./support/run-engine.ts";
import { runtimeOf } from "./support/runtime.ts";
import type {
	BookResult,
	JobTokenBooking,
	LiveJobsResult,
	QueueForResult,
	UnbookResult,
} from "../schemas/run.ts";
import { book, jobTokenOf, liveJobs, queueFor, unbook, vouchWorkers } from "../src/engine/booking.ts";
import { BlobSweeper } from "../src/engine/garbage.ts";
import { readLogPage } from "../src/engine/log-page.ts";
import { presentRun } from "../src/engine/present-run.ts";
import { reap } from "../src/engine/reaper.ts";
import { ReconcileSchedule } from "../src/engine/reconcile-schedule.ts";
import { reconcile } from "../src/engine/reconciler.ts";
import type { HatcheryCapabilities } from "../src/engine/requirements.ts";
import { collectGarbage, type GarbageReport } from "../src/engine/retention.ts";
import { createRun, restartRun, resumeNode, stopRun } from "../src/engine/run-commands.ts";
import type { RunEngine } from "../src/engine/run-engine.ts";
import { findRunByRef, parseRunRef, RUN_REF_PATTERN } from "../src/engine/run-ref.ts";
import { NAME_PATTERN, PROJECT_KEY_PATTERN } from "../src/project/variables.ts";
import { subsetProblem } from "../src/store/subset.ts";
import { blobNameProblem, blobRefId, TAG_PATTERN } from "../src/engine/worker-job.ts";
import { pagination } from "../schemas/params.ts";
import {
	markWorkflowWorkspacesDeleted,
	workspaceDeleted,
	workspacesToDelete,
} from "../src/engine/workspaces.ts";
import { type PageOptions, paginate } from "../src/api/pagination.ts";

interface RunLocals {
	engine: RunEngine;
	sweeper: BlobSweeper;
	timers: NodeJS.Timeout[];
	reconcileSchedule: ReconcileSchedule;
	/** The next reaper pass reads every booked job's result (see reap). */
	reapThoroughDue: boolean;
}

interface RunMethods {
	collectGarbage(graceMs: number, staleUploadMs?: number): Promise<GarbageReport>;
	branchExists(project: string, workflow: string, branch: string): Promise<boolean>;
}

type RunThis = Service & RunLocals & RunMethods;

const keyParam = { type: "string", pattern: PROJECT_KEY_PATTERN, max: 64 } as const;
const nameParam = { type: "string", pattern: NAME_PATTERN, max: 128 } as const;
/** `4` (the latest sub-run of run 4) or `4.1` (that sub-run; `4.0` the run as it first ran). */
const numberParam = { type: "string", pattern: RUN_REF_PATTERN, max: 24, convert: true } as const;

type RunRef = { key: string; name: string; number: string };

/** The run a request names (`number` passed the pattern above). */
const refOf = (number: string) => parseRunRef(number)!;

export default function RunService(config: Config): ServiceSchema<any, RunMethods, RunLocals, RunThis> {
	return {
		name: "run",
		settings: { rest: "/projects" },

		events: {
			/** A deleted branch's runs are purged after CDS_DELETED_BRANCH_RETENTION_MS (see collectGarbage). */
			async "workflow.branchDeleted"(
				this: RunThis,
				ctx: Context<{ project: string; workflow: string; branch: string; deletedAt: string }>,
			) {
				const { project, workflow, branch, deletedAt } = ctx.params;
				await this.engine.recordBranchDeletion(
					project,
					workflow,
					branch,
					Date.parse(deletedAt) || Date.now(),
				);
			},
			/** Its persistent workspaces are marked deleted; the hatcheries delete them (run.workspacesToDelete). */
			async "workflow.deleted"(this: RunThis, ctx: Context<{ project: string; workflow: string }>) {
				const marked = await markWorkflowWorkspacesDeleted(
					this.engine,
					ctx.params.project,
					ctx.params.workflow,
				);
				if (marked > 0) ctx.emit("run.workspacesDeleted", { count: marked });
			},
			/** Another node queued jobs: this node's view of the queue must be read again (queue-view.ts). */
			"job.queued"(this: RunThis, ctx: Context<unknown>) {
				if (ctx.nodeID !== this.broker.nodeID) this.engine.queueView.invalidate();
			},
			/** A node left (maybe died mid-change): the next reconcile and reaper passes look at everything. */
			"$node.disconnected"(this: RunThis) {
				this.reconcileSchedule.requestFull();
				this.reapThoroughDue = true;
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
					// Asking again under the same id answers the run created the first time.
					requestId: { type: "string", min: 1, max: 512, optional: true },
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
							requestId?: string;
						},
						GatewayMeta
					>,
				) {
					const { key, name } = ctx.params;
					if (ctx.params.payload !== undefined && JSON.stringify(ctx.params.payload).length > 256 * 1024) {
						throw invalid("payload larger than 256 KiB", [{ field: "payload", message: "too large" }]);
					}
					const problem = subsetProblem(ctx.params.payload);
					if (problem) throw invalid(`payload: ${problem}`, [{ field: "payload", message: problem }]);
					const run = await engineCall(() =>
						createRun(this.engine, {
							project: key,
							workflow: name,
							branch: ctx.params.branch,
							commit: ctx.params.commit,
							version: ctx.params.version,
							params: ctx.params.params,
							payload: ctx.params.payload,
							triggeredBy: ctx.meta.user?.id ?? "system",
							...(ctx.params.requestId ? { requestId: ctx.params.requestId } : {}),
						}),
					);
					ctx.meta.$statusCode = 201;
					(ctx.meta as Record<string, unknown>).$location =
						`/api/v1/projects/${key}/workflows/${name}/runs/${run.number}`;
					ctx.emit("run.created", { project: key, workflow: name, number: run.number, runId: run._id });
					return presentRun(run);
				},
			},

			list: {
				rest: "GET /:key/workflows/:name/runs",
				summary: "List the runs of a workflow, newest first (a number's sub-runs before it)",
				permission: { level: "read", project: "key" },
				params: {
					key: keyParam,
					name: nameParam,
					branch: { type: "string", max: 255, optional: true },
					...pagination,
				},
				async handler(
					this: RunThis,
					ctx: Context<{ key: string; name: string; branch?: string } & PageOptions>,
				) {
					const q: Record<string, unknown> = { project: ctx.params.key, workflow: ctx.params.name };
					if (ctx.params.branch) q.branch = ctx.params.branch;
					// A run's _id is `KEY/WORKFLOW/<number, 10 digits>[.<sub-run, 3 digits>]`: descending
					// _id order is newest first, unique, and a keyset the cursor continues after.
					return paginate(this.engine.repo.runs, q, { ...ctx.params, order: { direction: -1 } }, (r) =>
						presentRun(r),
					);
				},
			},

			get: {
				rest: "GET /:key/workflows/:name/runs/:number",
				summary: "A run with its nodes, stages and jobs",
				permission: { level: "read", project: "key" },
				params: { key: keyParam, name: nameParam, number: numberParam },
				async handler(this: RunThis, ctx: Context<RunRef>) {
					const { key, name, number } = ctx.params;
					const run = await engineCall(() => findRunByRef(this.engine.repo, key, name, refOf(number)));
					return presentRun(run, await this.engine.repo.jobsOfRun(run));
				},
			},

			stop: {
				rest: "POST /:key/workflows/:name/runs/:number/stop",
				summary: "Stop a run: its workers are told to stop, then killed",
				permission: { level: "write", project: "key" },
				params: { key: keyParam, name: nameParam, number: numberParam },
				async handler(this: RunThis, ctx: Context<RunRef, GatewayMeta>) {
					const { key, name, number } = ctx.params;
					const { run, stoppedJobs } = await engineCall(async () =>
						stopRun(
							this.engine,
							await findRunByRef(this.engine.repo, key, name, refOf(number)),
							ctx.meta.user?.id ?? "system",
						),
					);
					ctx.emit("run.stopped", { runId: run._id, jobs: stoppedJobs });
					return presentRun(run);
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
				async handler(this: RunThis, ctx: Context<RunRef & { node: string }, GatewayMeta>) {
					const { key, name, number, node } = ctx.params;
					const run = await engineCall(async () =>
						resumeNode(
							this.engine,
							await findRunByRef(this.engine.repo, key, name, refOf(number)),
							node,
							ctx.meta.user?.id ?? "system",
						),
					);
					return presentRun(run);
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
				async handler(this: RunThis, ctx: Context<RunRef & { node: string }, GatewayMeta>) {
					const { key, name, number, node } = ctx.params;
					const run = await engineCall(async () =>
						restartRun(
							this.engine,
							await findRunByRef(this.engine.repo, key, name, refOf(number)),
							node,
							ctx.meta.user?.id ?? "system",
						),
					);
					ctx.meta.$statusCode = 201;
					(ctx.meta as Record<string, unknown>).$location =
						`/api/v1/projects/${run.project}/workflows/${run.workflow}/runs/${run.number}.${run.sub}`;
					return presentRun(run);
				},
			},

			logs: {
				rest: "GET /:key/workflows/:name/runs/:number/logs",
				summary: "Stored log lines of a run's jobs, in order (paginated; follow with the cursor)",
				permission: { level: "read", project: "key" },
				params: {
					key: keyParam,
					name: nameParam,
					number: numberParam,
					job: { type: "string", optional: true, max: 1024 },
					node: { type: "string", optional: true, max: 128 },
					cursor: { type: "string", optional: true, max: 2048 },
					limit: { type: "number", integer: true, min: 1, max: 5000, optional: true, convert: true },
				},
				async handler(
					this: RunThis,
					ctx: Context<RunRef & { job?: string; node?: string; cursor?: string; limit?: number }>,
				) {
					const { key, name, number, ...query } = ctx.params;
					const run = await engineCall(() => findRunByRef(this.engine.repo, key, name, refOf(number)));
					return engineCall(() => readLogPage(this.engine.repo, run, query));
				},
			},

			steps: {
				rest: "GET /:key/workflows/:name/runs/:number/steps",
				summary:
					"The steps of one of a run's jobs as its worker reported them: status, start, end, exit code",
				permission: { level: "read", project: "key" },
				params: {
					key: keyParam,
					name: nameParam,
					number: numberParam,
					job: { type: "string", min: 1, max: 1024 },
				},
				async handler(this: RunThis, ctx: Context<RunRef & { job: string }>) {
					const { key, name, number, job } = ctx.params;
					const run = await engineCall(() => findRunByRef(this.engine.repo, key, name, refOf(number)));
					// Only a job of this run: the permission was checked on the run's project.
					if (!(await this.engine.repo.jobsOfRun(run)).some((j) => j._id === job))
						return { items: [], next: null };
					const docs = await this.engine.repo.jobSteps.find(
						{ jobId: job },
						{ sort: { index: 1 }, limit: 10_000 },
					);
					return {
						items: docs.map((d) => {
							const { _id, jobId: _job, ...step } = d as Record<string, unknown>;
							return step;
						}),
						next: null,
					};
				},
			},

			artifacts: {
				rest: "GET /:key/workflows/:name/runs/:number/artifacts",
				summary: "The artifacts a run's jobs uploaded (tag, file name, size, SHA-256)",
				permission: { level: "read", project: "key" },
				params: { key: keyParam, name: nameParam, number: numberParam, ...pagination },
				async handler(this: RunThis, ctx: Context<RunRef & PageOptions>) {
					const { key, name, number } = ctx.params;
					const run = await engineCall(() => findRunByRef(this.engine.repo, key, name, refOf(number)));
					return paginate(this.engine.repo.artifactRefs, { scope: run._id }, ctx.params, (r) => ({
						tag: r.tag,
						name: r.name,
						size: r.size,
						sha256: r.sha256,
					}));
				},
			},

			artifact: {
				rest: "GET /:key/workflows/:name/runs/:number/artifacts/:tag/:file",
				summary: "Download an artifact of a run (always as an attachment, never shown inline)",
				permission: { level: "read", project: "key" },
				params: {
					key: keyParam,
					name: nameParam,
					number: numberParam,
					tag: { type: "string", pattern: TAG_PATTERN },
					file: { type: "string", min: 1, max: 255 },
				},
				async handler(this: RunThis, ctx: Context<RunRef & { tag: string; file: string }>) {
					const { key, name, number, tag, file } = ctx.params;
					const problem = blobNameProblem(tag, file);
					if (problem) throw invalid(problem.message, [{ field: problem.field, message: problem.detail }]);
					const run = await engineCall(() => findRunByRef(this.engine.repo, key, name, refOf(number)));
					const ref = await this.engine.repo.artifactRefs.findOne({ _id: blobRefId(run._id, tag, file) });
					const stream = ref ? await runtimeOf(this.broker).artifacts.get(ref.sha256) : null;
					if (!ref || !stream) throw notFound(`artifact ${tag}/${file}`, { tag, file });
					// Files from jobs are untrusted: downloaded, never rendered or sniffed by a browser.
					const meta = ctx.meta as Record<string, unknown>;
					meta.$responseType = "application/octet-stream";
					meta.$responseHeaders = {
						"Content-Disposition": `attachment; filename="${file.replace(/[^A-Za-z0-9._-]/g, "_")}"`,
						"X-Content-Type-Options": "nosniff",
						"Content-Security-Policy": "default-src 'none'; sandbox",
					};
					return stream;
				},
			},

			/** Jobs waiting for a hatchery that `capabilities` could run, oldest first, fair between projects. Internal. */
			queueFor: {
				idempotent: true,
				params: {
					capabilities: { type: "object" },
					limit: { type: "number", integer: true, min: 1, max: 1000 },
				},
				async handler(
					this: RunThis,
					ctx: Context<{ capabilities: HatcheryCapabilities; limit: number }>,
				): Promise<QueueForResult> {
					return queueFor(this.engine, ctx.params.capabilities, ctx.params.limit);
				},
			},

			/**
			 * A hatchery books a job: the first to claim the booking wins (atomic on every store), within
			 * the project and workflow limits (atomic too: slot claims), and receives a token scoped to
			 * that job. `worker` (a name the hatchery chose) is accepted for older hatcheries and unused. Internal.
			 */
			book: {
				params: {
					jobId: { type: "string", max: 1024 },
					hatchery: { type: "string", max: 256 },
					worker: { type: "string", max: 256, optional: true },
				},
				async handler(this: RunThis, ctx: Context<{ jobId: string; hatchery: string }>): Promise<BookResult> {
					return book(this.engine, ctx.params.jobId, ctx.params.hatchery);
				},
			},

			/**
			 * A hatchery could not start the worker of a job it booked: the job fails with the reason
			 * (a `retry: N` on the job queues a next attempt), its booking ends. With `lost`, the worker
			 * started and died for a reason its driver knows (its pod was evicted): "worker lost: <reason>". Internal.
			 */
			unbook: {
				params: {
					jobId: { type: "string", max: 1024 },
					reason: { type: "string", max: 2048 },
					lost: { type: "boolean", optional: true },
				},
				async handler(
					this: RunThis,
					ctx: Context<{ jobId: string; reason: string; lost?: boolean }>,
				): Promise<UnbookResult> {
					return { ok: await unbook(this.engine, ctx.params.jobId, ctx.params.reason, ctx.params.lost) };
				},
			},

			/**
			 * Retention: artifacts of runs beyond each workflow's history_length (or
			 * CDS_HISTORY_LENGTH) lose their references, and blobs nothing refers to are deleted
			 * once seen unreferenced for `graceMs`. Runs itself periodically; ops may call it. Internal.
			 */
			collectGarbage: {
				params: {
					graceMs: { type: "number", integer: true, min: 0, optional: true },
					staleUploadMs: { type: "number", integer: true, min: 0, optional: true },
				},
				async handler(this: RunThis, ctx: Context<{ graceMs?: number; staleUploadMs?: number }>) {
					return this.collectGarbage(ctx.params.graceMs ?? config.run.gcGraceMs, ctx.params.staleUploadMs);
				},
			},

			/** Jobs a hatchery launched that are still live, so it can kill orphans after a restart. Internal. */
			liveJobs: {
				idempotent: true,
				params: { hatchery: { type: "string", max: 256 } },
				async handler(this: RunThis, ctx: Context<{ hatchery: string }>): Promise<LiveJobsResult> {
					return liveJobs(this.engine, ctx.params.hatchery);
				},
			},

			/** What a job's booking holds of its worker's token (auth.resolve); null once it ended. Internal. */
			jobToken: {
				idempotent: true,
				params: { job: { type: "string", min: 1, max: 512 } },
				async handler(this: RunThis, ctx: Context<{ job: string }>): Promise<JobTokenBooking | null> {
					return jobTokenOf(this.engine, ctx.params.job);
				},
			},

			/** A hatchery's workers it sees alive: their jobs are not lost while they cannot reach the API. Internal. */
			workersAlive: {
				params: {
					hatchery: { type: "string", max: 256 },
					jobs: { type: "array", max: 10_000, items: { type: "string", max: 512 } },
				},
				async handler(this: RunThis, ctx: Context<{ hatchery: string; jobs: string[] }>) {
					const vouched = await vouchWorkers(this.engine, ctx.params.hatchery, ctx.params.jobs);
					return { vouched: vouched.length };
				},
			},

			/** Persistent workspaces of deleted workflows a hatchery's driver still keeps (none leased). Internal. */
			workspacesToDelete: {
				idempotent: true,
				params: { hatchery: { type: "string", max: 256 } },
				async handler(this: RunThis, ctx: Context<{ hatchery: string }>): Promise<string[]> {
					return workspacesToDelete(this.engine, ctx.params.hatchery);
				},
			},

			/** A hatchery's driver deleted a workspace (run.workspacesToDelete). Internal. */
			workspaceDeleted: {
				params: { id: { type: "string", max: 128 }, hatchery: { type: "string", max: 256 } },
				async handler(this: RunThis, ctx: Context<{ id: string; hatchery: string }>) {
					await workspaceDeleted(this.engine, ctx.params.id, ctx.params.hatchery);
					return { ok: true };
				},
			},
		},

		methods: {
			collectGarbage(this: RunThis, graceMs: number, staleUploadMs?: number) {
				return collectGarbage(this.engine, {
					artifacts: runtimeOf(this.broker).artifacts,
					sweeper: this.sweeper,
					graceMs,
					...(staleUploadMs !== undefined ? { staleUploadMs } : {}),
					branchExists: (p, w, b) => this.branchExists(p, w, b),
					// Plugin binaries live in the same blob store (the plugin service is hosted with run).
					alsoReferenced: async () =>
						((await this.broker.call("plugin.blobs")) as { sha256: string[] }).sha256,
				});
			},

			/** Whether a branch has a definition again (a deleted branch that came back keeps its runs). */
			branchExists(this: RunThis, project: string, workflow: string, branch: string) {
				return callAction(
					this.broker,
					"workflow.get",
					{ key: project, name: workflow, branch },
					{ meta: { user: undefined } },
				).then(
					(w) => w.branch === branch,
					() => false,
				);
			},
		},

		created(this: RunThis) {
			this.reconcileSchedule = new ReconcileSchedule();
			this.timers = [];
			this.sweeper = new BlobSweeper();
		},

		async started(this: RunThis) {
			this.engine = await openRunEngine(this.broker, config, this.logger);
			const loop = (every: number, fn: () => Promise<unknown>) =>
				this.timers.push(everyInterval(every, fn, (e) => this.logger.warn(e.message)));
			let reapPasses = 0;
			loop(1000, () => {
				const thorough = this.reapThoroughDue || reapPasses++ % 30 === 0;
				this.reapThoroughDue = false;
				return reap(this.engine, { thorough });
			});
			loop(3000, () => reconcile(this.engine, undefined, this.reconcileSchedule));
			loop(config.run.gcIntervalMs, () => this.collectGarbage(config.run.gcGraceMs));
			void reconcile(this.engine, undefined, this.reconcileSchedule).catch(() => {});
		},

		async stopped(this: RunThis) {
			for (const t of this.timers) clearInterval(t);
		},
	};
}
