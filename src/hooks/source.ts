// The contract every hook source implements (webhook receiver, poller, scheduler, and later
// Kafka, RabbitMQ…). A source turns something outside into hook events and hands them to the
// durable intake with `ctx.emit`; the processor then does what each event asks (its intents)
// without knowing which source it came from. See docs/hooks.md, "Adding a hook source".

import FastestValidator, { type ValidationSchema } from "fastest-validator";
import type { Doc } from "../store/types.ts";
import type { SourceEvent } from "./events.ts";
import type { CommitInfo } from "./payload.ts";
import type { RepositoryDoc } from "../../schemas/repository.ts";
import type { HookBinding } from "./bindings.ts";

export type { HookIntent, SourceEvent } from "./events.ts";
export type { RepositoryDoc } from "../../schemas/repository.ts";
export type { BindingDelivery, BoundIntegration, HookBinding } from "./bindings.ts";

/** How `emit` ended: the event is now stored, or an event with that key was stored before. */
export type EmitResult = "stored" | "duplicate";

export interface SourceLogger {
	debug(...args: unknown[]): void;
	info(...args: unknown[]): void;
	warn(...args: unknown[]): void;
	error(...args: unknown[]): void;
}

/**
 * A source's own small state, kept in the store and shared by its replicas (the poller's last
 * refs). Values are JSON in the store's subset: objects and arrays of objects or scalars, never
 * arrays of arrays (FerretDB refuses them).
 */
export interface SourceState {
	get<T>(key: string): Promise<T | null>;
	set(key: string, value: unknown): Promise<void>;
	delete(key: string): Promise<void>;
}

/** The calls to other services a source may need, behind a port (tests give in-memory ones). */
export interface SourcePorts {
	/** The repository whose webhook has this uuid (the repository service), or null. */
	repositoryByHookUuid(uuid: string): Promise<RepositoryDoc | null>;
	/** Repositories to poll; null when the repository service is not reachable (yet). */
	pollableRepositories(): Promise<RepositoryDoc[] | null>;
	/**
	 * Author and message of a commit of a linked repository (the repository service fetches it
	 * into its cache); absent where nobody can answer. The poller sets git.author and
	 * git.message with it, as a webhook payload does.
	 */
	commitInfo?(repositoryId: string, commit: string, branch: string | undefined): Promise<CommitInfo>;
	/**
	 * The branches and tags a repository had when it was linked (recorded by the repository
	 * service when a poller watches it), the baseline of its first poll; null when none were.
	 */
	refsAtLink?(repositoryId: string): Promise<{ refs: Array<{ ref: string; commit: string }> } | null>;
	/** Every workflow schedule (owned by the hook service). */
	schedules(): Promise<ScheduleDoc[]>;
	/**
	 * The workflow hooks of these types, their integrations opened (the workflow service); null
	 * when that service is not reachable (yet): a source then keeps what it serves.
	 */
	hookBindings?(types: string[]): Promise<HookBinding[] | null>;
}

export interface ScheduleDoc extends Doc {
	_id: string;
	project: string;
	workflow: string;
	cron: string;
	timezone: string;
	payload: unknown;
	/** Ticks at or before this instant are never due (creation or last change). */
	sinceMs: number;
	created: string;
	updated: string;
}

export interface HookSourceContext<S = Record<string, unknown>> {
	/** The source's settings, checked against its `settingsSchema`. */
	settings: S;
	/**
	 * Stores an event under `<source idPrefix>:<dedupKey>`. Resolves once the event is durable
	 * ("stored") or known from before ("duplicate"); rejects when the store could not be reached
	 * — then nothing is stored and the source must not acknowledge upstream (it retries, or lets
	 * its upstream redeliver). The same dedupKey always means the same event: that is what makes
	 * a redelivery, a retry or a second replica harmless.
	 */
	emit(event: SourceEvent, dedupKey: string): Promise<EmitResult>;
	/** The clock (ms since epoch); tests inject one. */
	now(): number;
	logger: SourceLogger;
	state: SourceState;
	/**
	 * True for exactly one caller across replicas and restarts per key (a store claim): e.g. one
	 * poll per repository and tick. Keys are scoped to the source.
	 */
	once(key: string): Promise<boolean>;
	/** Drops a `once` key for good, so claims do not pile up; only for keys nobody claims again. */
	forget(key: string): Promise<void>;
	/** Runs `task` every `ms` until the source stops (never overlapping; failures are logged). */
	every(ms: number, task: () => Promise<unknown>): void;
	ports: SourcePorts;
}

export interface SourceHealth {
	ok: boolean;
	/** Events this replica's source emitted (stored, not duplicates) since it started. */
	emitted: number;
	lastEmitAt: number | null;
	lastError: string | null;
}

export interface HookSource<S = Record<string, unknown>> {
	/** Names the source: `source` of its events and messages, and `hook-<name>` in SERVICES. */
	readonly name: string;
	/** Prefix of its event ids (`<idPrefix>:<dedupKey>`), so two sources never share a key. */
	readonly idPrefix: string;
	/** Its settings, as a fastest-validator schema (checked before `start`). */
	readonly settingsSchema: ValidationSchema;
	start(ctx: HookSourceContext<S>): Promise<void>;
	stop(): Promise<void>;
	health(): SourceHealth;
}

export class SourceSettingsError extends Error {
	constructor(message: string) {
		super(message);
		this.name = "SourceSettingsError";
	}
}

// A CommonJS class: its typings describe an ES default export, which Node's interop does not give.
const Validator = FastestValidator as unknown as new () => {
	compile(schema: ValidationSchema): (value: object) => true | Array<{ message?: string }>;
};
const validator = new Validator();

/** Checks a source's settings against its schema; throws SourceSettingsError naming every problem. */
export function checkSourceSettings<S>(source: HookSource<S>, settings: unknown): S {
	const check = validator.compile(source.settingsSchema);
	const result = check((settings ?? {}) as object);
	if (result !== true) {
		const problems = (result as Array<{ message?: string }>).map((r) => r.message).join("; ");
		throw new SourceSettingsError(`hook source ${source.name}: ${problems}`);
	}
	return settings as S;
}

/** Counts what a source emitted, for `health()`: wrap `ctx.emit` with it. */
export class EmitTally {
	emitted = 0;
	lastEmitAt: number | null = null;
	lastError: string | null = null;

	record(result: EmitResult, at: number): EmitResult {
		if (result === "stored") {
			this.emitted++;
			this.lastEmitAt = at;
		}
		return result;
	}

	health(ok = this.lastError === null): SourceHealth {
		return { ok, emitted: this.emitted, lastEmitAt: this.lastEmitAt, lastError: this.lastError };
	}
}
