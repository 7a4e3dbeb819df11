// Retry delays for a source's connection to its broker or peer: exponential, capped, with full
// jitter (a random delay up to the exponential bound), so replicas that lost the same broker do
// not all come back in the same instant.

export interface BackoffOptions {
	baseMs: number;
	maxMs: number;
	random?: () => number;
}

/** The delay before retry number `attempt` (0 for the first retry). */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
	const bound = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt, 30));
	const random = options.random ?? Math.random;
	return Math.max(options.baseMs / 2, Math.floor(bound * random()));
}

/** Counts consecutive failures and says how long to wait; a success resets it. */
export class Backoff {
	#attempt = 0;
	#options: BackoffOptions;
	constructor(options: BackoffOptions) {
		this.#options = options;
	}
	get attempts(): number {
		return this.#attempt;
	}
	next(): number {
		return backoffDelay(this.#attempt++, this.#options);
	}
	reset(): void {
		this.#attempt = 0;
	}
}
