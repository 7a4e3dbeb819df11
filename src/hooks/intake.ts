// The durable intake every hook source emits into: an event is stored under its deterministic
// id (the unique insert is the de-duplication, across replicas and restarts), then queued for
// the processor. Also what a source's context is made of (state, once-claims) — all on the
// Store, no broker, so a source runs the same in a service and in a unit test.

import { DuplicateKeyError, type Collection, type Doc, type Store } from "../store/types.ts";
import {
	eventCollection,
	eventDoc,
	HOOK_COLLECTIONS,
	type HookEventDoc,
	queueCollection,
	type QueueDoc,
	SHARDS,
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

interface StateDoc extends Doc {
	value: unknown;
	at: number;
}

export class HookIntake {
	readonly store: Store;
	#collections = new Map<string, Collection<any>>();
	#onQueued: (id: string) => void;
	#warn: (message: string) => void;

	private constructor(store: Store, onQueued: (id: string) => void, warn: (message: string) => void) {
		this.store = store;
		this.#onQueued = onQueued;
		this.#warn = warn;
	}

	/** Opens the hook collections. `onQueued` is told of each new event (the local processor's kick). */
	static async open(
		store: Store,
		options: { onQueued?: (id: string) => void; warn?: (message: string) => void } = {},
	): Promise<HookIntake> {
		const intake = new HookIntake(store, options.onQueued ?? (() => {}), options.warn ?? (() => {}));
		for (const spec of HOOK_COLLECTIONS) intake.#collections.set(spec.name, await store.collection(spec));
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
	 * when another delivery or replica got there first), then the queue entry makes it work.
	 */
	async accept(event: HookEventDoc): Promise<EmitResult> {
		try {
			await this.events(event._id).insert(event);
		} catch (e) {
			if (e instanceof DuplicateKeyError) return "duplicate";
			throw e;
		}
		// The event is durable now; its queue entry is written after the answer (one write on the
		// accept path). If this node dies before that, the sweep re-queues every pending event.
		this.queue(event._id)
			.insert({ _id: event._id, dueAt: event.receivedAt, attempts: 0 })
			.catch((e: unknown) => {
				if (!(e instanceof DuplicateKeyError)) this.#warn(`hook queue ${event._id}: ${(e as Error).message}`);
			})
			.finally(() => this.#onQueued(event._id));
		return "stored";
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
		every: host.every ?? (() => {}),
		ports: host.ports,
	};
}
