// The gauges that describe the whole cluster rather than one node, read from the store (the
// truth) once per scrape by the gateway: runs not finished by status, the job queue's depth and
// its oldest entry's wait, the jobs booked or running, the hook events kept as dead letters. A
// node's own counters cannot give these: they restart with the node and each sees only its share.

import { RUN_COLLECTIONS } from "../engine/run-repository.ts";
import { HOOK_COLLECTIONS } from "../hooks/events.ts";
import type { Store } from "../store/types.ts";
import { type FamilySnapshot, MetricsRegistry } from "./metrics.ts";

const ACTIVE_STATUSES = ["Waiting", "Building", "Manual"] as const;
const JOB_STATES = ["Booked", "Building"] as const;

export async function clusterGauges(store: Store, now: number = Date.now()): Promise<FamilySnapshot[]> {
	const r = new MetricsRegistry();
	const runs = r.gauge("cds_runs_active", "Runs not finished yet, by status (from the store)", ["status"]);
	const depth = r.gauge("cds_job_queue_depth", "Jobs waiting in the queue for a hatchery (from the store)");
	const oldest = r.gauge(
		"cds_job_queue_oldest_wait_seconds",
		"How long the oldest queued job has been waiting (0 when the queue is empty)",
	);
	const active = r.gauge(
		"cds_jobs_active",
		"Jobs booked by a hatchery or running, by state (from the store)",
		["state"],
	);
	const deadLetters = r.gauge(
		"cds_hook_dead_letters",
		"Hook events kept as dead letters, waiting for a replay or a deletion (from the store)",
	);
	const [runsC, queueC, activeC, ...eventShards] = await Promise.all([
		store.collection(RUN_COLLECTIONS.runs),
		store.collection(RUN_COLLECTIONS.queue),
		store.collection(RUN_COLLECTIONS.activeJobs),
		...HOOK_COLLECTIONS.filter((c) => c.name.startsWith("hook_events_")).map((c) => store.collection(c)),
	]);
	const [runCounts, queued, first, jobCounts, dead] = await Promise.all([
		Promise.all(ACTIVE_STATUSES.map((status) => runsC.count({ status }))),
		queueC.count({}),
		queueC.find({}, { sort: { queuedAt: 1 }, limit: 1 }),
		Promise.all(JOB_STATES.map((status) => activeC.count({ status }))),
		Promise.all(eventShards.map((c) => c.count({ state: "dead" }))),
	]);
	deadLetters.labels().set(dead.reduce((a, n) => a + n, 0));
	for (const [i, status] of ACTIVE_STATUSES.entries()) runs.labels(status).set(runCounts[i]!);
	depth.labels().set(queued);
	const queuedAt = first[0]?.queuedAt;
	oldest.labels().set(typeof queuedAt === "number" ? Math.max(0, now - queuedAt) / 1000 : 0);
	for (const [i, state] of JOB_STATES.entries()) active.labels(state).set(jobCounts[i]!);
	return r.snapshot();
}
