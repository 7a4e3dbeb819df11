// The `rabbitmq` scenario of `npm run bench:hooks`: messages per second from a RabbitMQ queue into
// runs through the RabbitMQ hook, and what was lost or run twice. Two hook replicas (processes,
// over NATS and the MongoDB-wire store when NATS_URL and MONGO_URL are set; else one node on the
// embedded store) consume one queue; a publisher (confirms on) sends BENCH_RABBITMQ_MESSAGES
// messages (2000) in two streams: with a `message_id`, then without (the in-flight records of
// src/hooks/amqp-dedup.ts). The run service is a stand-in counting run.create per message: this
// measures the source, the intake and the processor, not the run engine. Needs RABBITMQ_URL
// (test/tools/start-rabbitmq.sh).

import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Connection } from "rabbitmq-client";
import { hostEnv } from "../config/process-env.ts";
import { bindingId } from "../src/hooks/bindings.ts";
import { childMessage } from "./child-message.ts";

const host = hostEnv();

function node(name: string, env: Record<string, string>) {
	const dataDir = mkdtempSync(path.join(tmpdir(), "cds-bench-rabbitmq-"));
	const child = fork(path.join(import.meta.dirname, "../test/fixtures/hooks/bench-rabbitmq-node.ts"), [], {
		env: {
			PATH: host.PATH ?? "",
			HOME: host.HOME ?? "",
			SERVICES: "hook-rabbitmq",
			NODE_ID: `bench-rabbitmq-${name}-${process.pid}`,
			CDS_DATA_DIR: dataDir,
			LOG_LEVEL: "error",
			CDS_OUTBOUND_ALLOW: "127.0.0.1/32",
			CDS_HOOKS_RECONCILE_MS: "200",
			...env,
		},
		stdio: ["ignore", "ignore", "inherit", "ipc"],
	});
	const ask = (type: string) => {
		const reply = childMessage(child, type);
		if (type !== "ready") child.send({ type });
		return reply;
	};
	return {
		ready: ask("ready"),
		ask,
		async stop() {
			const exited = new Promise((r) => child.once("exit", r));
			child.send({ type: "stop" });
			const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
			await exited;
			clearTimeout(timer);
			rmSync(dataDir, { recursive: true, force: true });
		},
	};
}

export async function rabbitmqScenario(): Promise<Record<string, unknown>> {
	if (!host.RABBITMQ_URL) return { scenario: "rabbitmq", skipped: "RABBITMQ_URL is not set" };
	const n = Number(host.BENCH_RABBITMQ_MESSAGES ?? 2000);
	const queue = `cds-bench-${Date.now().toString(36)}`;
	const url = new URL(host.RABBITMQ_URL);
	const base = {
		project: "BENCH",
		workflow: "build",
		node: "build",
		type: "RabbitMQ hook",
		config: { integration: "bus", queue },
		integration: {
			name: "bus",
			model: "RabbitMQ",
			config: {
				uri: `amqp://${url.host}/`,
				username: decodeURIComponent(url.username),
				password: decodeURIComponent(url.password),
			},
		},
	};
	const binding = { id: bindingId(base), ...base };
	const cluster = host.NATS_URL && host.MONGO_URL;
	const shared: Record<string, string> = { BENCH_BINDING: JSON.stringify(binding) };
	if (cluster) {
		const db = `bench_rabbitmq_${Date.now().toString(36)}`;
		const mongo = new URL(host.MONGO_URL!);
		mongo.pathname = `/${db}`;
		Object.assign(shared, {
			NATS_URL: host.NATS_URL!,
			MONGO_URL: mongo.toString(),
			CDS_NAMESPACE: db,
			CDS_SECRET_KEY: randomBytes(32).toString("base64"),
		});
	}
	const nodes = [node("a", { ...shared, BENCH_RUNS: "1" })];
	if (cluster) nodes.push(node("b", shared));
	const conn = new Connection(host.RABBITMQ_URL);
	const pub = conn.createPublisher({ confirm: true, maxAttempts: 3 });
	try {
		for (const x of nodes) await x.ready;
		for (const x of nodes) {
			const deadline = Date.now() + 60_000;
			while (!(await x.ask("listening")).listening) {
				if (Date.now() > deadline) throw new Error("the RabbitMQ hook never listened");
				await new Promise((r) => setTimeout(r, 200));
			}
		}
		const streams = [];
		for (const stream of ["message_id", "unnamed"]) {
			const started = Date.now();
			const sends = [];
			for (let seq = 0; seq < n; seq++) {
				sends.push(
					pub.send(
						{
							routingKey: queue,
							durable: true,
							...(stream === "message_id" ? { messageId: `m-${seq}` } : {}),
						},
						{ stream, seq },
					),
				);
				if (sends.length >= 200) await Promise.all(sends.splice(0));
			}
			await Promise.all(sends);
			const published = Date.now();
			const count = async () => {
				const c = await nodes[0]!.ask("count");
				return (c.seen as string[]).filter((k) => k.startsWith(`${stream}/`)).length;
			};
			const deadline = Date.now() + 300_000;
			let last = -1;
			let stableSince = Date.now();
			for (;;) {
				const got = await count();
				if (got >= n) break;
				if (got !== last) {
					last = got;
					stableSince = Date.now();
				}
				if (Date.now() > deadline || Date.now() - stableSince > 30_000) break;
				await new Promise((r) => setTimeout(r, 100));
			}
			const done = Date.now();
			const runs = await count();
			streams.push({
				stream,
				messages: n,
				publishedPerSecond: Math.round((n / Math.max(1, published - started)) * 1000),
				messagesIntoRunsPerSecond: Math.round((runs / Math.max(1, done - started)) * 1000),
				runs,
				lost: n - runs,
			});
		}
		await new Promise((r) => setTimeout(r, 1000));
		const final = await nodes[0]!.ask("count");
		return {
			scenario: "rabbitmq",
			mode: cluster ? "two hook replicas over NATS + MongoDB-wire store" : "one hook node, embedded store",
			streams,
			duplicateRuns: final.creates - final.runs,
		};
	} finally {
		await pub.close();
		await conn.close();
		for (const x of nodes) await x.stop();
	}
}
