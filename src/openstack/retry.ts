// Retries of OpenStack calls: errors that may pass (network, 409, 429, 5xx — `transient`) are
// retried with capped exponential backoff, five times at most; the rest fail at once.

import { Backoff } from "../hooks/backoff.ts";
import { OpenStackError } from "./keystone.ts";
import { transient } from "./request.ts";

export interface RetryOptions {
	/** Which errors are retried (default: `transient`). */
	retry?: (e: unknown) => boolean;
	/** Stop retrying (the caller is closing). */
	stopped?: () => boolean;
}

/** The call's result; its last error when it keeps failing (an OpenStackError as is, others prefixed with `what`). */
export async function retrying<T>(what: string, call: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
	const backoff = new Backoff({ baseMs: 100, maxMs: 5000 });
	const retry = opts.retry ?? transient;
	for (;;) {
		try {
			return await call();
		} catch (e) {
			if (!retry(e) || backoff.attempts >= 5 || opts.stopped?.()) {
				if (e instanceof OpenStackError) throw e;
				throw new Error(`${what}: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
			}
			await new Promise((r) => setTimeout(r, backoff.next()));
		}
	}
}
