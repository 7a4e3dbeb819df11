// Which active runs a reconcile pass looks at. Reconciling repairs what a crash left half done
// (a result stored but not applied, jobs not queued, a run never begun); the normal path
// finishes those within milliseconds, so looking at every active run every few seconds cost
// about eight store operations per run and pass for nothing, and as much again for every
// long job's run while it ran. A pass now looks at:
// - every active run, when something may have broken: at start (this node's previous life may
//   have died mid-change) and when another node leaves the cluster (it may have died mid-change);
// - otherwise only runs this node has seen active for `settleMs` at least, each at most once per
//   `everyMs`: what a failed change inside this node left is repaired within about that.

export const RECONCILE_SETTLE_MS = 10_000;
export const RECONCILE_EVERY_MS = 30_000;

export class ReconcileSchedule {
	readonly #firstSeen = new Map<string, number>();
	readonly #lastDone = new Map<string, number>();
	readonly #settleMs: number;
	readonly #everyMs: number;
	readonly #now: () => number;
	#fullDue = true;

	constructor(settleMs = RECONCILE_SETTLE_MS, everyMs = RECONCILE_EVERY_MS, now: () => number = Date.now) {
		this.#settleMs = settleMs;
		this.#everyMs = everyMs;
		this.#now = now;
	}

	/** The next pass looks at every active run. */
	requestFull(): void {
		this.#fullDue = true;
	}

	/** Of the active runs listed, those to reconcile in this pass (in the order given). */
	pick(activeIds: readonly string[]): string[] {
		const now = this.#now();
		const active = new Set(activeIds);
		for (const id of this.#firstSeen.keys()) if (!active.has(id)) this.#firstSeen.delete(id);
		for (const id of this.#lastDone.keys()) if (!active.has(id)) this.#lastDone.delete(id);
		for (const id of activeIds) if (!this.#firstSeen.has(id)) this.#firstSeen.set(id, now);
		const full = this.#fullDue;
		this.#fullDue = false;
		const picked = full
			? [...activeIds]
			: activeIds.filter(
					(id) =>
						now - (this.#firstSeen.get(id) ?? now) >= this.#settleMs &&
						now - (this.#lastDone.get(id) ?? Number.NEGATIVE_INFINITY) >= this.#everyMs,
				);
		for (const id of picked) this.#lastDone.set(id, now);
		return picked;
	}
}
