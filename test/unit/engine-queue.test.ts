// Queue selection: requirement matching, one_at_a_time, and fairness between projects.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { QueueDoc } from "../../schemas/run.ts";
import { book, queueFor } from "../../src/engine/booking.ts";
import { roundRobin, selectJobs, spread } from "../../src/engine/queue-selection.ts";
import { createRun } from "../../src/engine/run-commands.ts";
import { engineFixture, type Fixture, hatcheryCaps, simpleWorkflow } from "../helpers/engine-fixture.ts";

const caps = hatcheryCaps;

const queued = (id: string, project: string, queuedAt: number, extra: Partial<QueueDoc> = {}): QueueDoc => ({
	_id: id,
	project,
	workflow: "W",
	node: "build",
	runNumber: 1,
	oneAtATime: false,
	queuedAt,
	requirements: [],
	...extra,
});

describe("queue selection (pure)", () => {
	test("round-robin between projects, each in queue order", () => {
		const order = roundRobin(
			[
				queued("a1", "A", 1),
				queued("a2", "A", 2),
				queued("a3", "A", 3),
				queued("b1", "B", 4),
				queued("c1", "C", 5),
			],
			10,
		);
		assert.deepEqual(order, ["a1", "b1", "c1", "a2", "a3"]);
		assert.deepEqual(roundRobin([queued("a1", "A", 1), queued("a2", "A", 2), queued("b1", "B", 3)], 2), [
			"a1",
			"b1",
		]);
	});

	test("the oldest job first whatever order the store returned", async () => {
		const picked = await selectJobs(
			[queued("late", "A", 30), queued("early", "A", 10), queued("mid", "A", 20)],
			caps(),
			10,
			async () => false,
		);
		assert.deepEqual(picked, ["early", "mid", "late"]);
	});

	test("requirements the hatchery does not meet exclude the job", async () => {
		const picked = await selectJobs(
			[
				queued("needs-m1", "A", 1, { requirements: [{ type: "model", name: "m", value: "M1" }] as never }),
				queued("needs-go", "A", 2, { requirements: [{ type: "binary", name: "go", value: "go" }] as never }),
				queued("plain", "A", 3),
			],
			caps({ models: ["M1"] }),
			10,
			async () => false,
		);
		assert.deepEqual(picked, ["needs-m1", "plain"]);
	});

	test("a one_at_a_time job held back is skipped; others are not asked", async () => {
		const asked: string[] = [];
		const picked = await selectJobs(
			[queued("o", "A", 1, { oneAtATime: true }), queued("x", "A", 2)],
			caps(),
			10,
			async (q) => {
				asked.push(q._id);
				return true;
			},
		);
		assert.deepEqual(picked, ["x"]);
		assert.deepEqual(asked, ["o"]);
	});

	test("spread picks a window of `limit` starting within the first few", () => {
		const fair = ["a", "b", "c", "d", "e"];
		assert.deepEqual(
			spread(fair, 2, () => 0),
			["a", "b"],
		);
		assert.deepEqual(
			spread(fair, 2, () => 0.999),
			["d", "e"],
		);
		assert.deepEqual(
			spread(["a"], 2, () => 0.999),
			["a"],
		);
	});
});

describe("queueFor over the store", () => {
	let f: Fixture;
	before(async () => {
		f = await engineFixture();
		f.define("BIG", simpleWorkflow("W", { jobs: 4 }));
		f.define("SMALL", simpleWorkflow("W", { jobs: 1 }));
		f.define("BIG", [
			{
				path: "w.yml",
				content:
					"name: CHAIN\nversion: v2.0\nworkflow:\n  build:\n    pipeline: p\n    one_at_a_time: true\n",
			},
			{ path: "p.pip.yml", content: "version: v1.0\nname: p\njobs:\n- job: j\n  steps:\n  - script: echo\n" },
		]);
	});
	after(() => f.close());

	test("a project with many queued jobs does not starve one with a single job", async () => {
		const big = await createRun(f.engine, { project: "BIG", workflow: "W", triggeredBy: "t" });
		f.clock.t += 1000;
		const small = await createRun(f.engine, { project: "SMALL", workflow: "W", triggeredBy: "t" });
		const picked = await queueFor(f.engine, caps(), 2);
		assert.equal(picked.length, 2);
		assert.ok(picked[0]!.startsWith(`${big._id}/`));
		assert.ok(picked[1]!.startsWith(`${small._id}/`), `SMALL's job comes second: ${picked.join(", ")}`);
		// The hatchery's capabilities are recorded (the reaper's no-hatchery check reads them).
		assert.equal((await f.repo.hatcheries.findOne({ _id: "h" }))?.seenAt, f.clock.t);
		for (const j of await f.repo.jobs.find({})) await f.engine.finalizeJob(j, "Success", null);
	});

	test("one_at_a_time: run 2's job waits while run 1's is live, and is offered once it ended", async () => {
		const r1 = await createRun(f.engine, { project: "BIG", workflow: "CHAIN", triggeredBy: "t" });
		const r2 = await createRun(f.engine, { project: "BIG", workflow: "CHAIN", triggeredBy: "t" });
		const first = await queueFor(f.engine, caps(), 10);
		assert.deepEqual(
			first.map((id) => id.split("/").slice(0, 3).join("/")),
			[r1._id],
		);
		const booked = await book(f.engine, first[0]!, "h");
		assert.equal(booked.won, true);
		assert.deepEqual(await queueFor(f.engine, caps(), 10), [], "still held back while run 1's job is booked");
		const [job1] = await f.repo.jobs.find({ runId: r1._id });
		await f.engine.finalizeJob(job1!, "Success", null);
		const next = await queueFor(f.engine, caps(), 10);
		assert.deepEqual(
			next.map((id) => id.split("/").slice(0, 3).join("/")),
			[r2._id],
		);
	});
});
