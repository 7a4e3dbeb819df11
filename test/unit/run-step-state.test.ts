import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { FinalResult } from "../../src/run/state.ts";
import { completeStep, computeJobStatus, nextStep, runSteps, startSteps } from "../../src/run/step-state.ts";
import type { Step } from "../../src/workflow/model.ts";

function step(name: string, extra: Partial<Step> = {}): Step {
	return {
		name,
		enabled: true,
		optional: false,
		alwaysExecuted: false,
		timeout: undefined,
		action: { kind: "script", script: [`echo ${name}`] },
		...extra,
	};
}

/** Runs `steps` where the named ones end with the given result; returns executed names and the state. */
async function run(steps: Step[], results: Record<string, FinalResult> = {}) {
	const executed: string[] = [];
	const state = await runSteps(steps, async (s) => {
		executed.push(s.name!);
		if (s.name === "throws") throw new Error("boom");
		return results[s.name!] ?? "Success";
	});
	return { executed, state, status: computeJobStatus(state), statuses: state.steps.map((s) => s.status) };
}

describe("step planner", () => {
	test("steps run in order; all succeed", async () => {
		const r = await run([step("a"), step("b"), step("c")]);
		assert.deepEqual(r.executed, ["a", "b", "c"]);
		assert.equal(r.status, "Success");
	});

	test("after a failure only always_executed steps run", async () => {
		const r = await run(
			[step("a"), step("b"), step("c"), step("cleanup", { alwaysExecuted: true }), step("d")],
			{
				b: "Fail",
			},
		);
		assert.deepEqual(r.executed, ["a", "b", "cleanup"]);
		assert.deepEqual(r.statuses, ["Success", "Fail", "Skipped", "Success", "Skipped"]);
		assert.equal(r.status, "Fail");
	});

	test("an optional step failing does not fail the job", async () => {
		const r = await run([step("a", { optional: true }), step("b")], { a: "Fail" });
		assert.deepEqual(r.executed, ["a", "b"]);
		assert.deepEqual(r.statuses, ["Fail", "Success"]);
		assert.equal(r.status, "Success");
	});

	test("disabled steps are Disabled and not run", async () => {
		const r = await run([step("a", { enabled: false }), step("b")]);
		assert.deepEqual(r.executed, ["b"]);
		assert.deepEqual(r.statuses, ["Disabled", "Success"]);
		assert.equal(r.status, "Success");
	});

	test("a step that throws counts as failed; a stop ends the job Stopped", async () => {
		const thrown = await run([step("throws"), step("after"), step("end", { alwaysExecuted: true })]);
		assert.deepEqual(thrown.executed, ["throws", "end"]);
		assert.equal(thrown.status, "Fail");
		const stopped = await run([step("a"), step("b"), step("c", { alwaysExecuted: true })], { a: "Stopped" });
		assert.deepEqual(stopped.executed, ["a", "c"]);
		assert.equal(stopped.status, "Stopped");
	});

	test("the planner is pure and refuses bad transitions", () => {
		const steps = [step("a"), step("b")];
		const initial = startSteps(steps);
		const first = nextStep(initial);
		assert.equal(first.index, 0);
		assert.equal(initial.steps[0]!.status, "Waiting");
		assert.equal(computeJobStatus(first.state), "Building");
		assert.throws(() => nextStep(first.state), /still running/);
		assert.throws(() => completeStep(first.state, 1, "Success"), /cannot complete: it is Waiting/);
		assert.throws(() => completeStep(first.state, 5, "Success"), /no step #5/);
	});
});
