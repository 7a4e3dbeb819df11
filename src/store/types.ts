// The storage contract shared by every backend (embedded NeDB, MongoDB via mongoose).
// Services only ever see these types, so a backend can be swapped by configuration.
//
// Queries and updates use the subset of MongoDB's language that NeDB, MongoDB and
// FerretDB v1 all implement the same way: equality, $in, $nin, $ne, $gt, $gte, $lt,
// $lte, $exists, $or, $and on queries; $set, $unset, $inc, $push on updates.
// There is deliberately no compare-and-set: FerretDB v1 applies filtered updates as
// read-then-write, so mutual exclusion goes through `Store.claim` (a unique insert).

export type Doc = { _id: string } & Record<string, unknown>;

export type Query = Record<string, unknown>;
export type Update = {
	$set?: Record<string, unknown>;
	$unset?: Record<string, unknown>;
	$inc?: Record<string, number>;
	$push?: Record<string, unknown>;
};

export interface FindOptions {
	sort?: Record<string, 1 | -1>;
	limit?: number;
	skip?: number;
}

export interface IndexSpec {
	/** Field names, in order; a compound unique index when several. */
	fields: string[];
	unique?: boolean;
	/**
	 * Few distinct values shared by many documents (a state, a project). MongoDB indexes it; the
	 * embedded store does not: NeDB keeps one array per indexed value and rewrites it on every
	 * change to a document holding that value, so each write would cost O(documents sharing it).
	 * Its queries scan memory instead.
	 */
	lowCardinality?: boolean;
}

export interface CollectionSpec {
	name: string;
	indexes?: IndexSpec[];
}

export type InsertOutcome = "inserted" | "duplicate";

export interface Collection<T extends Doc = Doc> {
	readonly name: string;
	/** Inserts a document; throws `DuplicateKeyError` when a unique index (or _id) is violated. */
	insert(doc: T): Promise<T>;
	/**
	 * Inserts documents independently of each other (unordered, one round trip): one outcome per
	 * document, in order — "inserted", or "duplicate" when a unique index (or _id) refused it,
	 * including a repeat within `docs` (the first one wins). Any other failure rejects the whole
	 * call, and some of the documents may then be stored: a caller retrying them sees "duplicate".
	 */
	insertMany(docs: T[]): Promise<InsertOutcome[]>;
	findOne(query: Query): Promise<T | null>;
	find(query: Query, options?: FindOptions): Promise<T[]>;
	count(query: Query): Promise<number>;
	/**
	 * Updates the matching documents (only the first one unless `multi`); returns how many matched.
	 * Not an atomic compare-and-set.
	 */
	update(query: Query, update: Update, options?: { multi?: boolean }): Promise<number>;
	/** Replaces the document with the same _id, inserting it when absent (upsert). */
	replace(doc: T): Promise<void>;
	/** Removes the matching documents (only the first one unless `multi`); returns how many were removed. */
	remove(query: Query, options?: { multi?: boolean }): Promise<number>;
}

export interface ClaimResult {
	/** true when this caller won the claim; false when someone else holds it. */
	won: boolean;
	/** Who holds the claim now (this caller when won). */
	owner: string;
	/**
	 * The generation this caller inserted when it won (ClaimLedger: generations of a key are
	 * contiguous, so winning `g` after releasing `g - 1` proves nobody held the key in between).
	 */
	gen?: number;
}

/** The live claim on a key, as `Store.holder` reports it. */
export interface ClaimHolder {
	owner: string;
	/** Milliseconds since epoch after which the claim may be taken over; absent when it never expires. */
	expiresAt?: number;
}

export interface ClaimOptions {
	/** The claim expires after this long, and another claimer may then take it over. */
	ttlMs?: number;
	/**
	 * The key is never forgotten (Store.forget) while anyone may still claim it — a run's lock, a
	 * concurrency slot: after this process's own release, a claim inserts the next generation
	 * without reading first (see ClaimLedger).
	 */
	kept?: boolean;
}

/** One claim of Store.claimAll / releaseAll. */
export interface ClaimRequest {
	scope: string;
	key: string;
	owner: string;
	options?: ClaimOptions;
}

export interface Store {
	readonly kind: "embedded" | "mongo";
	collection<T extends Doc = Doc>(spec: CollectionSpec): Promise<Collection<T>>;
	/**
	 * Atomically claims `key` within `scope` for `owner`: of any number of concurrent
	 * callers, in any number of processes sharing the store, exactly one wins.
	 * Implemented as an insert into a unique index, never as a filtered update.
	 * A claim may carry an expiry (ms since epoch) after which `claim` may take it over;
	 * the take-over itself is again a unique insert (of the next generation), so it is atomic too.
	 */
	claim(scope: string, key: string, owner: string, options?: ClaimOptions): Promise<ClaimResult>;
	/**
	 * Several claims, each as `claim` would, in one round trip where the store can (results in
	 * order; not all-or-nothing: release what was won when all were needed).
	 */
	claimAll(requests: readonly ClaimRequest[]): Promise<ClaimResult[]>;
	/** Releases a claim held by `owner` (no-op when held by someone else or absent). */
	release(scope: string, key: string, owner: string): Promise<void>;
	/** Several releases, each as `release` would, in one round trip where the store can. */
	releaseAll(requests: readonly ClaimRequest[]): Promise<void>;
	/** Who holds `key` within `scope` now: null when nobody does (never claimed, released or expired). */
	holder(scope: string, key: string): Promise<ClaimHolder | null>;
	/** Drops a key's claim record for good (nobody may claim it again meanwhile): see ClaimLedger.forget. */
	forget(scope: string, key: string): Promise<void>;
	close(): Promise<void>;
}

export class DuplicateKeyError extends Error {
	readonly collection: string;
	readonly fields: string[];
	constructor(collection: string, fields: string[], message?: string) {
		super(message ?? `duplicate key in ${collection} on ${fields.join(", ") || "_id"}`);
		this.name = "DuplicateKeyError";
		this.collection = collection;
		this.fields = fields;
	}
}
