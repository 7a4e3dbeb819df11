// The RabbitMQ hook against a real RabbitMQ (test/tools/start-rabbitmq.sh), with hook replicas as
// processes over real NATS and FerretDB: the workflow runs with the message's JSON as its payload,
// the event is listed with its run; two replicas share the queue and one is killed -9 mid-stream
// (no message lost, no duplicate run); a publisher's message_id de-duplicates; two identical
// messages without one both run.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Connection, type Publisher } from "rabbitmq-client";
import {
	type HookBrokerCluster,
	hookEvents,
	projectWithRabbit,
	startHookBrokerCluster,
	waitFor,
} from "../helpers/hook-broker-cluster.ts";
import { serverUrl } from "../helpers/servers.ts";
import type { BindingListener, ListenContext } from "../../src/hooks/binding-source.ts";
import type { BindingDelivery, HookBinding } from "../../src/hooks/bindings.ts";
import type { SourceState } from "../../src/hooks/source.ts";
import { RabbitMQSource } from "../../src/hooks/sources/rabbitmq.ts";
import { checkOutbound, parseOutboundAllow } from "../../src/net/outbound-policy.ts";

const mongo = serverUrl("MONGO_URL");
const nats = serverUrl("NATS_URL");
const rabbit = serverUrl("RABBITMQ_URL");
const skip = mongo.skip || nats.skip || rabbit.skip;

const KEY = `RMQ${Date.now().toString(36).toUpperCase()}`;
const QUEUE = `cds-test-${KEY.toLowerCase()}`;
const EXCHANGE = `cds-test-x-${KEY.toLowerCase()}`;

const WORKFLOW = `name: deploy
version: v2.0
workflow:
  deploy:
    pipeline: build
hooks:
  deploy:
  - type: RabbitMQ hook
    config:
      integration: bus
      queue: ${QUEUE}
      exchange_name: ${EXCHANGE}
      exchange_type: topic
      binding_key: deploy.#
      consumer_tag: cds-${KEY.toLowerCase()}
`;

describe("RabbitMQ hook on a real RabbitMQ, replicas over NATS and FerretDB", { skip }, () => {
	let cluster: HookBrokerCluster;
	let conn: Connection;
	let pub: Publisher;
	const send = (body: unknown, messageId?: string) =>
		pub.send(
			{ exchange: EXCHANGE, routingKey: "deploy.prod", durable: true, ...(messageId ? { messageId } : {}) },
			body,
		);
	const runs = () => cluster.runs(KEY, "deploy");

	before(async () => {
		cluster = await startHookBrokerCluster("rmq", nats.url!, mongo.url!);
		await projectWithRabbit(cluster.home, KEY, rabbit.url!, [{ path: "deploy.yml", content: WORKFLOW }]);
		conn = new Connection(rabbit.url!);
		pub = conn.createPublisher({ confirm: true });
	});
	after(async () => {
		await pub?.close();
		await conn?.close();
		await cluster?.stop();
	});

	test("a message starts the workflow with its JSON as payload; the event is listed with its run", async () => {
		const a = cluster.spawnReplica("a", "hook-rabbitmq");
		await cluster.waitListening("hook-rabbitmq", a);
		await send({ app: "api", version: "1.2.3" });
		await waitFor("the run", async () => (await runs()).length === 1, 60_000);
		const [run] = await runs();
		assert.equal(run!.vars.app, "api");
		assert.equal(run!.vars.version, "1.2.3");
		assert.equal(run!.vars["cds.hook.type"], "RabbitMQ hook");
		assert.equal(run!.vars["cds.hook.rabbitmq.queue"], QUEUE);
		assert.equal(run!.vars["cds.hook.rabbitmq.routing_key"], "deploy.prod");
		await waitFor("the event to be listed with its run", async () => {
			const events = await hookEvents(cluster.home, KEY);
			return events.some((e) => e.source === "rabbitmq" && e.runs.includes(run!.number));
		});
		const [event] = (await hookEvents(cluster.home, KEY)).filter((e) => e.source === "rabbitmq");
		assert.equal(event!.origin.queue, QUEUE);
		assert.equal(event!.state, "done");
	});

	test("two identical messages without message_id both run; a message_id sent twice runs once", async () => {
		const before = (await runs()).length;
		await send({ app: "twin" });
		await send({ app: "twin" });
		await send({ app: "named" }, `named-${KEY}`);
		await send({ app: "named" }, `named-${KEY}`);
		await waitFor("three runs", async () => (await runs()).length >= before + 3, 60_000);
		await new Promise((r) => setTimeout(r, 2000));
		const all = await runs();
		assert.equal(all.filter((r) => r.vars.app === "twin").length, 2);
		assert.equal(all.filter((r) => r.vars.app === "named").length, 1);
		assert.equal(all.length, before + 3);
	});

	test("two replicas, one killed -9 mid-stream of 150 messages: 150 runs, none lost, none twice", async () => {
		const b = cluster.spawnReplica("b", "hook-rabbitmq");
		await cluster.waitListening("hook-rabbitmq", b);
		const a = cluster.replicas[0]!;
		const before = (await runs()).length;
		const N = 150;
		// Unnamed messages: the redelivered ones the killed replica held must not run twice.
		for (let i = 0; i < N; i++) await send({ app: "stream", seq: i });
		await waitFor("a third of the runs", async () => (await runs()).length >= before + N / 3, 120_000);
		await a.kill9();
		await waitFor("every run", async () => (await runs()).length >= before + N, 180_000);
		// Whatever was still to come (a duplicate) has had time to show.
		await new Promise((r) => setTimeout(r, 3000));
		const stream = (await runs()).filter((r) => r.vars.app === "stream");
		const seqs = new Set(stream.map((r) => r.vars.seq));
		const events = (await hookEvents(cluster.home, KEY)).filter((e) => e.source === "rabbitmq");
		const twice = stream.filter((r, i) => stream.findIndex((o) => o.vars.seq === r.vars.seq) !== i);
		const why = `${events.length} rabbitmq events in all; runs of the same message: ${JSON.stringify(
			twice.map((r) => ({
				seq: r.vars.seq,
				number: r.number,
				events: events
					.filter((e) => e.runs.includes(r.number))
					.map((e) => ({ id: e.id, runs: e.runs, origin: e.origin })),
			})),
		)}`;
		assert.equal(seqs.size, N, `no message lost; ${why}`);
		assert.equal(stream.length, N, `no duplicate run; ${why}`);
		const redelivered = events.filter((e) => e.origin.redelivered === "true").length;
		process.stderr.write(`rabbitmq kill -9: ${N} runs, ${redelivered} events stored from a redelivery\n`);
	});

	test("the queue deleted under the consumer: the listener starts again (backoff), declares it, runs what comes", async () => {
		const ch = await conn.acquire();
		await ch.queueDelete({ queue: QUEUE });
		await ch.close();
		// Until the queue is declared and bound again, what is published is dropped: send the same
		// named message until it runs (its message_id keeps it to one run).
		const deadline = Date.now() + 60_000;
		while (!(await runs()).some((r) => r.vars.app === "reconnected")) {
			if (Date.now() > deadline) throw new Error("no run after the queue was deleted");
			await send({ app: "reconnected" }, `reconnected-${KEY}`);
			await new Promise((r) => setTimeout(r, 500));
		}
		await new Promise((r) => setTimeout(r, 1500));
		assert.equal((await runs()).filter((r) => r.vars.app === "reconnected").length, 1);
	});
});

describe("RabbitMQ hook: a redelivery after its consumer died between the durable accept and the ack", {
	skip: rabbit.skip,
}, () => {
	test("the redelivered message (flagged by the real broker) takes its first delivery's key: one event", async () => {
		const queue = `cds-test-redelivery-${Date.now().toString(36)}`;
		const url = new URL(rabbit.url!);
		const binding: HookBinding = {
			id: "b",
			project: "P",
			workflow: "w",
			node: "n",
			type: "RabbitMQ hook",
			config: { integration: "bus", queue },
			integration: {
				name: "bus",
				model: "RabbitMQ",
				config: {
					uri: `amqp://${url.host}/`,
					username: url.username,
					password: decodeURIComponent(url.password),
				},
			},
		};
		// The store: a key is stored once. The first emit stores, then never answers — its consumer
		// dies before it could ack, as a replica killed right after the durable accept.
		const stored = new Map<string, BindingDelivery>();
		const emits: Array<{ key: string; redelivered: string }> = [];
		let hangNext = true;
		let firstStored!: () => void;
		const storedOnce = new Promise<void>((r) => {
			firstStored = r;
		});
		const docs = new Map<string, unknown>();
		const state: SourceState = {
			get: async <T>(k: string) => (docs.get(k) ?? null) as T | null,
			set: async (k, v) => void docs.set(k, structuredClone(v)),
			delete: async (k) => void docs.delete(k),
		};
		const context = (): ListenContext => ({
			binding,
			signal: new AbortController().signal,
			logger: { debug() {}, info() {}, warn() {}, error() {} },
			state,
			now: () => Date.now(),
			outbound: (target) => checkOutbound(target, { allow: parseOutboundAllow(["127.0.0.1/32"]) }),
			fail() {},
			ok() {},
			async emit(d, key) {
				emits.push({ key, redelivered: d.origin?.redelivered ?? "" });
				const outcome = stored.has(key) ? "duplicate" : "stored";
				stored.set(key, d);
				if (hangNext) {
					hangNext = false;
					firstStored();
					return new Promise(() => {});
				}
				return outcome;
			},
		});
		const source = new RabbitMQSource({ outbound: { allow: parseOutboundAllow(["127.0.0.1/32"]) } });
		const listen = (ctx: ListenContext) =>
			(source as unknown as { listen(c: ListenContext): Promise<BindingListener> }).listen(ctx);
		const conn = new Connection(rabbit.url!);
		const pub = conn.createPublisher({ confirm: true });
		try {
			const first = await listen(context());
			await pub.send({ routingKey: queue, durable: true }, { app: "once" });
			await storedOnce;
			await first.stop(); // dies unacknowledged: the broker requeues the message
			const second = await listen(context());
			await waitFor("the redelivery", () => emits.length === 2, 30_000);
			assert.equal(emits[1]!.redelivered, "true", "the broker flagged it redelivered");
			assert.equal(emits[1]!.key, emits[0]!.key, "it took the first delivery's key");
			assert.equal(stored.size, 1, "one event");
			// Acked this time: nothing comes again, and an identical new message is a new event.
			await pub.send({ routingKey: queue, durable: true }, { app: "once" });
			await waitFor("the identical message", () => emits.length === 3, 30_000);
			assert.equal(emits[2]!.redelivered, "false");
			assert.equal(stored.size, 2);
			await new Promise((r) => setTimeout(r, 500));
			assert.equal(emits.length, 3);
			await second.stop();
		} finally {
			await pub.close();
			await conn.close();
		}
	});
});
