// Group commit in the hook intake (src/hooks/intake.ts, src/hooks/group-commit.ts): deliveries
// accepted together share one insertMany per shard, each answered with its own outcome only
// after that write is acknowledged; duplicates within a batch and across batches answer
// "duplicate"; a failed write fails every delivery of its batch and a retry stores none twice.

import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, test } from "node:test";
import { eventDoc, eventCollection, queueCollection, type HookEventDoc } from "../../src/hooks/events.ts";
import { GroupCommit } from "../../src/hooks/group-commit.ts";
import { HookIntake, IntakeUnavailableError } from "../../src/hooks/intake.ts";
import { EmbeddedStore } from "../../src/store/index.ts";
import type { Collection, Doc, InsertOutcome, Store } from "../../src/store/types.ts";
import { tempDataDir } from "../helpers/store-temp-dir.ts";

/** What the wrapped store does to the next insertMany calls on hook_events_*. */
type Fault = "none" | "fail-before" | "fail-after-write";

interface Spy {
	store: Store;
	eventBatches: number[];
	fault: Fault;
}

/** The embedded store, with insertMany on the event collections counted and, on demand, failing. */
function spied(inner: Store): Spy {
	const spy: Spy = { store: inner, eventBatches: [], fault: "none" };
	spy.store = new Proxy(inner, {
		get(target, prop, receiver) {
			if (prop !== "collection") return Reflect.get(target, prop, receiver);
			return async (spec: { name: string }) => {
				const c = (await target.collection(spec)) as Collection<Doc>;
				if (!spec.name.startsWith("hook_events_")) return c;
				return new Proxy(c, {
					get(ct, p, r) {
						if (p !== "insertMany") {
							const v = Reflect.get(ct, p, r);
							return typeof v === "function" ? v.bind(ct) : v;
						}
						return async (docs: Doc[]): Promise<InsertOutcome[]> => {
							spy.eventBatches.push(docs.length);
							if (spy.fault === "fail-before") throw new Error("connection reset");
							const outcomes = await ct.insertMany(docs);
							if (spy.fault === "fail-after-write") throw new Error("acknowledgement lost");
							return outcomes;
						};
					},
				});
			};
		},
	});
	return spy;
}

const event = (id: string): HookEventDoc =>
	eventDoc(
		id,
		"test",
		{ project: "P", intents: [{ kind: "start-run", workflow: "w" } as never] },
		Date.now(),
	);

/** `n` distinct event ids that all fall in the same shard as `wh:seed`. */
function sameShardIds(n: number): string[] {
	const shard = eventCollection("wh:seed");
	const out: string[] = [];
	for (let i = 0; out.length < n; i++) if (eventCollection(`wh:k${i}`) === shard) out.push(`wh:k${i}`);
	return out;
}

let data: { dir: string; remove(): Promise<void> };
let inner: Store;
let spy: Spy;
let intake: HookIntake;
let queued: string[];

before(async () => {
	data = await tempDataDir();
});
after(async () => {
	await data.remove();
});
let seq = 0;
beforeEach(async () => {
	inner = await EmbeddedStore.open(`${data.dir}/s${++seq}`);
	spy = spied(inner);
	queued = [];
	intake = await HookIntake.open(spy.store, { onQueued: (id) => queued.push(id) });
});
afterEach(async () => {
	await inner.close();
});

const countEvent = (id: string) => intake.events(id).count({ _id: id });
const waitQueued = async (n: number) => {
	while (queued.length < n) await new Promise((r) => setImmediate(r));
};

test("deliveries accepted together share one insertMany, each answered with its own outcome", async () => {
	const ids = sameShardIds(20);
	const results = await Promise.all(ids.map((id) => intake.accept(event(id))));
	assert.deepEqual(
		results,
		ids.map(() => "stored"),
	);
	assert.deepEqual(spy.eventBatches, [20], "one write for the 20 events of one shard");
	for (const id of ids) assert.equal(await countEvent(id), 1);
	await waitQueued(20);
	assert.equal(await intake.queue(ids[0]!).count({}), 20, "each stored event is queued");
});

test("a duplicate within one batch: the first is stored, the second answers duplicate, one event", async () => {
	const [a, b] = await Promise.all([intake.accept(event("wh:same")), intake.accept(event("wh:same"))]);
	assert.deepEqual([a, b], ["stored", "duplicate"]);
	assert.deepEqual(spy.eventBatches, [2], "both went in the same write");
	assert.equal(await countEvent("wh:same"), 1);
	await waitQueued(1);
	assert.equal(await intake.queue("wh:same").count({ _id: "wh:same" }), 1);
	assert.deepEqual(queued, ["wh:same"], "a duplicate is not queued again");
});

test("a duplicate across batches answers duplicate", async () => {
	assert.equal(await intake.accept(event("wh:again")), "stored");
	assert.equal(await intake.accept(event("wh:again")), "duplicate");
	assert.equal(spy.eventBatches.length, 2);
	assert.equal(await countEvent("wh:again"), 1);
});

test("a batch arriving while another is written waits for it and goes out as one write", async () => {
	const [first, ...rest] = sameShardIds(11);
	const firstDone = intake.accept(event(first!));
	await new Promise((r) => setImmediate(r)); // the first batch is now in flight
	const others = rest.map((id) => intake.accept(event(id)));
	assert.equal(await firstDone, "stored");
	assert.deepEqual(
		await Promise.all(others),
		rest.map(() => "stored"),
	);
	assert.deepEqual(spy.eventBatches, [1, 10]);
});

test("a write that fails answers unavailable to every delivery of its batch, and stores nothing", async () => {
	const ids = sameShardIds(5);
	spy.fault = "fail-before";
	const settled = await Promise.allSettled(ids.map((id) => intake.accept(event(id))));
	for (const s of settled) {
		assert.equal(s.status, "rejected");
		assert.ok((s as PromiseRejectedResult).reason instanceof IntakeUnavailableError);
	}
	for (const id of ids) assert.equal(await countEvent(id), 0);
	assert.deepEqual(queued, []);
	spy.fault = "none";
	assert.deepEqual(
		await Promise.all(ids.map((id) => intake.accept(event(id)))),
		ids.map(() => "stored"),
	);
	for (const id of ids) assert.equal(await countEvent(id), 1);
});

test("a write stored but not acknowledged answers unavailable; the redelivery is a duplicate, stored once", async () => {
	const ids = sameShardIds(3);
	spy.fault = "fail-after-write";
	const settled = await Promise.allSettled(ids.map((id) => intake.accept(event(id))));
	assert.ok(settled.every((s) => s.status === "rejected"));
	spy.fault = "none";
	assert.deepEqual(
		await Promise.all(ids.map((id) => intake.accept(event(id)))),
		ids.map(() => "duplicate"),
	);
	for (const id of ids) assert.equal(await countEvent(id), 1);
	assert.equal(queueCollection(ids[0]!), queueCollection(ids[2]!));
});

test("GroupCommit caps a batch at maxBatch and rejects a write returning the wrong number of outcomes", async () => {
	const sizes: number[] = [];
	const commit = new GroupCommit<number, number>(
		async (items) => {
			sizes.push(items.length);
			return items.map((n) => n * 2);
		},
		{ maxBatch: 4 },
	);
	assert.deepEqual(await Promise.all([1, 2, 3, 4, 5, 6].map((n) => commit.submit(n))), [2, 4, 6, 8, 10, 12]);
	assert.deepEqual(sizes, [4, 2]);
	const broken = new GroupCommit<number, number>(async () => [1], { maxBatch: 10 });
	const settled = await Promise.allSettled([broken.submit(1), broken.submit(2)]);
	assert.deepEqual(
		settled.map((s) => s.status),
		["rejected", "rejected"],
	);
});

test("the webhook service answers 503 (retryable) when the intake's write was not acknowledged", async () => {
	const { default: HookWebhookService } = await import("../../services/hook-webhook.service.ts");
	const { loadConfig } = await import("../../config/index.ts");
	const schema = HookWebhookService(loadConfig({ CDS_DATA_DIR: data.dir }));
	const receive = (schema.actions as any).receive.handler as (
		this: unknown,
		ctx: unknown,
	) => Promise<unknown>;
	const self = {
		broker: {},
		source: { receive: () => Promise.reject(new IntakeUnavailableError(new Error("connection reset"))) },
	};
	await assert.rejects(receive.call(self, { params: { uuid: "u", headers: {}, body: "" } }), (err: any) => {
		assert.equal(err.code, 503);
		assert.equal(err.retryable, true);
		assert.match(err.message, /connection reset/);
		return true;
	});
});

test("queued() on any intake of the store waits for the queue entries of events already accepted", async () => {
	const other = await HookIntake.open(spy.store); // the processor opens its own intake on the node's store
	const ids = sameShardIds(5);
	await Promise.all(ids.map((id) => intake.accept(event(id))));
	await other.queued();
	assert.equal(
		await other.queue(ids[0]!).count({}),
		5,
		"every queue entry is written once queued() resolves",
	);
});
