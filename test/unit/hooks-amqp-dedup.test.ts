// The de-duplication keys of the RabbitMQ hook (src/hooks/amqp-dedup.ts and the in-flight records
// of src/hooks/sources/rabbitmq.ts): a named message is keyed on its name; of unnamed ones, only a
// redelivery is a duplicate of its first delivery, and two identical publishes are two events.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
	adoptableEntry,
	contentDigest,
	INFLIGHT_TTL_MS,
	messageIdKey,
	withEntry,
	withoutEntry,
} from "../../src/hooks/amqp-dedup.ts";
import type { ListenContext } from "../../src/hooks/binding-source.ts";
import type { SourceState } from "../../src/hooks/source.ts";
import type { AmqpDelivery } from "../../src/hooks/sources/amqp-consumer.ts";
import { amqpConnectionParts } from "../../src/hooks/sources/amqp-consumer.ts";
import { InflightRecords, settleDelivery } from "../../src/hooks/sources/rabbitmq.ts";

function memoryState(): SourceState & { docs: Map<string, unknown> } {
	const docs = new Map<string, unknown>();
	return {
		docs,
		async get<T>(k: string) {
			return (docs.has(k) ? structuredClone(docs.get(k)) : null) as T | null;
		},
		async set(k, v) {
			docs.set(k, structuredClone(v));
		},
		async delete(k) {
			docs.delete(k);
		},
	};
}

const delivery = (over: Partial<AmqpDelivery> = {}): AmqpDelivery => ({
	body: { app: "api", version: 3 },
	exchange: "deploys",
	routingKey: "prod",
	redelivered: false,
	properties: { contentType: "application/json" },
	...over,
});

/** A listen context whose store keeps the keys it was given (emit: stored once, then duplicate). */
function fakeContext(failNext = { value: false }) {
	const stored = new Set<string>();
	const emitted: string[] = [];
	const ctx = {
		logger: { debug() {}, info() {}, warn() {}, error() {} },
		async emit(_d: unknown, key: string) {
			if (failNext.value) {
				failNext.value = false;
				throw new Error("the store is gone");
			}
			emitted.push(key);
			if (stored.has(key)) return "duplicate" as const;
			stored.add(key);
			return "stored" as const;
		},
	} as unknown as ListenContext;
	return { ctx, stored, emitted };
}

describe("AMQP de-duplication keys", () => {
	test("a named message has the same key on every delivery, whatever its content", () => {
		assert.equal(messageIdKey("m-1"), messageIdKey("m-1"));
		assert.notEqual(messageIdKey("m-1"), messageIdKey("m-2"));
	});

	test("the content digest covers body, routing and properties; not the redelivered flag", () => {
		const a = contentDigest(delivery());
		assert.equal(a, contentDigest(delivery({ redelivered: true })));
		assert.notEqual(a, contentDigest(delivery({ body: { app: "api", version: 4 } })));
		assert.notEqual(a, contentDigest(delivery({ routingKey: "staging" })));
		assert.notEqual(
			a,
			contentDigest(delivery({ properties: { contentType: "application/json", type: "x" } })),
		);
		assert.equal(
			contentDigest(delivery({ body: Buffer.from("raw") })),
			contentDigest(delivery({ body: Buffer.from("raw") })),
		);
	});

	test("in-flight entries: added, removed, expired after the TTL; a redelivery adopts the oldest not busy here", () => {
		let entries = withEntry([], "k1", 1000);
		entries = withEntry(entries, "k2", 2000);
		assert.deepEqual(
			entries.map((e) => e.key),
			["k1", "k2"],
		);
		assert.equal(adoptableEntry(entries, new Set(), 3000)?.key, "k1");
		assert.equal(adoptableEntry(entries, new Set(["k1"]), 3000)?.key, "k2");
		assert.equal(adoptableEntry(entries, new Set(["k1", "k2"]), 3000), null);
		assert.equal(adoptableEntry(entries, new Set(), 1000 + INFLIGHT_TTL_MS + 1)?.key, "k2");
		assert.deepEqual(
			withoutEntry(entries, "k1", 3000).map((e) => e.key),
			["k2"],
		);
		assert.deepEqual(withEntry(entries, "k3", 2000 + INFLIGHT_TTL_MS), [
			{ key: "k3", at: 2000 + INFLIGHT_TTL_MS },
		]);
	});

	test("two identical unnamed messages are two events", async () => {
		const { ctx, stored } = fakeContext();
		const records = new InflightRecords(memoryState(), () => 1000);
		const deliver = () => ({ payload: {} });
		const a = await settleDelivery(ctx, delivery(), records, deliver);
		const b = await settleDelivery(ctx, delivery(), records, deliver);
		assert.equal(a.settle, "ack");
		assert.equal(b.settle, "ack");
		assert.equal(stored.size, 2);
	});

	test("a redelivery of a message stored but never acknowledged (its consumer died) is a duplicate", async () => {
		const state = memoryState();
		const { ctx, stored, emitted } = fakeContext();
		const deliver = () => ({ payload: {} });
		// The first replica stores the event and dies before its ack: its record stays.
		const first = await settleDelivery(ctx, delivery(), new InflightRecords(state, () => 1000), deliver);
		assert.equal(first.settle, "ack");
		assert.equal(stored.size, 1);
		// Another replica receives it again, flagged redelivered, and one identical new message.
		const other = new InflightRecords(state, () => 2000);
		const again = await settleDelivery(ctx, delivery({ redelivered: true }), other, deliver);
		assert.equal(again.settle, "ack");
		assert.equal(emitted.at(-1), emitted[0], "the redelivery took the first delivery's key");
		assert.equal(stored.size, 1, "no second event");
		await again.afterAck!();
		assert.equal(state.docs.size, 0, "its record is gone once acknowledged");
		const fresh = await settleDelivery(ctx, delivery(), other, deliver);
		await fresh.afterAck!();
		assert.equal(stored.size, 2, "a new identical message is a new event");
	});

	test("a redelivery with no record (its first delivery was never stored) is a new event", async () => {
		const { ctx, stored } = fakeContext();
		const records = new InflightRecords(memoryState(), () => 1000);
		const r = await settleDelivery(ctx, delivery({ redelivered: true }), records, () => ({ payload: {} }));
		assert.equal(r.settle, "ack");
		assert.equal(stored.size, 1);
	});

	test("a message the store refused is requeued, and its redelivery stores it under the same key", async () => {
		const failNext = { value: true };
		const { ctx, stored, emitted } = fakeContext(failNext);
		const state = memoryState();
		const records = new InflightRecords(state, () => 1000);
		const deliver = () => ({ payload: {} });
		assert.equal((await settleDelivery(ctx, delivery(), records, deliver)).settle, "requeue");
		assert.equal(stored.size, 0);
		const again = await settleDelivery(ctx, delivery({ redelivered: true }), records, deliver);
		assert.equal(again.settle, "ack");
		assert.equal(stored.size, 1);
		assert.equal(emitted.length, 1);
		await again.afterAck!();
		assert.equal(state.docs.size, 0);
	});

	test("a named message redelivered is a duplicate; a refused one is requeued", async () => {
		const failNext = { value: false };
		const { ctx, stored } = fakeContext(failNext);
		const records = new InflightRecords(memoryState(), () => 1000);
		const deliver = () => ({ payload: {} });
		await settleDelivery(ctx, delivery({ messageId: "m-1" }), records, deliver);
		await settleDelivery(ctx, delivery({ messageId: "m-1", redelivered: true }), records, deliver);
		assert.equal(stored.size, 1);
		failNext.value = true;
		assert.equal(
			(await settleDelivery(ctx, delivery({ messageId: "m-2" }), records, deliver)).settle,
			"requeue",
		);
	});

	test("the integration's username and password take precedence over the URI's", () => {
		assert.deepEqual(
			amqpConnectionParts({ uri: "amqp://u:p@broker:5673/ci%2Fhooks", username: "cds", password: "pw" }),
			{
				hostname: "broker",
				port: 5673,
				vhost: "ci/hooks",
				username: "cds",
				password: "pw",
				tls: false,
			},
		);
		assert.deepEqual(amqpConnectionParts({ uri: "amqps://u:p@broker" }), {
			hostname: "broker",
			port: 5671,
			vhost: "/",
			username: "u",
			password: "p",
			tls: true,
		});
		assert.throws(() => amqpConnectionParts({ uri: "http://broker" }), /amqp/);
	});
});
