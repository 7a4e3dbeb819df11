// npm run bench:local-run — wall time of `cds run` on a one-step pipeline, from the command's
// start to its exit: the real CLI process (node bin/cds.mjs run, what `npx cds run` starts) in a temporary git working
// tree, N times one after the other, with each phase's median (CDS_RUN_TIMINGS=1). Beside it, `cds version` in the same way: the floor any
// command pays (Node start-up and the CLI's own modules). Prints one JSON document.
//
//   BENCH_RUNS=10 npm run bench:local-run      (runs of each, default 10)
//
// The reference is `woodpecker-cli exec --backend-engine local` on the same pipeline,
// about 24 ms median on these machines.

import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { hostEnv } from "../config/process-env.ts";

const host = hostEnv();
const RUNS = Number(host.BENCH_RUNS ?? 10);
const CDS = path.resolve(import.meta.dirname, "../bin/cds.mjs");

const PIPELINE = `version: v1.0
name: hello
jobs:
- job: say
  steps:
  - script:
    - echo hello
`;

interface Sample {
	ms: number;
	/** CPU time (user + system) of the command and every process it waited for: the worker, the sandbox. */
	cpuMs: number;
	/** The phases CDS_RUN_TIMINGS=1 prints (`timing: NAME N ms` on stderr), by name. */
	phases: Record<string, number>;
}

/**
 * CPU time of this process's waited-for children so far (cutime + cstime of /proc/self/stat, in
 * clock ticks of 10 ms): the difference around one command is that command's whole CPU, which a
 * shared machine's load stretches far less than its wall time.
 */
function childrenCpuMs(): number {
	const stat = readFileSync("/proc/self/stat", "utf8");
	const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
	return (Number(fields[13]) + Number(fields[14])) * 10;
}

function once(cwd: string, args: string[], env: Record<string, string>): Promise<Sample> {
	const started = performance.now();
	const cpuBefore = childrenCpuMs();
	return new Promise((done, fail) => {
		execFile(process.execPath, [CDS, ...args], { cwd, env, timeout: 120_000 }, (err, stdout, stderr) => {
			if (err) return fail(new Error(`cds ${args.join(" ")} failed: ${err.message}\n${stdout}\n${stderr}`));
			const ms = performance.now() - started;
			const phases: Record<string, number> = {};
			for (const m of stderr.matchAll(/^timing: (.+) (\d+) ms$/gm)) phases[m[1]!] = Number(m[2]);
			// From the process's start to the first phase's start: Node and the CLI's own modules.
			const counted = Object.values(phases).reduce((a, b) => a + b, 0);
			if (counted > 0) phases["CLI start and exit (the rest)"] = Math.max(0, Math.round(ms - counted));
			done({ ms, cpuMs: childrenCpuMs() - cpuBefore, phases });
		});
	});
}

/** The median of each phase over the samples. */
function phaseMedians(samples: Sample[]): Record<string, number> {
	const names = [...new Set(samples.flatMap((s) => Object.keys(s.phases)))];
	return Object.fromEntries(
		names.map((name) => [name, summary(samples.map((s) => s.phases[name] ?? 0)).medianMs]),
	);
}

function summary(samples: number[]) {
	const sorted = [...samples].sort((a, b) => a - b);
	const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
	const round = (x: number) => Math.round(x * 10) / 10;
	const middle =
		sorted.length % 2 ? at(0.5) : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
	return {
		runs: sorted.length,
		medianMs: round(middle),
		minMs: round(sorted[0]!),
		maxMs: round(sorted.at(-1)!),
	};
}

const base = mkdtempSync(path.join(tmpdir(), "cds-bench-local-run-"));
try {
	const dir = path.join(base, "repo");
	mkdirSync(path.join(dir, ".git", "refs", "heads"), { recursive: true });
	writeFileSync(path.join(dir, ".git", "HEAD"), "ref: refs/heads/main\n");
	mkdirSync(path.join(dir, ".cds"));
	writeFileSync(path.join(dir, ".cds", "hello.pip.yml"), PIPELINE);
	const home = path.join(base, "home");
	mkdirSync(home);
	const env: Record<string, string> = {
		HOME: home,
		PATH: host.PATH ?? "/usr/bin:/bin",
		CDS_RUN_TIMINGS: "1",
	};
	// CDS_TS_NO_CACHE=1 measures without the caches of stripped and compiled modules (bin/ts-cache.mjs).
	if (host.CDS_TS_NO_CACHE) env.CDS_TS_NO_CACHE = host.CDS_TS_NO_CACHE;
	// One run first, not counted: the worker's module cache and the OS page cache are warm after it.
	await once(dir, ["run"], env);
	const run: Sample[] = [];
	for (let i = 0; i < RUNS; i++) run.push(await once(dir, ["run"], env));
	const version: Sample[] = [];
	for (let i = 0; i < RUNS; i++) version.push(await once(dir, ["version"], env));
	console.log(
		JSON.stringify(
			{
				bench: "local-run",
				node: process.version,
				cpus: cpus().length,
				loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
				pipeline: "one job, one step (echo hello), sandboxed local hatchery",
				cdsRun: {
					...summary(run.map((s) => s.ms)),
					cpuMedianMs: summary(run.map((s) => s.cpuMs)).medianMs,
					phaseMediansMs: phaseMedians(run),
				},
				cdsVersion: {
					...summary(version.map((s) => s.ms)),
					cpuMedianMs: summary(version.map((s) => s.cpuMs)).medianMs,
				},
				reference: { tool: "woodpecker-cli exec --backend-engine local", medianMs: 24 },
			},
			null,
			2,
		),
	);
} finally {
	rmSync(base, { recursive: true, force: true });
}
