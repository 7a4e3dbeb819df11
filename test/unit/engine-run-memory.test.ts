// A node applying a job's result uses the run as it last wrote it only when the run lock's
// generations prove nobody changed it since (src/engine/run-engine.ts, rememberRun): a change
// another node made in between is never lost, and a run is stored begun by its creation.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createRun } from "../../src/engine/run-commands.ts";
import { engineFixture, type Fixture, simpleWorkflow } from "../helpers/engine-fixture.ts";

describe("the run a node remembers", () => {
	let f: Fixture;
	before(async () => {
		f = await engineFixture();
		f.define("P", simpleWorkflow("W", { jobs: 2 }));
	});
	after(() => f.close());

	test("a run is stored begun: Building with its first jobs queued, listed as active", async () => {
		const run = await createRun(f.engine, { project: "P", workflow: "W", triggeredBy: "test" });
		const stored = await f.repo.runs.findOne({ _id: run._id });
		assert.equal(stored?.status, "Building");
		assert.deepEqual(stored?.progress, run.progress);
		assert.equal((await f.repo.jobs.find({ runId: run._id })).length, 2);
		assert.equal((await f.repo.queue.find({ runNumber: run.number })).length, 2);
		assert.ok(await f.repo.activeRuns.findOne({ _id: run._id }));
	});

	test("a change another node made under the lock survives this node's next write", async () => {
		const run = await createRun(f.engine, { project: "P", workflow: "W", triggeredBy: "test" });
		const [first, second] = await f.repo.jobs.find({ runId: run._id });
		await f.engine.finalizeJob(first!, "Success", null);
		// Another node tags the run (under the lock) between this node's two results.
		await f.another("node-2").addTags(run._id, { from: "node-2" }, 10);
		await f.engine.finalizeJob(second!, "Success", null);
		const stored = await f.repo.runs.findOne({ _id: run._id });
		assert.equal(stored?.status, "Success");
		assert.deepEqual(stored?.tags, { from: "node-2" });
	});

	test("results applied one after the other by one node end the run with both", async () => {
		const run = await createRun(f.engine, { project: "P", workflow: "W", triggeredBy: "test" });
		const jobs = await f.repo.jobs.find({ runId: run._id });
		await Promise.all(jobs.map((j) => f.engine.finalizeJob(j, "Success", null)));
		const stored = await f.repo.runs.findOne({ _id: run._id });
		assert.equal(stored?.status, "Success");
		assert.equal(await f.repo.activeRuns.findOne({ _id: run._id }), null);
	});
});
