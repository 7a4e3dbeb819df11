// One call to an OpenStack service found in the Keystone catalog: the token in X-Auth-Token,
// JSON both ways, a 401 answered by renewing the token once, errors as OpenStackError with the
// service's own message (e.g. Nova's "Quota exceeded for instances…").

import { errorMessage, type Keystone, OpenStackError } from "./keystone.ts";

export interface CallOptions {
	body?: unknown;
	headers?: Record<string, string>;
	/** Resolve with undefined on 404 instead of throwing. */
	missingOk?: boolean;
	timeoutMs?: number;
}

export async function openstackCall<T>(
	keystone: Keystone,
	serviceType: string,
	method: string,
	path: string,
	opts: CallOptions = {},
): Promise<T | undefined> {
	for (let attempt = 0; ; attempt++) {
		const token = await keystone.current();
		const base = await keystone.endpoint(serviceType);
		const res = await fetch(`${base}${path}`, {
			method,
			headers: {
				Accept: "application/json",
				"X-Auth-Token": token.value,
				...(opts.body !== undefined ? { "Content-Type": "application/json" } : {}),
				...opts.headers,
			},
			body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
			signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
		});
		const text = await res.text();
		if (res.status === 401 && attempt === 0) {
			keystone.invalidate();
			continue;
		}
		if (res.status === 404 && opts.missingOk) return undefined;
		if (res.status >= 400) throw new OpenStackError(res.status, errorMessage(res.status, text));
		return (text ? JSON.parse(text) : undefined) as T;
	}
}

/**
 * Whether an error may pass on its own: the network (fetch's TypeError, a timeout), 409
 * conflicts of a busy resource, 429, 5xx. Anything else (a missing image…) is final.
 */
export function transient(e: unknown): boolean {
	if (e instanceof OpenStackError) return e.status === 409 || e.status === 429 || e.status >= 500;
	const name = (e as Error | undefined)?.name;
	return e instanceof TypeError || name === "TimeoutError" || name === "AbortError";
}
