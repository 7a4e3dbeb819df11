// The OpenStack Nova and Swift hooks: a run per oslo.messaging notification that passes the hook's
// filters, consumed from the notifications topic exchange (`nova`, `swift`) of the RabbitMQ named
// by the hook's integration. Each hook has its own durable queue (`cds-hook-<place>`, shared by the
// replicas, kept across edits of the hook) bound with `<topic>.*` (every priority). A notification
// that does not match is acknowledged and dropped; one that matches is acknowledged once its event
// is durable. De-duplicated on the notification's `message_id` (oslo.messaging sets one per
// notification), so a redelivery never runs twice. Formats: src/hooks/oslo-notification.ts.

import type { OutboundPolicy } from "../../net/outbound-policy.ts";
import { contentDigest, messageIdKey } from "../amqp-dedup.ts";
import { type BindingListener, BindingSource, type ListenContext } from "../binding-source.ts";
import { type BindingDelivery, bindingPlace } from "../bindings.ts";
import { hookTypesOfSource } from "../hook-types.ts";
import {
	novaMatches,
	novaServer,
	type OsloNotification,
	parseOsloMessage,
	swiftEvent,
	swiftMatches,
} from "../oslo-notification.ts";
import { type AmqpDelivery, type Handled, startConsumer } from "./amqp-consumer.ts";
import { endpointOf, PREFETCH } from "./rabbitmq.ts";

export const NOVA_HOOK = "OpenStack Nova hook";
export const SWIFT_HOOK = "OpenStack Swift hook";

/** The queue a hook consumes when its config names none. */
export function openstackQueue(binding: ListenContext["binding"]): string {
	return binding.config.queue || `cds-hook-${bindingPlace(binding)}`;
}

/** What a matching notification becomes: the run's payload, its `cds.hook.openstack.*` variables. */
export function notificationDelivery(hookType: string, n: OsloNotification): BindingDelivery {
	const common = {
		event_type: n.eventType,
		publisher_id: n.publisherId,
		message_id: n.messageId,
		priority: n.priority,
		timestamp: n.timestamp,
	};
	const vars: Record<string, string> = { "openstack.event_type": n.eventType };
	if (n.publisherId) vars["openstack.publisher_id"] = n.publisherId;
	let summary: Record<string, string | null>;
	if (hookType === NOVA_HOOK) {
		const s = novaServer(n);
		summary = { server_id: s.id, server_name: s.name, state: s.state, old_state: s.oldState, host: s.host };
	} else {
		const e = swiftEvent(n);
		summary = {
			account: e.account,
			container: e.container,
			object: e.object,
			method: e.method,
			path: e.path,
		};
	}
	for (const [k, v] of Object.entries(summary)) if (v) vars[`openstack.${k}`] = v;
	return {
		payload: { ...common, ...summary, payload: n.payload },
		vars,
		origin: { eventType: n.eventType, ...(n.messageId ? { messageId: n.messageId } : {}) },
		type: hookType === NOVA_HOOK ? "nova" : "swift",
	};
}

export class OpenStackSource extends BindingSource {
	readonly name = "openstack";
	readonly idPrefix = "openstack";
	readonly hookTypes = hookTypesOfSource("openstack");
	readonly activeOn = "all" as const;

	readonly #options: { outbound?: OutboundPolicy };

	constructor(options: { outbound?: OutboundPolicy } = {}) {
		super();
		this.#options = options;
	}

	protected async listen(ctx: ListenContext): Promise<BindingListener> {
		const { binding } = ctx;
		const nova = binding.type === NOVA_HOOK;
		const exchange = binding.config.exchange || (nova ? "nova" : "swift");
		const topic = binding.config.topic || "notifications";
		const matches = nova ? novaMatches : swiftMatches;
		const consumer = await startConsumer({
			endpoint: endpointOf(ctx),
			outbound: this.#options.outbound,
			connectionName: `cds-hook-openstack ${binding.project}/${binding.workflow}`,
			topology: {
				queue: openstackQueue(binding),
				exchange: { name: exchange, type: "topic", mode: "existing-or-transient" },
				bindingKeys: [`${topic}.*`],
				prefetch: PREFETCH,
			},
			onMessage: async (d: AmqpDelivery): Promise<Handled> => {
				const n = parseOsloMessage(d.body);
				if (!n || !matches(n, binding.config)) return { settle: "ack" };
				const key = n.messageId ? messageIdKey(n.messageId) : `c:${contentDigest(d)}`;
				try {
					await ctx.emit(notificationDelivery(binding.type, n), key);
					return { settle: "ack" };
				} catch (e) {
					ctx.logger.warn(
						`hook source openstack: a notification was not stored, requeued: ${(e as Error).message}`,
					);
					return { settle: "requeue" };
				}
			},
			onError: (e) => ctx.fail(e),
		});
		ctx.ok();
		return consumer;
	}
}
