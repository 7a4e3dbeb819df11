// Restarts of nodes whose parents did not succeed, and runs left Building with nothing to run:
// a user's restart runs the node (as CDS runs a node of a finished run), and the reconciler
// ends a stuck run with the status its nodes give.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import type { RunDoc } from "../../schemas/run.ts";
import { reconcile } from "../../src/engine/reconciler.ts";
import { createRun, restartRun } from "../../src/engine/run-commands.ts";
import { subRunId } from "../../src/engine/run-repository.ts";
import { engineFixture, type Fixture } from "../helpers/engine-fixture.ts";

/** build runs only on master; deploy follows build; notify follows deploy. */
const GUARDED = [
	{
		path: "w.yml",
		content:
			"name: W\nversion: v2.0\nworkflow:\n  build:\n    pipeline: p\n    conditions:\n      check:\n      - variable: git.branch\n        operator: eq\n        value: master\n  deploy:\n    pipeline: p\n    depends_on: [build]\n  notify:\n    pipeline: p\n    depends_on: [deploy]\n",
	},
	{ path: "p.pip.yml", content: "version: v1.0\nname: p\njobs:\n- job: j0\n  steps:\n  - script: echo 0\n" },
];

const statuses = (run: RunDoc) =>
	Object.fromEntries(Object.values(run.progress.state.nodes).map((n) => [n.name, n.status]));

describe("restart of a node whose parents were skipped", () => {
	let f: Fixture;
	beforeEach(async () => {
		f = await engineFixture();
		f.define("P", GUARDED);
	});
	afterEach(() => f.close());

	/** Completes every job of the run that is waiting, until it is final. */
	async function finish(runIdOf: string, status: "Success" | "Fail" = "Success") {
		for (let i = 0; i < 10; i++) {
			const run = (await f.repo.runs.findOne({ _id: runIdOf }))!;
			if (!["Waiting", "Building", "Manual"].includes(run.status)) return run;
			for (const job of await f.repo.jobs.find({ runId: runIdOf, status: "Waiting" })) {
				await f.engine.finalizeJob(job, status, null);
			}
		}
		throw new Error(`${runIdOf} did not end`);
	}

	test("the restarted node runs, then what follows it; the sub-run ends with its true status", async () => {
		const run = await createRun(f.engine, {
			project: "P",
			workflow: "W",
			params: { "git.branch": "dev" },
			triggeredBy: "t",
		});
		assert.equal(run.status, "Skipped", "build's condition is false on dev: nothing runs");
		assert.deepEqual(statuses(run), { build: "Skipped", deploy: "Skipped", notify: "Skipped" });

		const sub = await restartRun(f.engine, run, "deploy", "u");
		assert.equal(sub._id, subRunId("P", "W", run.number, 1));
		assert.equal(sub.status, "Building");
		assert.deepEqual(statuses(sub), { build: "Skipped", deploy: "Building", notify: "Waiting" });
		const queued = await f.repo.jobs.find({ runId: sub._id });
		assert.deepEqual(
			queued.map((j) => j.node),
			["deploy"],
		);

		const done = await finish(sub._id);
		assert.deepEqual(statuses(done), { build: "Skipped", deploy: "Success", notify: "Success" });
		assert.equal(done.status, "Success");
		assert.equal(await f.repo.activeRuns.count({ _id: sub._id }), 0);
	});

	test("a restarted node whose own conditions are false is skipped: the sub-run ends at once", async () => {
		const run = await createRun(f.engine, {
			project: "P",
			workflow: "W",
			params: { "git.branch": "dev" },
			triggeredBy: "t",
		});
		const sub = await restartRun(f.engine, run, "build", "u");
		assert.equal(sub.status, "Skipped");
		assert.deepEqual(statuses(sub), { build: "Skipped", deploy: "Skipped", notify: "Skipped" });
		assert.equal(await f.repo.activeRuns.count({ _id: sub._id }), 0, "nothing stays active");
		assert.equal(await f.repo.jobs.count({ runId: sub._id }), 0);
	});

	test("a restart below a failed node runs the node; the run stays Fail since build failed", async () => {
		const run = await createRun(f.engine, {
			project: "P",
			workflow: "W",
			params: { "git.branch": "master" },
			triggeredBy: "t",
		});
		const failed = await finish(run._id, "Fail");
		assert.deepEqual(statuses(failed), { build: "Fail", deploy: "Skipped", notify: "Skipped" });
		const sub = await restartRun(f.engine, failed, "deploy", "u");
		assert.deepEqual(statuses(sub), { build: "Fail", deploy: "Building", notify: "Waiting" });
		const done = await finish(sub._id);
		assert.deepEqual(statuses(done), { build: "Fail", deploy: "Success", notify: "Success" });
		assert.equal(done.status, "Fail");
	});
});

describe("reconciler: runs with nothing left to run", () => {
	let f: Fixture;
	beforeEach(async () => {
		f = await engineFixture();
		f.define("P", GUARDED);
	});
	afterEach(() => f.close());

	test("a sub-run stored Building with its node Waiting below a skipped parent is ended, once", async () => {
		const run = await createRun(f.engine, {
			project: "P",
			workflow: "W",
			params: { "git.branch": "dev" },
			triggeredBy: "t",
		});
		// What an older version stored for `restart deploy`: deploy and notify Waiting, the run Building.
		const stuck: RunDoc = structuredClone({
			...run,
			_id: subRunId("P", "W", run.number, 1),
			sub: 1,
			status: "Building",
			ended: null,
		});
		stuck.progress.state.status = "Building";
		delete stuck.progress.state.doneAt;
		for (const name of ["deploy", "notify"]) {
			const node = stuck.progress.state.nodes[name]!;
			node.status = "Waiting";
			delete node.reason;
			delete node.doneAt;
		}
		await f.repo.runs.insert(stuck);
		await f.repo.activeRuns.replace({ _id: stuck._id });
		const warnings: string[] = [];
		f.engine.ports.warn = (m) => void warnings.push(m);

		const report = await reconcile(f.engine);
		assert.deepEqual(report.resolved, [stuck._id]);
		const after = (await f.repo.runs.findOne({ _id: stuck._id }))!;
		assert.equal(after.status, "Skipped");
		assert.ok(after.ended, "an end time is recorded");
		assert.deepEqual(statuses(after), { build: "Skipped", deploy: "Skipped", notify: "Skipped" });
		assert.equal(after.progress.state.nodes.deploy!.reason, "parent build is Skipped");
		assert.equal(await f.repo.activeRuns.count({ _id: stuck._id }), 0);
		assert.equal(warnings.length, 1, warnings.join("\n"));
		assert.match(
			warnings[0]!,
			/Building with nothing left to run, ended Skipped; skipped deploy \(parent build/,
		);
		assert.deepEqual((await reconcile(f.engine)).resolved, [], "nothing to do the second time");
	});

	test("a run that is waiting for a manual node is not touched", async () => {
		f.define("P", [
			{
				path: "w.yml",
				content:
					"name: M\nversion: v2.0\nworkflow:\n  gate:\n    pipeline: p\n    when: [manual]\n  after:\n    pipeline: p\n    depends_on: [gate]\n",
			},
			GUARDED[1]!,
		]);
		const run = await createRun(f.engine, { project: "P", workflow: "M", triggeredBy: "t" });
		assert.equal(run.status, "Manual");
		const report = await reconcile(f.engine);
		assert.deepEqual(report.resolved, []);
		assert.equal((await f.repo.runs.findOne({ _id: run._id }))!.status, "Manual");
	});
});
