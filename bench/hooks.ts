// npm run bench:hooks — accepted webhook deliveries per second on one node and the p99 accept
// latency (request → 202), on the embedded store and (when NATS_URL and MONGO_URL are set)
// over NATS + MongoDB/FerretDB; then checks that every accepted event was processed (one
// run.create each: nothing lost, nothing doubled). Prints one JSON document.
//
//   BENCH_HOOKS=3000 BENCH_CONCURRENCY=32 BENCH_WARMUP=2000 npm run bench:hooks
//
// `steady` checks the intake-first rule: a steady flow to an idle node keeps processing concurrent.
//
// The node runs in its own process (test/fixtures/hooks/bench-node.ts) with stand-ins for the
// repository, workflow and run services: this measures the
// hook service's accept path (verify, insert, 202) and its processor, not git or the run engine.

import { fork } from "node:child_process";
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import os, { tmpdir } from "node:os";
import path from "node:path";
import type { RepositoryDoc } from "../schemas/repository.ts";
import { freePort } from "../test/helpers/server.ts";
import { hostEnv } from "../config/process-env.ts";
import { cpuMeter, speedLoopMs, storePids } from "./cpu.ts";
import { kafkaScenario } from "./hooks-kafka.ts";
import { rabbitmqScenario } from "./hooks-rabbitmq.ts";
import { childMessage } from "./child-message.ts";

const host = hostEnv();

const DELIVERIES = Number(host.BENCH_HOOKS ?? 3000);
const CONCURRENCY = Number(host.BENCH_CONCURRENCY ?? 32);
const WARMUP = Number(host.BENCH_WARMUP ?? 2000);
const SECRET = "bench-webhook-secret";

function percentile(sorted: number[], p: number): number {
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

function benchRepository(): RepositoryDoc {
	return {
		id: `bench-${randomUUID()}`,
		project: "BENCH",
		manager: "github",
		managerName: "github",
		url: "https://example.invalid/bench.git",
		repo: "bench/app",
		defaultBranch: "main",
		cdsDir: ".cds",
		webhook: { uuid: randomUUID(), secret: SECRET },
		poll: null,
		application: null,
	};
}

/** Starts the benchmarked node in its own process; `knobs` are the caller's CDS_HOOKS_* settings. */
async function forkNode(name: string, repo: RepositoryDoc, env: Record<string, string>) {
	// CDS_HOOKS_* tuning knobs of the calling shell apply to the benchmarked node.
	const knobs = Object.fromEntries(
		Object.entries(host).filter(
			(e): e is [string, string] => e[0].startsWith("CDS_HOOKS_") && e[1] !== undefined,
		),
	);
	const port = await freePort();
	const dataDir = mkdtempSync(path.join(tmpdir(), "cds-bench-hooks-"));
	const child = fork(path.join(import.meta.dirname, "../test/fixtures/hooks/bench-node.ts"), [], {
		env: {
			PATH: host.PATH ?? "",
			HOME: host.HOME ?? "",
			SERVICES: "auth",
			NODE_ID: `bench-${name}-${process.pid}`,
			CDS_DATA_DIR: dataDir,
			CDS_API_PORT: String(port),
			CDS_API_HOST: "127.0.0.1",
			LOG_LEVEL: "error",
			CDS_ADMIN_TOKEN: `bench-admin-${randomBytes(16).toString("hex")}`,
			BENCH_REPOSITORY: JSON.stringify(repo),
			...(host.BENCH_PROFILE ? { BENCH_PROFILE: host.BENCH_PROFILE } : {}),
			...knobs,
			...env,
		},
		stdio: ["ignore", "ignore", "inherit", "ipc"],
	});
	const message = (type: string) => childMessage(child, type);
	const ask = async (type: string) => {
		const reply = message(type);
		child.send({ type });
		return reply;
	};
	const ready = message("ready");
	return {
		port,
		pid: child.pid!,
		knobs,
		ready,
		count: () => ask("count") as Promise<{ runs: number; duplicateRuns: number; cpu: NodeJS.CpuUsage }>,
		runAt: async () => (await ask("runAt")).runAt as Record<string, number>,
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

/** A signed GitHub push delivery of `branch`. */
function delivery(branch: string, i: number) {
	const body = JSON.stringify({
		ref: `refs/heads/${branch}`,
		before: "1".repeat(40),
		after: (i + 1).toString(16).padStart(40, "a"),
		head_commit: { message: `commit ${i}`, author: { name: "Bench", email: "bench@example.com" } },
		repository: { full_name: "bench/app" },
	});
	const headers = {
		"content-type": "application/json",
		"x-github-event": "push",
		"x-github-delivery": branch,
		"x-hub-signature-256": `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`,
	};
	return { body, headers };
}

async function scenario(name: string, env: Record<string, string>) {
	const repo = benchRepository();
	const node = await forkNode(name, repo, env);
	const { port, knobs, count } = node;
	try {
		await node.ready;
		const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
		const post = (body: string, headers: Record<string, string>) =>
			new Promise<number>((resolve, reject) => {
				const req = http.request(
					`http://127.0.0.1:${port}/api/v1/hooks/repository/${repo.webhook!.uuid}`,
					{ method: "POST", agent, headers },
					(res) => {
						res.resume();
						res.on("end", () => resolve(res.statusCode ?? 0));
					},
				);
				req.on("error", reject);
				req.end(body);
			});
		/** Sends `n` distinct deliveries named `<prefix>-<i>`, CONCURRENCY at a time. */
		const send = async (prefix: string, n: number) => {
			const deliveries = Array.from({ length: n }, (_, i) => delivery(`${prefix}-${i}`, i));
			const latencies: number[] = [];
			let accepted = 0;
			let failed = 0;
			let next = 0;
			await Promise.all(
				Array.from({ length: CONCURRENCY }, async () => {
					while (next < deliveries.length) {
						const { body, headers } = deliveries[next++]!;
						const t0 = performance.now();
						const status = await post(body, headers);
						latencies.push(performance.now() - t0);
						if (status === 202) accepted++;
						else failed++;
					}
				}),
			);
			return { latencies, accepted, failed };
		};
		const waitProcessed = async (expected: number) => {
			const deadline = Date.now() + 120_000;
			let counted = await count();
			while (knobs.CDS_HOOKS_PROCESSOR !== "off" && counted.runs < expected && Date.now() < deadline) {
				await new Promise((r) => setTimeout(r, 100));
				counted = await count();
			}
			return counted;
		};
		// Warm-up, not measured: a node that has served a while runs optimised code (V8 needs a few
		// thousand requests to get there: 300 warm-up deliveries give ~2,100/s, 2,000 give ~2,900/s);
		// the measured burst starts once they are processed.
		const warm = await send("warmup", WARMUP);
		await waitProcessed(warm.accepted);
		const meter = cpuMeter([node.pid], env.MONGO_URL ? storePids(host.BENCH_STORE_PIDS) : []);
		const cpuBefore = (await count()).cpu;
		const clientCpuBefore = process.cpuUsage();
		const started = performance.now();
		const { latencies, accepted, failed } = await send("bench", DELIVERIES);
		const acceptSeconds = (performance.now() - started) / 1000;
		const clientCpu = process.cpuUsage(clientCpuBefore);
		const cpuAfter = (await count()).cpu;
		const cpuPerDelivery = meter(DELIVERIES);
		const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
		agent.destroy();
		const counted = await waitProcessed(warm.accepted + accepted);
		const processedSeconds = (performance.now() - started) / 1000;
		latencies.sort((a, b) => a - b);
		return {
			scenario: name,
			deliveries: DELIVERIES,
			concurrency: CONCURRENCY,
			accepted,
			failed,
			acceptedPerSecond: Math.round(accepted / acceptSeconds),
			acceptLatencyMs: {
				p50: Number(percentile(latencies, 50).toFixed(2)),
				p99: Number(percentile(latencies, 99).toFixed(2)),
				max: Number((latencies.at(-1) ?? 0).toFixed(2)),
			},
			// CPU busy share while accepting (1 = one core): the node, and this load generator.
			nodeCpu: Number(((cpuMs(cpuAfter) - cpuMs(cpuBefore)) / 1000 / acceptSeconds).toFixed(2)),
			clientCpu: Number((cpuMs(clientCpu) / 1000 / acceptSeconds).toFixed(2)),
			// CPU milliseconds per accepted delivery while accepting (the node; the store servers of
			// BENCH_STORE_PIDS), and the rate the machine's CPUs would allow the node and store alone:
			// an estimate for a busy machine, where acceptedPerSecond is what other work left.
			cpuMsPerDelivery: cpuPerDelivery,
			cpuBoundAcceptedPerSecond: Math.round(
				(os.cpus().length * 1000) / (cpuPerDelivery.total ?? cpuPerDelivery.node),
			),
			processedPerSecond: Math.round((counted.runs - warm.accepted) / processedSeconds),
			warmup: WARMUP,
			runsCreated: counted.runs - warm.accepted,
			lost: accepted - (counted.runs - warm.accepted),
			duplicateRuns: counted.duplicateRuns,
		};
	} finally {
		await node.stop();
	}
}

/**
 * The intake-first rule where it matters: deliveries keep coming (25 ms apart) but the node's
 * event loop stays idle and each run waits 100 ms on the run service. Processing must keep its
 * concurrency: 90 % of the runs within 1 s of their delivery (deferred and one at a time they
 * would queue up for seconds). A timing rule, so it lives here and not in the test suites.
 */
async function steady() {
	const repo = benchRepository();
	const node = await forkNode("steady", repo, {
		BENCH_RUN_DELAY_MS: "100",
		CDS_HOOKS_PROCESS_INTERVAL_MS: "500",
	});
	try {
		await node.ready;
		const n = Number(host.BENCH_STEADY ?? 120);
		const acceptedAt = new Map<string, number>();
		let refused = 0;
		for (let i = 0; i < n; i++) {
			const branch = `steady-${i}`;
			const { body, headers } = delivery(branch, i);
			const res = await fetch(`http://127.0.0.1:${node.port}/api/v1/hooks/repository/${repo.webhook!.uuid}`, {
				method: "POST",
				headers,
				body,
			});
			await res.arrayBuffer();
			if (res.status === 202) acceptedAt.set(branch, Date.now());
			else refused++;
			await new Promise((r) => setTimeout(r, 25));
		}
		const deadline = Date.now() + 60_000;
		while ((await node.count()).runs < acceptedAt.size && Date.now() < deadline) {
			await new Promise((r) => setTimeout(r, 100));
		}
		const runAt = await node.runAt();
		const delays = [...acceptedAt]
			.map(([branch, at]) => (runAt[branch] ?? Number.POSITIVE_INFINITY) - at)
			.sort((a, b) => a - b);
		const p90 = percentile(delays, 90);
		return {
			scenario: "steady",
			deliveries: n,
			refused,
			runsCreated: Object.keys(runAt).length,
			deliveryToRunMs: { p50: percentile(delays, 50), p90, max: delays.at(-1) ?? 0 },
			// The rule: processing kept its concurrency under a steady flow to an idle node.
			intakeFirstRule: p90 < 1000 ? "held" : "broken",
		};
	} finally {
		await node.stop();
	}
}

/** The MongoDB-wire server behind MONGO_URL: FerretDB's version (BENCH_STORE_LABEL adds its backend). */
async function storeLabel(url: string): Promise<string> {
	const { MongoClient } = await import("mongodb");
	const client = await MongoClient.connect(url, { serverSelectionTimeoutMS: 5000 });
	try {
		const info = await client.db("admin").command({ buildInfo: 1 });
		const server = info.ferretdbVersion ? `FerretDB ${info.ferretdbVersion}` : `MongoDB ${info.version}`;
		return host.BENCH_STORE_LABEL ? `${server} (${host.BENCH_STORE_LABEL})` : server;
	} finally {
		await client.close();
	}
}

// BENCH_SCENARIOS=embedded,nats-mongo,steady picks scenarios (default: all; nats-mongo needs the URLs).
const picked = (host.BENCH_SCENARIOS ?? "embedded,nats-mongo,steady,kafka").split(",");
const speedBefore = speedLoopMs();
const results = [];
if (picked.includes("embedded"))
	results.push({ mode: "one node, embedded store", store: "embedded", ...(await scenario("embedded", {})) });
if (picked.includes("nats-mongo") && host.NATS_URL && host.MONGO_URL) {
	const db = `bench_hooks_${Date.now().toString(36)}`;
	const mongo = new URL(host.MONGO_URL);
	mongo.pathname = `/${db}`;
	results.push({
		mode: "one node over NATS + MongoDB-wire store",
		store: await storeLabel(host.MONGO_URL),
		...(await scenario("nats-mongo", {
			NATS_URL: host.NATS_URL,
			MONGO_URL: mongo.toString(),
			CDS_NAMESPACE: db,
			CDS_SECRET_KEY: randomBytes(32).toString("base64"),
		})),
	});
}
if (picked.includes("steady")) results.push(await steady());
if (picked.includes("kafka") && host.KAFKA_BROKERS) results.push(await kafkaScenario(host));
if (picked.includes("rabbitmq") || (!host.BENCH_SCENARIOS && host.RABBITMQ_URL))
	results.push(await rabbitmqScenario());
process.stdout.write(
	`${JSON.stringify(
		{
			bench: "hooks",
			targets: { embeddedAcceptedPerSecond: 2000, embeddedP99Ms: 50, clusterAcceptedPerSecond: 1000 },
			// Other work on the machine skews the figures: the load average when the bench ended.
			loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100),
			// The machine's speed before and after (bench/cpu.ts speedLoopMs): figures of other
			// hours compare only at a like speed.
			speedLoopMs: { before: speedBefore, after: speedLoopMs() },
			results,
		},
		null,
		2,
	)}\n`,
);
process.exit(0);
