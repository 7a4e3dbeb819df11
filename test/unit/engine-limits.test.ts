// Job limits through slot claims: under racing bookers the limits hold (never more booked jobs
// than the limit), a booking that loses its workflow slot gives its project slot back, ended
// jobs free their slots, and the reaper frees slots a crashed booking left behind.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { JobDoc } from "../../schemas/run.ts";
import { book } from "../../src/engine/booking.ts";
import { PROJECT_SLOTS, projectSlotKey, slotOwner } from "../../src/engine/job-slots.ts";
import { reap } from "../../src/engine/reaper.ts";
import { createRun } from "../../src/engine/run-commands.ts";
import { engineFixture, type Fixture, simpleWorkflow } from "../helpers/engine-fixture.ts";

async function waitingJobs(f: Fixture, runId: string): Promise<JobDoc[]> {
	return (await f.repo.jobs.find({ runId })).filter((j) => j.status === "Waiting");
}

describe("job limits", () => {
	let f: Fixture;
	before(async () => {
		f = await engineFixture({ maxRunningJobsPerProject: 2, maxRunningJobsPerWorkflow: 2 });
		f.define("P", simpleWorkflow("W", { jobs: 3 }));
		f.define("P", simpleWorkflow("V", { jobs: 1 }));
	});
	after(() => f.close());

	test("three bookers racing for 100 rounds with a limit of 2: never 3 booked at once", async () => {
		const bookers = [f.engine, f.another("node-2"), f.another("node-3")];
		let rounds = 0;
		let full = 0;
		for (let round = 0; round < 100; round++) {
			const run = await createRun(f.engine, { project: "P", workflow: "W", triggeredBy: "test" });
			const jobs = await waitingJobs(f, run._id);
			assert.equal(jobs.length, 3);
			const results = await Promise.all(bookers.map((b, i) => book(b, jobs[i]!._id, `hatchery-${i}`)));
			const won = results.filter((r) => r.won);
			// The probe: the bookings the store holds now, whatever the callers were told.
			const live = await f.repo.activeJobs.count({ project: "P" });
			assert.ok(won.length <= 2, `round ${round}: ${won.length} bookings won`);
			assert.ok(live <= 2, `round ${round}: ${live} bookings live`);
			for (const r of results.filter((x) => !x.won)) assert.match(r.reason ?? "", /concurrency limit/);
			if (won.length === 2) full++;
			// The booked jobs end (their slots are freed); the refused one ends too.
			for (const j of jobs) await f.engine.finalizeJob(j, "Success", null);
			assert.equal(await f.repo.activeJobs.count({ project: "P" }), 0);
			rounds++;
		}
		assert.equal(rounds, 100);
		assert.ok(full > 0, "the limit was reached in some rounds (the race was real)");
	});

	test("the pre-count is not what decides: bookings that all see room still stop at the limit", async () => {
		const run = await createRun(f.engine, { project: "P", workflow: "W", triggeredBy: "test" });
		const jobs = await waitingJobs(f, run._id);
		// Every booker reads the active count (0) before any of them writes: only the slots decide.
		const engines = [f.engine, f.another("node-2"), f.another("node-3")];
		const results = await Promise.all(jobs.map((j, i) => book(engines[i]!, j._id, `h${i}`)));
		assert.equal(results.filter((r) => r.won).length, 2);
		for (const j of jobs) await f.engine.finalizeJob(j, "Success", null);
	});

	test("a workflow at its limit leaves room to another workflow of the project", async () => {
		const g = await engineFixture({ maxRunningJobsPerProject: 10, maxRunningJobsPerWorkflow: 1 });
		try {
			g.define("P", simpleWorkflow("W", { jobs: 2 }));
			g.define("P", simpleWorkflow("V", { jobs: 1 }));
			const w = await waitingJobs(
				g,
				(await createRun(g.engine, { project: "P", workflow: "W", triggeredBy: "t" }))._id,
			);
			const v = await waitingJobs(
				g,
				(await createRun(g.engine, { project: "P", workflow: "V", triggeredBy: "t" }))._id,
			);
			const [w0, w1, v0] = await Promise.all([
				book(g.engine, w[0]!._id, "h0"),
				book(g.another("n2"), w[1]!._id, "h1"),
				book(g.another("n3"), v[0]!._id, "h2"),
			]);
			assert.equal([w0, w1].filter((r) => r.won).length, 1);
			const refused = [w0, w1].find((r) => !r.won)!;
			assert.equal(refused.won ? "" : refused.reason, "workflow concurrency limit");
			assert.equal(v0.won, true);
			// The refused booking gave its project slot back: 2 of 10 held, not 3.
			let held = 0;
			for (let i = 0; i < 10; i++) if (await g.store.holder(PROJECT_SLOTS, projectSlotKey("P", i))) held++;
			assert.equal(held, 2);
		} finally {
			await g.close();
		}
	});

	test("an ended job frees its slots: the next one books", async () => {
		const run = await createRun(f.engine, { project: "P", workflow: "W", triggeredBy: "test" });
		const [a, b, c] = await waitingJobs(f, run._id);
		assert.equal((await book(f.engine, a!._id, "h")).won, true);
		assert.equal((await book(f.engine, b!._id, "h")).won, true);
		assert.equal((await book(f.engine, c!._id, "h")).won, false);
		await f.engine.finalizeJob(a!, "Success", null);
		const again = await book(f.engine, c!._id, "h");
		assert.equal(again.won, true);
		await f.engine.finalizeJob(b!, "Success", null);
		await f.engine.finalizeJob(c!, "Success", null);
	});

	test("a job is booked once: a second booking of the same job loses", async () => {
		const run = await createRun(f.engine, { project: "P", workflow: "V", triggeredBy: "test" });
		const [job] = await waitingJobs(f, run._id);
		const [x, y] = await Promise.all([book(f.engine, job!._id, "h1"), book(f.another("n2"), job!._id, "h2")]);
		assert.equal([x, y].filter((r) => r.won).length, 1);
		const won = (x.won ? x : y) as Extract<typeof x, { won: true }>;
		assert.deepEqual(won.requirements, []);
		assert.equal(won.jobId, job!._id);
		await f.engine.finalizeJob(job!, "Success", null);
	});

	test("slots a crashed booking left behind are freed by the reaper once a booking needs them", async () => {
		// A booking that died after winning both project slots: no active entry names it.
		for (let i = 0; i < 2; i++)
			assert.equal(
				(await f.store.claim(PROJECT_SLOTS, projectSlotKey("P", i), slotOwner(`gone-${i}`, "x"))).won,
				true,
			);
		const run = await createRun(f.engine, { project: "P", workflow: "V", triggeredBy: "test" });
		const [job] = await waitingJobs(f, run._id);
		const refused = await book(f.engine, job!._id, "h");
		assert.deepEqual(refused, { won: false, reason: "project concurrency limit" });
		const report = await reap(f.engine);
		assert.equal(report.freedSlots, 2);
		assert.equal((await book(f.engine, job!._id, "h")).won, true);
		// A live booking's slot is not taken for stale.
		assert.equal((await reap(f.engine)).freedSlots, 0);
		f.engine.congested.projects.add("P");
		assert.equal((await reap(f.engine)).freedSlots, 0);
		await f.engine.finalizeJob(job!, "Success", null);
	});

	test("a booking in progress (its booking claim and slots won, no entry yet) keeps its slots; once it is known dead they are freed", async () => {
		// The state booking.ts is in between winning its slots and writing its active entry.
		const owner = slotOwner("in-flight", "n1");
		assert.equal((await f.store.claim("booking", "in-flight", owner)).won, true);
		for (let i = 0; i < 2; i++)
			assert.equal(
				(await f.store.claim(PROJECT_SLOTS, projectSlotKey("P", i), owner, { kept: true })).won,
				true,
			);
		f.engine.congested.projects.add("P");
		assert.equal((await reap(f.engine)).freedSlots, 0, "its booking claim vouches for it");
		// It died there: the orphan-booking sweep releases its claim, then its slots are stale.
		await f.store.release("booking", "in-flight", owner);
		f.engine.congested.projects.add("P");
		assert.equal((await reap(f.engine)).freedSlots, 2);
	});
});
