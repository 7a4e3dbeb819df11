// The health check state machine: thresholds, one transition per change of state (never per
// probe), the sequence number a successor carries on from, and what a malformed stored state means.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
	firesOn,
	INITIAL_PROBE_STATE,
	type ProbeState,
	probeStateOf,
	stepProbe,
	type Transition,
} from "../../src/hooks/probe-state.ts";

const thresholds = { failure: 3, recovery: 2 };

function run(outcomes: boolean[], from: ProbeState = INITIAL_PROBE_STATE) {
	let state = from;
	const transitions: Transition[] = [];
	outcomes.forEach((ok, i) => {
		const r = stepProbe(state, { ok, latencyMs: 1, at: i }, thresholds);
		state = r.transition ? { ...r.state, pending: null } : r.state;
		if (r.transition) transitions.push(r.transition);
	});
	return { state, transitions };
}

describe("health check state machine", () => {
	test("a healthy target seen first starts nothing; going down then up makes two transitions", () => {
		const { state, transitions } = run([
			true,
			true,
			true,
			false,
			false,
			false,
			false,
			false,
			true,
			true,
			true,
		]);
		assert.deepEqual(
			transitions.map((t) => [t.seq, t.from, t.to]),
			[
				[1, "up", "down"],
				[2, "down", "up"],
			],
		);
		assert.equal(state.status, "up");
		assert.equal(state.seq, 2);
		assert.equal(transitions[0]!.at, 5, "down at the third failure in a row");
	});

	test("failures short of the threshold, interleaved with successes, change nothing", () => {
		const { state, transitions } = run([true, true, false, false, true, false, false, true, false]);
		assert.deepEqual(transitions, []);
		assert.equal(state.status, "up");
		assert.equal(state.failures, 1);
	});

	test("a target down from its first probes is a transition from unknown", () => {
		const { transitions } = run([false, false, false, false]);
		assert.deepEqual(
			transitions.map((t) => [t.seq, t.from, t.to]),
			[[1, "unknown", "down"]],
		);
	});

	test("a flapping target recovers only after recovery_threshold good probes in a row", () => {
		const { transitions } = run([false, false, false, true, false, true, false, true, true]);
		assert.deepEqual(
			transitions.map((t) => t.to),
			["down", "up"],
		);
		assert.equal(transitions[1]!.at, 8);
	});

	test("a successor carrying on from the stored state numbers the next transition after it", () => {
		const stored = probeStateOf(JSON.parse(JSON.stringify(run([true, true, false, false, false]).state)));
		assert.equal(stored.seq, 1);
		const { transitions } = run([true, true], stored);
		assert.deepEqual(
			transitions.map((t) => [t.seq, t.to]),
			[[2, "up"]],
		);
	});

	test("the transition is recorded as pending in the state it returns", () => {
		const r = stepProbe(
			{ ...INITIAL_PROBE_STATE, status: "up", failures: 2 },
			{ ok: false, latencyMs: 3, at: 9 },
			thresholds,
		);
		assert.equal(r.state.pending?.seq, 1);
		assert.deepEqual(r.state.pending, r.transition);
	});

	test("a missing or malformed stored state is the initial one", () => {
		assert.deepEqual(probeStateOf(null), INITIAL_PROBE_STATE);
		assert.deepEqual(probeStateOf({ status: "sideways" }), INITIAL_PROBE_STATE);
		assert.equal(probeStateOf({ status: "down", seq: -4, failures: "x" }).seq, 0);
	});

	test("`on` chooses which changes start a run", () => {
		assert.equal(firesOn("down", { to: "down" }), true);
		assert.equal(firesOn("down", { to: "up" }), false);
		assert.equal(firesOn("up", { to: "up" }), true);
		assert.equal(firesOn("both", { to: "up" }), true);
	});
});
