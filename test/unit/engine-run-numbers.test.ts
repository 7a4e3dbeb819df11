// Run numbers under concurrent requests: each run gets its own number, the numbers are 1..n
// without a gap, and creations running at once on one node do not walk through each other's
// numbers (each refused insert is a store round trip; against FerretDB a rolled-back transaction).

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createRun } from "../../src/engine/run-commands.ts";
import { engineFixture, type Fixture, simpleWorkflow } from "../helpers/engine-fixture.ts";

describe("run numbers", () => {
	let f: Fixture;
	let inserts = 0;
	before(async () => {
		f = await engineFixture({ maxRunningJobsPerProject: 1000, maxRunningJobsPerWorkflow: 1000 });
		f.define("P", simpleWorkflow("W"));
		const insert = f.repo.runs.insert.bind(f.repo.runs);
		f.repo.runs.insert = (doc) => {
			inserts++;
			return insert(doc);
		};
	});
	after(() => f.close());

	test("40 runs requested at once on one node: numbers 1..40, one insert each", async () => {
		inserts = 0;
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
		const next = await createRun(other, { project: "P", workflow: "W", triggeredBy: "t" });
		assert.equal(next.number, 61);
	});

	test("a creation request made again (a hook event processed after its replica died) answers the run it made", async () => {
		const first = await createRun(f.engine, {
			project: "P",
			workflow: "W",
			triggeredBy: "t",
			requestId: "ev#c0",
		});
		const again = await createRun(f.another("node-3"), {
			project: "P",
			workflow: "W",
			triggeredBy: "t",
			requestId: "ev#c0",
		});
		assert.equal(again._id, first._id);
		const other = await createRun(f.engine, {
			project: "P",
			workflow: "W",
			triggeredBy: "t",
			requestId: "ev#c1",
		});
		assert.equal(other.number, first.number + 1);
		const runs = await f.repo.runs.find({ project: "P", workflow: "W" });
		assert.equal(runs.filter((r) => r.number > 61).length, 2);
	});
});
