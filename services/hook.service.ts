// The hook service: the processor of hook events, their sweep and retention, their publication
// on NATS JetStream (`cds.hooks.<project>.<type>`), the events and schedules routes. Events come
// from hook sources — the webhook receiver, the poller, the scheduler (`hook-webhook`,
// `hook-poller`, `hook-scheduler`, see services/hook-source.mixin.ts and src/hooks/sources/) —
// which store them through the durable intake (src/hooks/intake.ts). The processor does what
// each event asks (its intents: define-branch, delete-branch, start-run, notify), whatever its source.
//
// Durability and uniqueness come from the store alone, so any number of replicas can run side by side:
// - an event's _id is derived from what it is (source prefix + the source's dedup key); inserting
//   it (into `hook_events_<n>`) is the atomic claim, so two replicas cannot both accept it;
// - `hook_queue_<n>` is the small working set of events still to process; a replica processes an
//   event under a store claim (with expiry, so a dead replica's events are taken over), and
//   failed processing is retried with backoff; an event that cannot succeed, or failed
//   CDS_HOOKS_DEAD_LETTER_ATTEMPTS times, is kept as a dead letter until replayed or deleted.
//
// This service runs on every node that runs any hook part (`SERVICES=hook` or `hook-<source>`):
// its processor takes events from the shared queue, unless CDS_HOOKS_PROCESSOR=off.

import { callAction } from "./support/call.ts";
import { randomUUID } from "node:crypto";
import type { Context, Service, ServiceSchema } from "moleculer";
import type { JetStreamClient, NatsConnection } from "nats";
import type { Config, HookSettings } from "../config/index.ts";
import { conflict, invalid, notFound } from "./support/errors.ts";
import { setHookProcessor } from "./support/hook-node.ts";
import { runLink } from "./support/public-url.ts";
import type { GatewayMeta } from "../schemas/meta.ts";
import { everyInterval } from "./support/periodic.ts";
import { metricsOf } from "../mixins/metrics.middleware.ts";
import { StoreMixin, storeOf } from "../mixins/store.mixin.ts";
import { checkTimezone, parseCron, ScheduleError } from "../src/hooks/cron.ts";
import { type HookEventDoc, type HookMessage, messagesOf, runsOf } from "../src/hooks/events.ts";
import { dropDeadLetter, replayDeadLetter } from "../src/hooks/dead-letters.ts";
import { HookIntake } from "../src/hooks/intake.ts";
import { HookProcessor, type ProcessorPorts } from "../src/hooks/processor.ts";
import type { RepositoryDoc, ScheduleDoc } from "../src/hooks/source.ts";
import { natsClientOptions } from "../src/ops/nats-options.ts";
import { NAME_PATTERN, PROJECT_KEY_PATTERN } from "../src/project/variables.ts";
import { subsetProblem } from "../src/store/subset.ts";
import type { Collection } from "../src/store/types.ts";
import HookPollerService from "./hook-poller.service.ts";
import HookSchedulerService from "./hook-scheduler.service.ts";
import type { HookSourceOptions } from "../mixins/hook-source.mixin.ts";
import HookWebhookService from "./hook-webhook.service.ts";
import { pagination } from "../schemas/params.ts";
import { type PageOptions, paginate } from "../src/api/pagination.ts";

export type { HookEventDoc, HookMessage, RepositoryDoc, ScheduleDoc };
export { messagesOf, SHARDS, shardOf } from "../src/hooks/events.ts";
export type { ReceiveResult } from "../src/hooks/sources/webhook.ts";

export interface HookServiceOptions extends HookSourceOptions {}

interface HookLocals {
	/** Kept apart from Moleculer's `settings`, which the registry shares with every node. */
	hookSettings: HookSettings;
	collections: Record<string, Collection<any>>;
	now: () => number;
	intake: HookIntake;
	processor: HookProcessor;
	timers: NodeJS.Timeout[];
	nats: NatsConnection | null;
	js: JetStreamClient | null;
	stopping: boolean;
}

interface HookMethods {
	schedules(): Collection<ScheduleDoc>;
	publish(messages: HookMessage[]): Promise<void>;
	connectNats(): Promise<void>;
}

type HookThis = Service & HookLocals & HookMethods;

const keyParam = { type: "string", pattern: PROJECT_KEY_PATTERN, max: 64 } as const;
const nameParam = { type: "string", pattern: NAME_PATTERN, max: 128 } as const;
const eventIdParam = { type: "string", min: 1, max: 1024 } as const;
const MAX_SCHEDULE_PAYLOAD = 64 * 1024;

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
	const problem = subsetProblem(payload);
	if (problem) throw invalid(`payload: ${problem}`, [{ field: "payload", message: problem }]);
}

/** The processor's calls to other services, over the broker. */
function processorPorts(self: HookThis, config: Config): ProcessorPorts {
	const broker = self.broker;
	return {
		syncBranch: (p) => callAction(broker, "workflow.syncBranch", p),
		deleteBranch: (p) => callAction(broker, "workflow.deleteBranch", p),
		createRun: (p) => callAction(broker, "run.create", p),
		reportPending({ repositoryId, commit, project, workflow, run }) {
			// Best effort: a provider that refuses a status must not block the run.
			void callAction(broker, "repository.reportStatus", {
				repositoryId,
				commit,
				state: "pending",
				context: `cds/${project}/${workflow}`,
				description: `run #${run ?? "?"} created`,
				targetUrl: runLink(broker, config, project, workflow, run),
			}).catch(() => {});
		},
		publish: (messages) => self.publish(messages),
	};
}

/** Every hook service a node runs for `SERVICES=hook`: the processor and each source. */
export function hookServices(
	config: Config,
	options: HookServiceOptions = {},
): ServiceSchema<any, any, any, any>[] {
	return [
		HookService(config, options),
		HookWebhookService(config, options),
		HookPollerService(config, options),
		HookSchedulerService(config, options),
	];
}

export default function HookService(
	config: Config,
	options: HookServiceOptions = {},
): ServiceSchema<any, HookMethods, HookLocals, HookThis> {
	return {
		name: "hook",
		mixins: [StoreMixin([{ name: "hook_schedules", indexes: [{ fields: ["project", "workflow"] }] }])],
		settings: { rest: "/projects" },

		actions: {
			/** One pass of the processor or the sweep, for tests and the ops REPL; returns how much it did. */
			runProcessor: {
				visibility: "public",
				params: {},
				handler(this: HookThis) {
					return this.processor.processDue(true);
				},
			},
			runSweep: {
				visibility: "public",
				params: {},
				async handler(this: HookThis) {
					await this.processor.sweep();
					return true;
				},
			},

			/** An event as stored (internal: tests and operators). */
			getEvent: {
				visibility: "public",
				params: { id: { type: "string", min: 1, max: 512 } },
				handler(this: HookThis, ctx: Context<{ id: string }>) {
					return this.intake.events(ctx.params.id).findOne({ _id: ctx.params.id });
				},
			},

			listEvents: {
				rest: "GET /:key/hooks/events",
				summary: "Recent hook events of a project (webhooks, poller, schedules, …), newest first",
				permission: { level: "read", project: "key" },
				params: { key: keyParam, ...pagination },
				async handler(this: HookThis, ctx: Context<{ key: string } & PageOptions>) {
					// Newest first across the shards; the _id breaks ties of one millisecond.
					return paginate(
						this.intake.eventShards(),
						{ project: ctx.params.key },
						{ ...ctx.params, order: { field: "receivedAt", direction: -1 } },
						(e) => ({
							id: e._id,
							source: e.source,
							state: e.state,
							attempts: e.attempts,
							lastError: e.lastError,
							receivedAt: new Date(e.receivedAt).toISOString(),
							// What the source says of where it came from (a queue, a topic…) and the runs it started.
							origin: e.origin,
							runs: runsOf(e),
							messages: messagesOf(e),
						}),
					);
				},
			},

			listDeadLetters: {
				rest: "GET /:key/hooks/dead-letters",
				summary: "Hook events of a project that failed for good or too often (dead letters), newest first",
				permission: { level: "read", project: "key" },
				params: { key: keyParam, ...pagination },
				async handler(this: HookThis, ctx: Context<{ key: string } & PageOptions>) {
					return paginate(
						this.intake.eventShards(),
						{ project: ctx.params.key, state: "dead" },
						{ ...ctx.params, order: { field: "receivedAt", direction: -1 } },
						presentDeadLetter,
					);
				},
			},

			replayDeadLetter: {
				rest: "POST /:key/hooks/dead-letters/:id/replay",
				summary: "Queue a dead letter again (attempts reset; the steps it had done are not done again)",
				permission: { level: "write", project: "key" },
				params: { key: keyParam, id: eventIdParam },
				async handler(this: HookThis, ctx: Context<{ key: string; id: string }>) {
					const change = await replayDeadLetter(this.intake, ctx.params.key, ctx.params.id, this.now());
					if (change.outcome !== "done") throw deadLetterRefusal(change.outcome, ctx.params.id);
					this.processor.kick();
					return presentDeadLetter(change.event);
				},
			},

			deleteDeadLetter: {
				rest: "DELETE /:key/hooks/dead-letters/:id",
				summary: "Delete a dead letter (a redelivery of the same event is then accepted anew)",
				permission: { level: "write", project: "key" },
				params: { key: keyParam, id: eventIdParam },
				async handler(this: HookThis, ctx: Context<{ key: string; id: string }>) {
					const change = await dropDeadLetter(this.intake, ctx.params.key, ctx.params.id);
					if (change.outcome !== "done") throw deadLetterRefusal(change.outcome, ctx.params.id);
					return { deleted: true, id: ctx.params.id };
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
				params: { key: keyParam, name: nameParam, ...pagination },
				async handler(this: HookThis, ctx: Context<{ key: string; name: string } & PageOptions>) {
					// In creation order; the _id breaks ties of one millisecond.
					return paginate(
						this.schedules(),
						{ project: ctx.params.key, workflow: ctx.params.name },
						{ ...ctx.params, order: { field: "created" } },
						presentSchedule,
					);
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
			schedules(this: HookThis) {
				return this.collections.hook_schedules as Collection<ScheduleDoc>;
			},

			async publish(this: HookThis, messages: HookMessage[]) {
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
				// Loaded only where hook events go to JetStream (a node without NATS never needs it).
				const { connect, nanos } = await import("nats");
				if (!this.nats) {
					this.nats = await connect({
						...natsClientOptions(this.hookSettings.natsUrl, this.hookSettings.natsCredentials),
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
		},

		created(this: HookThis) {
			this.hookSettings = config.hooks;
			this.now = options.now ?? Date.now;
			this.timers = [];
			this.nats = null;
			this.js = null;
			this.stopping = false;
		},

		async started(this: HookThis) {
			// The sources emit through their own intake (hook-source.mixin.ts); this one reads and processes.
			this.intake = await HookIntake.open(storeOf(this.broker), { warn: (m) => this.logger.warn(m) });
			this.processor = new HookProcessor({
				intake: this.intake,
				ports: processorPorts(this, config),
				settings: this.hookSettings,
				owner: `${this.broker.nodeID}:${randomUUID()}`,
				logger: this.logger,
				onDeadLetter: (event, reason) =>
					metricsOf(this.broker)?.metrics.hookDeadLettered(event.source, reason),
			});
			if (this.hookSettings.processor) setHookProcessor(this.broker, this.processor);
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
				loop(this.hookSettings.processIntervalMs, () => this.processor.processDue());
				let previous = performance.eventLoopUtilization();
				const sampler = setInterval(() => {
					const current = performance.eventLoopUtilization();
					this.processor.loopSaturated =
						performance.eventLoopUtilization(current, previous).utilization > 0.5;
					previous = current;
				}, 50);
				sampler.unref();
				this.timers.push(sampler);
			}
			loop(this.hookSettings.sweepIntervalMs, () => this.processor.sweep());
			void this.processor.sweep().catch((e: Error) => this.logger.warn(`hook sweep: ${e.message}`));
		},

		async stopped(this: HookThis) {
			this.stopping = true;
			for (const t of this.timers) clearInterval(t);
			setHookProcessor(this.broker, null);
			// Let an in-flight processor pass end before the store closes.
			await this.processor?.stop();
			if (this.nats) await this.nats.close().catch(() => {});
		},
	};
}

function presentDeadLetter(e: HookEventDoc) {
	return {
		id: e._id,
		source: e.source,
		state: e.state,
		attempts: e.attempts,
		replays: e.replays ?? 0,
		lastError: e.lastError,
		reason: e.deadReason ?? null,
		receivedAt: new Date(e.receivedAt).toISOString(),
		deadAt: e.deadAt ? new Date(e.deadAt).toISOString() : null,
		origin: e.origin,
		runs: runsOf(e),
		messages: messagesOf(e),
	};
}

function deadLetterRefusal(outcome: "not-found" | "not-dead", id: string) {
	return outcome === "not-found"
		? notFound("hook event", { id })
		: conflict(`hook event ${id} is not a dead letter`, { id });
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
