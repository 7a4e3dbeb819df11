// A node's view of the job queue (src/engine/queue-view.ts): hatcheries asking for work at every
// freed worker do not read the queue back each time, and still see every job as soon as before.

import assert from "node:assert/strict";
import { after, beforeEach, describe, test } from "node:test";
import { book, queueFor } from "../../src/engine/booking.ts";
import { QUEUE_VIEW_TTL_MS, QueueView } from "../../src/engine/queue-view.ts";
import type { QueueDoc } from "../../schemas/run.ts";
import { createRun, stopRun } from "../../src/engine/run-commands.ts";
import { engineFixture, type Fixture, hatcheryCaps, simpleWorkflow } from "../helpers/engine-fixture.ts";

const caps = hatcheryCaps();

const entry = (id: string): QueueDoc => ({
	_id: id,
	project: "P",
	workflow: "W",
	node: "build",
	runNumber: 1,
	oneAtATime: false,
	queuedAt: 1,
	requirements: [],
});
const ids = (docs: QueueDoc[] | undefined) => docs?.map((d) => d._id).sort();

describe("the queue view's reads, with changes made while one is in flight (pure)", () => {
	test("a job this node queued or booked during the read keeps its change over the read's older result", () => {
		const view = new QueueView(1000);
		assert.equal(view.entries(0), undefined, "never read: read the store");
		const since = view.beginRead();
		view.add(entry("new")); // inserted after the read's snapshot
		view.remove("booked"); // booked after the snapshot, which still holds it
		view.endRead(since, [entry("booked"), entry("old")], 10);
		assert.deepEqual(ids(view.entries(10)), ["new", "old"]);
		assert.deepEqual(ids(view.entries(1009)), ["new", "old"]);
		assert.equal(view.entries(1010), undefined, "a TTL old: read again");
	});

	test("an invalidation during the read leaves the view stale; a failed read changes nothing", () => {
		const view = new QueueView(1000);
		let since = view.beginRead();
		view.invalidate(); // another node queued a job the read may not have seen
		view.endRead(since, [entry("a")], 10);
		assert.equal(view.entries(11), undefined);
		since = view.beginRead();
		view.endRead(since, [entry("a")], 20);
		assert.deepEqual(ids(view.entries(21)), ["a"]);
		since = view.beginRead();
		view.endRead(since, undefined, 30);
		assert.deepEqual(ids(view.entries(31)), ["a"]);
	});
});

describe("a node's view of the job queue", () => {
	let f: Fixture;
	let reads: number;
	beforeEach(async () => {
		await f?.close();
		f = await engineFixture();
		f.define("P", simpleWorkflow("W"));
		reads = 0;
		const find = f.repo.queue.find.bind(f.repo.queue);
		f.repo.queue.find = (...args: Parameters<typeof find>) => {
			reads++;
			return find(...args);
		};
	});
	after(() => f?.close());

	test("offers to one node's hatchery read the queue once per TTL, and offer every job it queues at once", async () => {
		const runs = [];
		for (let i = 0; i < 5; i++)
			runs.push(await createRun(f.engine, { project: "P", workflow: "W", triggeredBy: "t" }));
		const booked: string[] = [];
		for (let i = 0; i < 5; i++) {
			const [id] = await queueFor(f.engine, caps, 1);
			assert.ok(id, `offer ${i + 1} has a job`);
			assert.equal((await book(f.engine, id, "h")).won, true);
			booked.push(id);
		}
		assert.equal(new Set(booked).size, 5, "each job offered once, none again once booked");
		assert.equal(reads, 1, "one read of the queue for five offers");
		// A run created now is offered without a read: this node wrote it.
		const late = await createRun(f.engine, { project: "P", workflow: "W", triggeredBy: "t" });
		const offered = await queueFor(f.engine, caps, 1);
		assert.ok(offered[0]?.startsWith(`${late._id}/`));
		assert.equal(reads, 1);
		assert.equal((await book(f.engine, offered[0]!, "h")).won, true);
		// Once all are booked the view is empty, and says so without a read until it is a TTL old.
		assert.deepEqual(await queueFor(f.engine, caps, 1), []);
		assert.equal(reads, 1);
		f.clock.t += QUEUE_VIEW_TTL_MS;
		assert.deepEqual(await queueFor(f.engine, caps, 1), []);
		assert.equal(reads, 2);
		assert.equal(runs.length, 5);
	});

	test("a job another node queued is offered at the next read: at once when its broadcast invalidates the view, else within the TTL", async () => {
		await createRun(f.engine, { project: "P", workflow: "W", triggeredBy: "t" });
		assert.equal((await queueFor(f.engine, caps, 5)).length, 1);
		const other = f.another("node-2");
		const theirs = await createRun(other, { project: "P", workflow: "W", triggeredBy: "t" });
		const stale = await queueFor(f.engine, caps, 5);
		assert.equal(stale.length, 1, "the view does not know it yet");
		f.engine.queueView.invalidate(); // what run.service does on another node's job.queued
		const fresh = await queueFor(f.engine, caps, 5);
		assert.equal(fresh.length, 2);
		assert.ok(fresh.some((id) => id.startsWith(`${theirs._id}/`)));

		const third = await createRun(other, { project: "P", workflow: "W", triggeredBy: "t" });
		assert.equal((await queueFor(f.engine, caps, 5)).length, 2, "broadcast lost: not yet");
		f.clock.t += QUEUE_VIEW_TTL_MS;
		const later = await queueFor(f.engine, caps, 5);
		assert.ok(
			later.some((id) => id.startsWith(`${third._id}/`)),
			"offered once the view is a TTL old",
		);
	});

	test("an entry another node booked is lost once by a booking, then no more offered; a stopped job is not offered", async () => {
		const taken = await createRun(f.engine, { project: "P", workflow: "W", triggeredBy: "t" });
		const stopped = await createRun(f.engine, { project: "P", workflow: "W", triggeredBy: "t" });
		const waiting = await createRun(f.engine, { project: "P", workflow: "W", triggeredBy: "t" });
		const offered = await queueFor(f.engine, caps, 5);
		assert.equal(offered.length, 3);
		const theirs = offered.find((id) => id.startsWith(`${taken._id}/`))!;
		assert.equal((await book(f.another("node-2"), theirs, "h2")).won, true);
		assert.equal((await book(f.engine, theirs, "h")).won, false, "the booking claim decides");
		await stopRun(f.engine, stopped, "tester");
		const left = await queueFor(f.engine, caps, 5);
		assert.equal(left.length, 1);
		assert.ok(left[0]!.startsWith(`${waiting._id}/`));
		assert.equal(reads, 1, "both left this node's view without a read");
	});
});
