// npm run bench:hooks — accepted webhook deliveries per second on one node and the p99 accept
// latency (request → 202), on the embedded store and (when NATS_URL and MONGO_URL are set)
// over NATS + MongoDB/FerretDB; then checks that every accepted event was processed (one
// run.create each: nothing lost, nothing doubled). Prints one JSON document.
//
//   BENCH_HOOKS=3000 BENCH_CONCURRENCY=32 BENCH_WARMUP=2000 npm run bench:hooks
//
// The node runs in its own process (test/fixtures/hooks/bench-node.ts) with stand-ins for the
// repository, workflow and run services: this measures the
// hook service's accept path (verify, insert, 202) and its processor, not git or the run engine.

import { fork } from "node:child_process";
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import type { RepositoryDoc } from "../schemas/repository.ts";
import { freePort } from "../test/helpers/server.ts";
import { hostEnv } from "../config/process-env.ts";

const host = hostEnv();

const DELIVERIES = Number(host.BENCH_HOOKS ?? 3000);
const CONCURRENCY = Number(host.BENCH_CONCURRENCY ?? 32);
const WARMUP = Number(host.BENCH_WARMUP ?? 2000);
const SECRET = "bench-webhook-secret";

function percentile(sorted: number[], p: number): number {
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

async function scenario(name: string, env: Record<string, string>) {
	const repo: RepositoryDoc = {
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
	const message = (type: string) =>
		new Promise<any>((resolve) => {
			const on = (m: any) => {
				if (m?.type === type) {
					child.off("message", on);
					resolve(m);
				}
			};
			child.on("message", on);
		});
	const count = async () => {
		const reply = message("count");
		child.send({ type: "count" });
		return (await reply) as { runs: number; duplicateRuns: number; cpu: NodeJS.CpuUsage };
	};
	try {
		await message("ready");
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
			const bodies = Array.from({ length: n }, (_, i) =>
				JSON.stringify({
					ref: `refs/heads/${prefix}-${i}`,
					before: "1".repeat(40),
					after: (i + 1).toString(16).padStart(40, "a"),
					head_commit: { message: `commit ${i}`, author: { name: "Bench", email: "bench@example.com" } },
					repository: { full_name: "bench/app" },
				}),
			);
			const latencies: number[] = [];
			let accepted = 0;
			let failed = 0;
			let next = 0;
			await Promise.all(
				Array.from({ length: CONCURRENCY }, async () => {
					while (next < bodies.length) {
						const i = next++;
						const body = bodies[i]!;
						const t0 = performance.now();
						const status = await post(body, {
							"content-type": "application/json",
							"x-github-event": "push",
							"x-github-delivery": `${prefix}-${i}`,
							"x-hub-signature-256": `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`,
						});
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
		const cpuBefore = (await count()).cpu;
		const clientCpuBefore = process.cpuUsage();
		const started = performance.now();
		const { latencies, accepted, failed } = await send("bench", DELIVERIES);
		const acceptSeconds = (performance.now() - started) / 1000;
		const clientCpu = process.cpuUsage(clientCpuBefore);
		const cpuAfter = (await count()).cpu;
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
			processedPerSecond: Math.round((counted.runs - warm.accepted) / processedSeconds),
			warmup: WARMUP,
			runsCreated: counted.runs - warm.accepted,
			lost: accepted - (counted.runs - warm.accepted),
			duplicateRuns: counted.duplicateRuns,
		};
	} finally {
		const exited = new Promise((r) => child.once("exit", r));
		child.send({ type: "stop" });
		const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
		await exited;
		clearTimeout(timer);
		rmSync(dataDir, { recursive: true, force: true });
	}
}

// BENCH_SCENARIOS=embedded,nats-mongo picks scenarios (default: both; nats-mongo needs the URLs).
const picked = (host.BENCH_SCENARIOS ?? "embedded,nats-mongo").split(",");
const results = [];
if (picked.includes("embedded")) results.push(await scenario("embedded", {}));
if (picked.includes("nats-mongo") && host.NATS_URL && host.MONGO_URL) {
	const db = `bench_hooks_${Date.now().toString(36)}`;
	const mongo = new URL(host.MONGO_URL);
	mongo.pathname = `/${db}`;
	results.push(
		await scenario("nats-mongo", {
			NATS_URL: host.NATS_URL,
			MONGO_URL: mongo.toString(),
			CDS_NAMESPACE: db,
			CDS_SECRET_KEY: randomBytes(32).toString("base64"),
		}),
	);
}
process.stdout.write(
	`${JSON.stringify({ bench: "hooks", targets: { embeddedAcceptedPerSecond: 2000, embeddedP99Ms: 50 }, results }, null, 2)}\n`,
);
process.exit(0);
