// The hook source contract with the example of docs/hooks.md ("Adding a hook source"): the
// doc shows exactly the compiled fixture, and the example runs through the contract on an
// embedded store — emit → stored, the same key again → duplicate, acks only after emit — and
// its event is processed on its intent (start-run) like any other source's.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { eventDoc } from "../../src/hooks/events.ts";
import { HookIntake, sourceContext } from "../../src/hooks/intake.ts";
import { HookProcessor, type ProcessorPorts } from "../../src/hooks/processor.ts";
import { checkSourceSettings, SourceSettingsError } from "../../src/hooks/source.ts";
import { EmbeddedStore } from "../../src/store/index.ts";
import type { Store } from "../../src/store/types.ts";
import { type Queue, type QueueMessage, QueueSource } from "../fixtures/hooks/example-source.ts";
import { testProcessor } from "../helpers/hook-processor.ts";
import { tempDataDir } from "../helpers/store-temp-dir.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const FIXTURE = "test/fixtures/hooks/example-source.ts";

/** An in-memory queue: `deliver` hands a message to the subscriber and says whether it was acked. */
function memoryQueue() {
	let handler: ((m: QueueMessage) => Promise<void>) | null = null;
	let topic: string | null = null;
	const queue: Queue = {
		subscribe(t, h) {
			topic = t;
			handler = h;
			return () => {
				handler = null;
			};
		},
	};
	return {
		queue,
		topic: () => topic,
		async deliver(m: Omit<QueueMessage, "ack">): Promise<boolean> {
			let acked = false;
			await handler!({ ...m, ack: () => (acked = true) });
			return acked;
		},
	};
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const noPorts = {
	repositoryByHookUuid: async () => null,
	pollableRepositories: async () => [],
	schedules: async () => [],
};

test("docs/hooks.md shows the example source exactly as compiled and tested", () => {
	const doc = readFileSync(path.join(ROOT, "docs/hooks.md"), "utf8");
	const section = doc.slice(doc.indexOf("## Adding a hook source"));
	assert.ok(section.length > 0, "the section exists");
	const block = /```ts\n([\s\S]*?)```/.exec(section);
	assert.ok(block, "the section has a ts block");
	assert.equal(block[1], readFileSync(path.join(ROOT, FIXTURE), "utf8"));
	assert.match(readFileSync(path.join(ROOT, "ARCHITECTURE.md"), "utf8"), /docs\/hooks\.md/);
});

describe("the example source through the contract, on an embedded store", () => {
	let store: Store;
	let data: Awaited<ReturnType<typeof tempDataDir>>;
	let intake: HookIntake;
	const queued: string[] = [];

	before(async () => {
		data = await tempDataDir("cds-hook-source-");
		store = await EmbeddedStore.open(data.dir);
		intake = await HookIntake.open(store, { onQueued: (id) => queued.push(id) });
	});
	after(async () => {
		await store.close();
		await data.remove();
	});

	test("its settings are checked against its schema", () => {
		const source = new QueueSource(memoryQueue().queue);
		assert.deepEqual(checkSourceSettings(source, { topic: "builds" }), { topic: "builds" });
		assert.throws(() => checkSourceSettings(source, { topic: "" }), SourceSettingsError);
		assert.throws(() => checkSourceSettings(source, {}), /hook source queue: .*topic/);
	});

	test("emit → stored (then acked); the same message again → duplicate (acked, nothing new)", async () => {
		const mq = memoryQueue();
		const source = new QueueSource(mq.queue);
		await source.start(
			sourceContext({
				intake,
				source,
				settings: { topic: "builds" },
				ports: noPorts,
				logger: silent,
				owner: "test",
			}),
		);
		assert.equal(mq.topic(), "builds");
		const message = { id: "m-1", project: "DEMO", workflow: "build", vars: { "queue.id": "m-1" } };
		assert.equal(await mq.deliver(message), true, "acked once stored");
		const stored = await intake.events("q:builds:m-1").findOne({ _id: "q:builds:m-1" });
		assert.ok(stored);
		assert.equal(stored.source, "queue");
		assert.equal(stored.state, "pending");
		assert.deepEqual(stored.intents, [
			{ kind: "start-run", type: "queued", workflow: "build", vars: { "queue.id": "m-1" } },
		]);
		assert.equal(source.health().emitted, 1);

		assert.equal(await mq.deliver(message), true, "a redelivery is acked too");
		assert.equal(source.health().emitted, 1, "the second emit was a duplicate");
		const all = (await Promise.all(intake.eventShards().map((c) => c.find({ project: "DEMO" })))).flat();
		assert.equal(all.length, 1);
		await source.stop();
		assert.equal(source.health().ok, false);
	});

	test("a store that refuses the write: emit rejects, the message is not acked", async () => {
		const mq = memoryQueue();
		const source = new QueueSource(mq.queue);
		const ctx = sourceContext({
			intake,
			source,
			settings: { topic: "builds" },
			ports: noPorts,
			logger: silent,
			owner: "test",
		});
		await source.start({
			...ctx,
			emit: () => Promise.reject(new Error("store unreachable")),
		});
		assert.equal(await mq.deliver({ id: "m-2", project: "DEMO", workflow: "build" }), false);
		assert.equal(source.health().ok, false);
		assert.match(source.health().lastError ?? "", /store unreachable/);
		await source.stop();
	});

	test("the processor runs its start-run intent, once, without knowing its source", async () => {
		const runs: Array<Record<string, unknown>> = [];
		const published: string[] = [];
		const ports: ProcessorPorts = {
			syncBranch: async () => assert.fail("no branch to define"),
			deleteBranch: async () => assert.fail("no branch to delete"),
			createRun: async (p) => {
				runs.push(p);
				return { number: runs.length };
			},
			reportPending: () => {},
			publish: async (messages) => {
				published.push(...messages.map((m) => `${m.project}.${m.type} ${m.id}`));
			},
		};
		const processor = testProcessor(intake, ports, "test-processor", { retryBaseMs: 10, retryMaxMs: 100 });
		// The queue entry is written right after the event (after emit resolved): the processor's kick.
		for (let i = 0; i < 200 && !queued.includes("q:builds:m-1"); i++)
			await new Promise((r) => setTimeout(r, 10));
		assert.deepEqual(queued, ["q:builds:m-1"]);
		assert.equal(await processor.processDue(true), 1);
		// The event's step names the request: processed again, the run service answers the same run.
		assert.deepEqual(runs, [
			{ key: "DEMO", name: "build", params: { "queue.id": "m-1" }, requestId: "q:builds:m-1#c0" },
		]);
		assert.deepEqual(published, ["DEMO.queued q:builds:m-1#0"]);
		const done = await intake.events("q:builds:m-1").findOne({ _id: "q:builds:m-1" });
		assert.equal(done?.state, "done");
		assert.equal(await processor.processDue(true), 0);
		assert.equal(runs.length, 1);

		// An intent this processor does not know (a newer node's): the attempt fails, the event is kept.
		const bogus = eventDoc(
			"q:builds:bogus",
			"queue",
			{ project: "DEMO", intents: [{ kind: "later", type: "x", vars: {} } as any] },
			Date.now(),
		);
		assert.equal(await intake.accept(bogus), "stored");
		for (let i = 0; i < 200 && !queued.includes(bogus._id); i++) await new Promise((r) => setTimeout(r, 10));
		await processor.processDue(true);
		const kept = await intake.events(bogus._id).findOne({ _id: bogus._id });
		assert.equal(kept?.state, "pending");
		assert.equal(kept?.attempts, 1);
		assert.match(kept?.lastError ?? "", /unknown intent later/);
		assert.equal(runs.length, 1);
		await processor.stop();
	});

	test("an attempt past half its lease stops between steps and goes on from there: no step twice", async () => {
		const runs: string[] = [];
		const processor = new HookProcessor({
			intake,
			ports: {
				syncBranch: async () => ({ workflows: [] }),
				deleteBranch: async () => null,
				// Each run takes longer than half the lease.
				createRun: async (p) => {
					await new Promise((r) => setTimeout(r, 600));
					runs.push(p.name);
					return { number: runs.length };
				},
				reportPending: () => {},
				publish: async () => {},
			},
			settings: {
				leaseMs: 1000,
				retryBaseMs: 10,
				retryMaxMs: 100,
				intakeQuietMs: 50,
				intakeDeferMs: 2000,
				eventRetentionMs: 60_000,
			},
			owner: "slow-processor",
			logger: silent,
		});
		const twoRuns = eventDoc(
			"q:builds:two",
			"queue",
			{
				project: "DEMO",
				intents: ["first", "second"].map((workflow) => ({
					kind: "start-run",
					type: "queued",
					workflow,
					vars: {},
				})),
			},
			Date.now(),
		);
		assert.equal(await intake.accept(twoRuns), "stored");
		for (let i = 0; i < 200 && !queued.includes(twoRuns._id); i++)
			await new Promise((r) => setTimeout(r, 10));
		await processor.processEvent(twoRuns._id);
		let stored = await intake.events(twoRuns._id).findOne({ _id: twoRuns._id });
		assert.equal(stored?.state, "pending");
		assert.equal(stored?.attempts, 0, "not a failure: no backoff");
		assert.deepEqual(runs, ["first"]);
		assert.equal(
			await intake.store.holder("hook-event", twoRuns._id),
			null,
			"released for whoever comes next",
		);
		await processor.processEvent(twoRuns._id);
		stored = await intake.events(twoRuns._id).findOne({ _id: twoRuns._id });
		assert.equal(stored?.state, "done");
		assert.deepEqual(runs, ["first", "second"]);
		await processor.stop();
	});
});
