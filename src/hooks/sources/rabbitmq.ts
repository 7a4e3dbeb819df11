// The RabbitMQ hook: a run per message of a queue (its JSON the run's payload). Every replica
// consumes the hook's queue (the broker shares its messages between competing consumers); a
// message is acknowledged only once its event is durable, and requeued when it could not be
// stored. Keys: the publisher's `message_id` when it sets one, else content + delivery with an
// in-flight record so that only a redelivery is a duplicate (src/hooks/amqp-dedup.ts).

import { randomUUID } from "node:crypto";
import type { OutboundPolicy } from "../../net/outbound-policy.ts";
import {
	adoptableEntry,
	contentDigest,
	firstDeliveryKey,
	type InflightEntry,
	inflightStateKey,
	messageIdKey,
	withEntry,
	withoutEntry,
} from "../amqp-dedup.ts";
import { type BindingListener, BindingSource, type ListenContext } from "../binding-source.ts";
import { payloadOfBody } from "../bindings.ts";
import { hookTypesOfSource } from "../hook-types.ts";
import type { SourceState } from "../source.ts";
import { type AmqpDelivery, type AmqpEndpoint, type Handled, startConsumer } from "./amqp-consumer.ts";

/** Messages a consumer holds unacknowledged at once (the broker sends no more until some are settled). */
export const PREFETCH = 32;

export interface AmqpSourceOptions {
	outbound?: OutboundPolicy;
}

/** The broker endpoint of a binding's RabbitMQ integration. */
export function endpointOf(ctx: ListenContext): AmqpEndpoint {
	const i = ctx.binding.integration;
	if (!i) throw new Error("the hook has no RabbitMQ integration");
	const uri = i.config.uri ?? i.config.url ?? "";
	if (!uri) throw new Error(`the integration '${i.name}' has no uri`);
	return { uri, username: i.config.username, password: i.config.password };
}

/**
 * Serialises the read-modify-write of one state key within this process (the in-flight entries
 * of a content digest), so two deliveries of identical messages here never lose each other's.
 */
class KeyedQueue {
	#tails = new Map<string, Promise<unknown>>();

	run<T>(key: string, task: () => Promise<T>): Promise<T> {
		const prev = this.#tails.get(key) ?? Promise.resolve();
		const next = prev.then(task, task);
		const tail = next.catch(() => {});
		this.#tails.set(key, tail);
		void tail.then(() => {
			if (this.#tails.get(key) === tail) this.#tails.delete(key);
		});
		return next;
	}
}

/** The in-flight records of unnamed messages of one binding (see src/hooks/amqp-dedup.ts). */
export class InflightRecords {
	readonly busy = new Set<string>();
	#queue = new KeyedQueue();

	readonly #state: SourceState;
	readonly #now: () => number;

	constructor(state: SourceState, now: () => number) {
		this.#state = state;
		this.#now = now;
	}

	/** The key this delivery is emitted under, recorded as in flight (and busy here). */
	async keyFor(digest: string, redelivered: boolean): Promise<string> {
		const stateKey = inflightStateKey(digest);
		return this.#queue.run(stateKey, async () => {
			const entries = (await this.#state.get<{ entries: InflightEntry[] }>(stateKey))?.entries ?? [];
			if (redelivered) {
				const adopt = adoptableEntry(entries, this.busy, this.#now());
				if (adopt) {
					this.busy.add(adopt.key);
					return adopt.key;
				}
			}
			const key = firstDeliveryKey(digest, randomUUID());
			await this.#state.set(stateKey, { entries: withEntry(entries, key, this.#now()) });
			this.busy.add(key);
			return key;
		});
	}

	/** The delivery was acknowledged: its record goes. */
	async done(digest: string, key: string): Promise<void> {
		const stateKey = inflightStateKey(digest);
		this.busy.delete(key);
		await this.#queue.run(stateKey, async () => {
			const entries = (await this.#state.get<{ entries: InflightEntry[] }>(stateKey))?.entries ?? [];
			const rest = withoutEntry(entries, key, this.#now());
			if (rest.length === 0) await this.#state.delete(stateKey);
			else await this.#state.set(stateKey, { entries: rest });
		});
	}

	/** The delivery was not stored: its record stays for its redelivery, which is not busy here. */
	release(key: string): void {
		this.busy.delete(key);
	}
}

/**
 * Emits a delivery under its de-duplication key and answers how to settle it: `ack` once the event
 * is durable (stored now or before), `requeue` when the store did not take it.
 */
export async function settleDelivery(
	ctx: ListenContext,
	d: AmqpDelivery,
	records: InflightRecords,
	deliver: (d: AmqpDelivery) => Parameters<ListenContext["emit"]>[0],
): Promise<Handled> {
	if (d.messageId) {
		try {
			await ctx.emit(deliver(d), messageIdKey(d.messageId));
			return { settle: "ack" };
		} catch (e) {
			ctx.logger.warn(`hook source rabbitmq: a message was not stored, requeued: ${(e as Error).message}`);
			return { settle: "requeue" };
		}
	}
	const digest = contentDigest(d);
	const key = await records.keyFor(digest, d.redelivered);
	try {
		await ctx.emit(deliver(d), key);
	} catch (e) {
		records.release(key);
		ctx.logger.warn(`hook source rabbitmq: a message was not stored, requeued: ${(e as Error).message}`);
		return { settle: "requeue" };
	}
	return { settle: "ack", afterAck: () => records.done(digest, key) };
}

export class RabbitMQSource extends BindingSource {
	readonly name = "rabbitmq";
	readonly idPrefix = "rabbitmq";
	readonly hookTypes = hookTypesOfSource("rabbitmq");
	readonly activeOn = "all" as const;

	readonly #options: AmqpSourceOptions;

	constructor(options: AmqpSourceOptions = {}) {
		super();
		this.#options = options;
	}

	protected async listen(ctx: ListenContext): Promise<BindingListener> {
		const config = ctx.binding.config;
		const queue = config.queue!;
		const records = new InflightRecords(ctx.state, () => ctx.now());
		const deliver = (d: AmqpDelivery) => ({
			payload: payloadOfBody(bodyBytes(d.body)),
			vars: {
				"rabbitmq.queue": queue,
				"rabbitmq.exchange": d.exchange,
				"rabbitmq.routing_key": d.routingKey,
				...(d.messageId ? { "rabbitmq.message_id": d.messageId } : {}),
			},
			origin: {
				queue,
				exchange: d.exchange,
				routingKey: d.routingKey,
				redelivered: String(d.redelivered),
				...(d.messageId ? { messageId: d.messageId } : {}),
			},
		});
		const consumer = await startConsumer({
			endpoint: endpointOf(ctx),
			outbound: this.#options.outbound,
			connectionName: `cds-hook-rabbitmq ${ctx.binding.project}/${ctx.binding.workflow}`,
			topology: {
				queue,
				...(config.exchange_name
					? {
							exchange: {
								name: config.exchange_name,
								type: config.exchange_type || "direct",
								mode: "declare" as const,
							},
						}
					: {}),
				bindingKeys: [config.binding_key ?? ""],
				consumerTag: config.consumer_tag,
				prefetch: PREFETCH,
			},
			onMessage: (d) => settleDelivery(ctx, d, records, deliver),
			onError: (e) => ctx.fail(e),
		});
		ctx.ok();
		return consumer;
	}
}

/** The body as bytes or text for payloadOfBody (the client hands decoded JSON as objects). */
export function bodyBytes(body: unknown): Buffer | string {
	if (typeof body === "string") return body;
	if (Buffer.isBuffer(body)) return body;
	if (body instanceof Uint8Array) return Buffer.from(body);
	return JSON.stringify(body ?? {});
}
