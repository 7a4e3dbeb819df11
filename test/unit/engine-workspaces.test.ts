// Persistent workspace leases on the embedded store: a stable id per (project, workflow, node,
// branch, name); one job at a time (the other waits in the queue, saying so); released at job
// end whatever the end; a lease whose booking is gone is swept; deletion with the workflow.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { book, queueFor } from "../../src/engine/booking.ts";
import { reap } from "../../src/engine/reaper.ts";
import { createRun } from "../../src/engine/run-commands.ts";
import {
	markWorkflowWorkspacesDeleted,
	WORKSPACE_LEASES,
	workspaceDeleted,
	workspaceId,
	workspacesToDelete,
} from "../../src/engine/workspaces.ts";
import { engineFixture, type Fixture, hatcheryCaps } from "../helpers/engine-fixture.ts";

const caps = hatcheryCaps({ persistentWorkspaces: true });

const FILES = [
	{
		path: "w.yml",
		content:
			"name: W\nversion: v2.0\nworkflow:\n  build:\n    pipeline: p\n    persistent_workspace: {name: cache, size: 5GB}\n",
	},
	{ path: "p.pip.yml", content: "version: v1.0\nname: p\njobs:\n- job: j\n  steps:\n  - script: echo\n" },
];

describe("persistent workspace ids", () => {
	test("stable, distinct per key part, usable as a name", () => {
		const id = workspaceId("P", "W", "build", "main", "cache");
		assert.equal(id, workspaceId("P", "W", "build", "main", "cache"));
		assert.match(id, /^ws-cache-[0-9a-f]{16}$/);
		const others = [
			workspaceId("Q", "W", "build", "main", "cache"),
			workspaceId("P", "X", "build", "main", "cache"),
			workspaceId("P", "W", "test", "main", "cache"),
			workspaceId("P", "W", "build", "dev", "cache"),
			workspaceId("P", "W", "build", "main", "other"),
			// The parts cannot run into each other.
			workspaceId("P", "W", "build/main", "", "cache"),
		];
		assert.equal(new Set([id, ...others]).size, 7);
		const long = workspaceId("P", "W", "n", "b", "a".repeat(40));
		assert.ok(long.length <= 63 && /^[a-z0-9][a-z0-9-]*$/.test(long));
	});
});

describe("persistent workspace leases (embedded store)", () => {
	let f: Fixture;
	beforeEach(async () => {
		f = await engineFixture();
		f.define("P", FILES);
	});
	afterEach(async () => f.close());

	const run = async (branch = "main") => {
		const r = await createRun(f.engine, {
			project: "P",
			workflow: "W",
			triggeredBy: "t",
			params: { "git.branch": branch },
		});
		const job = (await f.repo.jobs.find({ runId: r._id }))[0]!;
		return { run: r, job };
	};

	test("one job at a time: the second waits in the queue with a reason, and gets it once the first ended", async () => {
		const a = await run();
		const b = await run();
		const id = workspaceId("P", "W", "build", "main", "cache");
		assert.deepEqual(a.job.workspace, { id, name: "cache", sizeBytes: 5e9, branch: "main" });

		const booked = await book(f.engine, a.job._id, "h");
		assert.equal(booked.won, true);
		assert.ok(booked.won && booked.workspace);
		assert.equal(booked.won && booked.workspace?.id, id);
		assert.equal(booked.won && booked.workspace?.sizeBytes, 5e9);
		assert.equal(
			(await f.store.holder(WORKSPACE_LEASES, id))?.owner,
			booked.won && booked.workspace?.leaseId,
		);

		assert.deepEqual(await queueFor(f.engine, caps, 10), [], "b is not offered while a holds it");
		const waiting = await f.repo.jobs.findOne({ _id: b.job._id });
		assert.equal(waiting?.status, "Waiting");
		assert.equal(waiting?.reason, `waiting for persistent workspace cache held by run #${a.run.number}`);
		// Booking it anyway (a hatchery that read the queue before) loses, and leaves no trace.
		const lost = await book(f.engine, b.job._id, "h");
		assert.equal(lost.won, false);
		assert.equal(await f.repo.activeJobs.findOne({ _id: b.job._id }), null);

		await f.engine.finalizeJob(a.job, "Fail", "step failed");
		assert.equal(await f.store.holder(WORKSPACE_LEASES, id), null, "released at job end (any final state)");
		assert.deepEqual(await queueFor(f.engine, caps, 10), [b.job._id]);
		assert.equal((await book(f.engine, b.job._id, "h")).won, true);
		assert.equal((await f.repo.jobs.findOne({ _id: b.job._id }))?.reason, null, "the note goes once booked");
	});

	test("only a hatchery whose driver keeps workspaces is offered the job", async () => {
		const a = await run();
		assert.deepEqual(await queueFor(f.engine, { ...caps, name: "k8s", persistentWorkspaces: false }, 10), []);
		assert.deepEqual(await queueFor(f.engine, caps, 10), [a.job._id]);
	});

	test("another branch has its own workspace: both run at once", async () => {
		const main = await run("main");
		const dev = await run("dev");
		assert.notEqual(main.job.workspace?.id, dev.job.workspace?.id);
		assert.equal((await book(f.engine, main.job._id, "h")).won, true);
		assert.equal((await book(f.engine, dev.job._id, "h")).won, true);
	});

	test("a dead job's lease is released by the reaper (worker lost); a lease without booking is swept", async () => {
		const a = await run();
		assert.equal((await book(f.engine, a.job._id, "h")).won, true);
		await f.repo.activeJobs.update(
			{ _id: a.job._id },
			{ $set: { status: "Building", startedAt: f.clock.t } },
		);
		f.clock.t += f.settings.heartbeatTimeoutMs + 1000;
		const report = await reap(f.engine);
		assert.deepEqual(report.lost, [a.job._id]);
		const id = a.job.workspace!.id;
		assert.equal(await f.store.holder(WORKSPACE_LEASES, id), null);

		// A lease whose booking vanished (its node died between two writes) is freed by the sweep.
		const b = await run();
		assert.equal((await book(f.engine, b.job._id, "h")).won, true);
		await f.repo.activeJobs.remove({ _id: b.job._id });
		assert.ok(await f.store.holder(WORKSPACE_LEASES, id));
		const swept = await reap(f.engine, { thorough: true });
		assert.deepEqual(swept.freedWorkspaces, [id]);
		assert.equal(await f.store.holder(WORKSPACE_LEASES, id), null);
	});

	test("deleting the workflow: its workspaces are listed for the hatcheries that used them, unleased only", async () => {
		const a = await run();
		assert.equal((await book(f.engine, a.job._id, "h1")).won, true);
		const id = a.job.workspace!.id;
		assert.equal(await markWorkflowWorkspacesDeleted(f.engine, "P", "W"), 1);
		assert.deepEqual(await workspacesToDelete(f.engine, "h1"), [], "not while leased");
		await f.engine.finalizeJob(a.job, "Success", null);
		assert.deepEqual(await workspacesToDelete(f.engine, "h1"), [id]);
		assert.deepEqual(await workspacesToDelete(f.engine, "h2"), [], "h2 never kept it");
		await workspaceDeleted(f.engine, id, "h1");
		assert.equal(await f.repo.workspaces.findOne({ _id: id }), null);
		assert.deepEqual(await workspacesToDelete(f.engine, "h1"), []);
	});
});
