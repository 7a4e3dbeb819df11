// The reaper: jobs whose worker stopped heartbeating, never started or overran its timeout
// end as failed; jobs no live hatchery can serve fail with the reason instead of waiting for
// ever; bookings whose job already ended are cleaned up, and concurrency slots whose booking
// is over (a crash between two writes) are freed. A function of the store and the clock:
// every replica may run it, the result insert decides who finalises a job. Booking claims a
// dead booker left on a queued job are released.

import type { ActiveJobDoc } from "../../schemas/run.ts";
import {
	PROJECT_SLOTS,
	parseSlotOwner,
	projectSlotKey,
	sweepSlots,
	WORKFLOW_SLOTS,
	workflowSlotKey,
} from "./job-slots.ts";
import { whyNoHatchery } from "./requirements.ts";
import type { RunEngine } from "./run-engine.ts";
import { sweepWorkspaceLeases } from "./workspaces.ts";

/** A hatchery not seen for this long no longer counts as able to serve anything. */
export const HATCHERY_SEEN_WINDOW_MS = 30_000;

/** How often the reaper looks for booking claims a dead booker left. */
export const ORPHAN_SWEEP_MS = 10_000;

export interface ReapReport {
	lost: string[];
	neverStarted: string[];
	timedOut: string[];
	unservable: string[];
	freedSlots: number;
	releasedBookings: number;
	/** Persistent workspaces whose lease outlived its booking (src/engine/workspaces.ts). */
	freedWorkspaces: string[];
}

/**
 * One pass of the reaper. `thorough` also reads the result of every booked job, to clean up a
 * booking whose finaliser died halfway (a node died mid-change): the run service asks for it at
 * start, when a node leaves and every 30 s; other passes read the result only of a job that
 * looks lost, overdue or never started.
 */
export async function reap(engine: RunEngine, options: { thorough?: boolean } = {}): Promise<ReapReport> {
	const report: ReapReport = {
		lost: [],
		neverStarted: [],
		timedOut: [],
		unservable: [],
		freedSlots: 0,
		releasedBookings: 0,
		freedWorkspaces: [],
	};
	const { repo, settings: s } = engine;
	const now = engine.now();
	for (const entry of await repo.activeJobs.find({})) {
		// A healthy job costs one read (its heartbeat) and a booked one none: the job and its
		// result are read only for a job that looks lost, overdue or never started.
		let verdict: "lost" | "overdue" | "never-started" | "check";
		if (entry.status === "Building") {
			const beat = await repo.heartbeats.findOne({ _id: entry._id });
			// Heartbeats could not arrive while this engine was down: count from its start.
			const last = Math.max(beat?.at ?? 0, entry.startedAt ?? 0, engine.startedAt);
			if (now - last > s.heartbeatTimeoutMs) verdict = "lost";
			else if (
				entry.startedAt &&
				now - entry.startedAt > (entry.timeoutSeconds + 30) * 1000 &&
				// Right after this engine starts, a worker that ended in time while the run service
				// was down is still delivering its result: let it, before calling the job overdue.
				now - engine.startedAt > s.heartbeatTimeoutMs
			)
				verdict = "overdue";
			else if (options.thorough) verdict = "check";
			else continue;
		} else if (entry.bookedAt && now - entry.bookedAt > s.bookingTimeoutMs) verdict = "never-started";
		else if (options.thorough) verdict = "check";
		else continue;
		const doc = await repo.jobs.findOne({ _id: entry._id });
		if (!doc || (await repo.results.findOne({ _id: entry._id }))) {
			// Its job is gone or ended (a finaliser died before removing the entry).
			await engine.endBooking(entry);
			continue;
		}
		const job = { ...doc, status: entry.status, startedAt: entry.startedAt, bookedAt: entry.bookedAt };
		if (verdict === "lost") {
			if (await engine.finalizeJob(job, "Fail", "worker lost")) report.lost.push(job._id);
		} else if (verdict === "overdue") {
			if (await engine.finalizeJob(job, "Fail", `job timed out after ${job.timeoutSeconds} s`))
				report.timedOut.push(job._id);
		} else if (verdict === "never-started") {
			if (await engine.finalizeJob(job, "Fail", "worker lost: it never started"))
				report.neverStarted.push(job._id);
		}
	}
	const waiting = await repo.queue.find({ queuedAt: { $lt: now - s.noHatcheryTimeoutMs } }, { limit: 200 });
	if (waiting.length > 0) {
		const live = (await repo.hatcheries.find({}))
			.filter((h) => now - h.seenAt < HATCHERY_SEEN_WINDOW_MS)
			.map((h) => h.capabilities);
		for (const q of waiting) {
			const why =
				q.workspace && live.length > 0 && !live.some((c) => c.persistentWorkspaces)
					? `no hatchery keeps persistent workspaces (persistent_workspace ${q.workspace.name})`
					: whyNoHatchery(q.requirements, live);
			if (!why) continue;
			const job = await repo.jobs.findOne({ _id: q._id });
			if (!job) {
				engine.queueView.remove(q._id);
				await repo.queue.remove({ _id: q._id });
			} else if (await engine.finalizeJob(job, "Fail", why)) report.unservable.push(job._id);
		}
	}
	report.freedSlots = await freeStaleSlots(engine);
	report.releasedBookings = await releaseOrphanBookings(engine);
	// A few reads per workspace: on thorough passes and every ORPHAN_SWEEP_MS, not every pass.
	if (options.thorough || now - engine.lastWorkspaceSweep >= ORPHAN_SWEEP_MS) {
		engine.lastWorkspaceSweep = now;
		report.freedWorkspaces = await sweepWorkspaceLeases(engine);
	}
	return report;
}

/**
 * A booker that died between its booking claim and its active entry left the job queued but
 * claimed, so nobody else could book it. A claim on a long-queued job seen without its active
 * entry for longer than the booking timeout (the same owner at both sightings: a live booker
 * writes its entry milliseconds after claiming) is released, and the job can be booked again.
 */
export async function releaseOrphanBookings(engine: RunEngine): Promise<number> {
	const { repo, settings: s } = engine;
	const now = engine.now();
	// A few reads per long-queued job: every ORPHAN_SWEEP_MS, not at every pass.
	if (now - engine.lastOrphanSweep < ORPHAN_SWEEP_MS) return 0;
	engine.lastOrphanSweep = now;
	const seen = new Set<string>();
	let released = 0;
	for (const q of await repo.queue.find({ queuedAt: { $lt: now - s.bookingTimeoutMs } }, { limit: 100 })) {
		const holder = await repo.store.holder("booking", q._id);
		if (
			!holder ||
			(await repo.activeJobs.findOne({ _id: q._id })) ||
			(await repo.results.findOne({ _id: q._id }))
		)
			continue;
		seen.add(q._id);
		const earlier = engine.orphanBookings.get(q._id);
		if (!earlier || earlier.owner !== holder.owner) {
			engine.orphanBookings.set(q._id, { owner: holder.owner, since: now });
			continue;
		}
		if (now - earlier.since <= s.bookingTimeoutMs) continue;
		await repo.store.release("booking", q._id, holder.owner);
		engine.orphanBookings.delete(q._id);
		released++;
	}
	for (const id of engine.orphanBookings.keys()) if (!seen.has(id)) engine.orphanBookings.delete(id);
	return released;
}

/**
 * Frees the slots of projects and workflows whose bookings were refused for a limit since the
 * last sweep, when their holder's booking is over. Only those: a leaked slot matters only when
 * a booking needs it, and sweeping every key every second would cost `limit` reads per project.
 */
export async function freeStaleSlots(engine: RunEngine): Promise<number> {
	const { repo, settings: s } = engine;
	const projects = [...engine.congested.projects];
	const workflows = [...engine.congested.workflows];
	engine.congested.projects.clear();
	engine.congested.workflows.clear();
	if (projects.length === 0 && workflows.length === 0) return 0;
	const bookings = new Map<string, ActiveJobDoc | null>();
	const stillBooked = async (owner: string) => {
		const { jobId } = parseSlotOwner(owner);
		if (!bookings.has(jobId)) bookings.set(jobId, await repo.activeJobs.findOne({ _id: jobId }));
		const active = bookings.get(jobId);
		// No entry yet: a booking in progress holds the job's booking claim under the same owner
		// (booking.ts writes the entry once its slots are won).
		if (!active) return (await repo.store.holder("booking", jobId))?.owner === owner;
		if (active.slotOwner !== owner) return false;
		return !(await repo.results.findOne({ _id: jobId }));
	};
	let freed = 0;
	for (const p of projects) {
		const keys = Array.from({ length: s.maxRunningJobsPerProject }, (_, i) => projectSlotKey(p, i));
		freed += await sweepSlots(repo.store, PROJECT_SLOTS, keys, stillBooked);
	}
	for (const pw of workflows) {
		const slash = pw.indexOf("/");
		const keys = Array.from({ length: s.maxRunningJobsPerWorkflow }, (_, i) =>
			workflowSlotKey(pw.slice(0, slash), pw.slice(slash + 1), i),
		);
		freed += await sweepSlots(repo.store, WORKFLOW_SLOTS, keys, stillBooked);
	}
	return freed;
}
