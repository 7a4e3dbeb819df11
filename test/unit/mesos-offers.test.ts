import assert from "node:assert/strict";
import { test } from "node:test";
import { hasAttributes, matchOffer, scalar, taskResources } from "../../src/mesos/offer-match.ts";
import type { Offer } from "../../src/mesos/scheduler-api.ts";
import { jobOfTask, taskIdFor } from "../../src/mesos/task-id.ts";

const offer = (cpus: number, mem: number, attributes: Offer["attributes"] = []): Offer => ({
	id: { value: "o1" },
	framework_id: { value: "f" },
	agent_id: { value: "a1" },
	hostname: "h",
	resources: [
		{ name: "cpus", type: "SCALAR", scalar: { value: cpus } },
		{ name: "mem", type: "SCALAR", scalar: { value: mem } },
		{ name: "ports", type: "RANGES" },
	],
	attributes,
});
const job = (cpus: number, memMb: number, attributes: Record<string, string> = {}) => ({
	cpus,
	memMb,
	attributes,
});

test("scalar sums a resource over its entries (several roles)", () => {
	assert.equal(
		scalar([...offer(1, 2).resources, { name: "cpus", type: "SCALAR", scalar: { value: 0.5 } }], "cpus"),
		1.5,
	);
});

test("jobs are taken in order while the offer has room; a big one does not block smaller ones", () => {
	assert.deepEqual(matchOffer(offer(2, 1024), [job(1, 512), job(2, 512), job(1, 512), job(0.5, 1)]), [0, 2]);
	assert.deepEqual(matchOffer(offer(0.3, 1024), [job(0.1, 1), job(0.2, 1)]), [0, 1], "float sums fit");
	assert.deepEqual(matchOffer(offer(4, 4096), [job(1, 1), job(1, 1), job(1, 1)], 2), [0, 1], "a limit");
	assert.deepEqual(matchOffer(offer(1, 100), [job(1, 101)]), []);
});

test("attributes: text, scalar and set values must match", () => {
	const o = offer(8, 8192, [
		{ name: "rack", type: "TEXT", text: { value: "r1" } },
		{ name: "gen", type: "SCALAR", scalar: { value: 3 } },
		{ name: "zones", type: "SET", set: { item: ["a", "b"] } },
	]);
	assert.ok(hasAttributes(o, { rack: "r1", gen: "3", zones: "b" }));
	assert.equal(hasAttributes(o, { rack: "r2" }), false);
	assert.equal(hasAttributes(o, { zones: "c" }), false);
	assert.equal(hasAttributes(o, { missing: "x" }), false);
	assert.deepEqual(matchOffer(o, [job(1, 1, { rack: "r2" }), job(1, 1, { rack: "r1" })]), [1]);
});

test("a task asks for its cpus and mem, in the role unless it is *", () => {
	assert.deepEqual(taskResources(job(0.5, 256), "*"), [
		{ name: "cpus", type: "SCALAR", scalar: { value: 0.5 } },
		{ name: "mem", type: "SCALAR", scalar: { value: 256 } },
	]);
	assert.equal(taskResources(job(1, 1), "ci")[0]!.role, "ci");
});

test("a task id carries its hatchery and job, and only that hatchery reads it", () => {
	const id = taskIdFor("h-1", "PROJ/WF/12/stage/job.1");
	assert.match(id, /^[A-Za-z0-9._-]+$/);
	assert.equal(jobOfTask("h-1", id), "PROJ/WF/12/stage/job.1");
	assert.equal(jobOfTask("h-2", id), undefined);
	assert.equal(jobOfTask("h-1", "someone-elses-task"), undefined);
	assert.notEqual(taskIdFor("h-1", "j"), taskIdFor("h-1", "j"), "each attempt its own id");
});
