// Serialises the changes to one run across every node: a lease taken with the store's
// atomic claim (a unique insert), with an expiry so a node that dies holding it does not
// block the run for ever. Changes under the lease are short (read, decide, write).

import { randomUUID } from "node:crypto";
import type { Store } from "../store/types.ts";

export const RUN_LOCK_TTL_MS = 15_000;

export class RunBusyError extends Error {
	constructor(runId: string) {
		super(`run ${runId} is busy: try again`);
		this.name = "RunBusyError";
	}
}

export async function withRunLock<T>(
	store: Store,
	runId: string,
	owner: string,
	fn: () => Promise<T>,
	waitMs = 20_000,
): Promise<T> {
	// One owner per acquisition: a claim re-taken by its holder counts as won (re-entrant),
	// which would let two calls of the same node in at once.
	const holder = `${owner}:${randomUUID()}`;
	const deadline = Date.now() + waitMs;
	let pause = 2;
	for (;;) {
		const claim = await store.claim("run-lock", runId, holder, { ttlMs: RUN_LOCK_TTL_MS });
		if (claim.won) break;
		if (Date.now() > deadline) throw new RunBusyError(runId);
		await new Promise((r) => setTimeout(r, pause + Math.random() * pause));
		pause = Math.min(pause * 2, 50);
	}
	try {
		return await fn();
	} finally {
		await store.release("run-lock", runId, holder);
	}
}
