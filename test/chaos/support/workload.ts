// The work a chaos scenario runs, and how its outcome is judged. A step writes a marker when it
// starts and when it ends (host files, in a directory every sandboxed step may write), prints
// numbered lines over a few seconds, then succeeds or fails as told. Judging a run reads only
// what the step left behind and what the API answers: the run's status, its stored log lines,
// and how many times each step started.

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { ChaosCluster } from "./cluster.ts";
import { PROJECT } from "./cluster.ts";

export const WF = `/api/v1/projects/${PROJECT}/workflows`;
const FINAL = new Set(["Success", "Fail", "Stopped", "Skipped"]);

export interface StepPlan {
	/** Workflow name (also the pipeline's). */
	name: string;
	/** Numbered lines the step prints, `sleep` seconds apart. */
	lines: number;
	sleep: number;
	/** The step's exit code after its last line (0: the run must end Success, else Fail). */
	exit: number;
}

/** Two workflows a scenario runs side by side: one whose step succeeds and one whose step fails. */
export const OK: StepPlan = { name: "OK", lines: 40, sleep: 0.2, exit: 0 };
export const KO: StepPlan = { name: "KO", lines: 40, sleep: 0.2, exit: 3 };

function marker(dir: string, plan: StepPlan, run: number, what: "start" | "end" | "printed"): string {
	return path.join(dir, `${plan.name}-${run}.${what}`);
}

/** The as-code files of a plan's workflow: one job, one step, no `retry`. */
export function planFiles(plan: StepPlan, markerDir: string): { path: string; content: string }[] {
	const mark = (what: string) => `${markerDir}/${plan.name}-$CDS_RUN_NUMBER.${what}`;
	const script = [
		`echo "$CDS_RUN_NUMBER $CDS_JOB $$" >> ${mark("start")}`,
		// Each line is noted on the host once printed: a line missing from the logs was printed, so lost.
		`for i in $(seq 1 ${plan.lines}); do echo "${plan.name} line $i"; echo $i >> ${mark("printed")}; sleep ${plan.sleep}; done`,
		`echo "$CDS_RUN_NUMBER $CDS_JOB $$" >> ${mark("end")}`,
		`exit ${plan.exit}`,
	].join("\n");
	const indented = script
		.split("\n")
		.map((l) => `      ${l}`)
		.join("\n");
	return [
		{ path: `${plan.name}.yml`, content: `name: ${plan.name}\nversion: v1.0\npipeline: ${plan.name}\n` },
		{
			path: `${plan.name}.pip.yml`,
			content: `version: v1.0\nname: ${plan.name}\njobs:\n- job: work\n  steps:\n  - script: |\n${indented}\n`,
		},
	];
}

export async function importPlans(cluster: ChaosCluster, plans: StepPlan[]): Promise<void> {
	const files = plans.flatMap((p) => planFiles(p, cluster.shared));
	const r = await cluster.api("POST", `/api/v1/projects/${PROJECT}/import`, { files });
	if (r.status !== 200) throw new Error(`import: ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
}

export interface StartedRun {
	plan: StepPlan;
	number: number;
	route: string;
}

/** Starts a run, retrying while the cluster answers 503 (a scenario may start runs around a restart). */
export async function startRun(cluster: ChaosCluster, plan: StepPlan): Promise<StartedRun> {
	for (let i = 0; ; i++) {
		const r = await cluster.api("POST", `${WF}/${plan.name}/runs`, {});
		if (r.status === 201 || r.status === 200) {
			return { plan, number: r.body.number, route: `${WF}/${plan.name}/runs/${r.body.number}` };
		}
		if (r.status !== 503 || i > 60)
			throw new Error(`start ${plan.name}: ${r.status} ${JSON.stringify(r.body)}`);
		await new Promise((res) => setTimeout(res, 500));
	}
}

/** Waits until the step of each run has started and printed for `afterMs`: the moment to break something. */
export async function waitStepsRunning(
	cluster: ChaosCluster,
	runs: StartedRun[],
	afterMs = 1500,
): Promise<void> {
	const deadline = Date.now() + 90_000;
	while (!runs.every((r) => existsSync(marker(cluster.shared, r.plan, r.number, "start")))) {
		if (Date.now() > deadline)
			throw new Error(`steps never started: ${runs.map((r) => r.route).join(", ")}\n${cluster.outputs()}`);
		await new Promise((res) => setTimeout(res, 100));
	}
	await new Promise((res) => setTimeout(res, afterMs));
}

/** The run once final (answers other than 200 — the cluster recovering — are waited out). */
export async function waitFinal(cluster: ChaosCluster, run: StartedRun, timeoutMs = 120_000): Promise<any> {
	const deadline = Date.now() + timeoutMs;
	let last = "";
	for (;;) {
		const r = await cluster.api("GET", run.route).catch((e: Error) => ({ status: 0, body: e.message }));
		if (r.status === 200 && FINAL.has(r.body.status)) return r.body;
		last = `${r.status} ${JSON.stringify(r.body).slice(0, 800)}`;
		if (Date.now() > deadline)
			throw new Error(`${run.route} not final after ${timeoutMs} ms: ${last}\n${cluster.outputs()}`);
		await new Promise((res) => setTimeout(res, 500));
	}
}

async function logLines(cluster: ChaosCluster, run: StartedRun): Promise<string[]> {
	const lines: string[] = [];
	let cursor: string | undefined;
	for (;;) {
		const q = cursor ? `?limit=5000&cursor=${encodeURIComponent(cursor)}` : "?limit=5000";
		const r = await cluster.api("GET", `${run.route}/logs${q}`);
		if (r.status !== 200) throw new Error(`logs of ${run.route}: ${r.status} ${JSON.stringify(r.body)}`);
		for (const item of r.body.items as { text: string }[]) lines.push(...item.text.split("\n"));
		if (!r.body.next) return lines;
		cursor = r.body.next;
	}
}

export interface Verdict {
	run: string;
	status: string;
	expected: string;
	/** Numbered lines the step printed (noted on the host) that the run's logs do not hold. */
	missingLines: number[];
	printed: number;
	/** Lines stored more than once (a resent batch stored twice). */
	duplicatedLines: number[];
	/** How many times the step started and ended (a job without retry: 1 and, when it ran out, 1). */
	starts: number;
	ends: number;
	nodes: unknown;
}

/** Reads what a finished run left: its status, its log lines, the step's markers. */
export async function judge(cluster: ChaosCluster, run: StartedRun): Promise<Verdict> {
	const final = await waitFinal(cluster, run);
	const lines = await logLines(cluster, run);
	const seen = new Map<number, number>();
	const pattern = new RegExp(`^${run.plan.name} line (\\d+)$`);
	for (const l of lines) {
		const m = pattern.exec(l.trim());
		if (m) seen.set(Number(m[1]), (seen.get(Number(m[1])) ?? 0) + 1);
	}
	const read = (what: "start" | "end" | "printed") => {
		const f = marker(cluster.shared, run.plan, run.number, what);
		return existsSync(f) ? readFileSync(f, "utf8").trim().split("\n").filter(Boolean) : [];
	};
	const count = (what: "start" | "end") => read(what).length;
	const numbers = read("printed").map(Number);
	return {
		run: `${run.plan.name} #${run.number}`,
		status: final.status,
		expected: run.plan.exit === 0 ? "Success" : "Fail",
		printed: numbers.length,
		missingLines: numbers.filter((n) => !seen.has(n)),
		duplicatedLines: numbers.filter((n) => (seen.get(n) ?? 0) > 1),
		starts: count("start"),
		ends: count("end"),
		nodes: final.nodes,
	};
}
