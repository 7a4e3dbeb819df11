// Serialises the changes to one run across every node: a lease taken with the store's
// atomic claim (a unique insert), with an expiry so a node that dies holding it does not
// block the run for ever. Changes under the lease are short (read, decide, write).
// Within one process, callers for the same run queue in memory first, so a busy run costs
// one claim per change instead of a crowd of claimers polling the store.

import { randomUUID } from "node:crypto";
import type { Store } from "../store/types.ts";

export const RUN_LOCK_TTL_MS = 15_000;

export class RunBusyError extends Error {
	constructor(runId: string) {
		super(`run ${runId} is busy: try again`);
		this.name = "RunBusyError";
	}
}

/** The lease held: its claim generation, when the store tells it (see ClaimResult.gen). */
export interface RunLease {
	gen?: number;
}

const localQueues = new Map<string, Promise<unknown>>();

export async function withRunLock<T>(
	store: Store,
	runId: string,
	owner: string,
	fn: (lease: RunLease) => Promise<T>,
	waitMs = 20_000,
): Promise<T> {
	const key = `${owner}\u0000${runId}`;
	const previous = localQueues.get(key) ?? Promise.resolve();
	const mine = previous.catch(() => {}).then(() => withStoreLease(store, runId, owner, fn, waitMs));
	const tail = mine.catch(() => {});
	localQueues.set(key, tail);
	try {
		return await mine;
	} finally {
		if (localQueues.get(key) === tail) localQueues.delete(key);
	}
}

async function withStoreLease<T>(
	store: Store,
	runId: string,
	owner: string,
	fn: (lease: RunLease) => Promise<T>,
	waitMs: number,
) {
	// One owner per acquisition: a claim re-taken by its holder counts as won (re-entrant),
	// which would let two calls of the same node in at once.
	const holder = `${owner}:${randomUUID()}`;
	const deadline = Date.now() + waitMs;
	let pause = 5;
	let lease: RunLease;
	for (;;) {
		// Kept: a run's lock is forgotten only with the run (retention.ts), when nobody claims it.
		const claim = await store.claim("run-lock", runId, holder, { ttlMs: RUN_LOCK_TTL_MS, kept: true });
		if (claim.won) {
			lease = { gen: claim.gen };
			break;
		}
		if (Date.now() > deadline) throw new RunBusyError(runId);
		await new Promise((r) => setTimeout(r, pause + Math.random() * pause));
		pause = Math.min(pause * 2, 100);
	}
	try {
		return await fn(lease);
	} finally {
		await store.release("run-lock", runId, holder);
	}
}
