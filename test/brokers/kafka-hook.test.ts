// The Kafka hook and Kafka event notifications against a real Kafka (KRaft, test/tools/
// start-kafka.sh), with the real services over NATS and FerretDB: the corpus' ITSCWRKFLW18
// imported with its two Kafka integrations, a message produced → a run of its workflow with the
// message as payload, seen in the hook events with its run, and the run's events on the
// notification integration's topic; then two hook replicas share a topic's partitions and one is
// killed -9 mid-stream: every message is one run, none lost, none twice.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { Admin, Consumer, Producer } from "@platformatic/kafka";
import type { Doc } from "../../src/store/types.ts";
import { type NodeProcess, spawnNode } from "../helpers/cluster.ts";
import { corpus, corpusPath } from "../helpers/corpus.ts";
import { ALLOW_LOOPBACK_OUTBOUND, startTestServer, type TestServer } from "../helpers/server.ts";
import { mongoUrlFor, serverUrl, uniqueDbName } from "../helpers/servers.ts";

const mongo = serverUrl("MONGO_URL");
const nats = serverUrl("NATS_URL");
const kafka = serverUrl("KAFKA_BROKERS");
const skip = mongo.skip || nats.skip || kafka.skip || corpus.skip;

const SUFFIX = `${Date.now().toString(36)}${randomBytes(2).toString("hex")}`.toUpperCase();
const PROJECT = `KAFKA${SUFFIX}`;
const EVENTS_TOPIC = `cds-events-${SUFFIX.toLowerCase()}`;
const BULK_TOPIC = `cds-bulk-${SUFFIX.toLowerCase()}`;
const WORKFLOW = "ITSCWRKFLW18-WORKFLOW";

async function waitFor<T>(
	what: string,
	probe: () => Promise<T | false | null | undefined>,
	timeoutMs = 60_000,
) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const v = await probe().catch(() => null);
		if (v) return v;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 200));
	}
}

const integrationFile = (name: string, brokers: string, topic?: string) => ({
	path: `${name}.integration.yml`,
	content: [
		`name: ${name}`,
		"model:",
		"  name: Kafka",
		"config:",
		"  broker url:",
		`    value: ${brokers}`,
		"    type: string",
		...(topic ? ["  topic:", `    value: ${topic}`, "    type: string"] : []),
		"",
	].join("\n"),
});

interface RunDoc extends Doc {
	workflow: string;
	number: number;
	status: string;
	vars: Record<string, string>;
}

describe("the Kafka hook and event notifications on a real Kafka", { skip }, () => {
	const db = uniqueDbName("kafka_hook");
	const brokers = kafka.url ?? "";
	const env: Record<string, string> = {
		...ALLOW_LOOPBACK_OUTBOUND,
		NATS_URL: nats.url ?? "",
		MONGO_URL: mongo.url ? mongoUrlFor(mongo.url, db) : "",
		CDS_NAMESPACE: db,
		CDS_SECRET_KEY: randomBytes(32).toString("base64"),
		CDS_HOOKS_PROCESS_INTERVAL_MS: "100",
		CDS_HOOKS_RETRY_BASE_MS: "100",
		CDS_HOOKS_RETRY_MAX_MS: "500",
		CDS_HOOKS_RECONCILE_MS: "1000",
		CDS_HOOKS_SOURCE_RETRY_BASE_MS: "200",
		CDS_HOOKS_SOURCE_RETRY_MAX_MS: "2000",
		// Short: the event a killed replica had claimed, and its partitions, move soon.
		CDS_HOOKS_LEASE_MS: "5000",
		CDS_HOOKS_KAFKA_SESSION_TIMEOUT_MS: "6000",
	};
	let home: TestServer;
	let hatchery: TestServer | null = null;
	const replicas: NodeProcess[] = [];
	let admin: Admin;
	let producer: Producer<string, string, string, string>;

	const runs = async (workflow: string) => {
		const c = await home.server.store.collection<RunDoc>({ name: "runs" });
		return (await c.find({ project: PROJECT, workflow })) as RunDoc[];
	};
	/** Whether every replica alive listens for the hook of `workflow`. */
	const listening = async (workflow: string) => {
		for (const r of replicas) {
			if (r.child.exitCode !== null || r.child.signalCode !== null) continue;
			const answer = (await home.server.broker.call("hook-kafka.bindings", {}, { nodeID: r.name })) as {
				bindings: Array<{ project: string; workflow: string; state: string; error: string | null }>;
			};
			const b = answer.bindings.find((x) => x.project === PROJECT && x.workflow === workflow);
			if (b?.state !== "listening") return false;
		}
		return true;
	};
	const spawnReplica = (name: string) => {
		const node = spawnNode(name, { ...env, SERVICES: "hook-kafka", LOG_LEVEL: "warn" });
		replicas.push(node);
		return node;
	};

	before(async () => {
		admin = new Admin({ clientId: "cds-test", bootstrapBrokers: [brokers] });
		producer = new Producer({
			clientId: "cds-test",
			bootstrapBrokers: [brokers],
			serializers: {
				key: (s?: string) => (s === undefined ? undefined : Buffer.from(s)),
				value: (s?: string) => (s === undefined ? undefined : Buffer.from(s)),
				headerKey: (s?: string) => (s === undefined ? undefined : Buffer.from(s)),
				headerValue: (s?: string) => (s === undefined ? undefined : Buffer.from(s)),
			},
		});
		const existing = new Set(await admin.listTopics());
		const wanted = [
			{ name: "test.hook", partitions: 1 },
			{ name: EVENTS_TOPIC, partitions: 1 },
			{ name: BULK_TOPIC, partitions: 4 },
		].filter((t) => !existing.has(t.name));
		for (const t of wanted)
			await admin.createTopics({ topics: [t.name], partitions: t.partitions, replicas: 1 });

		home = await startTestServer({
			...env,
			SERVICES: "api,auth,project,workflow,run",
			NODE_ID: `kafka-home-${process.pid}`,
		});
		assert.equal(
			(await home.api("POST", "/api/v1/projects", { key: PROJECT, name: "Kafka hooks" })).status,
			201,
		);
		spawnReplica(`kafka-a-${process.pid}`);
		spawnReplica(`kafka-b-${process.pid}`);
		await home.server.broker.waitForServices(["hook-kafka"], 60_000);
	});

	after(async () => {
		for (const r of replicas) await r.kill9();
		await hatchery?.stop();
		await home?.stop();
		await producer?.close().catch(() => {});
		await admin?.close().catch(() => {});
	});

	test("ITSCWRKFLW18: a JSON message starts its workflow with the message as payload; the run's events reach the notification topic", async () => {
		// The jobs run here: a hatchery beside the services, for this test only.
		hatchery = await startTestServer({
			...env,
			SERVICES: "hatchery",
			NODE_ID: `kafka-hatchery-${process.pid}`,
		});
		const dir = corpusPath("ITSCWRKFLW18");
		const files = readdirSync(dir)
			.filter((f) => f.endsWith(".yml"))
			.map((f) => ({ path: f, content: readFileSync(path.join(dir, f), "utf8") }));
		files.push(integrationFile("myKafkaHookIntegration", brokers));
		files.push(integrationFile("myKafkaIntegration", brokers, EVENTS_TOPIC));
		const imported = await home.api("POST", `/api/v1/projects/${PROJECT}/import`, { files });
		assert.equal(imported.status, 200, JSON.stringify(imported.body));
		assert.deepEqual(imported.body.workflows, [WORKFLOW]);

		// What the notification integration's topic receives, read from its start.
		const events: Array<Record<string, unknown>> = [];
		const reader = new Consumer({
			clientId: "cds-test-events",
			groupId: `cds-test-events-${SUFFIX}`,
			bootstrapBrokers: [brokers],
		});
		const stream = await reader.consume({ topics: [EVENTS_TOPIC], mode: "earliest", autocommit: true });
		stream.on("data", (m) => events.push(JSON.parse(m.value.toString())));
		try {
			await waitFor("both replicas to listen", () => listening(WORKFLOW));
			const input = readFileSync(path.join(dir, "input-kafka.json"), "utf8");
			await producer.send({ messages: [{ topic: "test.hook", key: "k1", value: input }] });

			const [run] = await waitFor("the run", async () => {
				const found = await runs(WORKFLOW);
				return found.length > 0 && found;
			});
			assert.equal(run!.vars["fookafka"], "barkafka");
			assert.equal(run!.vars["cds.hook.type"], "Kafka hook");
			assert.equal(run!.vars["cds.hook.kafka.topic"], "test.hook");
			assert.equal(run!.vars["cds.hook.kafka.key"], "k1");

			// The delivery, in the hook events, with the run it started.
			const listed = await waitFor("the hook event with its run", async () => {
				const r = await home.api("GET", `/api/v1/projects/${PROJECT}/hooks/events`);
				const e = (r.body.items ?? r.body).find(
					(x: { source: string; runs?: unknown[] }) => x.source === "kafka" && (x.runs?.length ?? 0) > 0,
				);
				return e;
			});
			assert.deepEqual(listed.runs, [{ workflow: WORKFLOW, number: run!.number }]);
			assert.equal(listed.origin.topic, "test.hook");
			assert.equal(listed.state, "done");

			// The run ends, and its events are on the topic: it started, its job ended, it ended.
			const ended = await waitFor(
				"the run to end",
				async () => {
					const [r] = await runs(WORKFLOW);
					return r && !["Waiting", "Building"].includes(r.status) && r;
				},
				120_000,
			);
			assert.equal(ended.status, "Success");
			// The run's end and its job's end are two events, published as each is stored.
			await waitFor(
				"the run's end and its job's end on the notification topic",
				async () =>
					events.some((e) => e["type_event"] === "sdk.EventRunWorkflow" && e["status"] === "Success") &&
					events.some((e) => e["type_event"] === "sdk.EventRunWorkflowJob"),
			);
			const mine = events.filter((e) => e["project_key"] === PROJECT && e["workflow_name"] === WORKFLOW);
			const statuses = mine.filter((e) => e["type_event"] === "sdk.EventRunWorkflow").map((e) => e["status"]);
			assert.ok(statuses.includes("Building"), JSON.stringify(statuses));
			assert.equal(statuses.at(-1), "Success");
			assert.equal(new Set(statuses).size, statuses.length, "each status once");
			const job = mine.find((e) => e["type_event"] === "sdk.EventRunWorkflowJob");
			assert.equal(job?.["workflow_node_name"], "pipeline");
			assert.equal(job?.["status"], "Success");
			assert.ok(mine.every((e) => e["workflow_run_num"] === run!.number));
		} finally {
			await stream.close().catch(() => {});
			await reader.close(true).catch(() => {});
			await hatchery.stop();
			hatchery = null;
		}
	});

	test("two replicas share a topic's partitions; one killed -9 mid-stream: every message is one run", async () => {
		const N = 50;
		const workflow = [
			"name: KAFKA-BULK",
			"version: v2.0",
			"workflow:",
			"  pipeline:",
			"    pipeline: ITSCWRKFLW18-PIPELINE",
			"hooks:",
			"  pipeline:",
			"    - type: Kafka hook",
			"      config:",
			"        integration: myKafkaHookIntegration",
			`        topic: ${BULK_TOPIC}`,
			"        from: earliest",
			"",
		].join("\n");
		const imported = await home.api("POST", `/api/v1/projects/${PROJECT}/import`, {
			files: [{ path: "kafka-bulk.yml", content: workflow }],
		});
		assert.equal(imported.status, 200, JSON.stringify(imported.body));
		await waitFor("both replicas to listen", () => listening("KAFKA-BULK"));
		const send = (from: number, to: number) =>
			producer.send({
				messages: Array.from({ length: to - from }, (_, k) => ({
					topic: BULK_TOPIC,
					key: `m${from + k}`,
					value: JSON.stringify({ i: from + k }),
				})),
			});
		await send(0, N / 2);
		// Mid-stream: some runs started, the killed replica has some partitions in hand.
		await waitFor("the first runs", async () => (await runs("KAFKA-BULK")).length >= 5);
		await replicas[0]!.kill9();
		await send(N / 2, N);
		await waitFor("a run per message", async () => (await runs("KAFKA-BULK")).length >= N, 120_000);
		// Anything read twice after the kill would show up now.
		await new Promise((r) => setTimeout(r, 2000));
		const all = await runs("KAFKA-BULK");
		const seen = all.map((r) => Number(r.vars["i"])).sort((a, b) => a - b);
		assert.deepEqual(
			seen,
			Array.from({ length: N }, (_, i) => i),
			"each message one run: none lost, none twice",
		);
	});
});
