// The reaper, driven by the test's clock: a lost worker, a worker that never started, a job
// over its timeout, a job no hatchery can serve, and a booking whose finaliser died halfway.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import type { JobDoc } from "../../schemas/run.ts";
import { book, liveJobs, queueFor, vouchWorkers } from "../../src/engine/booking.ts";
import { reap } from "../../src/engine/reaper.ts";
import { createRun } from "../../src/engine/run-commands.ts";
import { engineFixture, type Fixture, hatcheryCaps, simpleWorkflow } from "../helpers/engine-fixture.ts";

const CAPS = hatcheryCaps();

describe("reaper", () => {
	let f: Fixture;
	let job: JobDoc;
	let runId: string;
	beforeEach(async () => {
		f = await engineFixture({
			heartbeatTimeoutMs: 10_000,
			bookingTimeoutMs: 60_000,
			noHatcheryTimeoutMs: 120_000,
		});
		f.define("P", simpleWorkflow("W"));
		runId = (await createRun(f.engine, { project: "P", workflow: "W", triggeredBy: "t" }))._id;
		[job] = (await f.repo.jobs.find({ runId })) as [JobDoc];
	});
	afterEach(() => f.close());

	/** What the worker API does when the worker fetches its job. */
	async function start() {
		await f.repo.activeJobs.update({ _id: job._id }, { $set: { status: "Building", startedAt: f.clock.t } });
		await f.repo.heartbeats.replace({ _id: job._id, at: f.clock.t });
	}

	async function outcome() {
		const result = await f.repo.results.findOne({ _id: job._id });
		const run = await f.repo.runs.findOne({ _id: runId });
		return { status: result?.status, reason: result?.reason, run: run?.status };
	}

	test("a queue entry left by a booking that died is dropped once its job ended, and never booked", async () => {
		const entry = (await f.repo.queue.findOne({ _id: job._id }))!;
		assert.equal((await book(f.engine, job._id, "h")).won, true);
		// The booking died before removing the job's queue entry; the job then ended.
		await f.repo.queue.insert(entry);
		await start();
		assert.equal(await f.engine.finalizeJob(job, "Success", null), true);
		assert.equal(
			await f.repo.queue.count({ _id: job._id }),
			1,
			"a complete booking's finaliser leaves the queue alone",
		);
		assert.deepEqual(await book(f.engine, job._id, "h2"), { won: false });
		assert.equal(await f.repo.queue.count({ _id: job._id }), 0);
	});

	test("a worker that stops heartbeating is lost; its booking ends (token revoked, slots freed)", async () => {
		assert.equal((await book(f.engine, job._id, "h")).won, true);
		await start();
		f.clock.t += 9_000;
		await f.repo.heartbeats.replace({ _id: job._id, at: f.clock.t });
		f.clock.t += 9_000;
		assert.deepEqual((await reap(f.engine)).lost, [], "heartbeat 9 s ago: alive");
		f.clock.t += 2_000;
		assert.deepEqual((await reap(f.engine)).lost, [job._id]);
		assert.deepEqual(await outcome(), { status: "Fail", reason: "worker lost", run: "Fail" });
		assert.equal(await f.repo.activeJobs.count({}), 0);
		assert.equal(f.revoked.length, 1);
		assert.deepEqual((await reap(f.engine)).lost, [], "reaped once");
	});

	test("a booked job whose worker never starts fails after the booking timeout", async () => {
		assert.equal((await book(f.engine, job._id, "h")).won, true);
		f.clock.t += 59_000;
		assert.deepEqual((await reap(f.engine)).neverStarted, []);
		f.clock.t += 2_000;
		assert.deepEqual((await reap(f.engine)).neverStarted, [job._id]);
		assert.equal((await outcome()).reason, "worker lost: it never started");
	});

	test("a job running past its timeout (plus 30 s) fails, even while its worker heartbeats", async () => {
		assert.equal((await book(f.engine, job._id, "h")).won, true);
		await start();
		const limit = (job.timeoutSeconds + 30) * 1000;
		for (let t = 0; t < limit; t += 5_000) {
			f.clock.t += 5_000;
			await f.repo.heartbeats.replace({ _id: job._id, at: f.clock.t });
		}
		assert.deepEqual((await reap(f.engine)).timedOut, []);
		f.clock.t += 1_000;
		await f.repo.heartbeats.replace({ _id: job._id, at: f.clock.t });
		assert.deepEqual((await reap(f.engine)).timedOut, [job._id]);
		assert.equal((await outcome()).reason, `job timed out after ${job.timeoutSeconds} s`);
	});

	test("a run engine that starts late lets a finished worker deliver before it calls the job overdue", async () => {
		assert.equal((await book(f.engine, job._id, "h")).won, true);
		await start();
		// The run service was down past the job's timeout; the worker ended in time and retries.
		f.clock.t += (job.timeoutSeconds + 60) * 1000;
		const restarted = f.another("restarted");
		f.clock.t += 5_000;
		assert.deepEqual((await reap(restarted)).timedOut, [], "within the grace after its start");
		assert.equal(await restarted.finalizeJob(job, "Success", null, []), true, "the late result is accepted");
		assert.deepEqual(await outcome(), { status: "Success", reason: null, run: "Success" });
	});

	test("after that grace, an overdue job whose worker stays silent fails", async () => {
		assert.equal((await book(f.engine, job._id, "h")).won, true);
		await start();
		f.clock.t += (job.timeoutSeconds + 60) * 1000;
		const restarted = f.another("restarted");
		f.clock.t += 11_000;
		const report = await reap(restarted);
		assert.deepEqual([...report.lost, ...report.timedOut], [job._id]);
	});

	test("a job no live hatchery can serve fails with the reason; one a hatchery can serve waits", async () => {
		f.clock.t += 121_000;
		// A hatchery that serves it, seen just now: the job waits.
		await queueFor(f.engine, CAPS, 1);
		assert.deepEqual((await reap(f.engine)).unservable, []);
		// That hatchery went silent: nobody can serve the job any more.
		f.clock.t += 31_000;
		assert.deepEqual((await reap(f.engine)).unservable, [job._id]);
		assert.deepEqual(await outcome(), { status: "Fail", reason: "no hatchery is running", run: "Fail" });
		assert.equal(await f.repo.queue.count({}), 0);
	});

	test("a job requiring a model no hatchery offers fails with that requirement", async () => {
		f.define("P", simpleWorkflow("M", { requirements: "  requirements:\n  - model: Node8\n" }));
		const run = await createRun(f.engine, { project: "P", workflow: "M", triggeredBy: "t" });
		f.clock.t += 121_000;
		await queueFor(f.engine, CAPS, 1);
		const report = await reap(f.engine);
		const [needy] = await f.repo.jobs.find({ runId: run._id });
		assert.deepEqual(report.unservable, [needy!._id], "the plain job of the other run waits");
		assert.equal(
			(await f.repo.results.findOne({ _id: needy!._id }))?.reason,
			"no hatchery offers model Node8",
		);
	});

	test("a booking whose job already has a result (a finaliser died halfway) is cleaned up", async () => {
		assert.equal((await book(f.engine, job._id, "h")).won, true);
		await f.repo.results.insert({ _id: job._id, status: "Success", reason: null, steps: [], at: f.clock.t });
		assert.equal(await f.repo.activeJobs.count({}), 1);
		// An ordinary pass reads no result of a booking that looks healthy; a thorough one does.
		await reap(f.engine);
		assert.equal(await f.repo.activeJobs.count({}), 1);
		await reap(f.engine, { thorough: true });
		assert.equal(await f.repo.activeJobs.count({}), 0);
		assert.equal(f.revoked.length, 1);
		assert.deepEqual(await liveJobs(f.engine, "h"), []);
	});

	test("a worker its hatchery sees alive is not lost while it cannot reach the API; once dead, it is", async () => {
		assert.equal((await book(f.engine, job._id, "h")).won, true);
		await start();
		// The gateway is gone: no heartbeat of the worker arrives, but its hatchery vouches.
		for (let i = 0; i < 5; i++) {
			f.clock.t += 5_000;
			assert.deepEqual(await vouchWorkers(f.engine, "h", [job._id]), [job._id]);
			assert.deepEqual((await reap(f.engine)).lost, []);
		}
		// The worker died: its hatchery no longer lists it.
		f.clock.t += 5_000;
		assert.deepEqual(await vouchWorkers(f.engine, "h", []), []);
		assert.deepEqual((await reap(f.engine)).lost, []);
		f.clock.t += 6_000;
		assert.deepEqual((await reap(f.engine)).lost, [job._id]);
		assert.deepEqual(await outcome(), { status: "Fail", reason: "worker lost", run: "Fail" });
	});

	test("only the booking hatchery vouches, and only for a worker that started", async () => {
		assert.equal((await book(f.engine, job._id, "h")).won, true);
		assert.deepEqual(await vouchWorkers(f.engine, "h", [job._id]), [], "booked, never started");
		await start();
		assert.deepEqual(await vouchWorkers(f.engine, "other", [job._id]), [], "another hatchery");
		f.clock.t += 11_000;
		assert.deepEqual((await reap(f.engine)).lost, [job._id]);
	});
});

describe("reaper: a booker that died right after its booking claim", () => {
	test("the claim is released after the booking timeout, and the job can be booked again", async () => {
		const f = await engineFixture({ bookingTimeoutMs: 60_000, noHatcheryTimeoutMs: 3_600_000 });
		try {
			f.define("P", simpleWorkflow("W"));
			const run = await createRun(f.engine, { project: "P", workflow: "W", triggeredBy: "t" });
			const [job] = await f.repo.jobs.find({ runId: run._id });
			// The dead booker's claim: no active entry was ever written.
			assert.equal((await f.store.claim("booking", job!._id, `${job!._id}@dead`)).won, true);
			assert.deepEqual(await book(f.engine, job!._id, "h"), { won: false });
			f.clock.t += 61_000;
			assert.equal((await reap(f.engine)).releasedBookings, 0, "first sighting");
			f.clock.t += 30_000;
			assert.equal((await reap(f.engine)).releasedBookings, 0, "not yet a booking timeout since");
			f.clock.t += 31_000;
			assert.equal((await reap(f.engine)).releasedBookings, 1);
			assert.equal((await book(f.engine, job!._id, "h")).won, true);
			f.clock.t += 20_000;
			assert.equal((await reap(f.engine)).releasedBookings, 0, "a live booking is never released");
			assert.ok(await f.store.holder("booking", job!._id));
		} finally {
			await f.close();
		}
	});
});
