// The run service's collections over the Store interface, and the reads several parts of the
// engine share. Opening it creates the collections and their indexes (idempotent), so the run
// service and the worker API service each open their own over the same store.

import type {
	ActiveJobDoc,
	BlobRefDoc,
	BranchDeletionDoc,
	HatcheryDoc,
	HeartbeatDoc,
	JobDoc,
	JobResultDoc,
	LogDoc,
	QueueDoc,
	RunCounterDoc,
	RunDoc,
	WorkspaceDoc,
} from "../../schemas/run.ts";
import type { Collection, CollectionSpec, Doc, Store } from "../store/types.ts";
import { jobId } from "./advance.ts";

export const RUN_COLLECTIONS = {
	runs: {
		name: "runs",
		indexes: [
			{ fields: ["project", "workflow"] },
			{ fields: ["status"], lowCardinality: true },
			// Creations asked again under the same request id (a hook event replayed) find their run.
			{ fields: ["requestId"] },
		],
	},
	jobs: { name: "jobs", indexes: [{ fields: ["runId"] }, { fields: ["status"], lowCardinality: true }] },
	queue: { name: "job_queue" },
	results: { name: "job_results" },
	hatcheries: { name: "hatcheries" },
	heartbeats: { name: "heartbeats" },
	logs: { name: "logs", indexes: [{ fields: ["jobId"] }] },
	jobSteps: { name: "job_steps", indexes: [{ fields: ["jobId"] }] },
	artifactRefs: { name: "artifact_refs", indexes: [{ fields: ["scope", "tag"] }] },
	cacheRefs: { name: "cache_refs", indexes: [{ fields: ["scope", "tag"] }] },
	reportRefs: { name: "report_refs" },
	// Small working sets, so that nothing hot scans the big collections (FerretDB answers only
	// _id from an index; any other filter reads the whole collection).
	activeJobs: { name: "active_jobs" },
	activeRuns: { name: "active_runs" },
	counters: { name: "run_counters" },
	branchDeletions: { name: "branch_deletions" },
	workspaces: { name: "workspaces", indexes: [{ fields: ["project", "workflow"] }] },
} satisfies Record<string, CollectionSpec>;

/** Run statuses that still change. */
export const ACTIVE_RUN_STATUSES: ReadonlySet<string> = new Set(["Waiting", "Building", "Manual"]);

export function runId(project: string, workflow: string, number: number): string {
	return `${project}/${workflow}/${String(number).padStart(10, "0")}`;
}

export function subRunId(project: string, workflow: string, number: number, sub: number): string {
	return `${runId(project, workflow, number)}.${String(sub).padStart(3, "0")}`;
}

export class RunRepository {
	readonly store: Store;
	readonly runs: Collection<RunDoc>;
	readonly jobs: Collection<JobDoc>;
	readonly queue: Collection<QueueDoc>;
	readonly results: Collection<JobResultDoc>;
	readonly hatcheries: Collection<HatcheryDoc>;
	readonly heartbeats: Collection<HeartbeatDoc>;
	readonly logs: Collection<LogDoc>;
	readonly jobSteps: Collection<Doc>;
	readonly artifactRefs: Collection<BlobRefDoc>;
	readonly cacheRefs: Collection<BlobRefDoc>;
	readonly reportRefs: Collection<BlobRefDoc>;
	readonly activeJobs: Collection<ActiveJobDoc>;
	readonly activeRuns: Collection<Doc>;
	readonly counters: Collection<RunCounterDoc>;
	readonly branchDeletions: Collection<BranchDeletionDoc>;
	readonly workspaces: Collection<WorkspaceDoc>;

	private constructor(store: Store, c: Record<keyof typeof RUN_COLLECTIONS, Collection<any>>) {
		this.store = store;
		this.runs = c.runs;
		this.jobs = c.jobs;
		this.queue = c.queue;
		this.results = c.results;
		this.hatcheries = c.hatcheries;
		this.heartbeats = c.heartbeats;
		this.logs = c.logs;
		this.jobSteps = c.jobSteps;
		this.artifactRefs = c.artifactRefs;
		this.cacheRefs = c.cacheRefs;
		this.reportRefs = c.reportRefs;
		this.activeJobs = c.activeJobs;
		this.activeRuns = c.activeRuns;
		this.counters = c.counters;
		this.branchDeletions = c.branchDeletions;
		this.workspaces = c.workspaces;
	}

	static async open(store: Store): Promise<RunRepository> {
		// All at once: opening an embedded collection writes and syncs its file, one after the
		// other some 90 ms of a node's start (`cds run` pays it on every run).
		const opened = Object.fromEntries(
			await Promise.all(
				Object.entries(RUN_COLLECTIONS).map(async ([key, spec]) => [key, await store.collection(spec)]),
			),
		) as Record<keyof typeof RUN_COLLECTIONS, Collection<any>>;
		return new RunRepository(store, opened);
	}

	/**
	 * The latest sub-run of that number (a restart replaces what `number` shows), or the sub-run
	 * `sub` when given (0: the run as it first ran), or null.
	 */
	async findRun(project: string, workflow: string, number: number, sub?: number): Promise<RunDoc | null> {
		if (sub !== undefined && sub > 0)
			return this.runs.findOne({ _id: subRunId(project, workflow, number, sub) });
		const base = await this.runs.findOne({ _id: runId(project, workflow, number) });
		if (sub === 0 || !base?.latestSub) return base;
		return this.runs.findOne({ _id: subRunId(project, workflow, number, base.latestSub) });
	}

	/** Every attempt of every job the run's progress knows, read by _id, with its booking. */
	async jobsOfRun(run: RunDoc): Promise<JobDoc[]> {
		const out: JobDoc[] = [];
		for (const [node, p] of Object.entries(run.progress.pipelines)) {
			for (const j of p.stages.flatMap((st) => st.jobs)) {
				for (let attempt = 1; attempt <= j.attempt; attempt++) {
					const doc = await this.jobs.findOne({ _id: jobId(run._id, node, j.id, attempt) });
					if (!doc) continue;
					const active = doc.status === "Waiting" ? await this.activeJobs.findOne({ _id: doc._id }) : null;
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
	}

	/** Whether an earlier run of the workflow has this node's jobs waiting, booked or running. */
	async earlierRunBusy(q: QueueDoc): Promise<boolean> {
		const earlier = await this.jobs.find({
			project: q.project,
			workflow: q.workflow,
			node: q.node,
			runNumber: { $lt: q.runNumber },
		});
		return earlier.some((j) => j.status === "Waiting" || j.status === "Booked" || j.status === "Building");
	}
}
