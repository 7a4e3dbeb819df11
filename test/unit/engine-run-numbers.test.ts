// Run numbers under concurrent requests: each run gets its own number, the numbers are 1..n
// without a gap, and creations running at once on one node do not walk through each other's
// numbers (each refused insert is a store round trip; against FerretDB a rolled-back transaction)
// and share one read of the stored hint.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createRun } from "../../src/engine/run-commands.ts";
import { engineFixture, type Fixture, simpleWorkflow } from "../helpers/engine-fixture.ts";

describe("run numbers", () => {
	let f: Fixture;
	let inserts = 0;
	let hintReads = 0;
	before(async () => {
		f = await engineFixture({ maxRunningJobsPerProject: 1000, maxRunningJobsPerWorkflow: 1000 });
		f.define("P", simpleWorkflow("W"));
		const insert = f.repo.runs.insert.bind(f.repo.runs);
		f.repo.runs.insert = (doc) => {
			inserts++;
			return insert(doc);
		};
		const findOne = f.repo.counters.findOne.bind(f.repo.counters);
		f.repo.counters.findOne = (filter) => {
			hintReads++;
			return findOne(filter);
		};
	});
	after(() => f.close());

	test("40 runs requested at once on one node: numbers 1..40, one insert each, one hint read", async () => {
		inserts = 0;
		hintReads = 0;
		const runs = await Promise.all(
			Array.from({ length: 40 }, () =>
				createRun(f.engine, { project: "P", workflow: "W", triggeredBy: "t" }),
			),
		);
		assert.deepEqual(
			runs.map((r) => r.number).sort((a, b) => a - b),
			Array.from({ length: 40 }, (_, i) => i + 1),
		);
		assert.equal(inserts, 40, "no run insert was refused");
		assert.equal(hintReads, 1, "the creations in flight shared the first one's read of the hint");
		assert.equal(f.engine.runNumbering.size, 0, "nothing is remembered once no creation runs");
	});

	test("two nodes at once: distinct numbers without a gap; a lone creation continues from the stored hint", async () => {
		const other = f.another("node-2");
		const runs = await Promise.all(
			Array.from({ length: 20 }, (_, i) =>
				createRun(i % 2 ? other : f.engine, { project: "P", workflow: "W", triggeredBy: "t" }),
			),
		);
		assert.deepEqual(
			runs.map((r) => r.number).sort((a, b) => a - b),
			Array.from({ length: 20 }, (_, i) => i + 41),
		);
		hintReads = 0;
		const next = await createRun(other, { project: "P", workflow: "W", triggeredBy: "t" });
		assert.equal(next.number, 61);
		assert.equal(hintReads, 1, "a lone creation reads the hint");
	});

	test("a creation asked again under the same request id (a hook event replayed) answers the first run", async () => {
		const first = await createRun(f.engine, {
			project: "P",
			workflow: "W",
			triggeredBy: "t",
			requestId: "ev-1#c0",
		});
		const again = await createRun(f.engine, {
			project: "P",
			workflow: "W",
			triggeredBy: "t",
			requestId: "ev-1#c0",
		});
		const other = await createRun(f.engine, {
			project: "P",
			workflow: "W",
			triggeredBy: "t",
			requestId: "ev-2#c0",
		});
		assert.equal(again._id, first._id);
		assert.equal(other.number, first.number + 1);
	});
});
