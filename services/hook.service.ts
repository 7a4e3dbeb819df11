// The hook service: turns repository webhooks, repository polling and workflow schedules
// into durable hook events, then processes them (workflow.syncBranch / deleteBranch and
// run.create) and publishes them on NATS JetStream (`cds.hooks.<project>.<type>`).
//
// Durability and uniqueness come from the store alone, so any number of replicas
// (`SERVICES=hook`) can run side by side:
// - an event's _id is derived from what it is (webhook delivery id, poller ref transition,
//   schedule tick); inserting it (into `hook_events_<n>`, n a hash of the id) is the atomic claim, so two replicas cannot both accept it,
//   and the 202 is only sent once it is written;
// - `hook_queue_<n>` is the small working set of events still to process; a replica processes an
//   event under a store claim (with expiry, so a dead replica's events are taken over), and
//   failed processing is retried with backoff, never dropped;
// - a poller tick and a schedule tick are each acted on by exactly one replica (claim / insert).

import { everyInterval } from "../mixins/periodic.ts";
import { createHash, randomUUID } from "node:crypto";
import type { Context, Service, ServiceSchema } from "moleculer";
import { Errors } from "moleculer";
import { connect, type JetStreamClient, type NatsConnection, nanos } from "nats";
import type { Config, HookSettings } from "../config/index.ts";
import { invalid, notFound } from "../mixins/errors.ts";
import type { GatewayMeta } from "../mixins/meta.ts";
import { StoreMixin, storeOf } from "../mixins/store.mixin.ts";
import {
	checkTimezone,
	type CronSpec,
	dueTick,
	examinedAfter,
	parseCron,
	ScheduleError,
} from "../src/hooks/cron.ts";
import { type HookChange, HookPayloadError, parseDelivery } from "../src/hooks/payload.ts";
import { diffRefs, lsRemote, type RefMap } from "../src/hooks/refs.ts";
import { type HeaderMap, type RepositoryManager, verifySignature } from "../src/hooks/signature.ts";
import { NAME_PATTERN, PROJECT_KEY_PATTERN } from "../src/project/variables.ts";
import type { Collection, Doc } from "../src/store/types.ts";
import { DuplicateKeyError } from "../src/store/types.ts";

const { MoleculerClientError } = Errors;

/** What `repository.get` / `byHookUuid` / `listPollable` return (owned by the repository service). */
export interface RepositoryDoc {
	id: string;
	project: string;
	manager: RepositoryManager;
	url: string;
	repo: string;
	defaultBranch: string;
	webhook: { uuid: string; secret: string; providerHookId?: string } | null;
	poll: { intervalSeconds: number } | null;
	application?: string;
}

export type HookSource = "webhook" | "poller" | "scheduler";

export interface HookEventDoc extends Doc {
	project: string;
	source: HookSource;
	repositoryId: string | null;
	repository: string | null;
	provider: string | null;
	deliveryId: string | null;
	event: string | null;
	changes: HookChange[];
	schedule: { id: string; workflow: string; tick: string; payload: unknown } | null;
	state: "pending" | "done";
	receivedAt: number;
	doneAt: number | null;
	attempts: number;
	/** Steps already done, so a retry never repeats them (`published`, `c0`, `c0:<workflow digest>`…). */
	progress: Record<string, unknown>;
	lastError: string | null;
}

interface QueueDoc extends Doc {
	dueAt: number;
	attempts: number;
}

export interface ScheduleDoc extends Doc {
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

interface PollRefsDoc extends Doc {
	/** [ref, commit] pairs: ref names hold dots and slashes, so they are values, not keys. */
	refs: Array<[string, string]>;
	at: number;
}

/** One message on `cds.hooks.<project>.<type>` (and the local `hooks.event` broadcast). */
export interface HookMessage {
	id: string;
	event: string;
	type: HookChange["type"] | "schedule";
	project: string;
	source: HookSource;
	repository: { id: string; name: string | null } | null;
	branch?: string;
	tag?: string;
	commit?: string;
	vars: Record<string, string>;
	schedule?: { id: string; workflow: string; tick: string };
	receivedAt: string;
}

/** What the gateway's webhook route passes on: the hook's uuid, the signature headers, the raw body (base64). */
interface DeliveryParams {
	uuid: string;
	headers: Record<string, string>;
	body: string;
}

/** What the gateway's webhook route receives back: the HTTP status and body to answer. */
export interface ReceiveResult {
	status: 200 | 202;
	body: Record<string, unknown>;
}

export interface HookServiceOptions {
	/** The clock (ms since epoch): tests inject one to drive the scheduler and the poller. */
	now?: () => number;
	/** Starts the background loops (default true); tests may drive them through the `run*` actions. */
	loops?: boolean;
}

interface HookLocals {
	/** Kept apart from Moleculer's `settings`, which the registry shares with every node. */
	hookSettings: HookSettings;
	collections: Record<string, Collection<any>>;
	owner: string;
	now: () => number;
	timers: NodeJS.Timeout[];
	repoCache: Map<string, { doc: RepositoryDoc | null; until: number }>;
	polledTicks: Map<string, number>;
	examined: Map<string, number>;
	cronCache: Map<string, CronSpec>;
	processingPass: Promise<number> | null;
	/** When this node last purged processed events past their retention. */
	lastPurgeAt: number;
	processAgain: boolean;
	/** When the last webhook delivery came in: while they keep coming, intake goes first. */
	lastDeliveryAt: number;
	/**
	 * Whether this node's event loop was busy over half of the last 50 ms. Only then do the
	 * receiver and the processor compete for the CPU; processing that waits on other services
	 * (git, the run service on other nodes) keeps its full concurrency whatever the intake.
	 */
	loopSaturated: boolean;
	/** A pass that must take every due event, busy intake or not (runProcessor). */
	urgentPass: boolean;
	kickTimer: NodeJS.Timeout | null;
	nats: NatsConnection | null;
	js: JetStreamClient | null;
	stopping: boolean;
}

interface HookMethods {
	events(id: string): Collection<HookEventDoc>;
	queue(id: string): Collection<QueueDoc>;
	eventShards(): Collection<HookEventDoc>[];
	queueShards(): Collection<QueueDoc>[];
	schedules(): Collection<ScheduleDoc>;
	pollRefs(): Collection<PollRefsDoc>;
	repositoryByUuid(uuid: string): Promise<RepositoryDoc | null>;
	receiveDelivery(params: DeliveryParams): Promise<ReceiveResult>;
	accept(event: HookEventDoc): Promise<boolean>;
	kick(): void;
	intakeBusy(): boolean;
	processDue(urgent?: boolean): Promise<number>;
	processEvent(id: string): Promise<void>;
	applyEvent(event: HookEventDoc): Promise<void>;
	publish(event: HookEventDoc): Promise<void>;
	pollRepositories(): Promise<number>;
	pollRepository(repo: RepositoryDoc): Promise<void>;
	runSchedules(): Promise<number>;
	sweep(): Promise<void>;
	connectNats(): Promise<void>;
}

type HookThis = Service & HookLocals & HookMethods;

const keyParam = { type: "string", pattern: PROJECT_KEY_PATTERN, max: 64 } as const;
const nameParam = { type: "string", pattern: NAME_PATTERN, max: 128 } as const;
const MAX_SCHEDULE_PAYLOAD = 64 * 1024;

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

const digest = (s: string, length = 24) => createHash("sha256").update(s).digest("hex").slice(0, length);

/** The messages an event publishes: one per change, or one for a schedule tick. */
export function messagesOf(event: HookEventDoc): HookMessage[] {
	const base = {
		event: event._id,
		project: event.project,
		source: event.source,
		repository: event.repositoryId ? { id: event.repositoryId, name: event.repository } : null,
		receivedAt: new Date(event.receivedAt).toISOString(),
	};
	if (event.schedule) {
		const { id, workflow, tick } = event.schedule;
		return [{ ...base, id: `${event._id}#0`, type: "schedule", vars: {}, schedule: { id, workflow, tick } }];
	}
	return event.changes.map((c, i) => ({
		...base,
		id: `${event._id}#${i}`,
		type: c.type,
		...(c.branch !== undefined ? { branch: c.branch } : {}),
		...(c.tag !== undefined ? { tag: c.tag } : {}),
		...(c.commit !== undefined ? { commit: c.commit } : {}),
		vars: c.vars,
	}));
}

function newEvent(
	fields: Partial<HookEventDoc> & Pick<HookEventDoc, "_id" | "project" | "source">,
	now: number,
) {
	return {
		repositoryId: null,
		repository: null,
		provider: null,
		deliveryId: null,
		event: null,
		changes: [],
		schedule: null,
		state: "pending",
		receivedAt: now,
		doneAt: null,
		attempts: 0,
		progress: {},
		lastError: null,
		...fields,
	} as HookEventDoc;
}

function validateSchedule(cron: string, timezone: string, payload: unknown): void {
	try {
		parseCron(cron);
		checkTimezone(timezone);
	} catch (e) {
		if (e instanceof ScheduleError) throw invalid(e.message, [{ field: "cron", message: e.message }]);
		throw e;
	}
	if (payload !== undefined && JSON.stringify(payload).length > MAX_SCHEDULE_PAYLOAD) {
		throw invalid("payload larger than 64 KiB", [{ field: "payload", message: "too large" }]);
	}
}

export default function HookService(
	config: Config,
	options: HookServiceOptions = {},
): ServiceSchema<any, HookMethods, HookLocals, HookThis> {
	return {
		name: "hook",
		mixins: [
			StoreMixin([
				...Array.from({ length: SHARDS }, (_, i) => ({
					name: `hook_events_${i}`,
					indexes: [
						{ fields: ["project"], lowCardinality: true },
						{ fields: ["state"], lowCardinality: true },
					],
				})),
				...Array.from({ length: SHARDS }, (_, i) => ({ name: `hook_queue_${i}` })),
				{ name: "hook_schedules", indexes: [{ fields: ["project", "workflow"] }] },
				{ name: "hook_poll_refs" },
			]),
		],
		settings: { rest: "/projects" },

		actions: {
			/** Called by the gateway's /api/v1/hooks route with the raw body (base64): verify, insert, answer. */
			receive: {
				visibility: "public",
				params: {
					uuid: { type: "string", min: 1, max: 128 },
					headers: { type: "record", key: { type: "string" }, value: { type: "string" } },
					body: { type: "string" },
				},
				async handler(this: HookThis, ctx: Context<DeliveryParams>): Promise<ReceiveResult> {
					this.lastDeliveryAt = Date.now();
					return this.receiveDelivery(ctx.params);
				},
			},

			/** One pass of each background loop, for tests and the ops REPL; returns how much it did. */
			runProcessor: {
				visibility: "public",
				params: {},
				handler(this: HookThis) {
					return this.processDue(true);
				},
			},
			runPoller: {
				visibility: "public",
				params: {},
				handler(this: HookThis) {
					return this.pollRepositories();
				},
			},
			runSweep: {
				visibility: "public",
				params: {},
				async handler(this: HookThis) {
					await this.sweep();
					return true;
				},
			},
			runScheduler: {
				visibility: "public",
				params: {},
				handler(this: HookThis) {
					return this.runSchedules();
				},
			},

			/** An event as stored (internal: tests and operators). */
			getEvent: {
				visibility: "public",
				params: { id: { type: "string", min: 1, max: 512 } },
				handler(this: HookThis, ctx: Context<{ id: string }>) {
					return this.events(ctx.params.id).findOne({ _id: ctx.params.id });
				},
			},

			listEvents: {
				rest: "GET /:key/hooks/events",
				summary: "Recent hook events of a project (webhooks, poller, schedules), newest first",
				permission: { level: "read", project: "key" },
				params: {
					key: keyParam,
					limit: { type: "number", integer: true, min: 1, max: 200, optional: true, convert: true },
				},
				async handler(this: HookThis, ctx: Context<{ key: string; limit?: number }>) {
					const limit = ctx.params.limit ?? 50;
					const perShard = await Promise.all(
						this.eventShards().map((c) =>
							c.find({ project: ctx.params.key }, { sort: { receivedAt: -1 }, limit }),
						),
					);
					const events = perShard
						.flat()
						.sort((a, b) => b.receivedAt - a.receivedAt)
						.slice(0, limit);
					return events.map((e) => ({
						id: e._id,
						source: e.source,
						state: e.state,
						attempts: e.attempts,
						lastError: e.lastError,
						receivedAt: new Date(e.receivedAt).toISOString(),
						messages: messagesOf(e),
					}));
				},
			},

			createSchedule: {
				rest: "POST /:key/workflows/:name/schedules",
				summary: "Run a workflow on a cron schedule",
				permission: { level: "write", project: "key" },
				params: {
					key: keyParam,
					name: nameParam,
					cron: { type: "string", min: 1, max: 200 },
					timezone: { type: "string", min: 1, max: 64, optional: true },
					payload: { type: "any", optional: true },
				},
				async handler(
					this: HookThis,
					ctx: Context<
						{ key: string; name: string; cron: string; timezone?: string; payload?: unknown },
						GatewayMeta
					>,
				) {
					const { key, name, cron } = ctx.params;
					const timezone = ctx.params.timezone ?? "UTC";
					validateSchedule(cron, timezone, ctx.params.payload);
					await ctx.call("workflow.get", { key, name });
					const now = this.now();
					const doc: ScheduleDoc = {
						_id: randomUUID(),
						project: key,
						workflow: name,
						cron,
						timezone,
						payload: ctx.params.payload ?? null,
						sinceMs: now,
						created: new Date(now).toISOString(),
						updated: new Date(now).toISOString(),
					};
					await this.schedules().insert(doc);
					ctx.meta.$statusCode = 201;
					return presentSchedule(doc);
				},
			},

			listSchedules: {
				rest: "GET /:key/workflows/:name/schedules",
				summary: "List the schedules of a workflow",
				permission: { level: "read", project: "key" },
				params: { key: keyParam, name: nameParam },
				async handler(this: HookThis, ctx: Context<{ key: string; name: string }>) {
					const docs = await this.schedules().find(
						{ project: ctx.params.key, workflow: ctx.params.name },
						{ sort: { created: 1 } },
					);
					return docs.map(presentSchedule);
				},
			},

			updateSchedule: {
				rest: "PUT /:key/workflows/:name/schedules/:id",
				summary: "Change a schedule (its past ticks are not caught up)",
				permission: { level: "write", project: "key" },
				params: {
					key: keyParam,
					name: nameParam,
					id: { type: "string", min: 1, max: 64 },
					cron: { type: "string", min: 1, max: 200, optional: true },
					timezone: { type: "string", min: 1, max: 64, optional: true },
					payload: { type: "any", optional: true },
				},
				async handler(
					this: HookThis,
					ctx: Context<{
						key: string;
						name: string;
						id: string;
						cron?: string;
						timezone?: string;
						payload?: unknown;
					}>,
				) {
					const { key, name, id } = ctx.params;
					const doc = await this.schedules().findOne({ _id: id, project: key, workflow: name });
					if (!doc) throw notFound("schedule", { id });
					const cron = ctx.params.cron ?? doc.cron;
					const timezone = ctx.params.timezone ?? doc.timezone;
					validateSchedule(cron, timezone, ctx.params.payload);
					const now = this.now();
					const updated: ScheduleDoc = {
						...doc,
						cron,
						timezone,
						payload: ctx.params.payload === undefined ? doc.payload : ctx.params.payload,
						sinceMs: now,
						updated: new Date(now).toISOString(),
					};
					await this.schedules().replace(updated);
					return presentSchedule(updated);
				},
			},

			deleteSchedule: {
				rest: "DELETE /:key/workflows/:name/schedules/:id",
				summary: "Delete a schedule",
				permission: { level: "write", project: "key" },
				params: { key: keyParam, name: nameParam, id: { type: "string", min: 1, max: 64 } },
				async handler(this: HookThis, ctx: Context<{ key: string; name: string; id: string }>) {
					const { key, name, id } = ctx.params;
					const removed = await this.schedules().remove({ _id: id, project: key, workflow: name });
					if (removed === 0) throw notFound("schedule", { id });
					return { deleted: true, id };
				},
			},
		},

		methods: {
			events(this: HookThis, id: string) {
				return this.collections[`hook_events_${shardOf(id)}`] as Collection<HookEventDoc>;
			},
			queue(this: HookThis, id: string) {
				return this.collections[`hook_queue_${shardOf(id)}`] as Collection<QueueDoc>;
			},
			eventShards(this: HookThis) {
				return Array.from(
					{ length: SHARDS },
					(_, i) => this.collections[`hook_events_${i}`] as Collection<HookEventDoc>,
				);
			},
			queueShards(this: HookThis) {
				return Array.from(
					{ length: SHARDS },
					(_, i) => this.collections[`hook_queue_${i}`] as Collection<QueueDoc>,
				);
			},
			schedules(this: HookThis) {
				return this.collections.hook_schedules as Collection<ScheduleDoc>;
			},
			pollRefs(this: HookThis) {
				return this.collections.hook_poll_refs as Collection<PollRefsDoc>;
			},

			/** Verify, parse, store: what a webhook delivery gets before its answer. */
			async receiveDelivery(this: HookThis, params: DeliveryParams): Promise<ReceiveResult> {
				const repo = await this.repositoryByUuid(params.uuid);
				if (!repo?.webhook) throw notFound("webhook");
				const body = Buffer.from(params.body, "base64");
				const headers = params.headers as HeaderMap;
				const verdict = verifySignature(repo.manager, headers, body, repo.webhook.secret);
				if (!verdict.ok) {
					throw new MoleculerClientError(`invalid webhook signature: ${verdict.reason}`, 401, "UNAUTHORIZED");
				}
				let delivery: ReturnType<typeof parseDelivery>;
				try {
					delivery = parseDelivery(verdict.provider, headers, body);
				} catch (e) {
					if (e instanceof HookPayloadError) throw new MoleculerClientError(e.message, 400, "BAD_REQUEST");
					throw e;
				}
				if (delivery.ping) return { status: 200, body: { ping: true } };
				if (delivery.ignored) return { status: 200, body: { ignored: delivery.ignored } };
				if (delivery.changes.length === 0)
					return { status: 200, body: { ignored: "no branch or tag change" } };
				const id = `wh:${repo.id}:${delivery.deliveryId}`;
				const accepted = await this.accept(
					newEvent(
						{
							_id: id,
							project: repo.project,
							source: "webhook",
							repositoryId: repo.id,
							repository: repo.repo,
							provider: delivery.provider,
							deliveryId: delivery.deliveryId,
							event: delivery.event,
							changes: delivery.changes,
						},
						Date.now(),
					),
				);
				if (!accepted) return { status: 200, body: { duplicate: true, event: id } };
				return { status: 202, body: { accepted: true, event: id, changes: delivery.changes.length } };
			},

			async repositoryByUuid(this: HookThis, uuid: string) {
				const cached = this.repoCache.get(uuid);
				const now = Date.now();
				if (cached && cached.until > now) return cached.doc;
				const doc = (await this.broker.call("repository.byHookUuid", { uuid })) as RepositoryDoc | null;
				this.repoCache.set(uuid, { doc, until: now + this.hookSettings.repositoryCacheMs });
				if (this.repoCache.size > 10_000) this.repoCache.clear();
				return doc;
			},

			/**
			 * Stores an event durably: the insert under its deterministic _id is the claim (false
			 * when another delivery or replica got there first), then the queue entry makes it work.
			 */
			async accept(this: HookThis, event: HookEventDoc) {
				try {
					await this.events(event._id).insert(event);
				} catch (e) {
					if (e instanceof DuplicateKeyError) return false;
					throw e;
				}
				// The event is durable now; its queue entry is written after the answer (one write on the
				// accept path). If this node dies before that, the sweep re-queues every pending event.
				this.queue(event._id)
					.insert({ _id: event._id, dueAt: event.receivedAt, attempts: 0 })
					.catch((e: unknown) => {
						if (!(e instanceof DuplicateKeyError))
							this.logger.warn(`hook queue ${event._id}: ${(e as Error).message}`);
					})
					.finally(() => this.kick());
				return true;
			},

			/** Runs the processor soon on this node (it also runs on its interval everywhere). */
			kick(this: HookThis) {
				if (this.stopping || !this.hookSettings.processor) return;
				if (this.intakeBusy()) {
					// Deliveries keep coming: look again once they pause (the event is stored, nothing waits).
					this.kickTimer ??= setTimeout(() => {
						this.kickTimer = null;
						this.kick();
					}, this.hookSettings.intakeQuietMs);
					return;
				}
				if (this.processingPass) {
					this.processAgain = true;
					return;
				}
				setImmediate(() => {
					void this.processDue().catch((e: Error) => this.logger.warn(`hook processor: ${e.message}`));
				});
			},

			/** One processor pass (repeated while new work arrives); a call during a pass waits for it. */
			intakeBusy(this: HookThis) {
				return this.loopSaturated && Date.now() - this.lastDeliveryAt < this.hookSettings.intakeQuietMs;
			},

			processDue(this: HookThis, urgent = false) {
				if (urgent) this.urgentPass = true;
				if (this.processingPass) {
					this.processAgain = true;
					return this.processingPass;
				}
				const pass = async () => {
					let done = 0;
					do {
						this.processAgain = false;
						// Intake first (see intakeBusy): while deliveries keep coming to a saturated node, a
						// delivery's 202 waits on this CPU and a stored event waits on nothing, so only events
						// deferred longer than intakeDeferMs are taken, one at a time. A burst is absorbed at the
						// receiver's rate, then drained; a sustained flood still moves and never starves the backlog.
						const urgent = this.urgentPass;
						this.urgentPass = false;
						const intake = !urgent && this.intakeBusy();
						const cutoff = Date.now() - (intake ? this.hookSettings.intakeDeferMs : 0);
						const perShard = await Promise.all(
							this.queueShards().map((q) =>
								q.find({ dueAt: { $lte: cutoff } }, { sort: { dueAt: 1 }, limit: 50 }),
							),
						);
						const due = perShard.flat().sort((a, b) => a.dueAt - b.dueAt);
						// A few at a time: each one waits on other services, not on this process. When
						// deliveries start coming in mid-pass, the extra workers stop and the last one goes on
						// with the deferred events only; the rest is left for a later pass.
						const workers = Array.from({ length: Math.min(intake ? 1 : 16, due.length) }, async (_, w) => {
							while (due.length > 0 && !this.stopping) {
								if (!urgent && this.intakeBusy()) {
									const deferredBefore = Date.now() - this.hookSettings.intakeDeferMs;
									if (w > 0 || due[0]!.dueAt > deferredBefore) {
										this.processAgain = true;
										return;
									}
								}
								await this.processEvent(due.shift()!._id);
								done++;
							}
						});
						await Promise.all(workers);
						if (perShard.some((d) => d.length === 50)) this.processAgain = true;
					} while (this.processAgain && !this.stopping);
					return done;
				};
				this.processingPass = pass().finally(() => {
					this.processingPass = null;
				});
				return this.processingPass;
			},

			async processEvent(this: HookThis, id: string) {
				const store = storeOf(this.broker);
				const claim = await store.claim("hook-event", id, this.owner, { ttlMs: this.hookSettings.leaseMs });
				if (!claim.won) return;
				// A finished event keeps its claim until the lease ends (then the retention purge forgets it):
				// nothing claims a done event whose queue entry is gone, and a release costs two more store
				// operations per event (the slowest ones on FerretDB). Any other outcome releases it.
				let finished = false;
				try {
					const event = await this.events(id).findOne({ _id: id });
					if (!event || event.state === "done") {
						await this.queue(id).remove({ _id: id });
						finished = true;
						return;
					}
					try {
						await this.applyEvent(event);
					} catch (e) {
						const attempts = event.attempts + 1;
						const message = (e as Error).message;
						const delay = Math.min(
							this.hookSettings.retryMaxMs,
							this.hookSettings.retryBaseMs * 2 ** Math.min(attempts - 1, 20),
						);
						await this.events(id).update(
							{ _id: id },
							{ $set: { attempts, lastError: message, progress: event.progress } },
						);
						await this.queue(id).update({ _id: id }, { $set: { dueAt: Date.now() + delay, attempts } });
						this.logger.warn(
							`hook event ${id}: attempt ${attempts} failed (${message}); retry in ${delay} ms`,
						);
						return;
					}
					await this.events(id).update(
						{ _id: id },
						{ $set: { state: "done", doneAt: Date.now(), progress: event.progress } },
					);
					await this.queue(id).remove({ _id: id });
					finished = true;
				} finally {
					if (!finished) await store.release("hook-event", id, this.owner).catch(() => {});
				}
			},

			/** Does what the event asks, skipping the steps recorded as done by an earlier attempt. */
			async applyEvent(this: HookThis, event: HookEventDoc) {
				// Steps done are recorded in memory and written with the outcome (done, or the failure that
				// stops the attempt), so a retry skips them; one write per attempt instead of one per step.
				const mark = async (step: string, value: unknown = true) => {
					event.progress[step] = value;
				};
				let publishError: Error | null = null;
				if (!event.progress.published) {
					try {
						await this.publish(event);
						await mark("published");
					} catch (e) {
						// Runs do not wait for NATS; the publication is retried with the event.
						publishError = e as Error;
					}
				}
				if (event.schedule) {
					if (!event.progress.run) {
						const run = (await this.broker.call("run.create", {
							key: event.project,
							name: event.schedule.workflow,
							...(event.schedule.payload != null ? { payload: event.schedule.payload } : {}),
							params: { "cds.hook.schedule": event.schedule.id, "cds.hook.tick": event.schedule.tick },
						})) as { number?: number } | null;
						await mark("run", run?.number ?? true);
					}
				}
				for (const [i, change] of event.changes.entries()) {
					if (event.progress[`c${i}`]) continue;
					if (change.type === "push" || change.type === "branch-created") {
						const synced = (await this.broker.call("workflow.syncBranch", {
							repositoryId: event.repositoryId,
							branch: change.branch,
							commit: change.commit,
						})) as { workflows?: string[] };
						for (const workflow of synced?.workflows ?? []) {
							const step = `c${i}w${digest(workflow, 16)}`;
							if (event.progress[step]) continue;
							const run = (await this.broker.call("run.create", {
								key: event.project,
								name: workflow,
								branch: change.branch,
								commit: change.commit,
								params: change.vars,
							})) as { number?: number } | null;
							await mark(step, run?.number ?? true);
							// Best effort: a provider that refuses a status must not block the run.
							void this.broker
								.call("repository.reportStatus", {
									repositoryId: event.repositoryId,
									commit: change.commit,
									state: "pending",
									context: `cds/${event.project}/${workflow}`,
									description: `run #${run?.number ?? "?"} created`,
									targetUrl: `${config.publicUrl}/api/v1/projects/${event.project}/workflows/${workflow}/runs/${run?.number ?? ""}`,
								})
								.catch(() => {});
						}
					} else if (change.type === "branch-deleted") {
						await this.broker.call("workflow.deleteBranch", {
							repositoryId: event.repositoryId,
							branch: change.branch,
						});
					}
					// Tags are published (and kept in the store) but trigger no run.
					await mark(`c${i}`);
				}
				if (publishError) throw new Error(`publishing on NATS failed: ${publishError.message}`);
			},

			async publish(this: HookThis, event: HookEventDoc) {
				const messages = messagesOf(event);
				for (const message of messages) this.broker.broadcast("hooks.event", message);
				if (!this.hookSettings.natsUrl) return;
				if (!this.js) await this.connectNats();
				for (const message of messages) {
					// The message id lets JetStream drop a re-publication after a retry.
					await this.js!.publish(
						`${this.hookSettings.subjectPrefix}.${message.project}.${message.type}`,
						Buffer.from(JSON.stringify(message)),
						{ msgID: message.id },
					);
				}
			},

			async connectNats(this: HookThis) {
				if (!this.hookSettings.natsUrl) return;
				if (!this.nats) {
					this.nats = await connect({
						servers: this.hookSettings.natsUrl,
						name: `cds-hooks-${this.broker.nodeID}`,
						maxReconnectAttempts: -1,
					});
				}
				const jsm = await this.nats.jetstreamManager();
				try {
					await jsm.streams.info(this.hookSettings.stream);
				} catch {
					try {
						await jsm.streams.add({
							name: this.hookSettings.stream,
							subjects: [`${this.hookSettings.subjectPrefix}.>`],
							max_age: nanos(7 * 24 * 3600_000),
						});
					} catch (e) {
						// Another replica may have created it meanwhile.
						await jsm.streams.info(this.hookSettings.stream).catch(() => {
							throw e;
						});
					}
				}
				this.js = this.nats.jetstream();
			},

			async pollRepositories(this: HookThis) {
				// Nothing to poll on a cluster without the repository service (yet).
				const available = this.broker.registry.getServiceList({ onlyAvailable: true }) as Array<{
					name: string;
				}>;
				if (!available.some((s) => s.name === "repository")) return 0;
				const repos = (await this.broker.call("repository.listPollable", {})) as RepositoryDoc[];
				const now = this.now();
				const store = storeOf(this.broker);
				let polled = 0;
				for (const repo of repos ?? []) {
					if (!repo?.poll || !(repo.poll.intervalSeconds > 0)) continue;
					const tick = Math.floor(now / (repo.poll.intervalSeconds * 1000));
					if (this.polledTicks.get(repo.id) === tick) continue;
					this.polledTicks.set(repo.id, tick);
					// One replica per repository and tick.
					const claim = await store.claim("hook-poll", `${repo.id}@${tick}`, this.owner);
					if (!claim.won) continue;
					try {
						await this.pollRepository(repo);
						polled++;
					} catch (e) {
						this.logger.warn(`poll ${repo.id}: ${(e as Error).message}`);
					}
				}
				return polled;
			},

			async pollRepository(this: HookThis, repo: RepositoryDoc) {
				const refs = await lsRemote(repo.url);
				const pairs = Object.entries(refs).sort(([a], [b]) => a.localeCompare(b)) as Array<[string, string]>;
				const previous = await this.pollRefs().findOne({ _id: repo.id });
				if (previous) {
					const before: RefMap = Object.fromEntries(previous.refs);
					const changes = diffRefs(before, refs, repo.repo);
					if (changes.length > 0) {
						// Named after the transition: a replica or a retry that sees the same one inserts nothing new.
						const id = `poll:${repo.id}:${digest(JSON.stringify([previous.refs, pairs]))}`;
						await this.accept(
							newEvent(
								{
									_id: id,
									project: repo.project,
									source: "poller",
									repositoryId: repo.id,
									repository: repo.repo,
									provider: "git",
									event: "poll",
									changes,
								},
								Date.now(),
							),
						);
					}
				}
				// The first poll only records where the repository stands.
				await this.pollRefs().replace({ _id: repo.id, refs: pairs, at: Date.now() });
			},

			async runSchedules(this: HookThis) {
				const now = this.now();
				let fired = 0;
				for (const schedule of await this.schedules().find({})) {
					let spec = this.cronCache.get(schedule.cron);
					try {
						spec ??= parseCron(schedule.cron);
						this.cronCache.set(schedule.cron, spec);
					} catch (e) {
						this.logger.warn(`schedule ${schedule._id}: ${(e as Error).message}`);
						continue;
					}
					const key = `${schedule._id}@${schedule.sinceMs}`;
					const examined = this.examined.get(key) ?? null;
					const due = dueTick({
						spec,
						timezone: schedule.timezone,
						examinedWallUntil: examined,
						now,
						since: schedule.sinceMs,
						catchUpWindowMs: this.hookSettings.catchUpWindowMs,
					});
					this.examined.set(key, examinedAfter(examined, now, schedule.timezone));
					if (!due) continue;
					// The insert under (schedule, tick) is the claim: one run per tick across replicas and restarts.
					const accepted = await this.accept(
						newEvent(
							{
								_id: `sched:${schedule._id}:${due.name}`,
								project: schedule.project,
								source: "scheduler",
								event: "schedule",
								schedule: {
									id: schedule._id,
									workflow: schedule.workflow,
									tick: due.name,
									payload: schedule.payload,
								},
							},
							now,
						),
					);
					if (accepted) fired++;
				}
				return fired;
			},

			/** Re-queues pending events whose queue entry is missing (a node died between the two inserts). */
			async sweep(this: HookThis) {
				// Processed events past their retention go (a scan: at most every 10 minutes).
				const now = Date.now();
				if (now - this.lastPurgeAt >= Math.min(10 * 60_000, this.hookSettings.eventRetentionMs)) {
					this.lastPurgeAt = now;
					const before = now - this.hookSettings.eventRetentionMs;
					const store = storeOf(this.broker);
					await Promise.all(
						this.eventShards().map(async (c) => {
							for (;;) {
								const expired = await c.find({ state: "done", doneAt: { $lt: before } }, { limit: 500 });
								// The claim first: nobody claims a done event, and until the event itself goes a
								// redelivery is refused as a duplicate, so no claimer can start on it meanwhile.
								for (const { _id } of expired) {
									await store.forget("hook-event", _id);
									await c.remove({ _id });
								}
								if (expired.length < 500 || this.stopping) break;
							}
						}),
					);
				}
				for (const event of (
					await Promise.all(this.eventShards().map((c) => c.find({ state: "pending" })))
				).flat()) {
					try {
						await this.queue(event._id).insert({
							_id: event._id,
							dueAt: Date.now(),
							attempts: event.attempts,
						});
					} catch (e) {
						if (!(e instanceof DuplicateKeyError)) throw e;
					}
				}
			},
		},

		created(this: HookThis) {
			this.hookSettings = config.hooks;
			this.owner = `${this.broker.nodeID}:${randomUUID()}`;
			this.now = options.now ?? Date.now;
			this.timers = [];
			this.repoCache = new Map();
			this.polledTicks = new Map();
			this.examined = new Map();
			this.cronCache = new Map();
			this.processingPass = null;
			this.processAgain = false;
			this.lastDeliveryAt = 0;
			this.loopSaturated = false;
			this.lastPurgeAt = 0;
			this.urgentPass = false;
			this.kickTimer = null;
			this.nats = null;
			this.js = null;
			this.stopping = false;
		},

		async started(this: HookThis) {
			if (this.hookSettings.natsUrl) {
				await this.connectNats().catch((e: Error) =>
					this.logger.warn(`hook events: NATS JetStream unavailable for now (${e.message}); will retry`),
				);
			}
			if (options.loops === false) return;
			const loop = (every: number, fn: () => Promise<unknown>) =>
				this.timers.push(
					everyInterval(
						every,
						fn,
						(e) => this.logger.warn(e.message),
						() => this.stopping,
					),
				);
			if (this.hookSettings.processor) {
				loop(this.hookSettings.processIntervalMs, () => this.processDue());
				let previous = performance.eventLoopUtilization();
				const sampler = setInterval(() => {
					const current = performance.eventLoopUtilization();
					this.loopSaturated = performance.eventLoopUtilization(current, previous).utilization > 0.5;
					previous = current;
				}, 50);
				sampler.unref();
				this.timers.push(sampler);
			}
			loop(this.hookSettings.pollLoopMs, () => this.pollRepositories());
			loop(this.hookSettings.scheduleLoopMs, () => this.runSchedules());
			loop(this.hookSettings.sweepIntervalMs, () => this.sweep());
			void this.sweep().catch((e: Error) => this.logger.warn(`hook sweep: ${e.message}`));
		},

		async stopped(this: HookThis) {
			this.stopping = true;
			for (const t of this.timers) clearInterval(t);
			if (this.kickTimer) clearTimeout(this.kickTimer);
			// Let an in-flight processor pass end before the store closes.
			await this.processingPass?.catch(() => {});
			if (this.nats) await this.nats.close().catch(() => {});
		},
	};
}

function presentSchedule(doc: ScheduleDoc) {
	return {
		id: doc._id,
		project: doc.project,
		workflow: doc.workflow,
		cron: doc.cron,
		timezone: doc.timezone,
		payload: doc.payload,
		created: doc.created,
		updated: doc.updated,
	};
}
