// The run routes of the CDS API as the CLI sees them: the Run shape, the statuses that end a
// run, and the few look-ups the run commands share (latest run of a branch, graph order).

import type { ApiClient, Listing } from "./http.ts";
import { seg } from "./http.ts";

export interface RunJob {
	name: string;
	status: string;
	attempt?: number;
	reason?: string | null;
	id?: string | null;
	startedAt?: string | null;
	endedAt?: string | null;
}

export interface RunStage {
	name: string;
	status: string;
	jobs: RunJob[];
}

export interface RunNode {
	name: string;
	status: string;
	reason?: string | null;
	startedAt?: string | null;
	doneAt?: string | null;
	resumedBy?: string | null;
	pipeline?: string | null;
	stages: RunStage[];
}

export interface Run {
	id: string;
	project: string;
	workflow: string;
	number: number;
	sub: number;
	status: string;
	branch?: string | null;
	commit?: string | null;
	definitionVersion?: number;
	triggeredBy?: string;
	created: string;
	updated?: string;
	ended?: string | null;
	tags?: Record<string, string>;
	nodes: RunNode[];
}

export interface LogLine {
	id: string;
	job: string;
	node: string;
	jobName: string;
	step: number;
	seq: number;
	text: string;
}

export interface LogPage {
	items: LogLine[];
	next: string | null;
	done: boolean;
}

/** Statuses after which a run never changes again (Manual waits for a human, so it is not one). */
const FINAL = new Set(["Success", "Fail", "Stopped", "Skipped", "Disabled"]);

export function isFinal(status: string): boolean {
	return FINAL.has(status);
}

/** Whether a finished run should make a script fail. */
export function isFailure(status: string): boolean {
	return status === "Fail" || status === "Stopped";
}

/** `#4`, or `#4.1` for the first restart of run 4. */
export function runLabel(run: Pick<Run, "number" | "sub">): string {
	return run.sub ? `#${run.number}.${run.sub}` : `#${run.number}`;
}

export function runsPath(project: string, workflow: string): string {
	return `/projects/${seg(project)}/workflows/${seg(workflow)}/runs`;
}

/** `number`: a run number (its latest sub-run) or a sub-run, `4.1`. */
export function runPath(project: string, workflow: string, number: number | string): string {
	return `${runsPath(project, workflow)}/${number}`;
}

export function getRun(
	client: ApiClient,
	project: string,
	workflow: string,
	number: number | string,
): Promise<Run> {
	return client.get<Run>(runPath(project, workflow, number));
}

/** Runs of a workflow, newest first; sub-runs share their number, so numbers may repeat. */
export async function listRuns(
	client: ApiClient,
	project: string,
	workflow: string,
	query: { branch?: string; limit?: number } = {},
): Promise<Run[]> {
	const page = await client.get<Listing<Run>>(runsPath(project, workflow), query);
	return Array.isArray(page?.items) ? page.items : [];
}

/** A commit given on the command line matches a run's commit when it is the whole hash or a prefix of it. */
export function commitMatches(runCommit: string | null | undefined, wanted: string): boolean {
	if (!runCommit) return false;
	const a = runCommit.toLowerCase();
	const b = wanted.toLowerCase();
	return a === b || (b.length >= 4 && a.startsWith(b));
}

/**
 * The newest run of the workflow on `branch` (any branch when absent) whose commit matches
 * `commit` (any commit when absent), fetched by number so it is the latest sub-run with its
 * jobs; undefined when there is none.
 */
export async function findLatestRun(
	client: ApiClient,
	target: { project: string; workflow: string; branch?: string; commit?: string },
): Promise<Run | undefined> {
	const runs = await listRuns(client, target.project, target.workflow, {
		branch: target.branch,
		limit: target.commit ? 200 : 1,
	});
	const wanted = target.commit;
	const found = wanted ? runs.find((r) => commitMatches(r.commit, wanted)) : runs[0];
	return found ? getRun(client, target.project, target.workflow, found.number) : undefined;
}

export interface ModelNode {
	name: string;
	pipeline?: string;
}

/**
 * The nodes of a workflow's model in graph order, with their pipelines (a run only knows the
 * pipeline of a node once it has started); empty when the model has none.
 */
export async function workflowModelNodes(
	client: ApiClient,
	project: string,
	workflow: string,
): Promise<ModelNode[]> {
	const wf = await client.get<{ model?: { nodes?: unknown } }>(
		`/projects/${seg(project)}/workflows/${seg(workflow)}`,
	);
	const nodes = wf?.model?.nodes;
	if (!Array.isArray(nodes)) return [];
	return nodes.flatMap((n) => {
		const { name, pipeline } = (n ?? {}) as { name?: unknown; pipeline?: unknown };
		if (typeof name !== "string") return [];
		return [typeof pipeline === "string" ? { name, pipeline } : { name }];
	});
}

/** A run's nodes sorted by the workflow's graph order; nodes the order does not know keep their place at the end. */
export function nodesInGraphOrder(run: Run, order: readonly string[]): RunNode[] {
	const rank = (name: string) => {
		const i = order.indexOf(name);
		return i === -1 ? order.length : i;
	};
	return run.nodes
		.map((node, index) => ({ node, index }))
		.sort((a, b) => rank(a.node.name) - rank(b.node.name) || a.index - b.index)
		.map(({ node }) => node);
}
