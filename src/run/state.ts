/**
 * The workflow run state machine, pure: no I/O, no clock (times are passed in), every
 * function returns a new state and leaves its input untouched. The run service persists the
 * states, evaluates conditions (conditions.ts, lua.ts) and starts what these functions say.
 *
 * Rules (decided here, following CDS where CDS has one):
 * - A node is ready when every parent succeeded (a join waits for all of its parents).
 * - A node can no longer run once any parent is Fail, Stopped, Skipped or Disabled: it is
 *   Skipped, and so is everything below it that can no longer run.
 * - A node whose conditions are false is Skipped, with the nodes below it.
 * - A fork (no pipeline) succeeds as soon as it begins.
 * - A `when: manual` node waits in "Manual" until resumeNode(); its conditions are evaluated
 *   before it waits.
 * - `one_at_a_time` is only exposed (NodeRunState.oneAtATime): the service enforces it,
 *   since it concerns other runs.
 */
import type { Workflow, WorkflowNode } from "../workflow/model.ts";

export const STATUSES = [
	"Waiting",
	"Building",
	"Success",
	"Fail",
	"Stopped",
	"Skipped",
	"Disabled",
	"Manual",
] as const;
export type Status = (typeof STATUSES)[number];
export type RunStatus = Status;
export type NodeStatus = Status;
export type StageStatus = Exclude<Status, "Manual">;
export type JobStatus = Exclude<Status, "Manual">;
export type StepStatus = Exclude<Status, "Manual">;

/** What ends a node, a job or a step. */
export type FinalResult = "Success" | "Fail" | "Stopped";

/** Statuses after which nothing changes any more. */
export function isFinal(status: Status): boolean {
	return (
		status === "Success" ||
		status === "Fail" ||
		status === "Stopped" ||
		status === "Skipped" ||
		status === "Disabled"
	);
}

/**
 * A condition verdict, evaluated by the caller. evaluateChecks() and evaluateScript() results
 * fit as they are (their `failed` / `error` explain a false verdict).
 */
export interface ConditionResult {
	ok: boolean;
	reason?: string;
	failed?: string;
	error?: string;
}

/** Why a false verdict is false. */
export function conditionReason(result: ConditionResult): string {
	return result.reason ?? result.failed ?? result.error ?? "conditions not satisfied";
}

export interface NodeRunState {
	name: string;
	status: NodeStatus;
	/** Whether the node is a fork (no pipeline). */
	fork: boolean;
	/** Parent node names, so that the state alone tells what is ready. */
	parents: string[];
	manual: boolean;
	oneAtATime: boolean;
	startedAt?: number;
	doneAt?: number;
	/** Who resumed a manual node. */
	resumedBy?: string;
	/** Why the node was skipped or stopped. */
	reason?: string;
}

export interface WorkflowRunState {
	workflow: string;
	status: RunStatus;
	vars: Record<string, string>;
	/** By node name. */
	nodes: Record<string, NodeRunState>;
	startedAt: number;
	doneAt?: number;
}

export interface Transition {
	state: WorkflowRunState;
	/** Nodes that became ready: evaluate their conditions, then beginNode() each. */
	ready: string[];
}

function nodeOf(workflow: Workflow, name: string): WorkflowNode {
	const node = workflow.nodes.find((n) => n.name === name);
	if (!node) throw new Error(`workflow ${workflow.name} has no node ${JSON.stringify(name)}`);
	return node;
}

function runNode(state: WorkflowRunState, name: string): NodeRunState {
	const node = state.nodes[name];
	if (!node) throw new Error(`run of ${state.workflow} has no node ${JSON.stringify(name)}`);
	return node;
}

/** A new run: every node Waiting; `ready` holds the root nodes. */
export function startRun(workflow: Workflow, vars: Record<string, string>, now = 0): Transition {
	const nodes: Record<string, NodeRunState> = {};
	for (const node of workflow.nodes) {
		nodes[node.name] = {
			name: node.name,
			status: "Waiting",
			fork: node.pipeline === undefined,
			parents: [...node.dependsOn],
			manual: node.when.includes("manual"),
			oneAtATime: node.oneAtATime,
		};
	}
	const state: WorkflowRunState = {
		workflow: workflow.name,
		status: "Building",
		vars: { ...vars },
		nodes,
		startedAt: now,
	};
	state.status = computeRunStatus(state);
	if (isFinal(state.status)) state.doneAt = now;
	return { state, ready: nodesReady(workflow, state) };
}

/** Waiting nodes whose parents all succeeded, in the workflow's (topological) order. */
export function nodesReady(workflow: Workflow, state: WorkflowRunState): string[] {
	return workflow.nodes
		.filter((node) => state.nodes[node.name]?.status === "Waiting")
		.filter((node) => node.dependsOn.every((parent) => state.nodes[parent]?.status === "Success"))
		.map((node) => node.name);
}

/** Whether a node has `one_at_a_time`: the service allows one run of it at a time. */
export function isOneAtATime(workflow: Workflow, name: string): boolean {
	return nodeOf(workflow, name).oneAtATime;
}

/**
 * Begins a ready node given its evaluated conditions: Skipped (with what can no longer run
 * below it) when they are false, Success for a fork, Manual for a `when: manual` node,
 * Building otherwise (the caller then runs its pipeline). `anyParents` is a user's explicit
 * run of that node (a restart): as in CDS, it begins whatever its parents became.
 */
export function beginNode(
	workflow: Workflow,
	state: WorkflowRunState,
	name: string,
	conditions: ConditionResult,
	now = 0,
	options: { anyParents?: boolean } = {},
): Transition {
	const next = structuredClone(state);
	const node = runNode(next, name);
	if (node.status !== "Waiting") throw new Error(`node ${name} cannot begin: it is ${node.status}`);
	const definition = nodeOf(workflow, name);
	const parentsDone = definition.dependsOn.every((p) => next.nodes[p]?.status === "Success");
	if (!parentsDone && !options.anyParents)
		throw new Error(`node ${name} cannot begin: its parents have not all succeeded`);
	if (!conditions.ok) {
		finish(node, "Skipped", now, conditionReason(conditions));
	} else if (node.fork) {
		node.startedAt = now;
		finish(node, "Success", now);
	} else if (node.manual) {
		node.status = "Manual";
	} else {
		node.status = "Building";
		node.startedAt = now;
	}
	return settle(workflow, next, now);
}

/** A human resumes a node waiting in Manual: it becomes Building. */
export function resumeNode(state: WorkflowRunState, name: string, who: string, now = 0): WorkflowRunState {
	const next = structuredClone(state);
	const node = runNode(next, name);
	if (node.status !== "Manual")
		throw new Error(`node ${name} is not waiting for a manual resume (it is ${node.status})`);
	node.status = "Building";
	node.startedAt = now;
	node.resumedBy = who;
	next.status = computeRunStatus(next);
	return next;
}

/** A Building node ended (its pipeline's status, see computeNodeStatus). */
export function completeNode(
	workflow: Workflow,
	state: WorkflowRunState,
	name: string,
	result: FinalResult | "Skipped" | "Disabled",
	now = 0,
): Transition {
	const next = structuredClone(state);
	const node = runNode(next, name);
	if (node.status !== "Building") throw new Error(`node ${name} cannot complete: it is ${node.status}`);
	finish(node, result, now);
	return settle(workflow, next, now);
}

/** Stops everything not finished: Waiting, Manual and Building nodes become Stopped. */
export function stopRun(state: WorkflowRunState, now = 0, reason = "stopped"): WorkflowRunState {
	const next = structuredClone(state);
	for (const node of Object.values(next.nodes)) {
		if (!isFinal(node.status)) finish(node, "Stopped", now, reason);
	}
	next.status = computeRunStatus(next);
	next.doneAt = now;
	return next;
}

function finish(node: NodeRunState, status: NodeStatus, now: number, reason?: string): void {
	node.status = status;
	node.doneAt = now;
	if (reason !== undefined) node.reason = reason;
}

/**
 * A state put together outside these functions (a restart's copy of the previous run, a state
 * stored by an older version) settled like the others: Waiting nodes that can no longer run
 * are Skipped and the run status is recomputed, so a run never stays Building with nothing
 * to run. A state these functions made comes back unchanged.
 */
export function settleState(workflow: Workflow, state: WorkflowRunState, now = 0): WorkflowRunState {
	const wasFinal = isFinal(state.status);
	const next = settle(workflow, structuredClone(state), now).state;
	if (wasFinal && isFinal(next.status)) next.doneAt = state.doneAt;
	return next;
}

/** Skips what can no longer run, recomputes the run status, lists what became ready. */
function settle(workflow: Workflow, state: WorkflowRunState, now: number): Transition {
	// Repeat until stable, so a skip propagates down whatever order the nodes are listed in.
	for (let changed = true; changed; ) {
		changed = false;
		for (const definition of workflow.nodes) {
			const node = state.nodes[definition.name];
			if (node?.status !== "Waiting") continue;
			const blocker = definition.dependsOn.find((p) => {
				const status = state.nodes[p]?.status;
				return status !== undefined && isFinal(status) && status !== "Success";
			});
			if (blocker) {
				finish(node, "Skipped", now, `parent ${blocker} is ${state.nodes[blocker]!.status}`);
				changed = true;
			}
		}
	}
	state.status = computeRunStatus(state);
	if (isFinal(state.status)) state.doneAt = now;
	return { state, ready: nodesReady(workflow, state) };
}

/**
 * Building while a node is Building or ready to begin; Manual when nothing runs but a node
 * waits for a human (nodes below it stay Waiting); then Fail if any node failed, Stopped if any was stopped, Skipped when no node ran
 * (e.g. the root's conditions were false), Success otherwise.
 */
export function computeRunStatus(state: WorkflowRunState): RunStatus {
	const nodes = Object.values(state.nodes);
	const statuses = nodes.map((n) => n.status);
	const ready = (n: NodeRunState) =>
		n.status === "Waiting" && n.parents.every((p) => state.nodes[p]?.status === "Success");
	if (nodes.some((n) => n.status === "Building" || ready(n))) return "Building";
	if (statuses.includes("Manual")) return "Manual";
	if (statuses.includes("Waiting")) return "Building";
	if (statuses.includes("Fail")) return "Fail";
	if (statuses.includes("Stopped")) return "Stopped";
	if (statuses.every((s) => s === "Skipped" || s === "Disabled")) return "Skipped";
	return "Success";
}
