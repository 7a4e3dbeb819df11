// Concurrency limits that hold under races: a booking must win one of `limit` slot claims for
// its project and one of `limit` for its workflow (Store.claim is a unique insert, atomic on
// every backend, FerretDB included). Counting the booked jobs first and booking afterwards
// would let two hatcheries both see "one left" and both book.
//
// Slot owners are `<jobId>@<nonce>`, one nonce per booking attempt (see ActiveJobDoc.slotOwner),
// so a stale release can never free the slot of a later booking of the same job. A booking
// holds the job's booking claim under the same owner before claiming slots, writes its
// active_jobs entry once they are won, and an ended job's slots are released before its entry
// is removed; hence a slot whose owner has neither a matching active entry nor the booking claim
// belongs to a booking that is over (or crashed), and the sweep frees it.

import type { HeldSlots } from "../../schemas/run.ts";
import type { Store } from "../store/types.ts";

export const PROJECT_SLOTS = "slot-project";
export const WORKFLOW_SLOTS = "slot-workflow";

export function projectSlotKey(project: string, i: number): string {
	return `${project}#${i}`;
}

export function workflowSlotKey(project: string, workflow: string, i: number): string {
	return `${project}/${workflow}#${i}`;
}

export function slotOwner(jobId: string, nonce: string): string {
	return `${jobId}@${nonce}`;
}

/** The job id and nonce of a slot owner. */
export function parseSlotOwner(owner: string): { jobId: string; nonce: string } {
	const at = owner.lastIndexOf("@");
	return at < 0 ? { jobId: owner, nonce: "" } : { jobId: owner.slice(0, at), nonce: owner.slice(at + 1) };
}

/** The first key of each scope a booking tries (booking.ts claims them with its booking claim). */
export function firstSlotKeys(
	job: { project: string; workflow: string },
	limits: { project: number; workflow: number },
	start: number,
): HeldSlots {
	return {
		project: projectSlotKey(job.project, start % limits.project),
		workflow: workflowSlotKey(job.project, job.workflow, start % limits.workflow),
	};
}

async function winOne(
	store: Store,
	scope: string,
	keyOf: (i: number) => string,
	limit: number,
	owner: string,
	start: number,
	from: number,
): Promise<string | null> {
	for (let k = from; k < limit; k++) {
		const key = keyOf((start + k) % limit);
		// Kept: slots are never forgotten.
		if ((await store.claim(scope, key, owner, { kept: true })).won) return key;
	}
	return null;
}

export type SlotVerdict = { won: true; slots: HeldSlots } | { won: false; reason: string };

/** How the first keys of firstSlotKeys went, when the caller claimed them already: won, or lost (null). */
export interface FirstSlots {
	project: string | null;
	workflow: string | null;
}

/**
 * Wins a project slot and a workflow slot for `owner`, or neither (what was won is released).
 * `start` spreads concurrent bookers over the keys (fewer lost inserts). `first`: the outcome of
 * the caller's own claims of the first keys (firstSlotKeys), which are then not tried again.
 */
export async function claimSlots(
	store: Store,
	job: { project: string; workflow: string },
	owner: string,
	limits: { project: number; workflow: number },
	start: number,
	first?: FirstSlots,
): Promise<SlotVerdict> {
	const project =
		first?.project ??
		(await winOne(
			store,
			PROJECT_SLOTS,
			(i) => projectSlotKey(job.project, i),
			limits.project,
			owner,
			start % limits.project,
			first ? 1 : 0,
		));
	if (!project) {
		if (first?.workflow) await store.release(WORKFLOW_SLOTS, first.workflow, owner);
		return { won: false, reason: "project concurrency limit" };
	}
	const workflow =
		first?.workflow ??
		(await winOne(
			store,
			WORKFLOW_SLOTS,
			(i) => workflowSlotKey(job.project, job.workflow, i),
			limits.workflow,
			owner,
			start % limits.workflow,
			first ? 1 : 0,
		));
	if (!workflow) {
		await store.release(PROJECT_SLOTS, project, owner);
		return { won: false, reason: "workflow concurrency limit" };
	}
	return { won: true, slots: { project, workflow } };
}

/** Both slots of a booking, in one round trip. */
export async function releaseSlots(store: Store, slots: HeldSlots, owner: string): Promise<void> {
	await store.releaseAll([
		{ scope: WORKFLOW_SLOTS, key: slots.workflow, owner },
		{ scope: PROJECT_SLOTS, key: slots.project, owner },
	]);
}

/**
 * Frees the slots among `keys` whose booking is over: `stillBooked(owner)` says whether the
 * owner's booking is live. Returns how many were freed.
 */
export async function sweepSlots(
	store: Store,
	scope: string,
	keys: readonly string[],
	stillBooked: (owner: string) => Promise<boolean>,
): Promise<number> {
	let freed = 0;
	for (const key of keys) {
		const holder = await store.holder(scope, key);
		if (!holder || (await stillBooked(holder.owner))) continue;
		await store.release(scope, key, holder.owner);
		freed++;
	}
	return freed;
}
