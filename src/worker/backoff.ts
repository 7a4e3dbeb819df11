/** Retrying with exponential backoff, for calls to an API that may be unreachable for a while. */

export interface RetryOptions {
	/** Give up (rethrow the last error) once this many milliseconds have passed. */
	deadlineMs: number;
	initialDelayMs?: number;
	maxDelayMs?: number;
	/** False for errors that will never go away by retrying (401, 409…). */
	isRetryable: (err: unknown) => boolean;
	onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

export function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The delay before retry number `attempt` (1-based): doubling, capped, with ±20 % jitter. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
	const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 20));
	return Math.round(base * (0.8 + Math.random() * 0.4));
}

/** Longest wait a Retry-After may impose between two tries. */
export const MAX_RETRY_AFTER_MS = 30_000;

/**
 * The wait before the next try: the backoff, or longer when the server said how long
 * (`retryAfterMs` of the error, from Retry-After), within MAX_RETRY_AFTER_MS.
 */
export function retryDelay(err: unknown, attempt: number, initialMs: number, maxMs: number): number {
	const delay = backoffDelay(attempt, initialMs, maxMs);
	const asked = (err as { retryAfterMs?: unknown } | null)?.retryAfterMs;
	if (typeof asked !== "number" || !Number.isFinite(asked) || asked <= delay) return delay;
	return Math.min(asked, MAX_RETRY_AFTER_MS);
}

export async function retry<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
	const start = Date.now();
	const initial = options.initialDelayMs ?? 100;
	const max = options.maxDelayMs ?? 5000;
	for (let attempt = 1; ; attempt++) {
		try {
			return await fn();
		} catch (err) {
			if (!options.isRetryable(err)) throw err;
			const left = options.deadlineMs - (Date.now() - start);
			if (left <= 0) throw err;
			// A last try at the deadline rather than none.
			const delay = Math.min(retryDelay(err, attempt, initial, max), left);
			options.onRetry?.(err, attempt, delay);
			await sleep(delay);
		}
	}
}
