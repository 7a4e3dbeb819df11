import assert from "node:assert/strict";
import { test } from "node:test";
import type { TaskState, TaskStatus } from "../../src/mesos/scheduler-api.ts";
import { isTerminal, taskOutcome } from "../../src/mesos/task-state.ts";

const st = (state: TaskState, reason?: string, message?: string): TaskStatus => ({
	task_id: { value: "t" },
	state,
	...(reason ? { reason } : {}),
	...(message ? { message } : {}),
});

test("starting and running states", () => {
	assert.deepEqual(taskOutcome(st("TASK_STAGING"), false, false), { kind: "provisioning" });
	assert.deepEqual(taskOutcome(st("TASK_STARTING"), false, false), { kind: "provisioning" });
	assert.deepEqual(taskOutcome(st("TASK_RUNNING"), false, false), { kind: "running" });
	assert.deepEqual(taskOutcome(st("TASK_KILLING"), true, true), { kind: "running" });
});

test("the worker's own exit gives no reason: it reported, or its heartbeats say 'worker lost'", () => {
	assert.deepEqual(taskOutcome(st("TASK_FINISHED"), true, false), { kind: "over", code: 0 });
	assert.deepEqual(taskOutcome(st("TASK_FAILED", "REASON_COMMAND_EXECUTOR_FAILED"), true, false), {
		kind: "over",
		code: null,
	});
});

test("a kill this framework asked for is no failure; someone else's is", () => {
	assert.deepEqual(taskOutcome(st("TASK_KILLED"), true, true), { kind: "over", code: null });
	const o = taskOutcome(st("TASK_KILLED", undefined, "killed by operator"), true, false);
	assert.deepEqual(o, {
		kind: "over",
		code: null,
		failure: { reason: "mesos task killed (killed by operator)", started: true },
	});
});

test("gone without the worker's word: lost, unreachable, gone, error, unknown fail the job with the reason", () => {
	for (const s of [
		"TASK_LOST",
		"TASK_UNREACHABLE",
		"TASK_GONE",
		"TASK_GONE_BY_OPERATOR",
		"TASK_ERROR",
		"TASK_UNKNOWN",
		"TASK_DROPPED",
	] as const) {
		const o = taskOutcome(st(s, "REASON_AGENT_REMOVED", "agent gone"), true, false);
		assert.equal(o.kind, "over", s);
		assert.ok(o.kind === "over" && o.failure?.started === true, s);
		assert.match(
			o.kind === "over" ? o.failure!.reason : "",
			new RegExp(`mesos task ${s.slice(5).toLowerCase()} \\(agent_removed: agent gone\\)`),
		);
		assert.ok(isTerminal(s));
	}
	const e = taskOutcome(st("TASK_ERROR", "REASON_TASK_INVALID"), false, false);
	assert.equal(e.kind === "over" && e.failure?.started, false, "never started");
});

test("a launch on a rescinded offer (dropped, or lost for a master without partition awareness) waits for another offer", () => {
	assert.deepEqual(taskOutcome(st("TASK_DROPPED", "REASON_INVALID_OFFERS"), false, false), {
		kind: "requeue",
	});
	assert.deepEqual(taskOutcome(st("TASK_LOST", "REASON_INVALID_OFFERS"), false, false), { kind: "requeue" });
	assert.equal(taskOutcome(st("TASK_DROPPED", "REASON_INVALID_OFFERS"), true, false).kind, "over");
});

test("terminal states", () => {
	for (const s of ["TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING"])
		assert.equal(isTerminal(s), false);
	for (const s of ["TASK_FINISHED", "TASK_FAILED", "TASK_KILLED"]) assert.ok(isTerminal(s));
});
