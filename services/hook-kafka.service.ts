// `hook-kafka`: the Kafka hook source (src/hooks/sources/kafka.ts) as a service, and the Kafka
// event notifications of workflows (src/notifications/event-notifier.ts): the run service's
// `run.updated` and `job.updated` are emitted (not broadcast), so one replica publishes each.

import { randomUUID } from "node:crypto";
import type { Context, ServiceSchema } from "moleculer";
import type { Config } from "../config/index.ts";
import { BindingSourceMixin, bindingSettings } from "../mixins/binding-source.mixin.ts";
import { storeOf } from "../mixins/store.mixin.ts";
import type { HookSourceOptions, HookSourceThis } from "../mixins/hook-source.mixin.ts";
import { KafkaSource } from "../src/hooks/sources/kafka.ts";
import { EventNotifier } from "../src/notifications/event-notifier.ts";
import { KafkaEventPublisher } from "../src/notifications/kafka-publisher.ts";
import type { JobStatusEvent, RunStatusEvent } from "../src/notifications/run-events.ts";
import { callAction } from "./support/call.ts";

type KafkaThis = HookSourceThis<KafkaSource> & { notifier: EventNotifier; publisher: KafkaEventPublisher };

export default function HookKafkaService(
	config: Config,
	options: HookSourceOptions = {},
): ServiceSchema<any, any, any, any> {
	return {
		name: "hook-kafka",
		mixins: [
			BindingSourceMixin(
				() => new KafkaSource(),
				() => ({
					...bindingSettings(config),
					inFlight: config.hooks.kafkaInFlight,
					sessionTimeoutMs: config.hooks.kafkaSessionTimeoutMs,
				}),
				options,
			),
		],
		created(this: KafkaThis) {
			this.publisher = new KafkaEventPublisher({ outbound: config.outbound });
			const broker = this.broker;
			this.notifier = new EventNotifier({
				async notifications(project, workflow, at) {
					const view = await callAction(broker, "workflow.get", {
						key: project,
						name: workflow,
						...(at ? { branch: at.branch, version: at.version } : {}),
					});
					return view.model.notifications ?? [];
				},
				async integration(project, name) {
					const answer = await callAction(broker, "project.integrationsForJob", {
						projectKey: project,
						names: [name],
					});
					const i = answer.integrations[0];
					if (!i) throw new Error(`integration '${name}' not found`);
					const cfg: Record<string, string> = {};
					for (const [k, s] of Object.entries(i.config)) cfg[k] = String(s.value ?? "");
					return { name: i.name, model: i.model, config: cfg };
				},
				publish: (integration, messages) => this.publisher.publish(integration, messages),
				async once(key) {
					// An owner per call: the first call wins, even a second one of the same node.
					const claim = await storeOf(broker).claim("run-event", key, randomUUID(), { ttlMs: 86_400_000 });
					return claim.won;
				},
				warn: (m) => this.logger.warn(m),
				now: () => Date.now(),
			});
		},
		async stopped(this: KafkaThis) {
			await this.publisher.reset();
		},
		events: {
			async "run.updated"(
				this: KafkaThis,
				ctx: Context<RunStatusEvent & { definitionBranch?: string; definitionVersion?: number }>,
			) {
				await this.notifier.runUpdated(ctx.params);
			},
			async "job.updated"(this: KafkaThis, ctx: Context<Partial<JobStatusEvent>>) {
				const p = ctx.params;
				// Emitted by an older node without where the job ran: nothing to say about it.
				if (!p.project || !p.workflow || !p.node || p.runNumber === undefined) return;
				await this.notifier.jobUpdated(p as JobStatusEvent);
			},
			async "project.integrationChanged"(this: KafkaThis) {
				this.notifier.forgetIntegrations();
				await this.publisher.reset();
			},
		},
	};
}
