// The pure parts of the Kafka hook and of the Kafka event notifications: the integration's
// brokers, the consumer group, what a record becomes, which offsets may be committed, and which
// run events go where.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
	consumerGroupOf,
	InFlightOffsets,
	kafkaConnection,
	recordDelivery,
} from "../../src/hooks/kafka-connection.ts";
import { bindingEvent, type HookBinding } from "../../src/hooks/bindings.ts";
import { EventNotifier } from "../../src/notifications/event-notifier.ts";
import {
	eventTargets,
	runEventMessage,
	StatusChanges,
	targetsFor,
} from "../../src/notifications/run-events.ts";
import type { WorkflowNotification } from "../../src/workflow/model.ts";

const kafka = (config: Record<string, string>) => ({ name: "k", config });

describe("Kafka integration", () => {
	test("brokers from 'broker url', comma-separated, a scheme tolerated; SASL PLAIN only with a username", () => {
		assert.deepEqual(kafkaConnection(kafka({ "broker url": "kafka:9092" })), {
			brokers: ["kafka:9092"],
			sasl: null,
		});
		assert.deepEqual(
			kafkaConnection(
				kafka({ "broker url": " kafka://a:9092, b:9093/ ,[::1]:9094", username: "u", password: "p" }),
			),
			{
				brokers: ["a:9092", "b:9093", "[::1]:9094"],
				sasl: { mechanism: "PLAIN", username: "u", password: "p" },
			},
		);
	});

	test("a missing or malformed broker is refused naming the integration", () => {
		assert.throws(() => kafkaConnection(kafka({})), /integration 'k' has no 'broker url'/);
		assert.throws(() => kafkaConnection(kafka({ "broker url": "kafka" })), /'kafka' is not host:port/);
		assert.throws(() => kafkaConnection(kafka({ "broker url": "a:0" })), /not host:port/);
		assert.throws(() => kafkaConnection(null), /names no Kafka integration/);
	});
});

describe("Kafka hook", () => {
	const binding: HookBinding = {
		id: "b1",
		project: "P",
		workflow: "W",
		node: "n",
		type: "Kafka hook",
		config: { integration: "k", topic: "t" },
		integration: { name: "k", model: "Kafka", config: { "broker url": "h:1" } },
	};

	test("the consumer group: the configured one, else one per place that survives a config edit", () => {
		assert.equal(consumerGroupOf({ ...binding, config: { ...binding.config, consumer_group: " g " } }), "g");
		const derived = consumerGroupOf(binding);
		assert.match(derived, /^cds-P-W-[0-9a-f]{16}$/);
		assert.equal(consumerGroupOf({ ...binding, config: { topic: "other", from: "earliest" } }), derived);
		assert.notEqual(consumerGroupOf({ ...binding, node: "m" }), derived);
	});

	test("a record: JSON value as payload, where it came from in vars and origin, keyed by group and offset", () => {
		const { delivery, dedupKey } = recordDelivery(
			{
				topic: "test.hook",
				partition: 2,
				offset: 41n,
				key: Buffer.from("k1"),
				value: Buffer.from('{"fookafka":"barkafka"}'),
				headers: [
					[Buffer.from("trace-id"), Buffer.from("abc")],
					[Buffer.from("bad name!"), Buffer.from("x")],
				],
				timestamp: 1700000000000n,
			},
			"g",
		);
		assert.equal(dedupKey, "g:test.hook/2/41");
		assert.deepEqual(delivery.payload, { fookafka: "barkafka" });
		assert.deepEqual(delivery.origin, {
			topic: "test.hook",
			partition: "2",
			offset: "41",
			group: "g",
			key: "k1",
		});
		const event = bindingEvent(binding, "kafka", delivery);
		const intent = event.intents[0] as { workflow: string; vars: Record<string, string>; payload: unknown };
		assert.equal(intent.workflow, "W");
		assert.deepEqual(intent.payload, { fookafka: "barkafka" });
		assert.equal(intent.vars["cds.hook.kafka.topic"], "test.hook");
		assert.equal(intent.vars["cds.hook.kafka.offset"], "41");
		assert.equal(intent.vars["cds.hook.kafka.key"], "k1");
		assert.equal(intent.vars["cds.hook.kafka.header.trace-id"], "abc");
		assert.equal(
			Object.keys(intent.vars).some((k) => k.includes("bad")),
			false,
		);
	});

	test("a value that is not JSON is kept as text; no key, no key var", () => {
		const { delivery } = recordDelivery(
			{ topic: "t", partition: 0, offset: 0n, key: null, value: Buffer.from("plain"), headers: [] },
			"g",
		);
		assert.deepEqual(delivery.payload, { message: "plain" });
		assert.equal(delivery.vars?.["kafka.key"], undefined);
	});

	test("offsets: committed only through the durable prefix of each partition", () => {
		const f = new InFlightOffsets<string>();
		f.start("t", 0, 10n, "a");
		f.start("t", 0, 11n, "b");
		f.start("t", 0, 12n, "c");
		f.start("t", 1, 5n, "x");
		assert.equal(f.size, 4);
		// 11 is stored before 10: nothing may be committed yet on partition 0.
		assert.equal(f.done("t", 0, 11n), null);
		assert.deepEqual(f.done("t", 1, 5n), { offset: 5n, value: "x" });
		// 10 stored: 10 and 11 are durable, commit through 11.
		assert.deepEqual(f.done("t", 0, 10n), { offset: 11n, value: "b" });
		assert.equal(f.size, 1);
		// An offset never started, or done twice, commits nothing.
		assert.equal(f.done("t", 0, 99n), null);
		assert.equal(f.done("t", 0, 11n), null);
		assert.deepEqual(f.done("t", 0, 12n), { offset: 12n, value: "c" });
		assert.equal(f.size, 0);
	});
});

describe("event notifications", () => {
	const notifications: WorkflowNotification[] = [
		{ type: "event", nodes: [], integration: "all", settings: {} },
		{ type: "event", nodes: ["deploy"], integration: "deploys", settings: {} },
		{ type: "email", nodes: [], integration: undefined, settings: {} },
		{ type: "event", nodes: [], integration: undefined, settings: {} },
	];

	test("only `event` notifications naming an integration; a job's only where its node is listed", () => {
		const targets = eventTargets(notifications);
		assert.deepEqual(
			targets.map((t) => t.integration),
			["all", "deploys"],
		);
		assert.deepEqual(
			targetsFor(targets, null).map((t) => t.integration),
			["all", "deploys"],
		);
		assert.deepEqual(
			targetsFor(targets, "build").map((t) => t.integration),
			["all"],
		);
		assert.deepEqual(
			targetsFor(targets, "deploy").map((t) => t.integration),
			["all", "deploys"],
		);
	});

	test("a run's status change as CDS's EventRunWorkflow, keyed by run", () => {
		const m = runEventMessage(
			{
				runId: "r1",
				project: "P",
				workflow: "W",
				number: 3,
				status: "Success",
				branch: "main",
				commit: null,
			},
			Date.UTC(2026, 0, 1),
		);
		assert.equal(m.key, "r1");
		assert.equal(m.value["type_event"], "sdk.EventRunWorkflow");
		assert.equal(m.value["workflow_run_num"], 3);
		assert.equal(m.value["status"], "Success");
		assert.equal(m.value["timestamp"], "2026-01-01T00:00:00.000Z");
	});

	test("a status is published once per run, whatever the number of saves", () => {
		const s = new StatusChanges(2);
		assert.equal(s.changed("r1", "Building"), true);
		assert.equal(s.changed("r1", "Building"), false);
		assert.equal(s.changed("r1", "Success"), true);
		assert.equal(s.changed("r2", "Building"), true);
		assert.equal(s.changed("r3", "Building"), true);
		// r1 was forgotten (the oldest of more than 2).
		assert.equal(s.changed("r1", "Success"), true);
	});

	test("the notifier: definitions read once per version, failures logged, other targets still served", async () => {
		const published: Array<[string, string]> = [];
		const warnings: string[] = [];
		let reads = 0;
		const notifier = new EventNotifier({
			async notifications() {
				reads++;
				return notifications;
			},
			async integration(_p, name) {
				if (name === "deploys") throw new Error("not found");
				return { name, model: "Kafka", config: { "broker url": "h:1", topic: "t" } };
			},
			async publish(integration, messages) {
				for (const m of messages) published.push([integration.name, String(m.value["status"])]);
			},
			// Another replica took the Success of run "r2" already.
			once: async (key) => key !== "r2:0:Success",
			warn: (m) => warnings.push(m),
			now: () => 0,
		});
		const run = { runId: "r", project: "P", workflow: "W", number: 1, branch: "main", definitionVersion: 2 };
		assert.equal(await notifier.runUpdated({ ...run, status: "Building" }), 1);
		assert.equal(await notifier.runUpdated({ ...run, status: "Building" }), 0);
		assert.equal(
			await notifier.jobUpdated({
				jobId: "j",
				runId: "r",
				status: "Success",
				project: "P",
				workflow: "W",
				runNumber: 1,
				node: "deploy",
			}),
			1,
		);
		assert.equal(await notifier.runUpdated({ ...run, status: "Success" }), 1);
		assert.equal(await notifier.runUpdated({ ...run, runId: "r2", status: "Success" }), 0);
		assert.equal(reads, 1);
		assert.deepEqual(published, [
			["all", "Building"],
			["all", "Success"],
			["all", "Success"],
		]);
		// The integration that cannot be opened is tried again at each event (it may be added).
		assert.equal(warnings.length, 3);
		for (const w of warnings) assert.match(w, /integration 'deploys': not found/);
	});
});
