// Booking: which queued jobs a hatchery is offered (queue-selection.ts), and the booking itself.
// The booking claim decides between hatcheries; slot claims enforce the project and workflow
// limits atomically (job-slots.ts). A refusal for a limit marks the project or workflow as
// congested, so the reaper sweeps its slots for ones a crashed booking left behind.

import { randomUUID } from "node:crypto";
import type { ActiveJobDoc, BookResult, JobTokenBooking, QueueDoc } from "../../schemas/run.ts";
import {
	claimSlots,
	type FirstSlots,
	firstSlotKeys,
	PROJECT_SLOTS,
	releaseSlots,
	slotOwner,
	WORKFLOW_SLOTS,
} from "./job-slots.ts";
import { selectJobs, spread } from "./queue-selection.ts";
import { insertOrReplace } from "./store-writes.ts";
import type { HatcheryCapabilities } from "./requirements.ts";
import type { RunEngine } from "./run-engine.ts";
import { claimWorkspace, heldBy, releaseWorkspace, WORKSPACE_LEASES } from "./workspaces.ts";

/** Jobs waiting for a hatchery that `caps` could run, fair between projects, at most `limit`. */
export async function queueFor(
	engine: RunEngine,
	caps: HatcheryCapabilities,
	limit: number,
): Promise<string[]> {
	const now = engine.now();
	// A hatchery's capabilities are recorded every few seconds, not at every poll.
	const seen = engine.hatcherySeen.get(caps.name) ?? Number.NEGATIVE_INFINITY;
	if (now - seen > 5000) {
		if (engine.hatcherySeen.size > 1000) engine.hatcherySeen.clear();
		engine.hatcherySeen.set(caps.name, now);
		await engine.repo.hatcheries.replace({ _id: caps.name, capabilities: caps, seenAt: now });
	}
	// No sort in the query: the store then stops reading at the limit (FerretDB sorts in
	// memory after reading everything); the queue is small and ordered in selectJobs.
	// The node's view of the queue, read again when stale or invalidated (queue-view.ts).
	let waiting = engine.queueView.entries(now);
	if (!waiting) {
		const since = engine.queueView.beginRead();
		let read: QueueDoc[] | undefined;
		try {
			read = await engine.repo.queue.find({}, { limit: Math.max(50, limit * 10) });
		} finally {
			engine.queueView.endRead(since, read, now);
		}
		waiting = engine.queueView.entries(now) ?? read;
	}
	// A job whose persistent workspace another job holds waits in the queue, saying so.
	const free: typeof waiting = [];
	for (const q of waiting) {
		if (q.workspace && !(await workspaceFree(engine, q._id, q.workspace))) continue;
		free.push(q);
	}
	const fair = await selectJobs(free, caps, limit * 3, (q) => engine.repo.earlierRunBusy(q));
	return spread(fair, limit, engine.random);
}

/**
 * A hatchery books a job. The booking claim decides between hatcheries; the slot claims
 * enforce the project and workflow limits atomically (job-slots.ts). The active entry is
 * written once, complete, after the slots are won; until then the booking claim, held by the
 * same owner as the slots, is what tells the reaper's slot sweep a booking in progress from a
 * stale slot (a booking that died there leaves its claim to the orphan-booking sweep, then its
 * slots to the slot sweep). A job with a persistent workspace writes its entry first, as the
 * workspace lease sweep looks for it, and completes it at the end.
 */
export async function book(engine: RunEngine, id: string, hatchery: string): Promise<BookResult> {
	const job = engine.queuedJob(id) ?? (await engine.repo.jobs.findOne({ _id: id }));
	if (job?.status !== "Waiting" || (await engine.repo.results.findOne({ _id: id }))) {
		// A queue entry whose job is over (a booking died before removing it): not offered again.
		engine.queueView.remove(id);
		await engine.repo.queue.remove({ _id: id });
		return { won: false };
	}
	const s = engine.settings;
	const workflowKey = `${job.project}/${job.workflow}`;
	// A cheap early refusal (not the guarantee: the slots are), for a project or workflow that met
	// its limit lately: a full one would otherwise cost a claim per slot. Elsewhere the slots decide
	// without this read.
	if (engine.recentlyLimited(job.project, workflowKey)) {
		const running = await engine.repo.activeJobs.find({ project: job.project });
		if (running.length >= s.maxRunningJobsPerProject) {
			engine.limited(job.project, undefined);
			return { won: false, reason: "project concurrency limit" };
		}
		if (running.filter((j) => j.workflow === job.workflow).length >= s.maxRunningJobsPerWorkflow) {
			engine.limited(undefined, workflowKey);
			return { won: false, reason: "workflow concurrency limit" };
		}
	}
	const owner = slotOwner(job._id, randomUUID());
	const limits = { project: s.maxRunningJobsPerProject, workflow: s.maxRunningJobsPerWorkflow };
	const start = Math.floor(engine.random() * 1_000_000);
	// The booking claim and the first key of each slot scope in one round trip.
	const firstKeys = firstSlotKeys(job, limits, start);
	const [booking, project, workflow] = await engine.repo.store.claimAll([
		{ scope: "booking", key: job._id, owner },
		{ scope: PROJECT_SLOTS, key: firstKeys.project, owner, options: { kept: true } },
		{ scope: WORKFLOW_SLOTS, key: firstKeys.workflow, owner, options: { kept: true } },
	]);
	const first: FirstSlots = {
		project: project!.won ? firstKeys.project : null,
		workflow: workflow!.won ? firstKeys.workflow : null,
	};
	if (!booking!.won) {
		await engine.repo.store.releaseAll([
			...(first.project ? [{ scope: PROJECT_SLOTS, key: first.project, owner }] : []),
			...(first.workflow ? [{ scope: WORKFLOW_SLOTS, key: first.workflow, owner }] : []),
		]);
		// Another hatchery has it: this node's view of the queue offers it no more.
		engine.queueView.remove(job._id);
		return { won: false };
	}
	const wsLease = job.workspace ? { id: job.workspace.id, owner } : undefined;
	const active: ActiveJobDoc = {
		_id: job._id,
		project: job.project,
		workflow: job.workflow,
		hatchery,
		status: "Booked",
		bookedAt: engine.now(),
		startedAt: null,
		tokenId: "",
		timeoutSeconds: job.timeoutSeconds,
		slotOwner: owner,
		slots: null,
		...(wsLease ? { workspace: wsLease } : {}),
	};
	// New, unless a booking that died left it (the booking claim is ours now).
	if (job.workspace) await insertOrReplace(engine.repo.activeJobs, active);
	const undo = async () => {
		if (job.workspace) await engine.repo.activeJobs.remove({ _id: job._id });
		await engine.repo.store.release("booking", job._id, owner);
	};
	const verdict = await claimSlots(engine.repo.store, job, owner, limits, start, first);
	if (!verdict.won) {
		await undo();
		if (verdict.reason.startsWith("project")) engine.limited(job.project, undefined);
		else engine.limited(undefined, workflowKey);
		return { won: false, reason: verdict.reason };
	}
	if (job.workspace) {
		const lease = await claimWorkspace(engine, job, owner, hatchery);
		if (!lease.won) {
			await releaseSlots(engine.repo.store, verdict.slots, owner);
			await undo();
			await noteWaiting(engine, job._id, lease.reason);
			return { won: false, reason: lease.reason };
		}
	}
	let token: { token: string; id: string; hash: string };
	try {
		token = await engine.ports.issueJobToken({
			job: job._id,
			run: job.runId,
			project: job.project,
			ttlSeconds: jobTokenTtlSeconds(job.timeoutSeconds),
		});
	} catch (e) {
		await releaseSlots(engine.repo.store, verdict.slots, owner);
		await releaseWorkspace(engine, active);
		await undo();
		throw e;
	}
	// The token is valid from here: this entry holds its hash (run.jobToken).
	const booked: ActiveJobDoc = {
		...active,
		tokenId: token.id,
		tokenHash: token.hash,
		runId: job.runId,
		slots: verdict.slots,
	};
	if (job.workspace) await engine.repo.activeJobs.replace(booked);
	else await insertOrReplace(engine.repo.activeJobs, booked);
	engine.queueView.remove(job._id);
	await engine.repo.queue.remove({ _id: job._id });
	// It waited for its workspace: that is over.
	const cleared = job.reason !== null && job.workspace !== undefined;
	if (cleared) {
		engine.waitingReasons.delete(job._id);
		await engine.repo.jobs.update({ _id: job._id }, { $set: { reason: null } });
	}
	engine.rememberBooking(cleared ? { ...job, reason: null } : job, booked);
	engine.ports.emit("job.booked", { jobId: job._id, hatchery });
	return {
		won: true,
		token: token.token,
		jobId: job._id,
		runId: job.runId,
		timeoutSeconds: job.timeoutSeconds,
		requirements: job.requirements,
		...(job.workspace
			? {
					workspace: {
						id: job.workspace.id,
						name: job.workspace.name,
						sizeBytes: job.workspace.sizeBytes,
						leaseId: owner,
					},
				}
			: {}),
	};
}

/** How long a job's token lives at most: its job's timeout and an hour. */
export function jobTokenTtlSeconds(timeoutSeconds: number): number {
	return timeoutSeconds + 3600;
}

/**
 * What a job's booking holds of its worker's token, for auth.resolve: null once the booking is
 * gone (the job ended) or before it is complete. Always the store's: a node's memory of a
 * booking does not know that another node ended the job.
 */
export async function jobTokenOf(engine: RunEngine, jobId: string): Promise<JobTokenBooking | null> {
	const active = await engine.repo.activeJobs.findOne({ _id: jobId });
	if (!active?.tokenHash || !active.runId) return null;
	return {
		id: active.tokenId,
		hash: active.tokenHash,
		project: active.project,
		run: active.runId,
		expiresAt: active.bookedAt + jobTokenTtlSeconds(active.timeoutSeconds) * 1000,
	};
}

/** Whether a queued job's workspace is free; if not, the job's reason says who holds it. */
async function workspaceFree(
	engine: RunEngine,
	jobId: string,
	ws: { id: string; name: string },
): Promise<boolean> {
	const holder = await engine.repo.store.holder(WORKSPACE_LEASES, ws.id);
	if (!holder) return true;
	await noteWaiting(engine, jobId, await heldBy(engine, ws.name, holder.owner));
	return false;
}

/** A waiting job's reason (what `run.get` shows), written only when it changes. */
async function noteWaiting(engine: RunEngine, jobId: string, reason: string): Promise<void> {
	if (engine.waitingReasons.get(jobId) === reason) return;
	if (engine.waitingReasons.size > 10_000) engine.waitingReasons.clear();
	engine.waitingReasons.set(jobId, reason);
	await engine.repo.jobs.update({ _id: jobId, status: "Waiting" }, { $set: { reason } });
}

/** A hatchery could not start the worker of a booked job: the job fails with the reason. */
export async function unbook(engine: RunEngine, id: string, reason: string, lost = false): Promise<boolean> {
	const job = await engine.repo.jobs.findOne({ _id: id });
	if (!job) return false;
	await engine.finalizeJob(job, "Fail", `${lost ? "worker lost" : "worker could not start"}: ${reason}`);
	return true;
}

/** Jobs booked to a hatchery that have not ended (it kills orphan workers with it). */
export async function liveJobs(engine: RunEngine, hatchery: string): Promise<string[]> {
	return (await engine.repo.activeJobs.find({ hatchery })).map((j) => j._id);
}

/**
 * A hatchery vouches for the workers it sees alive (its driver watches their processes or
 * pods): their jobs get a heartbeat, as if the workers had sent it. A worker cut off from the
 * gateway (an API node died or restarts) is then not "lost" while it waits to report; one that
 * really died is no longer vouched for and is reaped. Only jobs booked to that hatchery and
 * started (the worker fetched its job) count. Returns the jobs vouched for.
 */
export async function vouchWorkers(
	engine: RunEngine,
	hatchery: string,
	jobs: readonly string[],
): Promise<string[]> {
	const alive = new Set(jobs);
	const vouched: string[] = [];
	const at = engine.now();
	for (const entry of await engine.repo.activeJobs.find({ hatchery })) {
		if (!alive.has(entry._id) || entry.status !== "Building") continue;
		await engine.repo.heartbeats.replace({ _id: entry._id, at });
		vouched.push(entry._id);
	}
	return vouched;
}
