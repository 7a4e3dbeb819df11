// One AMQP 0-9-1 queue consumer for the RabbitMQ and OpenStack hooks (rabbitmq-client: zero
// dependencies, TypeScript, maintained). It connects to the project integration's broker (the
// address checked against the outbound policy, then pinned), declares what the hook asks (a
// durable queue, an exchange and its bindings), consumes with manual acknowledgement and a
// bounded prefetch, and settles each message with what the handler answers — the handler acks
// only once the event is durable. Reconnection is not the client's: the first connection or
// channel loss is reported to `onError` (the binding source restarts the listener with backoff
// and jitter), and the client's own retries are cut by closing it.

import type { AsyncMessage, Channel, Connection } from "rabbitmq-client";
import { checkOutbound, DEFAULT_OUTBOUND_POLICY, type OutboundPolicy } from "../../net/outbound-policy.ts";

/** The connection settings of a RabbitMQ project integration. */
export interface AmqpEndpoint {
	/** `amqp[s]://[user:pass@]host[:port][/vhost]` */
	uri: string;
	username?: string | undefined;
	password?: string | undefined;
}

export interface AmqpTopology {
	queue: string;
	/** Declared durable unless false (OpenStack queues may be declared by others). */
	exchange?: {
		name: string;
		type: string;
		/** `declare`: durable, as configured; `existing-or-transient`: use it as it is if it exists (oslo.messaging declares it, durable or not), else declare it non-durable. */
		mode: "declare" | "existing-or-transient";
	};
	bindingKeys: readonly string[];
	consumerTag?: string | undefined;
	prefetch: number;
}

/** A delivery as the handlers see it. */
export interface AmqpDelivery {
	body: unknown;
	exchange: string;
	routingKey: string;
	redelivered: boolean;
	messageId?: string | undefined;
	contentType?: string | undefined;
	headers?: Record<string, unknown> | undefined;
	/** The properties a publisher set, for content digests. */
	properties: Record<string, unknown>;
}

export type Settlement = "ack" | "requeue";

/** How to settle a delivery, and what to do once its ack is sent (drop a record of it…). */
export interface Handled {
	settle: Settlement;
	afterAck?: () => Promise<void>;
}

export interface ConsumeOptions {
	endpoint: AmqpEndpoint;
	topology: AmqpTopology;
	outbound?: OutboundPolicy | undefined;
	/** Settles each delivery; a rejection requeues it. */
	onMessage(d: AmqpDelivery): Promise<Handled>;
	/** The connection or the channel was lost after the consumer started. */
	onError(e: unknown): void;
	connectTimeoutMs?: number;
	connectionName?: string;
}

export interface AmqpConsumer {
	stop(): Promise<void>;
}

/** The parts of an AMQP URI, the integration's username/password taking precedence over its own. */
export function amqpConnectionParts(e: AmqpEndpoint): {
	hostname: string;
	port: number;
	vhost: string;
	username: string;
	password: string;
	tls: boolean;
} {
	let url: URL;
	try {
		url = new URL(e.uri);
	} catch {
		throw new Error(`the integration's uri '${e.uri}' is not an amqp:// URL`);
	}
	if (url.protocol !== "amqp:" && url.protocol !== "amqps:")
		throw new Error(`the integration's uri has the scheme '${url.protocol}', not amqp: or amqps:`);
	const tls = url.protocol === "amqps:";
	const vhostPath = url.pathname.replace(/^\//, "");
	return {
		hostname: url.hostname.replace(/^\[|\]$/g, ""),
		port: url.port ? Number(url.port) : tls ? 5671 : 5672,
		vhost: vhostPath === "" ? "/" : decodeURIComponent(vhostPath),
		username: e.username || decodeURIComponent(url.username) || "guest",
		password: e.password || decodeURIComponent(url.password) || "guest",
		tls,
	};
}

export async function startConsumer(o: ConsumeOptions): Promise<AmqpConsumer> {
	const parts = amqpConnectionParts(o.endpoint);
	const checked = await checkOutbound(
		{ label: `the RabbitMQ broker ${parts.hostname}:${parts.port}`, host: parts.hostname, port: parts.port },
		o.outbound ?? DEFAULT_OUTBOUND_POLICY,
	);
	const address = checked.addresses[0]!.address;
	// Loaded with the first RabbitMQ hook, not by every node that hosts the hook sources.
	const { Connection } = await import("rabbitmq-client");
	const conn = new Connection({
		hostname: address,
		port: parts.port,
		vhost: parts.vhost,
		username: parts.username,
		password: parts.password,
		tls: parts.tls ? { servername: parts.hostname } : false,
		connectionTimeout: o.connectTimeoutMs ?? 10_000,
		connectionName: o.connectionName ?? "cds-hook",
		heartbeat: 30,
		// Its own reconnection is not used: the first error stops everything (see onError).
		retryLow: 60_000,
		retryHigh: 60_000,
	});
	let stopping = false;
	let failed = false;
	const fail = (e: unknown) => {
		if (stopping || failed) return;
		failed = true;
		o.onError(e);
	};
	conn.on("error", (e) => fail(e));
	let channel: Channel | null = null;
	try {
		await conn.onConnect(o.connectTimeoutMs ?? 10_000);
		channel = await declare(conn, o.topology);
	} catch (e) {
		stopping = true;
		await shutdown(conn, null);
		throw e;
	}
	const ch = channel;
	ch.on("close", () => fail(new Error("the AMQP channel was closed")));
	// The broker cancels a consumer whose queue was deleted: start again (and declare it again).
	ch.on("basic.cancel", () => fail(new Error("the broker cancelled the consumer (its queue was deleted?)")));
	conn.on("connection", () => {
		// A reconnection by the client itself: not ours (the channel is gone), restart properly.
		fail(new Error("the AMQP connection was reset"));
	});
	const handle = async (msg: AsyncMessage) => {
		let handled: Handled = { settle: "requeue" };
		try {
			handled = await o.onMessage(deliveryOf(msg));
		} catch {
			handled = { settle: "requeue" };
		}
		if (stopping || failed || !ch.active) return; // Unacked: the broker redelivers it.
		try {
			if (handled.settle === "ack") ch.basicAck({ deliveryTag: msg.deliveryTag });
			else ch.basicNack({ deliveryTag: msg.deliveryTag, requeue: true });
		} catch (e) {
			fail(e);
			return;
		}
		if (handled.settle === "ack") await handled.afterAck?.().catch(() => {});
	};
	try {
		await ch.basicQos({ prefetchCount: o.topology.prefetch });
		await ch.basicConsume(
			{
				queue: o.topology.queue,
				noAck: false,
				...(o.topology.consumerTag ? { consumerTag: o.topology.consumerTag } : {}),
			},
			(msg) => void handle(msg),
		);
	} catch (e) {
		stopping = true;
		await shutdown(conn, ch);
		throw e;
	}
	return {
		async stop() {
			stopping = true;
			await shutdown(conn, ch);
		},
	};
}

/**
 * Closes the channel (the broker requeues what it had not acked), then the connection — whose
 * close() waits for every channel it handed out — and destroys it if that takes too long.
 */
async function shutdown(conn: Connection, ch: Channel | null): Promise<void> {
	const within = (p: Promise<unknown>, ms: number) =>
		Promise.race([
			p.then(() => true).catch(() => true),
			new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref()),
		]);
	if (ch?.active) await within(ch.close(), 2000);
	if (!(await within(conn.close(), 3000))) conn.unsafeDestroy();
}

async function declare(conn: Connection, t: AmqpTopology): Promise<Channel> {
	let ch = await conn.acquire();
	if (t.exchange) {
		if (t.exchange.mode === "declare") {
			await ch.exchangeDeclare({ exchange: t.exchange.name, type: t.exchange.type, durable: true });
		} else {
			try {
				await ch.exchangeDeclare({ exchange: t.exchange.name, passive: true });
			} catch {
				// A failed passive declare closes the channel: a new one declares it the way
				// oslo.messaging does by default (topic, not durable).
				ch = await conn.acquire();
				await ch.exchangeDeclare({ exchange: t.exchange.name, type: t.exchange.type, durable: false });
			}
		}
	}
	await ch.queueDeclare({ queue: t.queue, durable: true });
	if (t.exchange) {
		for (const routingKey of t.bindingKeys.length > 0 ? t.bindingKeys : [""]) {
			await ch.queueBind({ queue: t.queue, exchange: t.exchange.name, routingKey });
		}
	}
	return ch;
}

function deliveryOf(msg: AsyncMessage): AmqpDelivery {
	const properties: Record<string, unknown> = {
		contentType: msg.contentType,
		contentEncoding: msg.contentEncoding,
		headers: msg.headers,
		correlationId: msg.correlationId,
		replyTo: msg.replyTo,
		expiration: msg.expiration,
		timestamp: msg.timestamp,
		type: msg.type,
		userId: msg.userId,
		appId: msg.appId,
		priority: msg.priority,
	};
	return {
		body: msg.body,
		exchange: msg.exchange,
		routingKey: msg.routingKey,
		redelivered: msg.redelivered,
		messageId: msg.messageId || undefined,
		contentType: msg.contentType,
		headers: msg.headers,
		properties,
	};
}
