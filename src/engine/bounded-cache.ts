// A small in-process cache for the worker routes: entries may age out, and when it grows past
// its bound it is emptied whole (cheaper than tracking use; every entry can be read again).

export class BoundedCache<V> {
	readonly #entries = new Map<string, { value: V; at: number }>();
	readonly #maxSize: number;
	readonly #ttlMs: number | undefined;
	readonly #now: () => number;

	constructor(options: { maxSize: number; ttlMs?: number; now?: () => number }) {
		this.#maxSize = options.maxSize;
		this.#ttlMs = options.ttlMs;
		this.#now = options.now ?? Date.now;
	}

	/** The value, unless absent or older than the time to live. */
	get(key: string): V | undefined {
		const hit = this.#entries.get(key);
		if (!hit) return undefined;
		if (this.#ttlMs !== undefined && this.#now() - hit.at >= this.#ttlMs) return undefined;
		return hit.value;
	}

	set(key: string, value: V): void {
		if (this.#entries.size > this.#maxSize) this.#entries.clear();
		this.#entries.set(key, { value, at: this.#now() });
	}

	delete(key: string): void {
		this.#entries.delete(key);
	}

	get size(): number {
		return this.#entries.size;
	}
}
