// Hook events as stored: what a source emitted (its intents), where it stands in processing,
// and the messages it publishes. The store layout (sharded collections) lives here too, so the
// processor and every source open the same collections.

import type { CollectionSpec, Doc } from "../store/types.ts";
import type { HookChange } from "./payload.ts";

/**
 * What an event asks the processor to do. The processor dispatches on `kind` only, never on
 * the source that emitted it: a Kafka record that asks for a run is processed like a cron tick.
 * `type` names what happened for outside systems (the subject `cds.hooks.<project>.<type>`).
 */
export type HookIntent = DefineBranchIntent | DeleteBranchIntent | StartRunIntent | NotifyIntent;

interface IntentBase {
	/** A token of the published subject: `push`, `branch-created`, `tag`, `schedule`… */
	type: string;
	/** Variables of the change (`git.*`, `cds.hook.*`): the run's parameters, the message's vars. */
	vars: Record<string, string>;
	/** Fields added to the published message as they are (e.g. the scheduler's `schedule`). */
	extra?: Record<string, unknown>;
}

/** Redefine a repository's as-code workflows on `branch` from `commit`, then run each one it triggers. */
export interface DefineBranchIntent extends IntentBase {
	kind: "define-branch";
	repositoryId: string;
	branch: string;
	commit: string;
	/** false: define only (no run, no commit status). */
	run: boolean;
}

/** Drop a deleted branch's definitions. */
export interface DeleteBranchIntent extends IntentBase {
	kind: "delete-branch";
	repositoryId: string;
	branch: string;
}

/** Start one run of a named workflow of the event's project. */
export interface StartRunIntent extends IntentBase {
	kind: "start-run";
	workflow: string;
	branch?: string;
	commit?: string;
	payload?: unknown;
}

/** Nothing to do but publish it (a tag, an event kept for the record). */
export interface NotifyIntent extends IntentBase {
	kind: "notify";
	branch?: string;
	tag?: string;
	commit?: string;
}

export const INTENT_KINDS = ["define-branch", "delete-branch", "start-run", "notify"] as const;

export interface HookEventDoc extends Doc {
	project: string;
	/** The source that emitted it (`webhook`, `poller`, `scheduler`, …): for the record and the messages. */
	source: string;
	repositoryId: string | null;
	repository: string | null;
	/** What the source says about the origin (provider, event name, delivery id…), for operators. */
	origin: Record<string, string>;
	intents: HookIntent[];
	state: "pending" | "done";
	receivedAt: number;
	doneAt: number | null;
	attempts: number;
	/** Steps already done, so a retry never repeats them (`published`, `c0`, `c0w<workflow digest>`…). */
	progress: Record<string, unknown>;
	lastError: string | null;
	/** Events stored before intents existed carry these instead (read through `intentsOf`). */
	changes?: HookChange[];
	schedule?: { id: string; workflow: string; tick: string; payload: unknown } | null;
}

/** The numbers of the runs an event started (recorded in its progress by the processor). */
export function runsOf(event: Pick<HookEventDoc, "progress">): number[] {
	return Object.entries(event.progress ?? {})
		.filter(([step, v]) => /^c\d+(w.*)?$/.test(step) && typeof v === "number")
		.map(([, v]) => v as number);
}

/** One message on `cds.hooks.<project>.<type>` (and the local `hooks.event` broadcast). */
export interface HookMessage {
	id: string;
	event: string;
	type: string;
	project: string;
	source: string;
	repository: { id: string; name: string | null } | null;
	branch?: string;
	tag?: string;
	commit?: string;
	vars: Record<string, string>;
	receivedAt: string;
	[extra: string]: unknown;
}

/** The queue entry of a pending event: the processor's small working set. */
export interface QueueDoc extends Doc {
	dueAt: number;
	attempts: number;
}

/**
 * Events and their queue entries are spread over this many collections by a hash of the event id
 * (an id always lands in the same one, so the unique insert still decides). The embedded store
 * runs one collection's writes one after the other; shards let accepts proceed side by side.
 * Never change it on a live system: existing events would be looked for in the wrong shard.
 */
export const SHARDS = 8;

export function shardOf(id: string): number {
	let h = 2166136261;
	for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
	return (h >>> 0) % SHARDS;
}

export const eventCollection = (id: string) => `hook_events_${shardOf(id)}`;
export const queueCollection = (id: string) => `hook_queue_${shardOf(id)}`;

/** Where events, their queue and the sources' state live (opened by the processor and every source). */
export const HOOK_COLLECTIONS: CollectionSpec[] = [
	...Array.from({ length: SHARDS }, (_, i) => ({
		name: `hook_events_${i}`,
		indexes: [
			{ fields: ["project"], lowCardinality: true },
			{ fields: ["state"], lowCardinality: true },
		],
	})),
	...Array.from({ length: SHARDS }, (_, i) => ({ name: `hook_queue_${i}` })),
	{ name: "hook_source_state" },
];

/** What a source hands to `emit`: everything but the id and the processing state. */
export interface SourceEvent {
	project: string;
	repository?: { id: string; name: string | null } | null;
	origin?: Record<string, string>;
	intents: HookIntent[];
}

export function eventDoc(id: string, source: string, event: SourceEvent, receivedAt: number): HookEventDoc {
	return {
		_id: id,
		project: event.project,
		source,
		repositoryId: event.repository?.id ?? null,
		repository: event.repository?.name ?? null,
		origin: event.origin ?? {},
		intents: event.intents,
		state: "pending",
		receivedAt,
		doneAt: null,
		attempts: 0,
		progress: {},
		lastError: null,
	};
}

/** The intents of a git change (webhook or poller): what each change type asks. */
export function intentOfChange(change: HookChange, repositoryId: string): HookIntent {
	const common = { type: change.type, vars: change.vars };
	switch (change.type) {
		case "push":
		case "branch-created":
			return {
				...common,
				kind: "define-branch",
				repositoryId,
				branch: change.branch!,
				commit: change.commit!,
				run: true,
			};
		case "branch-deleted":
			return { ...common, kind: "delete-branch", repositoryId, branch: change.branch! };
		default:
			return {
				...common,
				kind: "notify",
				...(change.branch !== undefined ? { branch: change.branch } : {}),
				...(change.tag !== undefined ? { tag: change.tag } : {}),
				...(change.commit !== undefined ? { commit: change.commit } : {}),
			};
	}
}

/** A schedule tick's intent: one run of the workflow, with the tick in `cds.hook.*`. */
export function scheduleIntent(schedule: {
	id: string;
	workflow: string;
	tick: string;
	payload: unknown;
}): StartRunIntent {
	return {
		kind: "start-run",
		type: "schedule",
		workflow: schedule.workflow,
		...(schedule.payload != null ? { payload: schedule.payload } : {}),
		vars: { "cds.hook.schedule": schedule.id, "cds.hook.tick": schedule.tick },
		extra: { schedule: { id: schedule.id, workflow: schedule.workflow, tick: schedule.tick } },
	};
}

/**
 * The intents of an event. Events stored before intents existed (`changes`, `schedule`) are read
 * as the intents they meant, with their progress keys carried over, so an upgrade never runs a
 * step twice nor drops a pending event.
 */
export function intentsOf(event: HookEventDoc): HookIntent[] {
	if (Array.isArray(event.intents)) return event.intents;
	if (event.schedule) {
		if (event.progress.run !== undefined && event.progress.c0 === undefined)
			event.progress.c0 = event.progress.run;
		return [scheduleIntent(event.schedule)];
	}
	return (event.changes ?? []).map((c) => intentOfChange(c, event.repositoryId ?? ""));
}

/** The messages an event publishes: one per intent. */
export function messagesOf(event: HookEventDoc): HookMessage[] {
	const base = {
		event: event._id,
		project: event.project,
		source: event.source,
		repository: event.repositoryId ? { id: event.repositoryId, name: event.repository } : null,
		receivedAt: new Date(event.receivedAt).toISOString(),
	};
	return intentsOf(event).map((intent, i) => {
		const i2 = intent as Partial<NotifyIntent>;
		return {
			...base,
			id: `${event._id}#${i}`,
			type: intent.type,
			...(i2.branch !== undefined ? { branch: i2.branch } : {}),
			...(i2.tag !== undefined ? { tag: i2.tag } : {}),
			...(i2.commit !== undefined ? { commit: i2.commit } : {}),
			vars: intent.vars,
			...(intent.extra ?? {}),
		};
	});
}
