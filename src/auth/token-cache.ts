// Token documents the auth service read recently. A worker calls the API several times a job
// (its job, each step, logs, the result) with the same token, and every call is resolved: the
// cache spares the store a read per call. It never makes a revoked token work longer than the
// revocation takes to reach every auth node: revoking evicts here and is broadcast to the other
// replicas (auth.service.ts); the TTL bounds what a lost broadcast could leave. Expiry is still
// checked on every resolution, from the cached document.

export const TOKEN_CACHE_TTL_MS = 5_000;
const MAX_ENTRIES = 10_000;

export class TokenCache<T> {
	readonly #entries = new Map<string, { doc: T; until: number }>();
	readonly #ttlMs: number;
	readonly #now: () => number;

	constructor(ttlMs = TOKEN_CACHE_TTL_MS, now: () => number = Date.now) {
		this.#ttlMs = ttlMs;
		this.#now = now;
	}

	get(id: string): T | undefined {
		const entry = this.#entries.get(id);
		if (!entry) return undefined;
		if (entry.until <= this.#now()) {
			this.#entries.delete(id);
			return undefined;
		}
		return entry.doc;
	}

	set(id: string, doc: T): void {
		if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
		this.#entries.set(id, { doc, until: this.#now() + this.#ttlMs });
	}

	evict(id: string): void {
		this.#entries.delete(id);
	}
}
