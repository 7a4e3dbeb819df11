// Which queued jobs a hatchery is offered: those whose requirements it meets and that
// one_at_a_time does not hold back, oldest first within a project, round-robin between
// projects (a project with a thousand queued jobs does not starve one with a single job).

import type { QueueDoc } from "../../schemas/run.ts";
import { type HatcheryCapabilities, unmetRequirement } from "./requirements.ts";

/**
 * The jobs `caps` may run, in fair order, at most `want` of them. `heldBack` says whether a
 * one_at_a_time job must wait (an earlier run has this node's jobs live).
 */
export async function selectJobs(
	waiting: readonly QueueDoc[],
	caps: HatcheryCapabilities,
	want: number,
	heldBack: (q: QueueDoc) => Promise<boolean>,
): Promise<string[]> {
	const fit: QueueDoc[] = [];
	for (const q of [...waiting].sort((a, b) => a.queuedAt - b.queuedAt || a._id.localeCompare(b._id))) {
		if (unmetRequirement(q.requirements, caps) !== undefined) continue;
		if (q.workspace && !caps.persistentWorkspaces) continue;
		if (q.oneAtATime && (await heldBack(q))) continue;
		fit.push(q);
	}
	return roundRobin(fit, want);
}

/** Interleaves the projects' jobs (each project in the given order), first-seen project first. */
export function roundRobin(ordered: readonly QueueDoc[], want: number): string[] {
	const byProject = new Map<string, QueueDoc[]>();
	for (const q of ordered) {
		const list = byProject.get(q.project);
		if (list) list.push(q);
		else byProject.set(q.project, [q]);
	}
	const out: string[] = [];
	while (out.length < want && byProject.size > 0) {
		for (const [project, list] of byProject) {
			const next = list.shift();
			if (next) out.push(next._id);
			if (list.length === 0) byProject.delete(project);
			if (out.length >= want) break;
		}
	}
	return out;
}

/**
 * Replicas asking at once would all race for the same first jobs: each starts at a random
 * place among the first few, so most bookings succeed at the first try.
 */
export function spread(fair: readonly string[], limit: number, random: () => number): string[] {
	const offset = fair.length > limit ? Math.floor(random() * (fair.length - limit + 1)) : 0;
	return fair.slice(offset, offset + limit);
}
