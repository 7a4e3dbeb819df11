// Run engine knobs: heartbeats, timeouts, concurrency limits, retention.

import { duration, type Env, int, readAll } from "./settings.ts";

export const RUN_SETTINGS = {
	heartbeatSeconds: duration("CDS_WORKER_HEARTBEAT_SECONDS", 2, "how often a worker heartbeats", { min: 1 }),
	heartbeatTimeoutMs: duration(
		"CDS_WORKER_HEARTBEAT_TIMEOUT_MS",
		15_000,
		'a worker silent for longer, that its hatchery no longer sees alive either, is lost: its job fails ("worker lost") or is retried (`retry: N` on the job)',
		{ min: 1000 },
	),
	bookingTimeoutMs: duration(
		"CDS_BOOKING_TIMEOUT_MS",
		60_000,
		'a booked job whose worker never starts fails after this ("worker lost: it never started")',
		{ min: 1000 },
	),
	noHatcheryTimeoutMs: duration(
		"CDS_NO_HATCHERY_TIMEOUT_MS",
		120_000,
		"a job no hatchery can serve fails after this, with the reason",
		{ min: 1000 },
	),
	defaultJobTimeoutSeconds: duration(
		"CDS_JOB_TIMEOUT_SECONDS",
		3600,
		"default job timeout (`timeout` on a job or step overrides)",
		{ min: 1 },
	),
	maxRunningJobsPerProject: int(
		"CDS_MAX_JOBS_PER_PROJECT",
		100,
		"jobs of one project booked or running at once",
		{
			min: 1,
		},
	),
	maxRunningJobsPerWorkflow: int(
		"CDS_MAX_JOBS_PER_WORKFLOW",
		50,
		"jobs of one workflow booked or running at once",
		{ min: 1 },
	),
	historyLength: int(
		"CDS_HISTORY_LENGTH",
		20,
		"runs whose artifacts are kept per workflow (a workflow's `history_length` wins)",
		{ min: 1 },
	),
	gcIntervalMs: duration("CDS_GC_INTERVAL_MS", 10 * 60_000, "how often artifacts are garbage-collected", {
		min: 1000,
	}),
	gcGraceMs: duration(
		"CDS_GC_GRACE_MS",
		10 * 60_000,
		"a blob is deleted only after being seen unreferenced this long",
	),
	deletedBranchRetentionMs: duration(
		"CDS_DELETED_BRANCH_RETENTION_MS",
		7 * 24 * 3_600_000,
		"runs of a deleted branch are purged after this",
	),
};

export type RunSettings = ReturnType<typeof readRunSettings>;

export function readRunSettings(env: Env) {
	return readAll(env, RUN_SETTINGS);
}
