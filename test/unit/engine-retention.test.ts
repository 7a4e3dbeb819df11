// Retention: artifact references beyond the history length expire, unreferenced blobs go after
// the grace period, runs of a deleted branch are purged after the retention delay.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { BlobSweeper } from "../../src/engine/garbage.ts";
import { collectGarbage, expireArtifactRefs, purgeDeletedBranches } from "../../src/engine/retention.ts";
import { createRun } from "../../src/engine/run-commands.ts";
import { runId } from "../../src/engine/run-repository.ts";
import { engineFixture, type Fixture, fakeArtifacts, simpleWorkflow } from "../helpers/engine-fixture.ts";

const sha = (n: number) => String(n).repeat(64).slice(0, 64);

describe("retention", () => {
	let f: Fixture;
	beforeEach(async () => {
		f = await engineFixture({ historyLength: 2, deletedBranchRetentionMs: 60_000 });
	});
	afterEach(() => f.close());

	async function ref(project: string, workflow: string, number: number, n: number) {
		const scope = runId(project, workflow, number);
		await f.repo.artifactRefs.replace({
			_id: `${scope}/t/f${n}`,
			scope,
			tag: "t",
			name: `f${n}`,
			sha256: sha(n),
			size: 1,
			created: "",
		});
	}

	test("artifact references of runs older than the history length expire", async () => {
		await f.repo.counters.replace({ _id: "P/W", last: 5 });
		for (let n = 1; n <= 5; n++) await ref("P", "W", n, n);
		await ref("P", "OTHER", 1, 9);
		assert.equal(await expireArtifactRefs(f.engine), 3);
		const left = (await f.repo.artifactRefs.find({})).map((r) => r.scope).sort();
		assert.deepEqual(left, [runId("P", "OTHER", 1), runId("P", "W", 4), runId("P", "W", 5)]);
	});

	test("a workflow's history_length wins over the default", async () => {
		f.define("P", [
			{
				path: "w.yml",
				content: "name: W\nversion: v2.0\nhistory_length: 4\nworkflow:\n  build:\n    pipeline: p\n",
			},
			{ path: "p.pip.yml", content: "version: v1.0\nname: p\njobs:\n- job: j\n  steps:\n  - script: echo\n" },
		]);
		for (let i = 0; i < 5; i++) await createRun(f.engine, { project: "P", workflow: "W", triggeredBy: "t" });
		for (let n = 1; n <= 5; n++) await ref("P", "W", n, n);
		assert.equal(await expireArtifactRefs(f.engine), 1);
	});

	test("blobs nobody refers to are deleted once seen unreferenced for the grace period", async () => {
		await f.repo.counters.replace({ _id: "P/W", last: 1 });
		await ref("P", "W", 1, 1);
		const blobs = new Set([sha(1), sha(2)]);
		const deps = {
			artifacts: fakeArtifacts(blobs),
			sweeper: new BlobSweeper(),
			graceMs: 10_000,
			branchExists: async () => true,
		};
		assert.equal((await collectGarbage(f.engine, deps)).deletedBlobs, 0, "first seen now");
		f.clock.t += 10_000;
		assert.deepEqual(await collectGarbage(f.engine, deps), {
			expiredRefs: 0,
			deletedBlobs: 1,
			staleUploads: 0,
			purgedRuns: 0,
		});
		assert.deepEqual([...blobs], [sha(1)]);
	});

	test("a store keeping blobs per project (Swift): each project's copy is kept by that project's references only", async () => {
		await f.repo.counters.replace({ _id: "P/W", last: 1 });
		await ref("P", "W", 1, 1);
		// P's blob 1 is referenced; Q holds a copy of the same bytes nobody in Q refers to; a global
		// blob (a plugin binary) is kept by alsoReferenced; a global one nobody holds goes.
		const stored = [
			{ sha256: sha(1), project: "P" },
			{ sha256: sha(1), project: "Q" },
			{ sha256: sha(3) },
			{ sha256: sha(4) },
		];
		const deleted: string[] = [];
		let staleAsked: number | undefined;
		const artifacts = {
			...fakeArtifacts(new Set()),
			async *list() {
				yield* stored;
			},
			delete: async (sha256: string, where: { project?: string } = {}) => {
				deleted.push(`${where.project ?? "-"}/${sha256.slice(0, 1)}`);
			},
			collectStale: async (maxAgeMs: number) => {
				staleAsked = maxAgeMs;
				return 2;
			},
		};
		const deps = {
			artifacts,
			sweeper: new BlobSweeper(),
			graceMs: 0,
			branchExists: async () => true,
			alsoReferenced: async () => [sha(3)],
			staleUploadMs: 1234,
		};
		await collectGarbage(f.engine, deps);
		const report = await collectGarbage(f.engine, deps);
		assert.deepEqual(deleted.sort(), ["-/4", "Q/1"]);
		assert.equal(report.staleUploads, 2);
		assert.equal(staleAsked, 1234);
	});

	test("runs of a branch deleted longer ago than the retention are purged with their jobs, logs and refs", async () => {
		f.define("P", simpleWorkflow("W"), "feature");
		f.define("P", simpleWorkflow("W"), "master");
		const doomed = await createRun(f.engine, {
			project: "P",
			workflow: "W",
			branch: "feature",
			triggeredBy: "t",
		});
		const kept = await createRun(f.engine, {
			project: "P",
			workflow: "W",
			branch: "master",
			triggeredBy: "t",
		});
		for (const run of [doomed, kept]) {
			const [job] = await f.repo.jobs.find({ runId: run._id });
			await f.repo.logs.insert({
				_id: `${job!._id}/l`,
				jobId: job!._id,
				runId: run._id,
				step: 0,
				seq: 0,
				text: "x",
				at: 0,
			});
			await f.engine.finalizeJob(job!, "Success", null);
		}
		await ref("P", "W", doomed.number, 1);
		await f.engine.recordBranchDeletion("P", "W", "feature", f.clock.t);
		const gone = async () => false;
		assert.equal(await purgeDeletedBranches(f.engine, gone), 0, "within the retention");
		f.clock.t += 61_000;
		assert.equal(await purgeDeletedBranches(f.engine, gone), 1);
		assert.equal(await f.repo.runs.findOne({ _id: doomed._id }), null);
		assert.equal(await f.repo.jobs.count({ runId: doomed._id }), 0);
		assert.equal(await f.repo.logs.count({ runId: doomed._id }), 0);
		assert.equal(await f.repo.artifactRefs.count({ scope: doomed._id }), 0);
		assert.ok(await f.repo.runs.findOne({ _id: kept._id }));
		assert.equal(await f.repo.logs.count({ runId: kept._id }), 1);
		assert.equal(await f.repo.branchDeletions.count({}), 0);
	});

	test("a deleted branch that came back keeps its runs", async () => {
		f.define("P", simpleWorkflow("W"), "feature");
		const run = await createRun(f.engine, {
			project: "P",
			workflow: "W",
			branch: "feature",
			triggeredBy: "t",
		});
		const [job] = await f.repo.jobs.find({ runId: run._id });
		await f.engine.finalizeJob(job!, "Success", null);
		await f.engine.recordBranchDeletion("P", "W", "feature", f.clock.t - 120_000);
		assert.equal(await purgeDeletedBranches(f.engine, async () => true), 0);
		assert.ok(await f.repo.runs.findOne({ _id: run._id }));
		assert.equal(await f.repo.branchDeletions.count({}), 0);
	});
});
