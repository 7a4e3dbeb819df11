// The example driver of ARCHITECTURE.md ("Adding a hatchery driver") is this repository's
// test/fixtures/hatchery/example-driver.ts, and it does what the contract asks.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import type { WorkerAssignment, WorkerHandle } from "../../src/hatchery/contract.ts";
import { jobRequirements } from "../../src/hatchery/requirements.ts";
import { ExampleDriver, type Pod, type PodApi } from "../fixtures/hatchery/example-driver.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const FIXTURE = path.join(ROOT, "test/fixtures/hatchery/example-driver.ts");

/** An in-memory cluster: pods and what each was created with. */
class FakeCluster implements PodApi {
	pods = new Map<string, Pod>();
	specs = new Map<string, { image: string; memoryMb?: number; stdin: string }>();
	async create(pod: Omit<Pod, "phase">, spec: { image: string; memoryMb?: number; stdin: string }) {
		this.pods.set(pod.name, { ...pod, phase: "Pending" });
		this.specs.set(pod.name, spec);
	}
	async list(hatchery: string) {
		return [...this.pods.values()].filter((p) => p.labels.hatchery === hatchery);
	}
	async delete(name: string) {
		this.pods.delete(name);
	}
}

const assignment = (jobId: string): WorkerAssignment => ({
	jobId,
	runId: "run-1",
	token: `token-of-${jobId}`,
	apiUrl: "http://api:8081",
	timeoutSeconds: 60,
	requirements: jobRequirements([
		{ type: "model", name: "node:20", value: "node:20" },
		{ type: "memory", name: "1Gi", value: "1Gi" },
	]),
});

describe("ARCHITECTURE.md: adding a hatchery driver", () => {
	test("the document's example is the compiled and tested file, verbatim, at the end of the document", () => {
		const doc = readFileSync(path.join(ROOT, "ARCHITECTURE.md"), "utf8");
		const section = doc.indexOf("\n## Adding a hatchery driver\n");
		assert.ok(section > 0, "the section exists");
		assert.equal(doc.indexOf("\n## ", section + 1), -1, "it is the last section");
		const block = /```ts\n([\s\S]*?)```/.exec(doc.slice(section));
		assert.ok(block, "the section has a TypeScript block");
		assert.equal(block[1], readFileSync(FIXTURE, "utf8"));
	});

	test("the example honours the contract: spawn, capacity, kill, reconcile adopts and kills, exits", async () => {
		const cluster = new FakeCluster();
		const driver = new ExampleDriver(cluster, "k1", 2);
		const exits: Array<[WorkerHandle, number | null]> = [];
		driver.onExit((h, code) => exits.push([h, code]));

		assert.equal((await driver.capabilities()).name, "k1");
		assert.equal(await driver.freeSlots(), 2);
		await driver.spawn(assignment("J1"));
		const [pod] = await cluster.list("k1");
		const spec = cluster.specs.get(pod!.name)!;
		assert.equal(spec.image, "node:20", "the job's model chooses the image");
		assert.equal(spec.memoryMb, 1024);
		assert.deepEqual(JSON.parse(spec.stdin), {
			type: "assign",
			apiUrl: "http://api:8081",
			token: "token-of-J1",
			jobId: "J1",
		});
		assert.equal(await driver.freeSlots(), 1);
		await driver.spawn(assignment("J2"));
		assert.equal(await driver.freeSlots(), 0, "the maximum is respected");

		// J2's worker is killed; J1's finishes and is reported once.
		await driver.kill("J2");
		assert.deepEqual(
			(await driver.list()).map((w) => w.jobId),
			["J1"],
		);
		cluster.pods.get(pod!.name)!.phase = "Succeeded";
		await driver.maintain();
		await driver.maintain();
		assert.deepEqual(
			exits.map(([h, code]) => [h.jobId, code]),
			[["J1", 0]],
		);

		// A restarted hatchery of the same name adopts the pods of live jobs and deletes the others.
		await driver.spawn(assignment("J3"));
		await driver.spawn(assignment("J4"));
		const restarted = new ExampleDriver(cluster, "k1", 2);
		assert.deepEqual(await restarted.reconcile(["J3"]), { adopted: 1, killed: 1 });
		assert.deepEqual(
			(await restarted.list()).map((w) => w.jobId),
			["J3"],
		);
		assert.deepEqual(await restarted.reconcile(["J3"]), { adopted: 0, killed: 0 }, "adopted once");
		await restarted.close();
	});
});
