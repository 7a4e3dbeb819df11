// The `kafka` scenario of `npm run bench:hooks`: messages per second from a Kafka topic into
// runs through the Kafka hook source (KAFKA_BROKERS: test/tools/start-kafka.sh), on one node
// hosting `hook-kafka` and the processor, with stand-ins for the workflow, project and run
// services (test/fixtures/hooks/bench-kafka-node.ts). Over NATS + the MongoDB-wire store when
// NATS_URL and MONGO_URL are set, else on the embedded store. BENCH_KAFKA messages (2000), each
// `{"i": n}`, produced to a fresh 4-partition topic once the hook listens; counted: runs, lost
// (messages without a run), duplicate runs.

import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Admin, Producer } from "@platformatic/kafka";
import { bindingId } from "../src/hooks/bindings.ts";
import { childMessage } from "./child-message.ts";

type Env = Record<string, string | undefined>;

export async function kafkaScenario(host: Env) {
	const brokers = host.KAFKA_BROKERS!;
	const n = Number(host.BENCH_KAFKA ?? 2000);
	const suffix = `${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
	const topic = `bench-kafka-${suffix}`;
	const admin = new Admin({ clientId: "cds-bench", bootstrapBrokers: [brokers] });
	await admin.createTopics({ topics: [topic], partitions: 4, replicas: 1 });
	await admin.close();
	const base = {
		project: "BENCH",
		workflow: "kafka",
		node: "build",
		type: "Kafka hook",
		config: { integration: "bench", topic, from: "earliest" },
		integration: { name: "bench", model: "Kafka", config: { "broker url": brokers } },
	};
	const binding = { id: bindingId(base), ...base };
	const cluster = host.NATS_URL && host.MONGO_URL;
	const db = `bench_kafka_${suffix}`;
	const mongo = cluster ? new URL(host.MONGO_URL!) : null;
	if (mongo) mongo.pathname = `/${db}`;
	const dataDir = mkdtempSync(path.join(tmpdir(), "cds-bench-kafka-"));
	const knobs = Object.fromEntries(
		Object.entries(host).filter(
			(e): e is [string, string] => e[0].startsWith("CDS_HOOKS_") && e[1] !== undefined,
		),
	);
	const child = fork(path.join(import.meta.dirname, "../test/fixtures/hooks/bench-kafka-node.ts"), [], {
		env: {
			PATH: host.PATH ?? "",
			HOME: host.HOME ?? "",
			SERVICES: "hook-kafka",
			NODE_ID: `bench-kafka-${process.pid}`,
			CDS_DATA_DIR: dataDir,
			LOG_LEVEL: "error",
			CDS_OUTBOUND_ALLOW: "127.0.0.1/32,::1/128",
			CDS_HOOKS_RECONCILE_MS: "1000",
			BENCH_KAFKA_BINDING: JSON.stringify(binding),
			...(cluster
				? {
						NATS_URL: host.NATS_URL!,
						MONGO_URL: mongo!.toString(),
						CDS_NAMESPACE: db,
						CDS_SECRET_KEY: randomBytes(32).toString("base64"),
					}
				: {}),
			...knobs,
		},
		stdio: ["ignore", "ignore", "inherit", "ipc"],
	});
	const ask = <T>(type: string) => {
		const reply = childMessage<T>(child, type);
		if (type !== "ready") child.send({ type });
		return reply;
	};
	const producer = new Producer({ clientId: "cds-bench", bootstrapBrokers: [brokers] });
	try {
		await ask("ready");
		const deadline = Date.now() + 60_000;
		for (;;) {
			const { bindings } = await ask<{ bindings: Array<{ state: string; error: string | null }> }>(
				"bindings",
			);
			if (bindings[0]?.state === "listening") break;
			if (Date.now() > deadline)
				throw new Error(`the Kafka hook never listened: ${JSON.stringify(bindings)}`);
			await new Promise((r) => setTimeout(r, 200));
		}
		const started = performance.now();
		for (let i = 0; i < n; i += 500) {
			await producer.send({
				messages: Array.from({ length: Math.min(500, n - i) }, (_, k) => ({
					topic,
					key: Buffer.from(`m${i + k}`),
					value: Buffer.from(JSON.stringify({ i: i + k })),
				})),
			});
		}
		const producedSeconds = (performance.now() - started) / 1000;
		let counted = await ask<{ runs: number; duplicateRuns: number }>("count");
		const until = Date.now() + 180_000;
		while (counted.runs < n && Date.now() < until) {
			await new Promise((r) => setTimeout(r, 100));
			counted = await ask<{ runs: number; duplicateRuns: number }>("count");
		}
		const seconds = (performance.now() - started) / 1000;
		return {
			scenario: "kafka",
			mode: cluster
				? "one hook-kafka node over NATS + MongoDB-wire store"
				: "one hook-kafka node, embedded store",
			messages: n,
			partitions: 4,
			inFlight: Number(knobs.CDS_HOOKS_KAFKA_IN_FLIGHT ?? 16),
			producedPerSecond: Math.round(n / producedSeconds),
			messagesIntoRunsPerSecond: Math.round(counted.runs / seconds),
			runsCreated: counted.runs,
			lost: n - counted.runs,
			duplicateRuns: counted.duplicateRuns,
		};
	} finally {
		await producer.close().catch(() => {});
		const exited = new Promise((r) => child.once("exit", r));
		child.send({ type: "stop" });
		const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
		await exited;
		clearTimeout(timer);
		rmSync(dataDir, { recursive: true, force: true });
	}
}
