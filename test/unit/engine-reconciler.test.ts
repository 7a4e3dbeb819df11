// The reconciler after simulated crashes: a result stored but never applied, a queued job whose
// record was never written, and a run created but never begun.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { reconcile } from "../../src/engine/reconciler.ts";
import { createRun } from "../../src/engine/run-commands.ts";
import { runId } from "../../src/engine/run-repository.ts";
import { engineFixture, type Fixture, simpleWorkflow } from "../helpers/engine-fixture.ts";

describe("reconciler", () => {
	let f: Fixture;
	beforeEach(async () => {
		f = await engineFixture();
		f.define("P", simpleWorkflow("W"));
	});
	afterEach(() => f.close());

	test("a stored result that never reached its run is applied", async () => {
		const run = await createRun(f.engine, { project: "P", workflow: "W", triggeredBy: "t" });
		const [job] = await f.repo.jobs.find({ runId: run._id });
		// The node died right after the result insert.
		await f.repo.results.insert({ _id: job!._id, status: "Success", reason: null, steps: [], at: f.clock.t });
		assert.equal((await f.repo.runs.findOne({ _id: run._id }))?.status, "Building");
		const report = await reconcile(f.engine);
		assert.deepEqual(report.applied, [job!._id]);
		assert.equal((await f.repo.runs.findOne({ _id: run._id }))?.status, "Success");
		assert.equal(await f.repo.activeRuns.count({}), 0, "a finished run leaves the active list");
		assert.deepEqual(await reconcile(f.engine), {
			applied: [],
			requeued: [],
			begun: [],
			resolved: [],
			failed: [],
		});
	});

	test("a job the run is waiting for but that was never written is queued again", async () => {
		const run = await createRun(f.engine, { project: "P", workflow: "W", triggeredBy: "t" });
		const [job] = await f.repo.jobs.find({ runId: run._id });
		await f.repo.jobs.remove({ _id: job!._id });
		await f.repo.queue.remove({ _id: job!._id });
		const report = await reconcile(f.engine);
		assert.deepEqual(report.requeued, [job!._id]);
		assert.equal((await f.repo.jobs.findOne({ _id: job!._id }))?.status, "Waiting");
		assert.ok(await f.repo.queue.findOne({ _id: job!._id }));
		assert.ok(f.events.some((e) => e.event === "job.queued"));
	});

	test("a run inserted but never begun (Waiting) is begun and its jobs queued", async () => {
		const created = await createRun(f.engine, { project: "P", workflow: "W", triggeredBy: "t" });
		// Another run as the crash left it: inserted, listed active, nothing more.
		const id = runId("P", "W", 2);
		await f.repo.runs.insert({
			...created,
			_id: id,
			number: 2,
			status: "Waiting",
			progress: {
				state: { workflow: "W", status: "Waiting", vars: {}, nodes: {}, startedAt: f.clock.t },
				pipelines: {},
				stageConditions: {},
			},
		});
		await f.repo.activeRuns.replace({ _id: id });
		const report = await reconcile(f.engine);
		assert.deepEqual(report.begun, [id]);
		assert.equal((await f.repo.runs.findOne({ _id: id }))?.status, "Building");
		assert.equal(await f.repo.jobs.count({ runId: id }), 1);
	});

	test("a run whose definition cannot be read is reported and left for later", async () => {
		const run = await createRun(f.engine, { project: "P", workflow: "W", triggeredBy: "t" });
		const other = f.another("node-2");
		await f.repo.runs.update({ _id: run._id }, { $set: { definitionId: "P/W/gone/1" } });
		const report = await reconcile(other);
		assert.deepEqual(report.failed, [run._id]);
		assert.equal(await f.repo.activeRuns.count({ _id: run._id }), 1);
	});
});
