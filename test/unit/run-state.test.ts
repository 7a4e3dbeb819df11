import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { evaluateChecks } from "../../src/run/conditions.ts";
import { completeJob, computeNodeStatus, nextJobs, startPipeline } from "../../src/run/pipeline-state.ts";
import {
	beginNode,
	completeNode,
	computeRunStatus,
	isOneAtATime,
	type NodeStatus,
	nodesReady,
	resumeNode,
	startRun,
	stopRun,
	type WorkflowRunState,
} from "../../src/run/state.ts";
import { parseFileSet } from "../../src/workflow/file-set.ts";
import type { Pipeline, Workflow, WorkflowNode } from "../../src/workflow/model.ts";

const FIXTURE = join(import.meta.dirname, "../fixtures/run/ITSCWRKFLW3");

function loadItscwrkflw3(): { workflow: Workflow; pipelines: Map<string, Pipeline> } {
	const files = readdirSync(FIXTURE)
		.filter((f) => f.endsWith(".yml"))
		.map((f) => ({ path: f, content: readFileSync(join(FIXTURE, f), "utf8") }));
	const result = parseFileSet(files, {
		applications: ["ITSCWRKFLW3-APP"],
		environments: ["ITSCWRKFLW3-ENV-PREPROD", "ITSCWRKFLW3-ENV-PROD"],
	});
	assert.equal(result.ok, true, JSON.stringify(result.errors));
	return {
		workflow: result.model.workflows[0]!,
		pipelines: new Map(result.model.pipelines.map((p) => [p.name, p])),
	};
}

function node(name: string, dependsOn: string[] = [], extra: Partial<WorkflowNode> = {}): WorkflowNode {
	return {
		name,
		pipeline: name,
		application: undefined,
		environment: undefined,
		integration: undefined,
		dependsOn,
		when: [],
		conditions: { checks: [], script: undefined },
		oneAtATime: false,
		payload: undefined,
		parameters: {},
		permissions: {},
		...extra,
	};
}

function workflowOf(nodes: WorkflowNode[]): Workflow {
	return {
		name: "wf",
		description: undefined,
		version: "v2.0",
		nodes,
		hooks: [],
		notifications: [],
		metadata: {},
		retentionPolicy: undefined,
		historyLength: undefined,
		permissions: {},
	};
}

interface Simulation {
	state: WorkflowRunState;
	/** "start:x" / "end:x" events in order. */
	events: string[];
}

/**
 * Drives a run as the service would: conditions by evaluateChecks, pipelines through the
 * pipeline state machine, every job succeeding. Nodes finish in the order they started
 * (FIFO), so parallel branches interleave.
 */
function simulate(
	workflow: Workflow,
	pipelines: Map<string, Pipeline>,
	vars: Record<string, string>,
): Simulation {
	const events: string[] = [];
	let { state, ready } = startRun(workflow, vars, 1);
	const running: string[] = [];
	let clock = 1;
	const begin = (names: string[]) => {
		for (const name of names) {
			if (state.nodes[name]!.status !== "Waiting") continue; // already begun by a nested call
			const definition = workflow.nodes.find((n) => n.name === name)!;
			const t = beginNode(workflow, state, name, evaluateChecks(definition.conditions.checks, vars), ++clock);
			state = t.state;
			const status: NodeStatus = t.state.nodes[name]!.status;
			events.push(`${status === "Building" ? "start" : status}:${name}`);
			if (status === "Building") running.push(name);
			begin(t.ready);
		}
	};
	begin(ready);
	while (running.length > 0) {
		const name = running.shift()!;
		const definition = workflow.nodes.find((n) => n.name === name)!;
		let pipelineState = startPipeline(pipelines.get(definition.pipeline!)!);
		for (;;) {
			const step = nextJobs(pipelineState);
			pipelineState = step.state;
			if (step.done) break;
			for (const job of step.start) pipelineState = completeJob(pipelineState, job.id, "Success").state;
		}
		const t = completeNode(workflow, state, name, computeNodeStatus(pipelineState) as "Success", ++clock);
		state = t.state;
		events.push(`end:${name}`);
		ready = t.ready;
		begin(ready);
	}
	return { state, events };
}

describe("ITSCWRKFLW3: root → fork → build_front & build_api → tests (join) → deploy", () => {
	const { workflow, pipelines } = loadItscwrkflw3();

	test("on master every node runs, in dependency order, builds in parallel", () => {
		const { state, events } = simulate(workflow, pipelines, { "git.branch": "master" });
		assert.equal(state.status, "Success");
		for (const n of Object.values(state.nodes)) assert.equal(n.status, "Success", n.name);
		const at = (e: string) => events.indexOf(e);
		assert.ok(at("start:root") === 0);
		assert.ok(at("Success:fork") > at("end:root"));
		// Both builds start before either ends: they run in parallel.
		assert.ok(at("start:build_api") < at("end:build_front") && at("start:build_front") < at("end:build_api"));
		// The join waits for both builds.
		assert.ok(at("start:tests") > at("end:build_api") && at("start:tests") > at("end:build_front"));
		assert.ok(at("start:deploy") > at("end:tests"));
		assert.equal(events.filter((e) => e.startsWith("start:")).length, 5);
	});

	test("on another branch the root condition fails and the whole workflow is skipped", () => {
		const { state, events } = simulate(workflow, pipelines, { "git.branch": "develop" });
		assert.deepEqual(events, ["Skipped:root"]);
		assert.equal(state.status, "Skipped");
		for (const n of Object.values(state.nodes)) assert.equal(n.status, "Skipped", n.name);
		assert.match(state.nodes.root!.reason!, /git\.branch eq "master"/);
		assert.match(state.nodes.deploy!.reason!, /parent tests is Skipped/);
	});

	test("a failed build skips the join and what follows; the run fails", () => {
		let { state } = startRun(workflow, { "git.branch": "master" });
		const ok = { ok: true };
		state = beginNode(workflow, state, "root", ok).state;
		const afterRoot = completeNode(workflow, state, "root", "Success");
		assert.deepEqual(afterRoot.ready, ["fork"]);
		const afterFork = beginNode(workflow, afterRoot.state, "fork", ok);
		assert.equal(afterFork.state.nodes.fork!.status, "Success");
		assert.deepEqual(afterFork.ready, ["build_api", "build_front"]);
		state = beginNode(workflow, afterFork.state, "build_api", ok).state;
		state = beginNode(workflow, state, "build_front", ok).state;
		const failed = completeNode(workflow, state, "build_api", "Fail");
		assert.deepEqual(failed.ready, []);
		assert.equal(failed.state.nodes.tests!.status, "Skipped");
		assert.equal(failed.state.nodes.deploy!.status, "Skipped");
		assert.equal(failed.state.status, "Building"); // build_front still runs
		const done = completeNode(workflow, failed.state, "build_front", "Success", 50);
		assert.equal(done.state.status, "Fail");
		assert.equal(done.state.doneAt, 50);
	});
});

describe("run state machine", () => {
	test("startRun lists the roots and leaves the input untouched", () => {
		const wf = workflowOf([node("a"), node("b"), node("c", ["a", "b"])]);
		const { state, ready } = startRun(wf, { x: "1" }, 10);
		assert.deepEqual(ready, ["a", "b"]);
		assert.equal(state.status, "Building");
		assert.equal(state.startedAt, 10);
		const copy = structuredClone(state);
		beginNode(wf, state, "a", { ok: true });
		assert.deepEqual(state, copy);
		assert.deepEqual(nodesReady(wf, state), ["a", "b"]);
	});

	test("a join runs only when every parent succeeded", () => {
		const wf = workflowOf([node("a"), node("b"), node("c", ["a", "b"])]);
		let { state } = startRun(wf, {});
		state = beginNode(wf, state, "a", { ok: true }).state;
		state = beginNode(wf, state, "b", { ok: true }).state;
		const t = completeNode(wf, state, "a", "Success");
		assert.deepEqual(t.ready, []);
		assert.throws(() => beginNode(wf, t.state, "c", { ok: true }), /parents have not all succeeded/);
		assert.deepEqual(completeNode(wf, t.state, "b", "Success").ready, ["c"]);
	});

	test("a join with a skipped parent is skipped", () => {
		const wf = workflowOf([node("a"), node("b"), node("c", ["a", "b"])]);
		let { state } = startRun(wf, {});
		state = beginNode(wf, state, "a", { ok: false, reason: "nope" }).state;
		assert.equal(state.nodes.a!.reason, "nope");
		assert.equal(state.nodes.c!.status, "Skipped");
		state = beginNode(wf, state, "b", { ok: true }).state;
		state = completeNode(wf, state, "b", "Success").state;
		assert.equal(state.status, "Success");
	});

	test("manual nodes wait in Manual until resumed", () => {
		const wf = workflowOf([
			node("build"),
			node("deploy", ["build"], { when: ["manual"] }),
			node("notify", ["deploy"]),
		]);
		let { state } = startRun(wf, {});
		state = beginNode(wf, state, "build", { ok: true }).state;
		const t = completeNode(wf, state, "build", "Success");
		assert.deepEqual(t.ready, ["deploy"]);
		state = beginNode(wf, t.state, "deploy", { ok: true }).state;
		assert.equal(state.nodes.deploy!.status, "Manual");
		assert.equal(state.status, "Manual");
		assert.equal(computeRunStatus(state), "Manual");
		assert.deepEqual(nodesReady(wf, state), []);
		assert.throws(() => completeNode(wf, state, "deploy", "Success"), /cannot complete/);
		assert.throws(() => resumeNode(state, "build", "alice"), /not waiting for a manual resume/);
		state = resumeNode(state, "deploy", "alice", 99);
		assert.equal(state.nodes.deploy!.status, "Building");
		assert.equal(state.nodes.deploy!.resumedBy, "alice");
		assert.equal(state.nodes.deploy!.startedAt, 99);
		assert.equal(state.status, "Building");
		const done = completeNode(wf, state, "deploy", "Success");
		assert.deepEqual(done.ready, ["notify"]);
	});

	test("a manual node whose conditions are false is skipped without waiting", () => {
		const wf = workflowOf([node("a"), node("m", ["a"], { when: ["manual"] })]);
		let { state } = startRun(wf, {});
		state = beginNode(wf, state, "a", { ok: true }).state;
		state = completeNode(wf, state, "a", "Success").state;
		state = beginNode(wf, state, "m", { ok: false }).state;
		assert.equal(state.nodes.m!.status, "Skipped");
		assert.equal(state.status, "Success");
	});

	test("stopRun stops what is not finished", () => {
		const wf = workflowOf([node("a"), node("b", ["a"]), node("c")]);
		let { state } = startRun(wf, {});
		state = beginNode(wf, state, "a", { ok: true }).state;
		state = beginNode(wf, state, "c", { ok: true }).state;
		state = completeNode(wf, state, "c", "Success").state;
		state = stopRun(state, 7);
		assert.equal(state.nodes.a!.status, "Stopped");
		assert.equal(state.nodes.b!.status, "Stopped");
		assert.equal(state.nodes.c!.status, "Success");
		assert.equal(state.status, "Stopped");
	});

	test("a stopped node skips its children; the run is Stopped", () => {
		const wf = workflowOf([node("a"), node("b", ["a"])]);
		let { state } = startRun(wf, {});
		state = beginNode(wf, state, "a", { ok: true }).state;
		state = completeNode(wf, state, "a", "Stopped").state;
		assert.equal(state.nodes.b!.status, "Skipped");
		assert.equal(state.status, "Stopped");
	});

	test("one_at_a_time is exposed for the service", () => {
		const wf = workflowOf([node("a", [], { oneAtATime: true }), node("b", ["a"])]);
		assert.equal(isOneAtATime(wf, "a"), true);
		assert.equal(isOneAtATime(wf, "b"), false);
		assert.equal(startRun(wf, {}).state.nodes.a!.oneAtATime, true);
		assert.throws(() => isOneAtATime(wf, "zz"), /no node "zz"/);
	});

	test("bad transitions are clear errors", () => {
		const wf = workflowOf([node("a")]);
		const { state } = startRun(wf, {});
		assert.throws(() => beginNode(wf, state, "nope", { ok: true }), /no node "nope"/);
		const begun = beginNode(wf, state, "a", { ok: true }).state;
		assert.throws(() => beginNode(wf, begun, "a", { ok: true }), /cannot begin: it is Building/);
	});

	test("skips propagate whatever order the nodes are listed in", () => {
		const wf = workflowOf([node("d", ["c"]), node("c", ["b"]), node("b", ["a"]), node("a")]);
		let { state } = startRun(wf, {});
		state = beginNode(wf, state, "a", { ok: true }).state;
		state = completeNode(wf, state, "a", "Fail").state;
		for (const n of ["b", "c", "d"]) assert.equal(state.nodes[n]!.status, "Skipped", n);
		assert.equal(state.status, "Fail");
	});
});
