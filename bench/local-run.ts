// npm run bench:local-run — wall time of `cds run` on a one-step pipeline, from the command's
// start to its exit: the real CLI process (node bin/cds.ts run) in a temporary git working
// tree, N times one after the other, with each phase's median (CDS_RUN_TIMINGS=1). Beside it, `cds version` in the same way: the floor any
// command pays (Node start-up and the CLI's own modules). Prints one JSON document.
//
//   BENCH_RUNS=10 npm run bench:local-run      (runs of each, default 10)
//
// The reference is `woodpecker-cli exec --backend-engine local` on the same pipeline,
// about 24 ms median on these machines.

import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { hostEnv } from "../config/process-env.ts";

const host = hostEnv();
const RUNS = Number(host.BENCH_RUNS ?? 10);
const CDS = path.resolve(import.meta.dirname, "../bin/cds.ts");

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
	/** The phases CDS_RUN_TIMINGS=1 prints (`timing: NAME N ms` on stderr), by name. */
	phases: Record<string, number>;
}

function once(cwd: string, args: string[], env: Record<string, string>): Promise<Sample> {
	const started = performance.now();
	return new Promise((done, fail) => {
		execFile(process.execPath, [CDS, ...args], { cwd, env, timeout: 120_000 }, (err, stdout, stderr) => {
			if (err) return fail(new Error(`cds ${args.join(" ")} failed: ${err.message}\n${stdout}\n${stderr}`));
			const ms = performance.now() - started;
			const phases: Record<string, number> = {};
			for (const m of stderr.matchAll(/^timing: (.+) (\d+) ms$/gm)) phases[m[1]!] = Number(m[2]);
			// From the process's start to the first phase's start: Node and the CLI's own modules.
			const counted = Object.values(phases).reduce((a, b) => a + b, 0);
			if (counted > 0) phases["CLI start and exit (the rest)"] = Math.max(0, Math.round(ms - counted));
			done({ ms, phases });
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
				cdsRun: { ...summary(run.map((s) => s.ms)), phaseMediansMs: phaseMedians(run) },
				cdsVersion: summary(version.map((s) => s.ms)),
				reference: { tool: "woodpecker-cli exec --backend-engine local", medianMs: 24 },
			},
			null,
			2,
		),
	);
} finally {
	rmSync(base, { recursive: true, force: true });
}
