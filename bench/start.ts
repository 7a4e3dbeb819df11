// npm run bench:start — how long a node takes to start, and the CPU it spends doing so: a default
// node (every service, embedded store in a fresh temporary directory, `npm start`'s
// bin/cds-server.mjs), N times one after the other, from spawn until /health/ready answers 200.
// Beside it, the same node started as `node server.ts` (no module cache), to show what the
// launcher's cache saves. CPU is the process tree's (utime + stime from /proc), which a shared
// machine's load stretches far less than the wall time. Prints one JSON document.
//
//   BENCH_RUNS=10 npm run bench:start      (starts of each, default 10; one warm-up not counted)
//   BENCH_ENTRIES=server.ts npm run bench:start   (only these entries, comma separated)

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { hostEnv } from "../config/process-env.ts";
import { freePort } from "../test/helpers/server.ts";
import { treeCpuMs } from "./cpu.ts";

const host = hostEnv();
const RUNS = Number(host.BENCH_RUNS ?? 10);
const ROOT = path.resolve(import.meta.dirname, "..");

interface Sample {
	ms: number;
	cpuMs: number;
}

async function startOnce(entry: string): Promise<Sample> {
	const dataDir = mkdtempSync(path.join(tmpdir(), "cds-bench-start-"));
	const port = await freePort();
	const started = performance.now();
	const child = spawn(process.execPath, [path.join(ROOT, entry)], {
		env: {
			PATH: host.PATH ?? "/usr/bin:/bin",
			HOME: dataDir,
			CDS_DATA_DIR: dataDir,
			CDS_API_HOST: "127.0.0.1",
			CDS_API_PORT: String(port),
			CDS_ADMIN_TOKEN: "bench-start-".padEnd(40, "x"),
			LOG_LEVEL: "error",
		},
		stdio: "ignore",
	});
	try {
		const deadline = Date.now() + 60_000;
		for (;;) {
			if (child.exitCode !== null) throw new Error(`${entry} exited with ${child.exitCode}`);
			const ready = await fetch(`http://127.0.0.1:${port}/health/ready`).then(
				(r) => r.status === 200,
				() => false,
			);
			if (ready) break;
			if (Date.now() > deadline) throw new Error(`${entry} not ready within 60 s`);
			await new Promise((r) => setTimeout(r, 10));
		}
		return { ms: performance.now() - started, cpuMs: treeCpuMs([child.pid!]) };
	} finally {
		child.kill("SIGKILL");
		await new Promise((r) => (child.exitCode !== null || child.signalCode ? r(null) : child.once("exit", r)));
		rmSync(dataDir, { recursive: true, force: true });
	}
}

function summary(xs: number[]) {
	const sorted = [...xs].sort((a, b) => a - b);
	const mid = sorted.length / 2;
	const median = sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
	return { medianMs: Math.round(median), minMs: Math.round(sorted[0]!), maxMs: Math.round(sorted.at(-1)!) };
}

async function measure(entry: string) {
	await startOnce(entry); // warm-up: module caches filled, not counted
	const samples: Sample[] = [];
	for (let i = 0; i < RUNS; i++) samples.push(await startOnce(entry));
	const wall = summary(samples.map((s) => s.ms));
	const cpu = summary(samples.map((s) => s.cpuMs));
	return { entry, runs: RUNS, ...wall, cpuMedianMs: cpu.medianMs, cpuMinMs: cpu.minMs, cpuMaxMs: cpu.maxMs };
}

const entries = (host.BENCH_ENTRIES ?? "bin/cds-server.mjs,server.ts").split(",").filter(Boolean);
const results = [];
for (const entry of entries) results.push(await measure(entry));
console.log(
	JSON.stringify(
		{
			bench: "start",
			node: process.version,
			cpus: cpus().length,
			what: "a default node (every service, embedded store) from spawn to /health/ready 200",
			results,
			loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
		},
		null,
		2,
	),
);
