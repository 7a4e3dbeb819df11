// Dead letters: an event whose step fails for good (a 4xx the retry would get again) or fails
// CDS_HOOKS_DEAD_LETTER_ATTEMPTS times leaves the queue as `dead`, survives the retention purge,
// and a replay runs only the steps it had not done.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Errors } from "moleculer";
import { dropDeadLetter, replayDeadLetter } from "../../src/hooks/dead-letters.ts";
import { eventDoc, type HookEventDoc } from "../../src/hooks/events.ts";
import { HookIntake } from "../../src/hooks/intake.ts";
import { isPermanentFailure, type ProcessorPorts } from "../../src/hooks/processor.ts";
import { EmbeddedStore } from "../../src/store/index.ts";
import type { Store } from "../../src/store/types.ts";
import { testProcessor } from "../helpers/hook-processor.ts";
import { tempDataDir } from "../helpers/store-temp-dir.ts";

const notFound = () => new Errors.MoleculerClientError("workflow not found", 404, "NOT_FOUND");

describe("which failures are permanent", () => {
	test("a refused or missing target is; the broker's own 404, timeouts, conflicts and 5xx are not", () => {
		assert.equal(isPermanentFailure(notFound()), true);
		assert.equal(
			isPermanentFailure(new Errors.MoleculerClientError("bad payload", 422, "VALIDATION_ERROR")),
			true,
		);
		assert.equal(isPermanentFailure(new Errors.ValidationError("bad params", "VALIDATION_ERROR", [])), true);
		assert.equal(isPermanentFailure(new Errors.ServiceNotFoundError({ action: "run.create" })), false);
		assert.equal(isPermanentFailure(new Errors.ServiceNotAvailableError({ action: "run.create" })), false);
		assert.equal(isPermanentFailure(new Errors.RequestTimeoutError({ action: "run.create" })), false);
		assert.equal(isPermanentFailure(new Errors.MoleculerClientError("busy", 409, "CONFLICT")), false);
		assert.equal(isPermanentFailure(new Errors.MoleculerError("boom", 500)), false);
		assert.equal(isPermanentFailure(new Error("ECONNREFUSED")), false);
		// A remote error arrives as a plain object with its code and type.
		assert.equal(isPermanentFailure({ code: 404, type: "NOT_FOUND", message: "x" }), true);
		assert.equal(isPermanentFailure({ code: 404, type: "SERVICE_NOT_FOUND", message: "x" }), false);
	});
});

describe("dead letters", () => {
	let store: Store;
	let intake: HookIntake;
	let remove: () => Promise<void>;
	before(async () => {
		const tmp = await tempDataDir();
		remove = tmp.remove;
		store = await EmbeddedStore.open(tmp.dir);
		intake = await HookIntake.open(store);
	});
	after(async () => {
		await store.close();
		await remove();
	});

	/** A processor whose createRun answers what `fail` says (throws it), counting the runs made. */
	function processorWith(
		fail: (workflow: string) => unknown,
		settings: { deadLetterAttempts?: number } = {},
	) {
		const runs: string[] = [];
		const ports: ProcessorPorts = {
			syncBranch: async () => ({ workflows: [] }),
			deleteBranch: async () => null,
			createRun: async (p) => {
				const e = fail(p.name);
				if (e) throw e;
				runs.push(p.name);
				return { number: runs.length };
			},
			reportPending: () => {},
			publish: async () => {},
		};
		const processor = testProcessor(intake, ports, "dead-letter-test", { eventRetentionMs: 1, ...settings });
		return { processor, runs };
	}

	async function stored(id: string, workflows: string[]): Promise<void> {
		const doc = eventDoc(
			id,
			"test",
			{
				project: "DEAD",
				intents: workflows.map((workflow) => ({ kind: "start-run", type: "t", workflow, vars: {} })),
			},
			Date.now(),
		);
		assert.equal(await intake.accept(doc), "stored");
		await intake.queued();
	}
	const event = (id: string) => intake.events(id).findOne({ _id: id }) as Promise<HookEventDoc>;
	const queued = (id: string) => intake.queue(id).findOne({ _id: id });

	test("a permanent failure makes a dead letter at once; a replay skips the steps done", async () => {
		let gone = true;
		const { processor, runs } = processorWith((w) => (w === "gone" && gone ? notFound() : null));
		// Two runs asked for: the first is created, the second's workflow does not exist.
		await stored("p1", ["exists", "gone"]);
		await processor.processEvent("p1");
		const dead = await event("p1");
		assert.equal(dead.state, "dead");
		assert.equal(dead.deadReason, "permanent");
		assert.equal(dead.attempts, 1);
		assert.match(dead.lastError ?? "", /workflow not found/);
		assert.equal(await queued("p1"), null, "out of the queue");
		assert.deepEqual(runs, ["exists"]);

		// Retention does not purge it, the sweep does not re-queue it, the processor passes it by.
		await new Promise((r) => setTimeout(r, 5));
		await processor.sweep();
		assert.equal((await event("p1")).state, "dead");
		assert.equal(await queued("p1"), null);
		assert.equal(await processor.processDue(true), 0);

		// The workflow exists now: a replay makes the missing run only.
		gone = false;
		const replayed = await replayDeadLetter(intake, "DEAD", "p1");
		assert.equal(replayed.outcome, "done");
		const pending = await event("p1");
		assert.equal(pending.state, "pending");
		assert.equal(pending.attempts, 0);
		assert.equal(pending.replays, 1);
		assert.ok(await queued("p1"));
		assert.equal(await processor.processDue(true), 1);
		assert.equal((await event("p1")).state, "done");
		assert.deepEqual(runs, ["exists", "gone"], "the run made before is not made again");
		assert.equal((await replayDeadLetter(intake, "DEAD", "p1")).outcome, "not-dead");
	});

	test("a transient failure is retried, and becomes a dead letter after the configured attempts", async () => {
		const { processor, runs } = processorWith(() => new Error("connection refused"), {
			deadLetterAttempts: 3,
		});
		await stored("t1", ["w"]);
		for (let attempt = 1; attempt <= 2; attempt++) {
			await processor.processEvent("t1");
			const e = await event("t1");
			assert.equal(e.state, "pending", `still pending after attempt ${attempt}`);
			assert.equal(e.attempts, attempt);
			assert.ok(await queued("t1"), "still queued");
		}
		await processor.processEvent("t1");
		const dead = await event("t1");
		assert.equal(dead.state, "dead");
		assert.equal(dead.deadReason, "attempts");
		assert.equal(dead.attempts, 3);
		assert.equal(await queued("t1"), null);
		assert.deepEqual(runs, []);
	});

	test("only a project's own dead letters are replayed or deleted", async () => {
		await stored("x1", ["w"]);
		const { processor } = processorWith(() => notFound());
		assert.equal((await dropDeadLetter(intake, "DEAD", "x1")).outcome, "not-dead", "a pending event stays");
		await processor.processEvent("x1");
		assert.equal((await replayDeadLetter(intake, "OTHER", "x1")).outcome, "not-found");
		assert.equal((await dropDeadLetter(intake, "OTHER", "x1")).outcome, "not-found");
		assert.equal((await dropDeadLetter(intake, "DEAD", "x1")).outcome, "done");
		assert.equal(await event("x1"), null);
		assert.equal((await dropDeadLetter(intake, "DEAD", "x1")).outcome, "not-found");
	});
});
