// Which active runs a reconcile pass looks at (src/engine/reconcile-schedule.ts).

import assert from "node:assert/strict";
import { test } from "node:test";
import { ReconcileSchedule } from "../../src/engine/reconcile-schedule.ts";

test("the first pass, and a pass after a node left, look at every active run", () => {
	let now = 0;
	const schedule = new ReconcileSchedule(10_000, 30_000, () => now);
	assert.deepEqual(schedule.pick(["a", "b"]), ["a", "b"], "at start: all");
	now += 3_000;
	assert.deepEqual(schedule.pick(["a", "b", "c"]), [], "then: none that is recent");
	schedule.requestFull();
	now += 3_000;
	assert.deepEqual(schedule.pick(["a", "b", "c"]), ["a", "b", "c"]);
	now += 3_000;
	assert.deepEqual(schedule.pick(["a", "b", "c"]), []);
});

test("otherwise, a run once it has been active a while, and then at most once per period", () => {
	let now = 0;
	const schedule = new ReconcileSchedule(10_000, 30_000, () => now);
	schedule.pick([]); // the start pass
	for (; now < 9_000; now += 3_000) assert.deepEqual(schedule.pick(["run-1"]), [], `at ${now} ms`);
	now = 10_000;
	assert.deepEqual(schedule.pick(["run-1", "run-2"]), ["run-1"], "run-1 settled, run-2 new");
	now = 20_000;
	assert.deepEqual(schedule.pick(["run-1", "run-2"]), ["run-2"], "run-1 done 10 s ago");
	now = 40_000;
	assert.deepEqual(schedule.pick(["run-1", "run-2"]), ["run-1"]);
	// A run that ended and came back (a restart of it) settles again.
	now = 41_000;
	schedule.pick(["run-2"]);
	now = 42_000;
	assert.deepEqual(schedule.pick(["run-1", "run-2"]), []);
	now = 52_000;
	assert.deepEqual(schedule.pick(["run-1", "run-2"]), ["run-1", "run-2"]);
});
