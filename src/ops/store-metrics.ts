// Store operation latency, measured at the one place every service gets its store (server.ts
// attaches the decorated store to the broker): each collection is wrapped once when opened, with
// its histogram children bound per operation, so an operation costs two clock reads and a bucket
// scan — no label lookup, no string, no closure.

import type { Collection, CollectionSpec, Doc, FindOptions, Query, Store, Update } from "../store/types.ts";
import type { Family, HistogramChild } from "./metrics.ts";

type Clock = () => number;

const now: Clock = () => performance.now();

class InstrumentedCollection<T extends Doc> implements Collection<T> {
	readonly name: string;
	private readonly inner: Collection<T>;
	private readonly clock: Clock;
	private readonly hInsert: HistogramChild;
	private readonly hInsertMany: HistogramChild;
	private readonly hFindOne: HistogramChild;
	private readonly hFind: HistogramChild;
	private readonly hCount: HistogramChild;
	private readonly hUpdate: HistogramChild;
	private readonly hReplace: HistogramChild;
	private readonly hRemove: HistogramChild;

	constructor(inner: Collection<T>, latency: Family<HistogramChild>, clock: Clock) {
		this.inner = inner;
		this.name = inner.name;
		this.clock = clock;
		const h = (op: string) => latency.labels(inner.name, op);
		this.hInsert = h("insert");
		this.hInsertMany = h("insertMany");
		this.hFindOne = h("findOne");
		this.hFind = h("find");
		this.hCount = h("count");
		this.hUpdate = h("update");
		this.hReplace = h("replace");
		this.hRemove = h("remove");
	}

	async insert(doc: T): Promise<T> {
		const t = this.clock();
		try {
			return await this.inner.insert(doc);
		} finally {
			this.hInsert.observe((this.clock() - t) / 1000);
		}
	}

	async insertMany(docs: T[]) {
		const t = this.clock();
		try {
			return await this.inner.insertMany(docs);
		} finally {
			this.hInsertMany.observe((this.clock() - t) / 1000);
		}
	}

	async findOne(query: Query): Promise<T | null> {
		const t = this.clock();
		try {
			return await this.inner.findOne(query);
		} finally {
			this.hFindOne.observe((this.clock() - t) / 1000);
		}
	}

	async find(query: Query, options?: FindOptions): Promise<T[]> {
		const t = this.clock();
		try {
			return await this.inner.find(query, options);
		} finally {
			this.hFind.observe((this.clock() - t) / 1000);
		}
	}

	async count(query: Query): Promise<number> {
		const t = this.clock();
		try {
			return await this.inner.count(query);
		} finally {
			this.hCount.observe((this.clock() - t) / 1000);
		}
	}

	async update(query: Query, update: Update, options?: { multi?: boolean }): Promise<number> {
		const t = this.clock();
		try {
			return await this.inner.update(query, update, options);
		} finally {
			this.hUpdate.observe((this.clock() - t) / 1000);
		}
	}

	async replace(doc: T): Promise<void> {
		const t = this.clock();
		try {
			return await this.inner.replace(doc);
		} finally {
			this.hReplace.observe((this.clock() - t) / 1000);
		}
	}

	async remove(query: Query, options?: { multi?: boolean }): Promise<number> {
		const t = this.clock();
		try {
			return await this.inner.remove(query, options);
		} finally {
			this.hRemove.observe((this.clock() - t) / 1000);
		}
	}
}

/** The label `collection` takes for claims (`Store.claim`, `release`, `holder`, `forget`). */
export const CLAIMS_LABEL = "(claims)";

/**
 * `store`, each operation observed in `latency` (labels: collection, operation; seconds).
 * Collections are wrapped once per name and reused, like the backends cache theirs.
 */
export function instrumentStore(store: Store, latency: Family<HistogramChild>, clock: Clock = now): Store {
	const wrapped = new Map<string, Promise<Collection<any>>>();
	const hClaim = latency.labels(CLAIMS_LABEL, "claim");
	const hRelease = latency.labels(CLAIMS_LABEL, "release");
	const hHolder = latency.labels(CLAIMS_LABEL, "holder");
	const hForget = latency.labels(CLAIMS_LABEL, "forget");
	async function settle<R>(h: HistogramChild, t: number, op: Promise<R>): Promise<R> {
		try {
			return await op;
		} finally {
			h.observe((clock() - t) / 1000);
		}
	}
	return {
		kind: store.kind,
		collection<T extends Doc = Doc>(spec: CollectionSpec): Promise<Collection<T>> {
			let c = wrapped.get(spec.name);
			if (!c) {
				c = store.collection<T>(spec).then((inner) => new InstrumentedCollection(inner, latency, clock));
				// A failed open (store unavailable) is retried by the next caller, not remembered.
				c.catch(() => wrapped.delete(spec.name));
				wrapped.set(spec.name, c);
				return c;
			}
			// Opening again still gives the backend the spec (indexes a later caller declares).
			return store.collection<T>(spec).then(() => c as Promise<Collection<T>>);
		},
		claim: (scope, key, owner, options) => settle(hClaim, clock(), store.claim(scope, key, owner, options)),
		claimAll: (requests) => settle(hClaim, clock(), store.claimAll(requests)),
		release: (scope, key, owner) => settle(hRelease, clock(), store.release(scope, key, owner)),
		releaseAll: (requests) => settle(hRelease, clock(), store.releaseAll(requests)),
		holder: (scope, key) => settle(hHolder, clock(), store.holder(scope, key)),
		forget: (scope, key) => settle(hForget, clock(), store.forget(scope, key)),
		close: () => store.close(),
	};
}
