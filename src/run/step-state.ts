/**
 * Step progression inside a job (the worker's loop), pure: steps run one at a time in order;
 * a disabled step is Disabled; an `optional` step that fails does not fail the job; after a
 * failure (or a stop) only `always_executed` steps still run, the others are Skipped.
 */
import type { Step } from "../workflow/model.ts";
import type { FinalResult, JobStatus, StepStatus } from "./state.ts";

export interface StepRunState {
	index: number;
	name: string | undefined;
	status: StepStatus;
	enabled: boolean;
	optional: boolean;
	alwaysExecuted: boolean;
}

export interface StepsRunState {
	steps: StepRunState[];
	/** Set once a non-optional step failed or a step was stopped. */
	failed: boolean;
	stopped: boolean;
}

export function startSteps(steps: readonly Step[]): StepsRunState {
	return {
		steps: steps.map((step, index) => ({
			index,
			name: step.name,
			status: "Waiting",
			enabled: step.enabled,
			optional: step.optional,
			alwaysExecuted: step.alwaysExecuted,
		})),
		failed: false,
		stopped: false,
	};
}

export interface NextStep {
	state: StepsRunState;
	/** The step to run now (Building in `state`), or undefined when the job is over. */
	index: number | undefined;
}

/** Marks the steps that will not run until the next one that will, and returns it. */
export function nextStep(state: StepsRunState): NextStep {
	const next = structuredClone(state);
	if (next.steps.some((s) => s.status === "Building")) throw new Error("a step is still running");
	for (const step of next.steps) {
		if (step.status !== "Waiting") continue;
		if (!step.enabled) {
			step.status = "Disabled";
			continue;
		}
		if ((next.failed || next.stopped) && !step.alwaysExecuted) {
			step.status = "Skipped";
			continue;
		}
		step.status = "Building";
		return { state: next, index: step.index };
	}
	return { state: next, index: undefined };
}

export function completeStep(state: StepsRunState, index: number, result: FinalResult): StepsRunState {
	const next = structuredClone(state);
	const step = next.steps[index];
	if (!step) throw new Error(`no step #${index}`);
	if (step.status !== "Building") throw new Error(`step #${index} cannot complete: it is ${step.status}`);
	step.status = result;
	if (result === "Fail" && !step.optional) next.failed = true;
	if (result === "Stopped") next.stopped = true;
	return next;
}

/** Building while steps remain; Stopped; Fail if a non-optional step failed; Success. */
export function computeJobStatus(state: StepsRunState): JobStatus {
	if (state.steps.some((s) => s.status === "Building" || s.status === "Waiting")) return "Building";
	if (state.stopped) return "Stopped";
	if (state.failed) return "Fail";
	return "Success";
}

/**
 * Runs the steps with `execute` in order and returns the final state: the planner above in
 * one loop, for callers that do not need to persist between steps.
 */
export async function runSteps(
	steps: readonly Step[],
	execute: (step: Step, index: number) => Promise<FinalResult>,
): Promise<StepsRunState> {
	let state = startSteps(steps);
	for (;;) {
		const { state: planned, index } = nextStep(state);
		state = planned;
		if (index === undefined) return state;
		let result: FinalResult;
		try {
			result = await execute(steps[index]!, index);
		} catch {
			result = "Fail";
		}
		state = completeStep(state, index, result);
	}
}
