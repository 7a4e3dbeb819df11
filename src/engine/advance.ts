// Drives a persisted run forward with the pure state machines of src/run: begins the nodes
// that became ready (conditions evaluated by injected functions), opens pipeline stages,
// and lists the jobs to queue. It is deterministic given the same inputs, so the run
// service can re-apply it after a crash (job ids are derived from the run, the node, the
// job's index and its attempt: queuing twice is harmless).

import {
	completeJob,
	computeNodeStatus,
	nextJobs,
	startPipeline,
	stopPipeline,
} from "../run/pipeline-state.ts";
import type { JobRunState, PipelineRunState } from "../run/pipeline-state.ts";
import {
	beginNode,
	type ConditionResult,
	completeNode,
	type FinalResult,
	nodesReady,
	resumeNode,
	settleState,
	startRun,
	stopRun,
	type WorkflowRunState,
} from "../run/state.ts";
import { WorkflowGraph } from "../workflow/graph.ts";
import type { Conditions, Job, Pipeline, Workflow } from "../workflow/model.ts";

export interface RunProgress {
	state: WorkflowRunState;
	/** Pipeline progression by node name (pipeline nodes that began). */
	pipelines: Record<string, PipelineRunState>;
	/** Stage condition verdicts by node then stage, kept so a replay decides the same. */
	stageConditions: Record<string, Record<string, ConditionResult>>;
}

export interface QueuedJob {
	id: string;
	node: string;
	pipeline: string;
	jobIndex: number;
	attempt: number;
	stage: string;
	name: string;
	job: Job;
	/** The node runs one run at a time: later runs wait for earlier ones' jobs of this node. */
	oneAtATime: boolean;
}

export interface ConditionEvaluator {
	/** Node conditions (checks and Lua script) with the run's variables. */
	node(node: string, conditions: Conditions): Promise<ConditionResult>;
	/** Stage conditions of a node's pipeline. */
	stage(node: string, stage: string, conditions: Conditions): Promise<ConditionResult>;
}

export function jobId(runId: string, node: string, jobIndex: number, attempt: number): string {
	return `${runId}/${encodeURIComponent(node)}/j${jobIndex}/a${attempt}`;
}

function pipelineOf(workflow: Workflow, pipelines: Pipeline[], node: string): Pipeline | undefined {
	const name = workflow.nodes.find((n) => n.name === node)?.pipeline;
	return name === undefined ? undefined : pipelines.find((p) => p.name === name);
}

function toQueued(
	runId: string,
	node: string,
	pipeline: Pipeline,
	j: JobRunState,
	oneAtATime = false,
): QueuedJob {
	return {
		oneAtATime,
		id: jobId(runId, node, j.id, j.attempt),
		node,
		pipeline: pipeline.name,
		jobIndex: j.id,
		attempt: j.attempt,
		stage: j.stage,
		name: j.name,
		job: pipeline.jobs[j.id]!,
	};
}

/** A new run: every root begins (or is skipped) and the first stages' jobs are queued. */
export async function beginRun(
	runId: string,
	workflow: Workflow,
	pipelines: Pipeline[],
	vars: Record<string, string>,
	evaluate: ConditionEvaluator,
	now: number,
): Promise<{ progress: RunProgress; queue: QueuedJob[] }> {
	const { state } = startRun(workflow, vars, now);
	return settleRun(runId, workflow, pipelines, { state, pipelines: {}, stageConditions: {} }, evaluate, now);
}

/**
 * Begins ready nodes, starts pipelines of Building nodes, opens stages, completes nodes whose
 * pipeline finished — until nothing changes. Returns the jobs that became Building.
 */
export async function settleRun(
	runId: string,
	workflow: Workflow,
	pipelines: Pipeline[],
	progress: RunProgress,
	evaluate: ConditionEvaluator,
	now: number,
): Promise<{ progress: RunProgress; queue: QueuedJob[] }> {
	// Whatever state it is given: what can no longer run is Skipped, so nothing waits forever.
	let state = settleState(workflow, progress.state, now);
	const pipelineStates = { ...progress.pipelines };
	const stageConditions = structuredClone(progress.stageConditions);
	const queue: QueuedJob[] = [];
	for (let guard = 0; guard < 10_000; guard++) {
		let changed = false;
		for (const name of nodesReady(workflow, state)) {
			const definition = workflow.nodes.find((n) => n.name === name)!;
			const verdict = await evaluate.node(name, definition.conditions);
			state = beginNode(workflow, state, name, verdict, now).state;
			changed = true;
		}
		for (const node of Object.values(state.nodes)) {
			if (node.status !== "Building" || node.fork) continue;
			const pipeline = pipelineOf(workflow, pipelines, node.name);
			if (!pipeline) {
				state = completeNode(workflow, state, node.name, "Fail", now).state;
				state.nodes[node.name]!.reason = "its pipeline is missing from the workflow definition";
				changed = true;
				continue;
			}
			let p = pipelineStates[node.name] ?? startPipeline(pipeline);
			let step = nextJobs(p, stageConditions[node.name] ?? {});
			while (step.needsConditions) {
				const { stage, conditions } = step.needsConditions;
				const verdict = await evaluate.stage(node.name, stage, conditions);
				stageConditions[node.name] = { ...(stageConditions[node.name] ?? {}), [stage]: verdict };
				step = nextJobs(p, stageConditions[node.name]);
			}
			p = step.state;
			if (JSON.stringify(p) !== JSON.stringify(pipelineStates[node.name])) changed = true;
			pipelineStates[node.name] = p;
			for (const j of step.start) queue.push(toQueued(runId, node.name, pipeline, j, node.oneAtATime));
			if (step.done) {
				state = completeNode(workflow, state, node.name, computeNodeStatus(p) as FinalResult, now).state;
				changed = true;
			}
		}
		if (!changed) break;
	}
	return { progress: { state, pipelines: pipelineStates, stageConditions }, queue };
}

/** A job attempt ended: record it, then settle (a retry re-queues the job as attempt+1). */
export async function finishJob(
	runId: string,
	workflow: Workflow,
	pipelines: Pipeline[],
	progress: RunProgress,
	job: { node: string; jobIndex: number; attempt: number },
	result: FinalResult,
	reason: string | undefined,
	evaluate: ConditionEvaluator,
	now: number,
): Promise<{ progress: RunProgress; queue: QueuedJob[]; applied: boolean }> {
	const p = progress.pipelines[job.node];
	const current = p?.stages.flatMap((s) => s.jobs).find((j) => j.id === job.jobIndex);
	// Already applied (a replay after a crash, or a late duplicate): nothing to do.
	if (!p || !current || current.status !== "Building" || current.attempt !== job.attempt) {
		return { progress, queue: [], applied: false };
	}
	const { state: nextPipeline } = completeJob(p, job.jobIndex, result, reason);
	const settled = await settleRun(
		runId,
		workflow,
		pipelines,
		{ ...progress, pipelines: { ...progress.pipelines, [job.node]: nextPipeline } },
		evaluate,
		now,
	);
	return { ...settled, applied: true };
}

/** A manual node is resumed by someone: it begins its pipeline. */
export async function resumeManualNode(
	runId: string,
	workflow: Workflow,
	pipelines: Pipeline[],
	progress: RunProgress,
	node: string,
	who: string,
	evaluate: ConditionEvaluator,
	now: number,
): Promise<{ progress: RunProgress; queue: QueuedJob[] }> {
	const state = resumeNode(progress.state, node, who, now);
	return settleRun(runId, workflow, pipelines, { ...progress, state }, evaluate, now);
}

/** Stops the run: every unfinished node and job becomes Stopped. Returns the jobs that were running or queued. */
export function stopRunProgress(
	progress: RunProgress,
	now: number,
	reason: string,
): { progress: RunProgress; stopped: string[] } {
	const stoppedJobs: string[] = [];
	const pipelines: Record<string, PipelineRunState> = {};
	for (const [node, p] of Object.entries(progress.pipelines)) {
		for (const j of p.stages.flatMap((s) => s.jobs)) {
			if (j.status === "Building" || j.status === "Waiting")
				stoppedJobs.push(`${encodeURIComponent(node)}/j${j.id}/a${j.attempt}`);
		}
		pipelines[node] = stopPipeline(p, reason);
	}
	return {
		progress: { ...progress, state: stopRun(progress.state, now, reason), pipelines },
		stopped: stoppedJobs,
	};
}

/** Every job attempt the progress says is running: the reconciler checks each has a job record. */
export function runningJobs(
	runId: string,
	workflow: Workflow,
	pipelines: Pipeline[],
	progress: RunProgress,
): QueuedJob[] {
	const out: QueuedJob[] = [];
	for (const [node, p] of Object.entries(progress.pipelines)) {
		const pipeline = pipelineOf(workflow, pipelines, node);
		if (!pipeline) continue;
		for (const j of p.stages.flatMap((s) => s.jobs))
			if (j.status === "Building") out.push(toQueued(runId, node, pipeline, j));
	}
	return out;
}

/**
 * A restart of `node` (CDS's sub-run): the nodes outside its subtree keep what the previous
 * run made of them; the node and everything below it run again.
 */
export async function beginRestart(
	runId: string,
	workflow: Workflow,
	pipelines: Pipeline[],
	previous: RunProgress,
	node: string,
	vars: Record<string, string>,
	evaluate: ConditionEvaluator,
	now: number,
): Promise<{ progress: RunProgress; queue: QueuedJob[] }> {
	const graph = new WorkflowGraph(workflow.nodes.map((n) => ({ name: n.name, dependsOn: n.dependsOn })));
	const rerun = new Set([node, ...graph.descendants(node)]);
	let { state } = startRun(workflow, vars, now);
	const pipelineStates: Record<string, PipelineRunState> = {};
	const stageConditions: Record<string, Record<string, ConditionResult>> = {};
	for (const name of Object.keys(state.nodes)) {
		if (rerun.has(name)) continue;
		const before = previous.state.nodes[name];
		if (before) state.nodes[name] = structuredClone(before);
		const p = previous.pipelines[name];
		if (p) pipelineStates[name] = structuredClone(p);
		const c = previous.stageConditions[name];
		if (c) stageConditions[name] = structuredClone(c);
	}
	// The restarted node begins whatever its parents became (a user ran it, as CDS does for a
	// node of a finished run); its own conditions still decide.
	const definition = workflow.nodes.find((n) => n.name === node);
	if (definition && state.nodes[node]?.status === "Waiting") {
		const verdict = await evaluate.node(node, definition.conditions);
		state = beginNode(workflow, state, node, verdict, now, { anyParents: true }).state;
	}
	return settleRun(
		runId,
		workflow,
		pipelines,
		{ state, pipelines: pipelineStates, stageConditions },
		evaluate,
		now,
	);
}
