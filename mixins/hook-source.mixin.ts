// Moleculer glue shared by every hook source service (`hook-webhook`, `hook-poller`,
// `hook-scheduler`, …): builds the source's context — emit into the durable intake, state and
// claims in the store, the repository and schedule ports over the broker — starts the source
// with the node and stops it with it, and answers `health`. The source's logic stays in
// src/hooks/sources/, free of Moleculer.

import { callAction } from "../services/support/call.ts";
import { randomUUID } from "node:crypto";
import type { Service, ServiceBroker, ServiceSchema } from "moleculer";
import { hookProcessorOf } from "../services/support/hook-node.ts";
import { everyInterval } from "../services/support/periodic.ts";
import { metricsOf } from "./metrics.middleware.ts";
import { storeOf } from "./store.mixin.ts";
import { HookIntake, sourceContext } from "../src/hooks/intake.ts";
import type { HookSource, ScheduleDoc, SourcePorts } from "../src/hooks/source.ts";

export interface HookSourceOptions {
	/** The clock (ms since epoch): tests inject one to drive the scheduler and the poller. */
	now?: () => number;
	/** Starts the source's loops (default true); tests may drive them through the `run*` actions. */
	loops?: boolean;
}

export interface HookSourceThis<S extends HookSource<any>> extends Service {
	source: S;
	timers: NodeJS.Timeout[];
	stopping: boolean;
}

/** The ports a source calls, over the broker. */
export function brokerPorts(broker: ServiceBroker): SourcePorts {
	return {
		repositoryByHookUuid: (uuid) => callAction(broker, "repository.byHookUuid", { uuid }),
		async pollableRepositories() {
			const available = broker.registry.getServiceList({ onlyAvailable: true }) as Array<{ name: string }>;
			if (!available.some((s) => s.name === "repository")) return null;
			return callAction(broker, "repository.listPollable", {});
		},
		commitInfo: (repositoryId, commit, branch) =>
			callAction(broker, "repository.commitInfo", {
				id: repositoryId,
				commit,
				...(branch ? { branch } : {}),
			}),
		refsAtLink: (repositoryId) => callAction(broker, "repository.refsAtLink", { id: repositoryId }),
		async hookBindings(types) {
			const available = broker.registry.getServiceList({ onlyAvailable: true }) as Array<{ name: string }>;
			if (!available.some((s) => s.name === "workflow") || !available.some((s) => s.name === "project"))
				return null;
			return callAction(broker, "workflow.hookBindings", { types });
		},
		async schedules() {
			const store = storeOf(broker);
			const c = await store.collection<ScheduleDoc>({ name: "hook_schedules" });
			return c.find({});
		},
	};
}

/** A mixin running `source` as the Moleculer service `hook-<source.name>`, with `settings` for it. */
export function HookSourceMixin<S extends HookSource<any>>(
	make: () => S,
	settings: () => unknown,
	options: HookSourceOptions = {},
): Partial<ServiceSchema<any, any, any, any>> {
	return {
		actions: {
			/** The source's health on this node: running, what it emitted, its last error. */
			health: {
				visibility: "public",
				params: {},
				handler(this: HookSourceThis<S>) {
					return { source: this.source.name, node: this.broker.nodeID, ...this.source.health() };
				},
			},
		},
		created(this: HookSourceThis<S>) {
			this.source = make();
			this.timers = [];
			this.stopping = false;
		},
		async started(this: HookSourceThis<S>) {
			const intake = await HookIntake.open(storeOf(this.broker), {
				onQueued: () => hookProcessorOf(this.broker)?.kick(),
				warn: (m) => this.logger.warn(m),
			});
			const ctx = sourceContext({
				intake,
				source: this.source,
				settings: settings(),
				ports: brokerPorts(this.broker),
				logger: this.logger,
				owner: `${this.broker.nodeID}:${randomUUID()}`,
				...(options.now ? { now: options.now } : {}),
				every: (ms, task) => {
					if (options.loops === false) return;
					this.timers.push(
						everyInterval(
							ms,
							task,
							(e) => this.logger.warn(`hook source ${this.source.name}: ${e.message}`),
							() => this.stopping,
						),
					);
				},
			});
			const metrics = metricsOf(this.broker)?.metrics;
			if (metrics) {
				// Every event the source hands over (received), counted by what the intake made of it:
				// stored (accepted), duplicate, error (failed: not stored, the source must not ack).
				const emit = ctx.emit;
				const name = this.source.name;
				ctx.emit = (event, dedupKey) => {
					metrics.hookEmitReceived(name);
					return emit(event, dedupKey).then(
						(outcome) => {
							metrics.hookEmitted(name, outcome);
							return outcome;
						},
						(err: unknown) => {
							metrics.hookEmitted(name, "error");
							throw err;
						},
					);
				};
			}
			await this.source.start(ctx);
		},
		async stopped(this: HookSourceThis<S>) {
			this.stopping = true;
			for (const t of this.timers) clearInterval(t);
			await this.source.stop();
		},
	};
}
