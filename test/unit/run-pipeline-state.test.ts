import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
	completeJob,
	computeNodeStatus,
	type JobRunState,
	nextJobs,
	type PipelineRunState,
	planPipeline,
	startPipeline,
	stopPipeline,
} from "../../src/run/pipeline-state.ts";
import type { Job, Pipeline, Stage } from "../../src/workflow/model.ts";

function job(name: string, stage: string | undefined, extra: Partial<Job> = {}): Job {
	return {
		name,
		stage,
		description: undefined,
		enabled: true,
		optional: false,
		alwaysExecuted: false,
		steps: [],
		requirements: [],
		retry: 0,
		timeout: undefined,
		...extra,
	};
}

function stage(name: string, extra: Partial<Stage> = {}): Stage {
	return { name, enabled: true, conditions: { checks: [], script: undefined }, ...extra };
}

function pipelineOf(stages: Stage[], jobs: Job[]): Pipeline {
	return { name: "p", description: undefined, parameters: {}, stages, jobs };
}

const names = (jobs: JobRunState[]) => jobs.map((j) => j.name);
const statusOf = (state: PipelineRunState, name: string) =>
	state.stages.flatMap((s) => s.jobs).find((j) => j.name === name)!.status;
const idOf = (state: PipelineRunState, name: string) =>
	state.stages.flatMap((s) => s.jobs).find((j) => j.name === name)!.id;

describe("planPipeline", () => {
	test("stages in order with their jobs; no stages means one implicit stage", () => {
		const p = pipelineOf(
			[stage("Build"), stage("Test")],
			[job("t1", "Test"), job("b1", "Build"), job("b2", "Build")],
		);
		assert.deepEqual(
			planPipeline(p).map((s) => [s.name, s.jobs]),
			[
				["Build", [1, 2]],
				["Test", [0]],
			],
		);
		assert.deepEqual(
			planPipeline(pipelineOf([], [job("a", undefined), job("b", undefined)])).map((s) => [s.name, s.jobs]),
			[["", [0, 1]]],
		);
	});
});

describe("pipeline progression", () => {
	const p = pipelineOf(
		[stage("Build"), stage("Test"), stage("Deploy")],
		[job("b1", "Build"), job("b2", "Build"), job("t1", "Test"), job("d1", "Deploy")],
	);

	test("stages run in order, the jobs of a stage in parallel", () => {
		let step = nextJobs(startPipeline(p));
		assert.deepEqual(names(step.start), ["b1", "b2"]);
		assert.equal(step.state.status, "Building");
		let state = completeJob(step.state, step.start[0]!.id, "Success").state;
		step = nextJobs(state);
		assert.deepEqual(step.start, []); // b2 still runs
		state = completeJob(step.state, idOf(step.state, "b2"), "Success").state;
		step = nextJobs(state);
		assert.deepEqual(names(step.start), ["t1"]);
		state = completeJob(step.state, idOf(step.state, "t1"), "Success").state;
		step = nextJobs(state);
		assert.deepEqual(names(step.start), ["d1"]);
		state = completeJob(step.state, idOf(step.state, "d1"), "Success").state;
		step = nextJobs(state);
		assert.equal(step.done, true);
		assert.equal(step.state.status, "Success");
		assert.equal(computeNodeStatus(step.state), "Success");
	});

	test("a failed stage stops later stages: their jobs are Skipped, the pipeline fails", () => {
		let step = nextJobs(startPipeline(p));
		let state = completeJob(step.state, idOf(step.state, "b1"), "Fail").state;
		state = completeJob(state, idOf(state, "b2"), "Success").state;
		step = nextJobs(state);
		assert.deepEqual(step.start, []);
		assert.equal(step.done, true);
		assert.equal(step.state.status, "Fail");
		assert.deepEqual(
			step.state.stages.map((s) => s.status),
			["Fail", "Skipped", "Skipped"],
		);
		assert.equal(statusOf(step.state, "t1"), "Skipped");
		assert.equal(computeNodeStatus(step.state), "Fail");
	});

	test("always_executed jobs still run after a failure", () => {
		const q = pipelineOf(
			[stage("Build"), stage("Cleanup")],
			[job("b", "Build"), job("clean", "Cleanup", { alwaysExecuted: true }), job("report", "Cleanup")],
		);
		let step = nextJobs(startPipeline(q));
		step = nextJobs(completeJob(step.state, idOf(step.state, "b"), "Fail").state);
		assert.deepEqual(names(step.start), ["clean"]);
		assert.equal(statusOf(step.state, "report"), "Skipped");
		step = nextJobs(completeJob(step.state, idOf(step.state, "clean"), "Success").state);
		assert.equal(step.state.status, "Fail");
	});

	test("disabled jobs are Disabled and do not fail; a disabled stage is Skipped", () => {
		const q = pipelineOf(
			[stage("A"), stage("B", { enabled: false }), stage("C")],
			[job("a1", "A"), job("a2", "A", { enabled: false }), job("b1", "B"), job("c1", "C")],
		);
		let step = nextJobs(startPipeline(q));
		assert.deepEqual(names(step.start), ["a1"]);
		assert.equal(statusOf(step.state, "a2"), "Disabled");
		step = nextJobs(completeJob(step.state, idOf(step.state, "a1"), "Success").state);
		assert.deepEqual(names(step.start), ["c1"]);
		assert.equal(step.state.stages[1]!.status, "Skipped");
		assert.equal(statusOf(step.state, "b1"), "Skipped");
		step = nextJobs(completeJob(step.state, idOf(step.state, "c1"), "Success").state);
		assert.equal(step.state.status, "Success");
	});

	test("stage conditions are asked for, and a false verdict skips the stage", () => {
		const conditions = {
			checks: [{ variable: "git.branch", operator: "eq" as const, value: "master" }],
			script: undefined,
		};
		const q = pipelineOf([stage("A"), stage("B", { conditions })], [job("a1", "A"), job("b1", "B")]);
		let step = nextJobs(startPipeline(q));
		step = nextJobs(completeJob(step.state, idOf(step.state, "a1"), "Success").state);
		assert.deepEqual(step.needsConditions, { stage: "B", conditions });
		assert.deepEqual(step.start, []);
		assert.equal(step.done, false);
		const skipped = nextJobs(step.state, { B: { ok: false, failed: "git.branch eq master" } });
		assert.equal(skipped.state.stages[1]!.status, "Skipped");
		assert.equal(skipped.state.stages[1]!.reason, "git.branch eq master");
		assert.equal(skipped.state.status, "Success");
		const ran = nextJobs(step.state, { B: { ok: true } });
		assert.deepEqual(names(ran.start), ["b1"]);
	});

	test("a failing optional job does not fail its stage", () => {
		const q = pipelineOf([stage("A"), stage("B")], [job("lint", "A", { optional: true }), job("b", "B")]);
		let step = nextJobs(startPipeline(q));
		step = nextJobs(completeJob(step.state, idOf(step.state, "lint"), "Fail").state);
		assert.equal(statusOf(step.state, "lint"), "Fail");
		assert.equal(step.state.stages[0]!.status, "Success");
		assert.deepEqual(names(step.start), ["b"]);
	});

	test("retry: a failed job runs again up to `retry` more times", () => {
		const q = pipelineOf([], [job("flaky", undefined, { retry: 2 })]);
		let step = nextJobs(startPipeline(q));
		const id = step.start[0]!.id;
		let done = completeJob(step.state, id, "Fail");
		assert.equal(done.retry, true);
		step = nextJobs(done.state);
		assert.equal(step.start[0]!.attempt, 2);
		done = completeJob(step.state, id, "Fail");
		assert.equal(done.retry, true);
		step = nextJobs(done.state);
		assert.equal(step.start[0]!.attempt, 3);
		done = completeJob(step.state, id, "Fail");
		assert.equal(done.retry, false);
		assert.equal(nextJobs(done.state).state.status, "Fail");
		// A retried job that then succeeds makes the pipeline succeed.
		step = nextJobs(startPipeline(q));
		step = nextJobs(completeJob(step.state, id, "Fail").state);
		assert.equal(nextJobs(completeJob(step.state, id, "Success").state).state.status, "Success");
	});

	test("a pipeline with no jobs succeeds at once (ITSCWRKFLW3's root)", () => {
		const step = nextJobs(startPipeline(pipelineOf([stage("Stage 0")], [])));
		assert.equal(step.done, true);
		assert.equal(step.state.status, "Success");
	});

	test("stopPipeline stops running jobs and skips what has not started", () => {
		const step = nextJobs(startPipeline(p));
		const stopped = stopPipeline(step.state);
		assert.equal(statusOf(stopped, "b1"), "Stopped");
		assert.equal(statusOf(stopped, "t1"), "Skipped");
		assert.equal(stopped.status, "Stopped");
		assert.equal(nextJobs(stopped).done, true);
	});

	test("bad completions are clear errors and inputs stay untouched", () => {
		const step = nextJobs(startPipeline(p));
		const before = structuredClone(step.state);
		assert.throws(() => completeJob(step.state, 99, "Success"), /no job #99/);
		assert.throws(
			() => completeJob(step.state, idOf(step.state, "t1"), "Success"),
			/cannot complete: it is Waiting/,
		);
		completeJob(step.state, idOf(step.state, "b1"), "Success");
		assert.deepEqual(step.state, before);
	});
});
