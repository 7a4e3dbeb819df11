/**
 * Pipeline progression inside a node run, pure. Stages run in order; the jobs of a stage run
 * in parallel. Decisions:
 * - A stage whose `enabled` is false, or whose conditions the caller found false, is Skipped
 *   with its jobs. Stage conditions are evaluated by the caller when nextJobs() asks
 *   (`needsConditions`), because variables can change between stages.
 * - A disabled job is Disabled and never fails its stage.
 * - An `optional` job that fails stays Fail but does not fail its stage (CDS only has optional
 *   steps; CDS-TS extends the same meaning to jobs).
 * - A job with `retry: N` that fails is retried up to N more times (Waiting again, attempt+1).
 * - When a stage fails, later stages are not run: their jobs are Skipped — except jobs marked
 *   `always_executed`, which still run (after their stage's `enabled`/conditions).
 * - A stage without jobs (or with only disabled jobs) succeeds.
 * - The pipeline is Fail if a stage failed, Stopped if one was stopped, Success otherwise.
 */
import type { Conditions, Job, Pipeline } from "../workflow/model.ts";
import { hasConditions } from "./conditions.ts";
import {
	type ConditionResult,
	conditionReason,
	type FinalResult,
	type JobStatus,
	type NodeStatus,
	type StageStatus,
} from "./state.ts";

export interface PlannedStage {
	name: string;
	enabled: boolean;
	conditions: Conditions;
	/** Indexes into pipeline.jobs, in declaration order. */
	jobs: number[];
}

/** Name of the single stage of a pipeline that declares none. */
export const IMPLICIT_STAGE = "";

/**
 * Stages in order with their jobs. A pipeline without stages has one implicit stage; a job
 * naming a stage that is not declared gets that stage appended (the parser reports it).
 */
export function planPipeline(pipeline: Pipeline): PlannedStage[] {
	const stages: PlannedStage[] = pipeline.stages.map((s) => ({
		name: s.name,
		enabled: s.enabled,
		conditions: s.conditions,
		jobs: [],
	}));
	pipeline.jobs.forEach((job, index) => {
		const name = job.stage ?? (stages.length === 1 ? stages[0]!.name : IMPLICIT_STAGE);
		let stage = stages.find((s) => s.name === name);
		if (!stage) {
			stage = { name, enabled: true, conditions: { checks: [], script: undefined }, jobs: [] };
			stages.push(stage);
		}
		stage.jobs.push(index);
	});
	return stages;
}

export interface JobRunState {
	/** Index in pipeline.jobs: the job's identity (names may repeat across stages). */
	id: number;
	name: string;
	stage: string;
	status: JobStatus;
	enabled: boolean;
	optional: boolean;
	alwaysExecuted: boolean;
	/** 1 for the first run; grows with each retry. */
	attempt: number;
	/** 1 + the job's `retry`. */
	maxAttempts: number;
	reason?: string;
}

export interface StageRunState {
	name: string;
	status: StageStatus;
	enabled: boolean;
	/** Whether the caller must evaluate `conditions` before the stage opens. */
	conditional: boolean;
	conditions: Conditions;
	jobs: JobRunState[];
	reason?: string;
}

export interface PipelineRunState {
	pipeline: string;
	status: StageStatus;
	stages: StageRunState[];
}

export interface NextJobs {
	state: PipelineRunState;
	/** Jobs to start now; they are Building in `state`. */
	start: JobRunState[];
	/** A stage whose conditions must be evaluated: call nextJobs again with its result. */
	needsConditions: { stage: string; conditions: Conditions } | undefined;
	/** True when the pipeline has finished (state.status is final). */
	done: boolean;
}

function jobState(job: Job, id: number, stage: string): JobRunState {
	return {
		id,
		name: job.name,
		stage,
		status: "Waiting",
		enabled: job.enabled,
		optional: job.optional,
		alwaysExecuted: job.alwaysExecuted,
		attempt: 1,
		maxAttempts: 1 + Math.max(0, Math.floor(job.retry || 0)),
	};
}

/** A pipeline run before anything started. */
export function startPipeline(pipeline: Pipeline): PipelineRunState {
	return {
		pipeline: pipeline.name,
		status: "Waiting",
		stages: planPipeline(pipeline).map((stage) => ({
			name: stage.name,
			status: "Waiting",
			enabled: stage.enabled,
			conditional: hasConditions(stage.conditions),
			conditions: stage.conditions,
			jobs: stage.jobs.map((id) => jobState(pipeline.jobs[id]!, id, stage.name)),
		})),
	};
}

/**
 * Advances the pipeline: finishes stages whose jobs are done, opens the next stage, and
 * returns the jobs to start. `conditions` holds the caller's verdicts by stage name.
 */
export function nextJobs(
	state: PipelineRunState,
	conditions: Record<string, ConditionResult> = {},
): NextJobs {
	const next = structuredClone(state);
	const start: JobRunState[] = [];
	let failed = false;
	for (const stage of next.stages) {
		if (stage.status === "Waiting") {
			const runnable = stage.jobs.filter((j) => j.enabled && (!failed || j.alwaysExecuted));
			if (!stage.enabled) {
				skipStage(stage, "stage disabled");
				continue;
			}
			if (failed && runnable.length === 0) {
				skipStage(stage, "an earlier stage failed");
				continue;
			}
			if (stage.conditional) {
				const verdict = conditions[stage.name];
				if (!verdict) {
					next.status = computePipelineStatus(next);
					const needsConditions = { stage: stage.name, conditions: stage.conditions };
					return { state: next, start, needsConditions, done: false };
				}
				if (!verdict.ok) {
					skipStage(stage, conditionReason(verdict));
					continue;
				}
			}
			stage.status = "Building";
			for (const job of stage.jobs) {
				if (!job.enabled) job.status = "Disabled";
				else if (failed && !job.alwaysExecuted) {
					job.status = "Skipped";
					job.reason = "an earlier stage failed";
				}
			}
		}
		if (stage.status === "Building") {
			for (const job of stage.jobs) {
				if (job.status === "Waiting") {
					job.status = "Building";
					start.push(structuredClone(job));
				}
			}
			stage.status = computeStageStatus(stage);
			if (stage.status === "Building") break;
		}
		if (stage.status === "Fail" || stage.status === "Stopped") failed = true;
	}
	next.status = computePipelineStatus(next);
	return {
		state: next,
		start,
		needsConditions: undefined,
		done: next.status !== "Building" && next.status !== "Waiting",
	};
}

function skipStage(stage: StageRunState, reason: string): void {
	stage.status = "Skipped";
	stage.reason = reason;
	for (const job of stage.jobs) {
		job.status = job.enabled ? "Skipped" : "Disabled";
		if (job.enabled) job.reason = reason;
	}
}

export interface JobCompletion {
	state: PipelineRunState;
	/** True when the failed job will run again (it is Waiting; nextJobs() starts it). */
	retry: boolean;
}

/** A Building job ended. Follow with nextJobs() to learn what runs next. */
export function completeJob(
	state: PipelineRunState,
	id: number,
	result: FinalResult,
	reason?: string,
): JobCompletion {
	const next = structuredClone(state);
	const job = next.stages.flatMap((s) => s.jobs).find((j) => j.id === id);
	if (!job) throw new Error(`pipeline ${state.pipeline} has no job #${id}`);
	if (job.status !== "Building") throw new Error(`job ${job.name} cannot complete: it is ${job.status}`);
	const retry = result === "Fail" && shouldRetry(job);
	if (retry) {
		job.status = "Waiting";
		job.attempt += 1;
	} else job.status = result;
	if (reason !== undefined) job.reason = reason;
	for (const stage of next.stages) if (stage.status === "Building") stage.status = computeStageStatus(stage);
	next.status = computePipelineStatus(next);
	return { state: next, retry };
}

/** Whether a job that just failed may run again. */
export function shouldRetry(job: Pick<JobRunState, "attempt" | "maxAttempts">): boolean {
	return job.attempt < job.maxAttempts;
}

/** Stops the pipeline: running and waiting jobs become Stopped, waiting stages Skipped. */
export function stopPipeline(state: PipelineRunState, reason = "stopped"): PipelineRunState {
	const next = structuredClone(state);
	for (const stage of next.stages) {
		if (stage.status === "Waiting") skipStage(stage, reason);
		else if (stage.status === "Building") {
			for (const job of stage.jobs) {
				if (job.status === "Building" || job.status === "Waiting") {
					job.status = "Stopped";
					job.reason = reason;
				}
			}
			stage.status = computeStageStatus(stage);
		}
	}
	next.status = computePipelineStatus(next);
	return next;
}

/** Building while a job runs or waits; Fail if a non-optional job failed; Stopped; Success. */
export function computeStageStatus(stage: Pick<StageRunState, "jobs">): StageStatus {
	const jobs = stage.jobs;
	if (jobs.some((j) => j.status === "Building" || j.status === "Waiting")) return "Building";
	if (jobs.some((j) => j.status === "Fail" && !j.optional)) return "Fail";
	if (jobs.some((j) => j.status === "Stopped")) return "Stopped";
	return "Success";
}

export function computePipelineStatus(state: PipelineRunState): StageStatus {
	const statuses = state.stages.map((s) => s.status);
	if (statuses.every((s) => s === "Waiting") && statuses.length > 0) return "Waiting";
	if (statuses.some((s) => s === "Building" || s === "Waiting")) return "Building";
	if (statuses.includes("Fail")) return "Fail";
	if (statuses.includes("Stopped")) return "Stopped";
	return "Success";
}

/** The node's status from its pipeline's: a finished pipeline finishes the node. */
export function computeNodeStatus(state: PipelineRunState): NodeStatus {
	return state.status === "Waiting" ? "Building" : state.status;
}
