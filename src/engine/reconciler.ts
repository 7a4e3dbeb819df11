// Crash recovery: the store may hold a job result not yet applied to its run, a run whose
// queued jobs were never written, or a run created but never begun. Every active run is
// brought up to date; replays are harmless (deterministic job ids, results applied once).
// A run left Building with nothing runnable or running (a state an older version stored)
// is ended with the status its nodes give, and said so in the log.

import { beginRun, runningJobs, settleRun } from "./advance.ts";
import type { ReconcileSchedule } from "./reconcile-schedule.ts";
import type { RunEngine } from "./run-engine.ts";
import { ACTIVE_RUN_STATUSES } from "./run-repository.ts";

export interface ReconcileReport {
	applied: string[];
	requeued: string[];
	begun: string[];
	/** Active runs that had nothing left to run: ended with their true status. */
	resolved: string[];
	failed: string[];
}

export async function reconcile(
	engine: RunEngine,
	batch = 500,
	schedule?: ReconcileSchedule,
): Promise<ReconcileReport> {
	const report: ReconcileReport = {
		applied: [],
		requeued: [],
		begun: [],
		resolved: [],
		failed: [],
	};
	const { repo } = engine;
	const listed = await repo.activeRuns.find({}, { limit: batch });
	const picked = schedule ? new Set(schedule.pick(listed.map((e) => e._id))) : undefined;
	for (const entry of listed) {
		if (picked && !picked.has(entry._id)) continue;
		const run = await repo.runs.findOne({ _id: entry._id });
		if (!run || !ACTIVE_RUN_STATUSES.has(run.status)) {
			await repo.activeRuns.remove({ _id: entry._id });
			continue;
		}
		try {
			const def = await engine.definition(run);
			for (const q of runningJobs(run._id, def.model, def.pipelines, run.progress)) {
				const result = await repo.results.findOne({ _id: q.id });
				if (result) {
					const job = await repo.jobs.findOne({ _id: q.id });
					if (job) {
						await engine.applyResult(run._id, job, result);
						report.applied.push(q.id);
					}
				} else if (!(await repo.jobs.findOne({ _id: q.id }))) {
					await engine.enqueue(run, [q]);
					report.requeued.push(q.id);
				}
			}
			await engine.withLock(run._id, async () => {
				const current = (await repo.runs.findOne({ _id: run._id }))!;
				if (current.status === "Waiting" && run.status === "Waiting") {
					const { progress, queue } = await beginRun(
						current._id,
						def.model,
						def.pipelines,
						current.vars,
						engine.evaluator(current),
						engine.now(),
					);
					await engine.enqueue(current, queue);
					await engine.saveRun(current, progress);
					report.begun.push(current._id);
					return;
				}
				if (run.status === "Waiting" || !ACTIVE_RUN_STATUSES.has(current.status)) return;
				const { progress, queue } = await settleRun(
					current._id,
					def.model,
					def.pipelines,
					current.progress,
					engine.evaluator(current),
					engine.now(),
				);
				await engine.enqueue(current, queue);
				if (JSON.stringify(progress) === JSON.stringify(current.progress)) return;
				await engine.saveRun(current, progress);
				if (!ACTIVE_RUN_STATUSES.has(progress.state.status) && queue.length === 0) {
					report.resolved.push(current._id);
					const skipped = Object.values(progress.state.nodes)
						.filter(
							(n) => n.status === "Skipped" && current.progress.state.nodes[n.name]?.status === "Waiting",
						)
						.map((n) => `${n.name} (${n.reason ?? "Skipped"})`);
					engine.ports.warn(
						`reconcile ${current._id}: ${current.status} with nothing left to run, ended ${progress.state.status}${skipped.length > 0 ? `; skipped ${skipped.join(", ")}` : ""}`,
					);
				}
			});
		} catch (e) {
			report.failed.push(run._id);
			engine.ports.warn(`reconcile ${run._id}: ${(e as Error).message}`);
		}
	}
	return report;
}
