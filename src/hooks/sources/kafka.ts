// The Kafka hook source: a run per message of a topic (`type: Kafka hook`). Every replica
// consumes in the hook's consumer group, so the group shares the topic's partitions across the
// replicas and moves a dead replica's partitions to the others. A record's offset is committed
// only once its run is durable in the intake (and every earlier record of its partition too):
// a replica killed mid-stream leaves uncommitted records to be read again, and their
// de-duplication key (group, topic, partition, offset) makes a record read twice one run.
//
// `from: latest` (the default) means the end of the topic when the hook was first served: the
// first listener of a group with no committed offset commits the end offsets before it consumes,
// so a message produced once the hook listens is never skipped by a late partition assignment.

import type { Message, MessagesStream } from "@platformatic/kafka";
import { kafkaClient } from "../kafka-client.ts";
import {
	BINDING_SETTINGS_SCHEMA,
	type BindingListener,
	BindingSource,
	type BindingSourceSettings,
	type ListenContext,
} from "../binding-source.ts";
import {
	brokerHostPort,
	consumerGroupOf,
	InFlightOffsets,
	type KafkaConnection,
	kafkaConnection,
	recordDelivery,
} from "../kafka-connection.ts";

export interface KafkaSourceSettings extends BindingSourceSettings {
	/** Records of one listener whose runs are being stored at once. */
	inFlight: number;
	/** The group's session timeout: a dead replica's partitions move after at most this long (ms). */
	sessionTimeoutMs: number;
}

type Buf = Message<Buffer, Buffer, Buffer, Buffer>;

export class KafkaSource extends BindingSource<KafkaSourceSettings> {
	readonly name = "kafka";
	readonly idPrefix = "kafka";
	readonly hookTypes = ["Kafka hook"] as const;
	readonly activeOn = "all" as const;
	override readonly settingsSchema: Record<string, unknown> = {
		...BINDING_SETTINGS_SCHEMA,
		inFlight: { type: "number", integer: true, min: 1, max: 1024 },
		sessionTimeoutMs: { type: "number", integer: true, min: 1000 },
	};
	#clientId: string;

	constructor(options: { clientId?: string } = {}) {
		super();
		this.#clientId = options.clientId ?? "cds-hook-kafka";
	}

	protected async listen(ctx: ListenContext): Promise<BindingListener> {
		const settings = this.ctx!.settings;
		const binding = ctx.binding;
		const topic = binding.config["topic"] ?? "";
		if (topic === "") throw new Error("the Kafka hook names no topic");
		const connection = kafkaConnection(binding.integration);
		// The integration's brokers are a project's choice: the outbound allow-list applies.
		for (const b of connection.brokers) {
			const { host, port } = brokerHostPort(b);
			await ctx.outbound({ label: `kafka broker ${b}`, host, port });
		}
		const group = consumerGroupOf(binding);
		const from = binding.config["from"] === "earliest" ? "earliest" : "latest";
		// The topic must exist before the consumer subscribes (the client fails hard on an unknown
		// one): created here when the broker creates topics on demand, else the listener retries.
		await this.#prepare(connection, group, topic, from);

		const { Consumer } = await kafkaClient();
		const consumer = new Consumer({
			autocreateTopics: true,
			clientId: this.#clientId,
			groupId: group,
			bootstrapBrokers: connection.brokers,
			...(connection.sasl ? { sasl: connection.sasl } : {}),
			sessionTimeout: settings.sessionTimeoutMs,
			heartbeatInterval: Math.max(100, Math.floor(settings.sessionTimeoutMs / 10)),
			rebalanceTimeout: Math.max(settings.sessionTimeoutMs, 10_000),
			autocommit: false,
			retries: 3,
		});
		let stopped = false;
		const fail = (e: unknown) => {
			if (stopped) return;
			ctx.fail(e);
		};
		// The client emits `error` when it cannot rejoin its group, and reports a broker it cannot
		// reach through heartbeat errors: either way the listener starts again (with backoff), so
		// its state shows the outage and a new consumer reconnects once the broker is back.
		consumer.on("error", (e: Error) => fail(e));
		consumer.on("consumer:heartbeat:error", (p: { error?: Error }) =>
			fail(p.error ?? new Error("heartbeat failed")),
		);
		let stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>;
		try {
			stream = await consumer.consume({
				topics: [topic],
				mode: "committed",
				fallbackMode: from,
				autocommit: false,
			});
		} catch (e) {
			await consumer.close(true).catch(() => {});
			throw e;
		}

		const inFlight = new InFlightOffsets<Buf>();
		const handle = async (message: Buf) => {
			const { delivery, dedupKey } = recordDelivery(
				{
					topic: message.topic,
					partition: message.partition,
					offset: message.offset,
					key: message.key,
					value: message.value,
					headers: message.headers,
					timestamp: message.timestamp,
				},
				group,
			);
			// Rejects when the intake did not take it: nothing is committed, the listener restarts
			// from the last committed offset.
			await ctx.emit(delivery, dedupKey);
			const last = inFlight.done(message.topic, message.partition, message.offset);
			if (last === null) return;
			// A commit lost to a rebalance is harmless: the record is read again and is a duplicate.
			// Not awaited: the next records need not wait for the broker's answer.
			void Promise.resolve(last.value.commit()).catch((e: Error) =>
				ctx.logger.debug(`kafka hook ${group}: commit after ${last.offset} not done: ${e.message}`),
			);
		};
		stream.on("data", (message: Buf) => {
			inFlight.start(message.topic, message.partition, message.offset, message);
			if (inFlight.size >= settings.inFlight) stream.pause();
			handle(message).then(
				() => {
					if (inFlight.size < settings.inFlight && stream.isPaused()) stream.resume();
				},
				(e: unknown) => fail(e),
			);
		});
		stream.on("error", (e: Error) => fail(e));
		stream.on("close", () => {
			if (!stopped) fail(new Error("the Kafka stream closed"));
		});
		ctx.ok();
		return {
			async stop() {
				stopped = true;
				await stream.close().catch(() => {});
				await consumer.close(true).catch(() => {});
			},
		};
	}

	/**
	 * Makes sure the topic exists (asking the broker to create it), and for `latest` commits the
	 * topic's end offsets for a group that has none yet (an empty group takes offsets from an
	 * admin client): `latest` then means "from when the hook was first served", whichever replica
	 * joins and whenever its partitions are assigned.
	 */
	async #prepare(connection: KafkaConnection, group: string, topic: string, from: "latest" | "earliest") {
		const { Admin } = await kafkaClient();
		const admin = new Admin({
			clientId: this.#clientId,
			bootstrapBrokers: connection.brokers,
			...(connection.sasl ? { sasl: connection.sasl } : {}),
			retries: 2,
		});
		try {
			const metadata = await admin.metadata({ topics: [topic], autocreateTopics: true });
			const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
			if (count === 0) throw new Error(`topic '${topic}' does not exist`);
			if (from === "earliest") return;
			const [committed] = await admin.listConsumerGroupOffsets({ groups: [group] });
			const have = new Set(
				(committed?.topics ?? [])
					.filter((t) => t.name === topic)
					.flatMap((t) => t.partitions.filter((p) => p.committedOffset >= 0n).map((p) => p.partitionIndex)),
			);
			const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !have.has(i));
			if (missing.length === 0) return;
			const [ends] = await admin.listOffsets({
				topics: [
					{ name: topic, partitions: missing.map((partitionIndex) => ({ partitionIndex, timestamp: -1n })) },
				],
			});
			const partitionOffsets = (ends?.partitions ?? []).map((p) => ({
				partition: p.partitionIndex,
				offset: p.offset,
			}));
			if (partitionOffsets.length === 0) return;
			// Refused when the group already has members: they started from their own offsets.
			await admin
				.alterConsumerGroupOffsets({ groupId: group, topics: [{ name: topic, partitionOffsets }] })
				.catch(() => {});
		} finally {
			await admin.close().catch(() => {});
		}
	}
}
