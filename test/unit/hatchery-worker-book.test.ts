// The worker book every remote driver shares: limits, handles, one exit per worker, and a live
// job failed only when it has no worker at two judgements in a row.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { WorkerHandle } from "../../src/hatchery/contract.ts";
import { type BookedWorker, WorkerBook } from "../../src/hatchery/worker-book.ts";

const worker = (name: string, state: BookedWorker["state"], jobId: string | null = name): BookedWorker => ({
	name,
	jobId,
	startedAt: 1,
	state,
});

test("capacity counts running and starting workers (and those asked but not listed yet) against the limits", () => {
	const book = new WorkerBook({ maxWorkers: 4, maxProvisioning: 2 });
	const workers = [
		worker("a", "running"),
		worker("b", "provisioning"),
		{ ...worker("c", "exited"), reported: true },
	];
	assert.deepEqual(book.capacity(workers, 1), { max: 4, running: 1, provisioning: 2, idle: 0 });
	assert.equal(book.freeSlots(workers, 1), 0, "two starting: the provisioning limit is reached");
	assert.equal(book.freeSlots(workers), 1);
	assert.equal(book.freeSlots([worker("a", "running"), worker("b", "running"), worker("c", "running")]), 1);
	assert.deepEqual(
		book.handles(workers).map((h) => h.name),
		["a", "b"],
	);
});

test("a worker's end is told once; a deliberate end carries no failure", () => {
	const book = new WorkerBook({ maxWorkers: 4, maxProvisioning: 2 });
	const told: Array<[WorkerHandle, number | null]> = [];
	book.onExit((h, code) => told.push([h, code]));
	const a = worker("a", "running");
	assert.equal(book.end(a, 1, { reason: "evicted", started: true }, false), true);
	assert.equal(book.end(a, 1, { reason: "evicted", started: true }, false), false);
	const b = worker("b", "running");
	book.end(b, 0, { reason: "deleted", started: true }, true);
	assert.equal(told.length, 2);
	assert.deepEqual(told[0]![0].failure, { reason: "evicted", started: true });
	assert.equal(told[0]![0].state, "exited");
	assert.equal(a.reported, true);
	assert.equal(told[1]![0].failure, undefined);
});

test("a live job without a worker fails at the second judgement in a row, not the first", () => {
	const book = new WorkerBook({ maxWorkers: 4, maxProvisioning: 2 });
	const failed: string[] = [];
	book.onExit((h) => failed.push(`${h.jobId}: ${h.failure?.reason}`));
	const lost = (jobId: string) => ({ name: `w-${jobId}`, reason: "its worker is gone" });
	book.judgeMissing(["j1", "j2"], new Set(["j2"]), lost);
	assert.deepEqual(failed, []);
	// j1 got its worker in between: not failed; j3 is missing for the first time.
	book.judgeMissing(["j1", "j3"], new Set(["j1"]), lost);
	assert.deepEqual(failed, []);
	book.judgeMissing(["j3"], new Set(), lost);
	assert.deepEqual(failed, ["j3: its worker is gone"]);
});
