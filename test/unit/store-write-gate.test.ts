import assert from "node:assert/strict";
import { test } from "node:test";
import { WriteGate } from "../../src/store/mongo-store.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a write gate never runs more than its limit at once, and runs everything", async () => {
	for (const limit of [1, 3]) {
		const gate = new WriteGate(limit);
		let running = 0;
		let peak = 0;
		const order: number[] = [];
		await Promise.all(
			Array.from({ length: 20 }, (_, i) =>
				gate.run(async () => {
					running++;
					peak = Math.max(peak, running);
					await sleep(i % 3);
					running--;
					order.push(i);
				}),
			),
		);
		assert.equal(peak, limit);
		assert.equal(order.length, 20);
		if (limit === 1)
			assert.deepEqual(
				order,
				[...order].sort((a, b) => a - b),
				"one at a time, in arrival order",
			);
	}
});

test("a failing write reaches its caller and frees its place", async () => {
	const gate = new WriteGate(1);
	await assert.rejects(
		gate.run(async () => {
			throw new Error("duplicate key");
		}),
		/duplicate key/,
	);
	assert.equal(await gate.run(async () => "next"), "next");
});
