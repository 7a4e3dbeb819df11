// Publishes run events to Kafka integrations (the event notifications of src/notifications/
// run-events.ts): one producer per broker set and credentials, opened at the first message and
// kept; the integration's brokers go through the outbound allow-list as the Kafka hook's do.

import type { Producer } from "@platformatic/kafka";
import { kafkaClient } from "../hooks/kafka-client.ts";
import { brokerHostPort, kafkaConnection } from "../hooks/kafka-connection.ts";
import type { BoundIntegration } from "../hooks/bindings.ts";
import { checkOutbound, DEFAULT_OUTBOUND_POLICY, type OutboundPolicy } from "../net/outbound-policy.ts";
import type { RunEventMessage } from "./run-events.ts";

export class KafkaEventPublisher {
	#producers = new Map<string, Producer>();
	#outbound: OutboundPolicy;
	#clientId: string;

	constructor(options: { outbound?: OutboundPolicy; clientId?: string } = {}) {
		this.#outbound = options.outbound ?? DEFAULT_OUTBOUND_POLICY;
		this.#clientId = options.clientId ?? "cds-events";
	}

	/** Sends the messages to the integration's `topic`; resolves once the broker acknowledged them. */
	async publish(integration: BoundIntegration, messages: readonly RunEventMessage[]): Promise<void> {
		if (integration.model !== "Kafka")
			throw new Error(`integration '${integration.name}' is a ${integration.model}, not a Kafka integration`);
		const topic = integration.config["topic"] ?? "";
		if (topic === "")
			throw new Error(`integration '${integration.name}' has no 'topic' to publish events to`);
		const producer = await this.#producer(integration);
		await producer.send({
			messages: messages.map((m) => ({
				topic,
				key: Buffer.from(m.key),
				value: Buffer.from(JSON.stringify(m.value)),
			})),
		});
	}

	async #producer(integration: BoundIntegration): Promise<Producer> {
		const connection = kafkaConnection(integration);
		const key = JSON.stringify(connection);
		const known = this.#producers.get(key);
		if (known) return known;
		for (const b of connection.brokers) {
			const { host, port } = brokerHostPort(b);
			await checkOutbound({ label: `kafka broker ${b}`, host, port }, this.#outbound);
		}
		const { Producer } = await kafkaClient();
		const producer = new Producer({
			clientId: this.#clientId,
			bootstrapBrokers: connection.brokers,
			...(connection.sasl ? { sasl: connection.sasl } : {}),
			autocreateTopics: true,
			retries: 3,
		});
		this.#producers.set(key, producer);
		return producer;
	}

	/** Forgets the producers (an integration changed) and closes them. */
	async reset(): Promise<void> {
		const producers = [...this.#producers.values()];
		this.#producers.clear();
		await Promise.all(producers.map((p) => p.close().catch(() => {})));
	}
}
