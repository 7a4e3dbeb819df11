import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { type Context, ServiceBroker } from "moleculer";
import { attachStore, StoreMixin, type StoreServiceThis, storeOf } from "../../mixins/store.mixin.ts";
import { openStore } from "../../src/store/index.ts";
import { DuplicateKeyError } from "../../src/store/types.ts";
import { tempDataDir } from "../helpers/store-temp-dir.ts";

const dirs: { remove(): Promise<void> }[] = [];
after(async () => {
	for (const d of dirs) await d.remove();
});

function notesService() {
	return {
		name: "notes",
		mixins: [StoreMixin([{ name: "notes", indexes: [{ fields: ["title"], unique: true }] }])],
		actions: {
			async add(this: StoreServiceThis, ctx: Context<{ id: string; title: string }>) {
				return this.collections.notes!.insert({ _id: ctx.params.id, title: ctx.params.title });
			},
			async count(this: StoreServiceThis) {
				return this.collections.notes!.count({});
			},
		},
	};
}

describe("StoreMixin", () => {
	test("a service gets its collections, with indexes, from its own broker's store", async () => {
		const d = await tempDataDir();
		dirs.push(d);
		const store = await openStore({ dataDir: d.dir });
		const broker = new ServiceBroker({ logger: false, nodeID: "mixin-test" });
		attachStore(broker, store);
		assert.equal(storeOf(broker), store);
		broker.createService(notesService());
		await broker.start();
		try {
			await broker.call("notes.add", { id: "n1", title: "first" });
			assert.equal(await broker.call("notes.count"), 1);
			await assert.rejects(broker.call("notes.add", { id: "n2", title: "first" }), DuplicateKeyError);
			const direct = await store.collection({ name: "notes" });
			assert.deepEqual(await direct.findOne({ _id: "n1" }), { _id: "n1", title: "first" });
		} finally {
			await broker.stop();
			await store.close();
		}
	});

	test("a service on a broker without a store fails to start with a clear error", async () => {
		const broker = new ServiceBroker({ logger: false, nodeID: "no-store" });
		assert.throws(() => storeOf(broker), /no store attached to broker no-store/);
		broker.createService(notesService());
		await assert.rejects(
			broker.start(),
			/service notes needs collections notes but broker no-store has no store/,
		);
		await broker.stop().catch(() => {});
	});
});
