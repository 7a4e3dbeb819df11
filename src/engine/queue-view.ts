// What a node last read of the job queue, kept up to date by its own changes. Hatcheries ask
// for work at every freed worker, and reading the waiting entries back each time was a run's
// most expensive store operation under load (~3.4 ms of FerretDB and PostgreSQL CPU for 40
// entries, against ~0.5 ms for a read by _id). So a node reads the queue when its view is older
// than `ttlMs` or was invalidated, and otherwise offers what it holds:
//
// - the jobs this node queues are added as they are written, the ones it books or ends are
//   removed: on one node the view is the queue;
// - a job queued by another node invalidates it (the `job.queued` broadcast), so it is offered
//   as soon as it would have been without the view;
// - an entry another node booked or ended meanwhile is only a booking attempt lost (the booking
//   claim decides, as between two hatcheries reading the store at once), and is dropped then.
//
// The store stays the truth: the view never decides a booking, it only saves reads.

import type { QueueDoc } from "../../schemas/run.ts";

/** How long a read of the queue serves the bookings of a node (its own changes applied). */
export const QUEUE_VIEW_TTL_MS = 1_000;

/** Entries kept at most: beyond, the next offer reads the store again. */
const MAX_ENTRIES = 10_000;

/** A change this node made while a read of the queue was in flight: replayed over its result. */
interface Change {
	seq: number;
	id: string;
	/** The entry added; absent for a removal. */
	entry?: QueueDoc;
}

export class QueueView {
	#entries = new Map<string, QueueDoc>();
	readonly #ttlMs: number;
	#readAt = Number.NEGATIVE_INFINITY;
	/** Counts changes; a read remembers the count it started at. */
	#seq = 0;
	#invalidatedAt = 0;
	#readsInFlight = 0;
	/** Changes made while reads were in flight: a read's result is older than they are. */
	#changes: Change[] = [];

	constructor(ttlMs = QUEUE_VIEW_TTL_MS) {
		this.#ttlMs = ttlMs;
	}

	/**
	 * The waiting entries, when the view can answer for the store at `now`, an empty queue
	 * included (an idle node's hatchery asks at every tick); else undefined (read the store).
	 */
	entries(now: number): QueueDoc[] | undefined {
		if (now - this.#readAt >= this.#ttlMs) return undefined;
		return [...this.#entries.values()];
	}

	/** A read of the store starts: pass what this returns to endRead. */
	beginRead(): number {
		this.#readsInFlight++;
		return this.#seq;
	}

	/**
	 * A read that began at `since` returned `entries` (undefined: it failed) at `at`. The view
	 * starts again from it, with this node's changes made meanwhile applied over it; an
	 * invalidation meanwhile leaves the view stale (the read may predate the other node's job).
	 */
	endRead(since: number, entries: readonly QueueDoc[] | undefined, at: number): void {
		this.#readsInFlight--;
		if (entries) {
			const next = new Map<string, QueueDoc>();
			for (const e of entries) next.set(e._id, e);
			for (const c of this.#changes) {
				if (c.seq <= since) continue;
				if (c.entry) next.set(c.id, c.entry);
				else next.delete(c.id);
			}
			this.#entries = next;
			this.#readAt = this.#invalidatedAt > since ? Number.NEGATIVE_INFINITY : at;
		}
		if (this.#readsInFlight === 0) this.#changes = [];
	}

	/** This node queued a job (the entry as it wrote it). */
	add(entry: QueueDoc): void {
		if (this.#entries.size >= MAX_ENTRIES) {
			this.invalidate();
			return;
		}
		this.#change(entry._id, entry);
		this.#entries.set(entry._id, entry);
	}

	/** A job left the queue (booked, ended, or found booked elsewhere). */
	remove(id: string): void {
		this.#change(id, undefined);
		this.#entries.delete(id);
	}

	/** The queue changed in a way this node did not see: the next offer reads the store. */
	invalidate(): void {
		this.#invalidatedAt = ++this.#seq;
		this.#entries.clear();
		this.#readAt = Number.NEGATIVE_INFINITY;
	}

	#change(id: string, entry: QueueDoc | undefined): void {
		const seq = ++this.#seq;
		if (this.#readsInFlight > 0) this.#changes.push(entry ? { seq, id, entry } : { seq, id });
	}
}
