// When the CLI asks again: a read (GET) the API answered 503 — a service restarting, a node
// that just died — is asked again after the server's Retry-After, for a bounded time. Writes
// are never repeated: their first attempt may have been applied.

const RETRIED_METHODS = new Set(["GET", "HEAD"]);
const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 5_000;

export function isRetriable(method: string, status: number): boolean {
	return status === 503 && RETRIED_METHODS.has(method.toUpperCase());
}

/**
 * The wait before attempt `attempt + 1` (attempt counts from 1): the server's `Retry-After` in
 * seconds when it sent one, else doubling from 0.5 s; never above 5 s.
 */
export function retryDelayMs(attempt: number, retryAfter: string | null): number {
	const seconds = retryAfter !== null && /^\d+(\.\d+)?$/.test(retryAfter.trim()) ? Number(retryAfter) : NaN;
	const delay = Number.isFinite(seconds) ? seconds * 1000 : FIRST_DELAY_MS * 2 ** Math.max(0, attempt - 1);
	return Math.min(MAX_DELAY_MS, Math.max(0, delay));
}

/** The next delay, or undefined when waiting it would end past `deadline` (a clock reading). */
export function nextRetry(
	method: string,
	status: number,
	attempt: number,
	retryAfter: string | null,
	now: number,
	deadline: number,
): number | undefined {
	if (!isRetriable(method, status)) return undefined;
	const delay = retryDelayMs(attempt, retryAfter);
	return now + delay <= deadline ? delay : undefined;
}
