// The durable intake every hook source emits into: an event is stored under its deterministic
// id (the unique insert is the de-duplication, across replicas and restarts), then queued for
// the processor. Events accepted together share their writes (group commit, one unordered
// insertMany per shard), each caller still answered with its own event's outcome. Also what a source's context is made of (state, once-claims) — all on the
// Store, no broker, so a source runs the same in a service and in a unit test.

import type { Collection, Doc, InsertOutcome, Store } from "../store/types.ts";
import { GroupCommit } from "./group-commit.ts";
import {
	eventCollection,
	eventDoc,
	HOOK_COLLECTIONS,
	type HookEventDoc,
	queueCollection,
	type QueueDoc,
	SHARDS,
	shardOf,
	type SourceEvent,
} from "./events.ts";
import {
	checkSourceSettings,
	type EmitResult,
	type HookSource,
	type HookSourceContext,
	type SourceLogger,
	type SourcePorts,
	type SourceState,
} from "./source.ts";

/** Most events written in one insertMany: bounds a batch's size and its wait. */
const MAX_BATCH = 256;

/** The store did not acknowledge an event's insert: nothing can be promised about it (a 503 for a webhook). */
export class IntakeUnavailableError extends Error {
	constructor(cause: unknown) {
		super(`the event store did not acknowledge the write: ${(cause as Error)?.message ?? String(cause)}`, {
			cause,
		});
		this.name = "IntakeUnavailableError";
	}
}

/**
 * The queue writes in flight per store, whichever intake made them: the processor and each source
 * service open their own intake on the node's one store.
 */
const queueWritesOf = new WeakMap<Store, Set<Promise<unknown>>>();

interface StateDoc extends Doc {
	value: unknown;
	at: number;
}

export class HookIntake {
	readonly store: Store;
	#collections = new Map<string, Collection<any>>();
	#onQueued: (id: string) => void;
	#warn: (message: string) => void;
	#eventCommits: GroupCommit<HookEventDoc, InsertOutcome>[] = [];
	#queueCommits: GroupCommit<QueueDoc, InsertOutcome>[] = [];

	private constructor(store: Store, onQueued: (id: string) => void, warn: (message: string) => void) {
		this.store = store;
		this.#onQueued = onQueued;
		this.#warn = warn;
	}

	#openCommits(): void {
		for (let shard = 0; shard < SHARDS; shard++) {
			const events = this.#collections.get(`hook_events_${shard}`) as Collection<HookEventDoc>;
			const queue = this.#collections.get(`hook_queue_${shard}`) as Collection<QueueDoc>;
			this.#eventCommits.push(new GroupCommit((docs) => events.insertMany(docs), { maxBatch: MAX_BATCH }));
			this.#queueCommits.push(
				new GroupCommit(
					async (docs) => {
						const outcomes = await queue.insertMany(docs);
						for (const doc of docs) this.#onQueued(doc._id);
						return outcomes;
					},
					{ maxBatch: MAX_BATCH },
				),
			);
		}
	}

	/** Opens the hook collections. `onQueued` is told of each new event (the local processor's kick). */
	static async open(
		store: Store,
		options: { onQueued?: (id: string) => void; warn?: (message: string) => void } = {},
	): Promise<HookIntake> {
		const intake = new HookIntake(store, options.onQueued ?? (() => {}), options.warn ?? (() => {}));
		for (const spec of HOOK_COLLECTIONS) intake.#collections.set(spec.name, await store.collection(spec));
		intake.#openCommits();
		return intake;
	}

	events(id: string): Collection<HookEventDoc> {
		return this.#collections.get(eventCollection(id))!;
	}
	queue(id: string): Collection<QueueDoc> {
		return this.#collections.get(queueCollection(id))!;
	}
	eventShards(): Collection<HookEventDoc>[] {
		return Array.from({ length: SHARDS }, (_, i) => this.#collections.get(`hook_events_${i}`)!);
	}
	queueShards(): Collection<QueueDoc>[] {
		return Array.from({ length: SHARDS }, (_, i) => this.#collections.get(`hook_queue_${i}`)!);
	}

	/**
	 * Stores an event durably: the insert under its deterministic _id is the claim ("duplicate"
	 * when another delivery or replica got there first, or an equal event of the same batch), then
	 * the queue entry makes it work. Resolves only once the store acknowledged the event's insert;
	 * rejects with IntakeUnavailableError when it did not (the event may or may not be stored: a
	 * retry of the same event answers "stored" or "duplicate", never a second event).
	 */
	async accept(event: HookEventDoc): Promise<EmitResult> {
		const shard = shardOf(event._id);
		let outcome: InsertOutcome;
		try {
			outcome = await this.#eventCommits[shard]!.submit(event);
		} catch (e) {
			throw new IntakeUnavailableError(e);
		}
		if (outcome === "duplicate") return "duplicate";
		// The event is durable now; its queue entry is written after the answer (one write on the
		// accept path). If this node dies before that, the sweep re-queues every pending event.
		const writes = this.#queueWrites();
		const write = this.#queueCommits[shard]!.submit({ _id: event._id, dueAt: event.receivedAt, attempts: 0 })
			.catch((e: unknown) => this.#warn(`hook queue ${event._id}: ${(e as Error).message}`))
			.finally(() => writes.delete(write));
		writes.add(write);
		return "stored";
	}

	/**
	 * Resolves once the queue entries of the events accepted so far on this store (by any intake of
	 * this process) are written or failed: a processor pass looks for them right after, not in the
	 * middle of their batch.
	 */
	async queued(): Promise<void> {
		await Promise.all([...this.#queueWrites()]);
	}

	#queueWrites(): Set<Promise<unknown>> {
		let writes = queueWritesOf.get(this.store);
		if (!writes) {
			writes = new Set();
			queueWritesOf.set(this.store, writes);
		}
		return writes;
	}

	/** A source's state: one document per key in `hook_source_state`, named `<source>:<key>`. */
	state(source: string): SourceState {
		const c = this.#collections.get("hook_source_state") as Collection<StateDoc>;
		const id = (key: string) => `${source}:${key}`;
		return {
			async get<T>(key: string) {
				const doc = await c.findOne({ _id: id(key) });
				return doc ? (doc.value as T) : null;
			},
			async set(key: string, value: unknown) {
				await c.replace({ _id: id(key), value, at: Date.now() });
			},
			async delete(key: string) {
				await c.remove({ _id: id(key) });
			},
		};
	}
}

export interface SourceHost<S> {
	intake: HookIntake;
	source: HookSource<S>;
	settings: unknown;
	ports: SourcePorts;
	logger: SourceLogger;
	/** Who claims (`once`): unique per replica. */
	owner: string;
	now?: () => number;
	/** Runs a periodic task (the host owns the timers); a host that drives sources by hand ignores it. */
	every?: (ms: number, task: () => Promise<unknown>) => void;
}

/** The context a source runs with: emit into `intake`, state and claims in its store. */
export function sourceContext<S>(host: SourceHost<S>): HookSourceContext<S> {
	const { intake, source } = host;
	const now = host.now ?? Date.now;
	return {
		settings: checkSourceSettings(source, host.settings),
		emit(event: SourceEvent, dedupKey: string) {
			if (typeof dedupKey !== "string" || dedupKey === "") {
				return Promise.reject(new Error(`hook source ${source.name}: emit needs a non-empty dedupKey`));
			}
			return intake.accept(eventDoc(`${source.idPrefix}:${dedupKey}`, source.name, event, Date.now()));
		},
		now,
		logger: host.logger,
		state: intake.state(source.name),
		async once(key: string) {
			return (await intake.store.claim(`hook-${source.name}`, key, host.owner)).won;
		},
		forget(key: string) {
			return intake.store.forget(`hook-${source.name}`, key);
		},
		every: host.every ?? (() => {}),
		ports: host.ports,
	};
}
