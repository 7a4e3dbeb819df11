// Claims: mutual exclusion built only from inserts into a unique index.
//
// Why inserts: FerretDB v1 runs filtered updates and findAndModify as read-then-write, so
// "update where owner is null" lets two callers both believe they won. An insert into a unique
// index is atomic on every backend (NeDB, MongoDB, FerretDB), so it is the only primitive used
// to decide a winner.
//
// Design: a claim on (scope, key) is a sequence of generation documents in the `_claims`
// collection, `_id = "<scope>/<key>/<gen>"` (scope and key URI-encoded so "/" cannot make two
// pairs collide), with fields { scope, key, gen, owner, expiresAt?, released }. Every read and
// write addresses a generation by its _id: FerretDB v1 on SQLite only uses an index for _id, so
// any other filter scans the whole collection.
//
// Invariant: generations of a key are contiguous, 0..latest. Generation g is only inserted by a
// caller that has just seen generation g-1, and no generation is deleted while other claimers
// may run. Hence a successful insert of g proves nothing above g exists: g is the new latest.
//
// claim(scope, key, owner, ttl):
//   1. fast path: insert generation 0. Success means the key was never claimed: won (one write);
//   2. otherwise find the latest generation: start at the hint `head` kept on generation 0 and
//      probe g+1, g+2… by _id until one is missing (contiguity makes the last one found the
//      latest; the hint is only ever set to an existing generation, so a stale hint is merely
//      slower);
//   3. if the latest is live (not released, not expired) the caller lost, or already holds it
//      when it is the owner (a re-claim by the holder reports won without extending the expiry);
//   4. otherwise insert generation latest+1. The unique _id decides: of all callers that saw the
//      same latest exactly one insert succeeds; the others get a duplicate key, go back to 2 and
//      find the winner's live generation. The winner then advances the hint (best effort).
//
// release(scope, key, owner): inserts the generation after the caller's, marked released (an
// owner-less "free" generation). Inserts only: FerretDB runs an update as a read and a write, and
// an insert costs it about half as much. A stale releaser (whose claim expired and was taken
// over) finds that generation taken, and its insert fails on the unique _id: it never touches
// the newer holder's. Release never deletes: the next claimer inserts latest+1.
//
// Fast paths of a ledger that saw the key before (one process taking and releasing the same
// key in turn, as a run's lock or a concurrency slot is): a claim of a `kept` key (never
// forgotten while claimable) after this ledger's own release inserts the generation after its
// free one without reading (the unique insert is the probe for a newer one: none exists when it
// succeeds, and the free one before it was the latest; a forgotten key claimed afresh from
// generation 0 would not refuse it, hence `kept`); a claim
// on a key it knew otherwise reads the generation it knew and, when that one is over, inserts the
// next; a release addresses the generation its owner won without reading. So a lock cycle on one
// node costs two inserts. The `head` hint moves every 16th generation only.
//
// Growth: each claim or take-over of a key adds one small document, each release another.
// `compactExclusive` collapses each key to generations 0 and latest; it is only safe when no
// other claimer can run (the embedded store does it at open, under its directory lock); the run
// retention forgets the keys of the runs it purges.
//
// Expiry uses the claimer's clock (expiresAt = now + ttlMs); processes sharing a store must have
// roughly synchronised clocks, and TTLs should be much larger than the expected skew.

import type {
	ClaimHolder,
	ClaimOptions,
	ClaimRequest,
	ClaimResult,
	Collection,
	CollectionSpec,
	Doc,
} from "./types.ts";
import { DuplicateKeyError } from "./types.ts";

export const CLAIMS_COLLECTION: CollectionSpec = {
	name: "_claims",
	// Uniqueness comes from _id alone; this index serves compaction and inspection.
	indexes: [{ fields: ["scope", "key"] }],
};

type ClaimDoc = Doc & {
	scope: string;
	key: string;
	gen: number;
	owner: string;
	expiresAt?: number;
	released: boolean;
	/** On generation 0 only: a generation known to exist, where the search for the latest starts. */
	head?: number;
};

/** How many times a claimer re-reads after losing an insert before giving up (only under heavy churn). */
const MAX_ATTEMPTS = 20;

function claimId(scope: string, key: string, gen: number): string {
	return `${encodeURIComponent(scope)}/${encodeURIComponent(key)}/${gen}`;
}

function checkName(what: string, value: unknown): asserts value is string {
	if (typeof value !== "string" || value === "") {
		throw new TypeError(`claim ${what} must be a non-empty string, got ${JSON.stringify(value)}`);
	}
}

function checkClaim(scope: string, key: string, owner: string, options: ClaimOptions): void {
	checkName("scope", scope);
	checkName("key", key);
	checkName("owner", owner);
	const { ttlMs } = options;
	if (ttlMs !== undefined && !(Number.isFinite(ttlMs) && ttlMs > 0)) {
		throw new TypeError(`claim ttlMs must be a positive number of milliseconds, got ${ttlMs}`);
	}
}

/** The owner recorded on a free generation (a release): no claimer may use it. */
const FREE_OWNER = "";

/** The free generation after `gen`: what a release inserts. */
function freeGeneration(scope: string, key: string, gen: number): ClaimDoc {
	return { _id: claimId(scope, key, gen + 1), scope, key, gen: gen + 1, owner: FREE_OWNER, released: true };
}

function isLive(doc: ClaimDoc, now: number): boolean {
	return !doc.released && (doc.expiresAt === undefined || doc.expiresAt > now);
}

/** How often a new generation moves generation 0's `head` hint (see #advanceHint). */
const HINT_EVERY = 16;

/** How many keys the ledger remembers a generation of (a bounded cache; forgetting only costs reads). */
const KNOWN_KEYS = 10_000;

/** Claim/release logic shared by every backend; it only needs a Collection. */
export class ClaimLedger {
	readonly #claims: Collection<ClaimDoc>;
	/**
	 * Per key (generation 0's _id), a generation this ledger saw or inserted: like the `head` hint,
	 * a place to start the search for the latest, but without reading generations 0 and `head`
	 * first, nor trying the insert of generation 0 on a key claimed before. A key taken and
	 * released in turn (a run's lock) costs a few reads less each time. Never trusted blindly: the
	 * generation is read by _id, and when it is gone (`forget`) the search starts from 0 again.
	 */
	readonly #known = new Map<string, number>();
	/**
	 * The generation each owner won, per key: its release addresses it directly (one write, no
	 * read). Releasing a generation that was since taken over is harmless: only the latest one
	 * decides, and the flag never goes back.
	 */
	readonly #held = new Map<string, number>();
	/**
	 * Per key (generation 0's _id), the free generation this ledger inserted last: unless another
	 * ledger claimed the key since, it is the latest, and a claim inserts the next one blind.
	 */
	readonly #freed = new Map<string, number>();

	constructor(claims: Collection<Doc>) {
		this.#claims = claims as Collection<ClaimDoc>;
	}

	#get(scope: string, key: string, gen: number): Promise<ClaimDoc | null> {
		return this.#claims.findOne({ _id: claimId(scope, key, gen) });
	}

	#remember(doc: ClaimDoc): void {
		const zero = claimId(doc.scope, doc.key, 0);
		if ((this.#known.get(zero) ?? -1) >= doc.gen) return;
		if (this.#known.size >= KNOWN_KEYS) this.#known.clear();
		this.#known.set(zero, doc.gen);
	}

	#heldKey(scope: string, key: string, owner: string): string {
		return `${claimId(scope, key, 0)}\u0000${owner}`;
	}

	#won(doc: ClaimDoc): void {
		this.#remember(doc);
		if (this.#held.size >= KNOWN_KEYS) this.#held.clear();
		this.#held.set(this.#heldKey(doc.scope, doc.key, doc.owner), doc.gen);
	}

	/** The generation this ledger last knew for the key, read again; null when unknown or gone. */
	async #knownGeneration(scope: string, key: string): Promise<ClaimDoc | null> {
		const zero = claimId(scope, key, 0);
		const gen = this.#known.get(zero);
		if (gen === undefined) return null;
		const doc = await this.#get(scope, key, gen);
		if (!doc) this.#known.delete(zero);
		return doc;
	}

	/**
	 * The latest generation, searching upwards from `from` (a generation known to exist), or null
	 * when never claimed. Always to the end: a generation that looks live may have been released
	 * by the free one after it (releases insert, they never change a generation).
	 */
	async #latest(scope: string, key: string, from?: ClaimDoc | null): Promise<ClaimDoc | null> {
		let doc = from ?? (await this.#get(scope, key, 0));
		if (!doc) return null;
		if (doc.gen === 0 && doc.head !== undefined && doc.head > 0) {
			const hinted = await this.#get(scope, key, doc.head);
			if (!hinted) {
				// The hint never points at a missing generation unless the collection was edited by
				// hand: fall back to a (slow, scanning) sorted query.
				const [top] = await this.#claims.find({ scope, key }, { sort: { gen: -1 }, limit: 1 });
				return top ?? doc;
			}
			doc = hinted;
		}
		for (;;) {
			const next = await this.#get(scope, key, doc.gen + 1);
			if (!next) break;
			doc = next;
		}
		this.#remember(doc);
		return doc;
	}

	async #insert(doc: ClaimDoc): Promise<boolean> {
		try {
			await this.#claims.insert(doc);
			return true;
		} catch (err) {
			if (err instanceof DuplicateKeyError) return false;
			throw err;
		}
	}

	#newGeneration(scope: string, key: string, gen: number, owner: string, ttlMs?: number): ClaimDoc {
		const doc: ClaimDoc = { _id: claimId(scope, key, gen), scope, key, gen, owner, released: false };
		if (ttlMs !== undefined) doc.expiresAt = Date.now() + ttlMs;
		return doc;
	}

	async claim(scope: string, key: string, owner: string, options: ClaimOptions = {}): Promise<ClaimResult> {
		checkClaim(scope, key, owner, options);
		const first = this.#firstInsert(scope, key, owner, options);
		if (first && (await this.#insert(first))) return this.#wonBy(first);
		return this.#claimBySearch(scope, key, owner, options, first?.gen === 0);
	}

	/**
	 * Claims several keys in one round trip when this ledger can guess each one's next generation
	 * (a key never seen: generation 0; a kept key it released last: the one after its free one);
	 * the others, and the guesses that lose, are claimed one by one as `claim` does. Results in
	 * order. Not all-or-nothing: the caller releases what it won if it needed all.
	 */
	async claimAll(requests: readonly ClaimRequest[]): Promise<ClaimResult[]> {
		for (const r of requests) checkClaim(r.scope, r.key, r.owner, r.options ?? {});
		const firsts = requests.map((r) => this.#firstInsert(r.scope, r.key, r.owner, r.options ?? {}));
		const tried = firsts.filter((d): d is ClaimDoc => d !== undefined);
		const outcomes = tried.length > 0 ? await this.#claims.insertMany(tried) : [];
		const inserted = new Set(tried.filter((_, i) => outcomes[i] === "inserted"));
		const results: ClaimResult[] = [];
		for (const [i, r] of requests.entries()) {
			const first = firsts[i];
			if (first && inserted.has(first)) results.push(await this.#wonBy(first));
			else
				results.push(await this.#claimBySearch(r.scope, r.key, r.owner, r.options ?? {}, first?.gen === 0));
		}
		return results;
	}

	/**
	 * The generation to insert first without reading: after this ledger's own release of a kept
	 * key, the one after its free generation (only a kept key: one forgotten meanwhile and
	 * claimed afresh would not refuse it); for a key it never saw, generation 0; else none.
	 */
	#firstInsert(scope: string, key: string, owner: string, options: ClaimOptions): ClaimDoc | undefined {
		const zeroId = claimId(scope, key, 0);
		const freed = this.#freed.get(zeroId);
		if (freed !== undefined) this.#freed.delete(zeroId);
		if (freed !== undefined && options.kept)
			return this.#newGeneration(scope, key, freed + 1, owner, options.ttlMs);
		if (!this.#known.has(zeroId)) return this.#newGeneration(scope, key, 0, owner, options.ttlMs);
		return undefined;
	}

	async #wonBy(doc: ClaimDoc): Promise<ClaimResult> {
		this.#won(doc);
		await this.#advanceHint(doc);
		return { won: true, owner: doc.owner, gen: doc.gen };
	}

	/** A claim whose first insert, if any, lost (`triedZero`: it was generation 0's). */
	async #claimBySearch(
		scope: string,
		key: string,
		owner: string,
		options: ClaimOptions,
		triedZero: boolean,
	): Promise<ClaimResult> {
		const { ttlMs } = options;
		// A key this ledger has seen claimed exists: the search starts at what it knew.
		let latest: ClaimDoc | null = await this.#knownGeneration(scope, key);
		if (!latest && !triedZero) {
			const zero = this.#newGeneration(scope, key, 0, owner, ttlMs);
			if (await this.#insert(zero)) return this.#wonBy(zero);
		}

		// A known generation that is over is not probed past: the insert after it is the probe (a
		// duplicate means it was not the latest), and that it exists keeps the generations
		// contiguous even if the key was forgotten meanwhile. One that looks live is the holder only
		// if it is the latest: a release inserts a free generation after it.
		let search = latest === null;
		for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
			if (search) latest = await this.#latest(scope, key, latest);
			const atEnd = search;
			search = true;
			if (!latest)
				throw new Error(`claim ${scope}/${key}: generation 0 vanished (was the _claims collection edited?)`);
			if (isLive(latest, Date.now())) {
				if (!atEnd) continue; // read on from it
				if (latest.owner === owner) this.#won(latest);
				return { won: latest.owner === owner, owner: latest.owner };
			}
			const next = this.#newGeneration(scope, key, latest.gen + 1, owner, ttlMs);
			if (await this.#insert(next)) return this.#wonBy(next);
		}
		return { won: false, owner: latest?.owner ?? "" };
	}

	/**
	 * Points generation 0's hint at a new generation, every HINT_EVERY generations: the hint only
	 * spares a ledger that never saw the key most of its probes, so a hint a few generations
	 * behind costs that ledger a few reads once, and the holder one write less per claim.
	 */
	async #advanceHint(doc: ClaimDoc): Promise<void> {
		if (doc.gen === 0 || doc.gen % HINT_EVERY !== 0) return;
		await this.#claims.update({ _id: claimId(doc.scope, doc.key, 0) }, { $set: { head: doc.gen } });
	}

	async release(scope: string, key: string, owner: string): Promise<void> {
		checkName("scope", scope);
		checkName("key", key);
		checkName("owner", owner);
		const heldKey = this.#heldKey(scope, key, owner);
		const held = this.#held.get(heldKey);
		if (held !== undefined) {
			this.#held.delete(heldKey);
			// The owner's generation, then: a free one after it, unless someone took the key over.
			await this.#free(scope, key, held);
			return;
		}
		const latest = await this.#latest(scope, key, await this.#knownGeneration(scope, key));
		if (!latest || latest.owner !== owner || latest.released) return;
		await this.#free(scope, key, latest.gen);
	}

	/**
	 * Releases several claims, those whose generation this ledger holds in one round trip (the
	 * others one by one, as `release` does).
	 */
	async releaseAll(requests: readonly ClaimRequest[]): Promise<void> {
		const frees: ClaimDoc[] = [];
		const rest: ClaimRequest[] = [];
		for (const r of requests) {
			checkName("scope", r.scope);
			checkName("key", r.key);
			checkName("owner", r.owner);
			const heldKey = this.#heldKey(r.scope, r.key, r.owner);
			const held = this.#held.get(heldKey);
			if (held === undefined) {
				rest.push(r);
				continue;
			}
			this.#held.delete(heldKey);
			frees.push(freeGeneration(r.scope, r.key, held));
		}
		if (frees.length > 0) {
			const outcomes = await this.#claims.insertMany(frees);
			for (const [i, free] of frees.entries()) if (outcomes[i] === "inserted") await this.#freedBy(free);
		}
		for (const r of rest) await this.release(r.scope, r.key, r.owner);
	}

	/** Ends generation `gen` by inserting a free one after it (a duplicate: it ended already). */
	async #free(scope: string, key: string, gen: number): Promise<void> {
		const free = freeGeneration(scope, key, gen);
		if (await this.#insert(free)) await this.#freedBy(free);
	}

	async #freedBy(free: ClaimDoc): Promise<void> {
		this.#remember(free);
		if (this.#freed.size >= KNOWN_KEYS) this.#freed.clear();
		this.#freed.set(claimId(free.scope, free.key, 0), free.gen);
		await this.#advanceHint(free);
	}

	async holder(scope: string, key: string): Promise<ClaimHolder | null> {
		checkName("scope", scope);
		checkName("key", key);
		const latest = await this.#latest(scope, key, await this.#knownGeneration(scope, key));
		if (!latest || !isLive(latest, Date.now())) return null;
		return latest.expiresAt === undefined
			? { owner: latest.owner }
			: { owner: latest.owner, expiresAt: latest.expiresAt };
	}

	/**
	 * Removes every generation of a key, for a key nobody will claim again (what it guarded is
	 * gone: a hook event past its retention). The caller guarantees that no claimer runs on the key
	 * meanwhile; if one did, the key would lose its generation 0 and later claims would fail loudly
	 * rather than let two owners win. Removes by _id only (generation 0's hint, then upwards).
	 */
	async forget(scope: string, key: string): Promise<number> {
		checkName("scope", scope);
		checkName("key", key);
		this.#known.delete(claimId(scope, key, 0));
		this.#freed.delete(claimId(scope, key, 0));
		const latest = await this.#latest(scope, key);
		this.#known.delete(claimId(scope, key, 0));
		if (!latest) return 0;
		let removed = 0;
		// Upwards first, generation 0 last: an interrupted forget leaves a contiguous prefix.
		for (let gen = latest.gen; gen >= 0; gen--)
			removed += await this.#claims.remove({ _id: claimId(scope, key, gen) });
		return removed;
	}

	/**
	 * Collapses every key to generations 0 and latest, pointing the hint at the latest. Only safe
	 * while no claimer can run concurrently (it breaks contiguity for a claimer holding an old read).
	 * Returns how many documents were removed.
	 */
	async compactExclusive(): Promise<number> {
		const latestOf = new Map<string, ClaimDoc>();
		const all = await this.#claims.find({ gen: { $gt: 0 } });
		for (const doc of all) {
			const id = claimId(doc.scope, doc.key, 0);
			const seen = latestOf.get(id);
			if (!seen || seen.gen < doc.gen) latestOf.set(id, doc);
		}
		let removed = 0;
		for (const [zeroId, latest] of latestOf) {
			await this.#claims.update({ _id: zeroId }, { $set: { head: latest.gen } });
			removed += await this.#claims.remove(
				{ scope: latest.scope, key: latest.key, gen: { $gt: 0, $lt: latest.gen } },
				{ multi: true },
			);
		}
		return removed;
	}
}
