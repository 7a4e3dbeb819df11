// A pushed commit runs once per branch and workflow, whichever source saw the push: a plain-git
// repository has both a webhook and a poller, and both report each push (before, each event made
// its own run). A later commit, another branch or another workflow runs as usual, and a retried
// event keeps its claim and makes its run.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { eventDoc, type HookEventDoc } from "../../src/hooks/events.ts";
import { HookIntake } from "../../src/hooks/intake.ts";
import type { HookProcessor, ProcessorPorts } from "../../src/hooks/processor.ts";
import { EmbeddedStore } from "../../src/store/index.ts";
import type { Store } from "../../src/store/types.ts";
import { testProcessor } from "../helpers/hook-processor.ts";
import { tempDataDir } from "../helpers/store-temp-dir.ts";

const A = "a".repeat(40);
const B = "b".repeat(40);

describe("runs of a pushed commit, across hook sources", () => {
	let store: Store;
	let intake: HookIntake;
	let remove: () => Promise<void>;
	const runs: string[] = [];
	let failNext = false;
	let processor: HookProcessor;

	before(async () => {
		const tmp = await tempDataDir();
		remove = tmp.remove;
		store = await EmbeddedStore.open(tmp.dir);
		intake = await HookIntake.open(store);
		const ports: ProcessorPorts = {
			syncBranch: async () => ({ workflows: ["build", "deploy"] }),
			deleteBranch: async () => null,
			createRun: async (p) => {
				if (failNext) {
					failNext = false;
					throw new Error("connection refused");
				}
				runs.push(`${p.name}@${p.branch}:${p.commit?.slice(0, 1)}`);
				return { number: runs.length };
			},
			reportPending: () => {},
			publish: async () => {},
		};
		processor = testProcessor(intake, ports, "push-dedup-test");
	});
	after(async () => {
		await store.close();
		await remove();
	});

	async function pushed(id: string, source: string, branch: string, commit: string): Promise<HookEventDoc> {
		const doc = eventDoc(
			id,
			source,
			{
				project: "P",
				repository: { id: "P/repo", name: "org/app" },
				intents: [
					{
						kind: "define-branch",
						type: "push",
						repositoryId: "P/repo",
						branch,
						commit,
						run: true,
						vars: {},
					},
				],
			},
			Date.now(),
		);
		assert.equal(await intake.accept(doc), "stored");
		await intake.queued();
		await processor.processEvent(id);
		return (await intake.events(id).findOne({ _id: id })) as HookEventDoc;
	}

	test("the webhook's event runs each workflow; the poller's event of the same push runs nothing", async () => {
		const hooked = await pushed("wh:1", "webhook", "main", A);
		assert.equal(hooked.state, "done");
		assert.deepEqual(runs, ["build@main:a", "deploy@main:a"]);
		const polled = await pushed("poll:1", "poller", "main", A);
		assert.equal(polled.state, "done");
		assert.deepEqual(runs, ["build@main:a", "deploy@main:a"], "no second run of the same push");
		assert.deepEqual(
			Object.values(polled.progress).filter((v) => typeof v === "object"),
			[
				{ workflow: "build", startedBy: "wh:1" },
				{ workflow: "deploy", startedBy: "wh:1" },
			],
		);
	});

	test("a new commit, or the same commit on another branch, runs", async () => {
		await pushed("poll:2", "poller", "main", B);
		await pushed("wh:3", "webhook", "release", A);
		assert.deepEqual(runs.slice(2), ["build@main:b", "deploy@main:b", "build@release:a", "deploy@release:a"]);
	});

	test("an event that failed before its run keeps its claim: its retry makes that run, each workflow once", async () => {
		runs.length = 0;
		failNext = true;
		// The webhook's event claims build, fails to create its run, and stops there (retried later).
		const first = await pushed("wh:4", "webhook", "hotfix", A);
		assert.equal(first.state, "pending", "retried later");
		assert.deepEqual(runs, []);
		// The poller reports the same push meanwhile: build is the webhook event's to make; deploy,
		// which nobody claimed yet, is the poller event's.
		await pushed("poll:4", "poller", "hotfix", A);
		assert.deepEqual(runs, ["deploy@hotfix:a"]);
		await processor.processEvent("wh:4");
		assert.equal((await intake.events("wh:4").findOne({ _id: "wh:4" }))?.state, "done");
		assert.deepEqual(runs, ["deploy@hotfix:a", "build@hotfix:a"]);
	});
});
