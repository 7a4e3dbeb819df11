// The run status tree and the one-line status changes printed by track / --wait.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { stripVTControlCharacters } from "node:util";
import type { Run } from "../../src/cli/run-api.ts";
import {
	formatDuration,
	renderRunTree,
	statusChanges,
	statusSnapshot,
	timeAgo,
} from "../../src/cli/run-tree.ts";

const T0 = Date.parse("2025-03-01T10:00:00.000Z");
const at = (ms: number) => new Date(T0 + ms).toISOString();

function sampleRun(): Run {
	return {
		id: "DEMO/W/0000000004",
		project: "DEMO",
		workflow: "W",
		number: 4,
		sub: 0,
		status: "Building",
		branch: "master",
		commit: "0123456789abcdef0123",
		triggeredBy: "alice",
		created: at(0),
		ended: null,
		nodes: [
			{
				name: "build",
				status: "Success",
				pipeline: "build",
				startedAt: at(0),
				doneAt: at(3200),
				stages: [
					{
						name: "Compile",
						status: "Success",
						jobs: [
							{ name: "api", status: "Success", attempt: 1, startedAt: at(100), endedAt: at(2100) },
							{ name: "front", status: "Success", attempt: 2, startedAt: at(100), endedAt: at(3100) },
						],
					},
				],
			},
			{
				name: "deploy",
				status: "Building",
				pipeline: "deploy-prod",
				startedAt: at(4000),
				doneAt: null,
				stages: [
					{
						name: "Ship",
						status: "Building",
						jobs: [{ name: "push", status: "Building", attempt: 1, startedAt: at(5000), endedAt: null }],
					},
				],
			},
			{ name: "notify", status: "Fail", reason: "exit code 3", pipeline: "notify", stages: [] },
		],
	};
}

describe("formatDuration", () => {
	test("picks a unit that stays short", () => {
		assert.equal(formatDuration(850), "850ms");
		assert.equal(formatDuration(3200), "3.2s");
		assert.equal(formatDuration(42_900), "42s");
		assert.equal(formatDuration(125_000), "2m05s");
		assert.equal(formatDuration(3_780_000), "1h03m");
		assert.equal(formatDuration(-5), "");
	});
});

describe("renderRunTree", () => {
	test("nodes, stages and jobs as a tree with aligned status and duration columns", () => {
		const lines = renderRunTree(sampleRun(), { color: false, now: T0 + 65_000 });
		assert.deepEqual(lines, [
			"W #4  Building  1m05s",
			"branch master  commit 0123456789ab  by alice  started 2025-03-01T10:00:00.000Z",
			"├─ build                    Success   3.2s",
			"│  └─ Compile               Success",
			"│     ├─ api                Success   2.0s",
			"│     └─ front (attempt 2)  Success   3.0s",
			"├─ deploy [deploy-prod]     Building  1m01s",
			"│  └─ Ship                  Building",
			"│     └─ push               Building  1m00s",
			"└─ notify                   Fail      (exit code 3)",
		]);
	});

	test("a final run shows its total duration from created to ended, not to now", () => {
		const run = { ...sampleRun(), status: "Success", ended: at(90_000) };
		assert.equal(renderRunTree(run, { color: false, now: T0 + 10_000_000 })[0], "W #4  Success  1m30s");
	});

	test("a restart is labelled #N.S and a run without nodes is just its header", () => {
		const run: Run = {
			...sampleRun(),
			sub: 2,
			nodes: [],
			branch: null,
			commit: null,
			triggeredBy: undefined,
		};
		const lines = renderRunTree(run, { color: false, now: T0 + 1000 });
		assert.deepEqual(lines, ["W #4.2  Building  1.0s", "started 2025-03-01T10:00:00.000Z"]);
	});

	test("colour wraps only the status words and keeps the columns aligned", () => {
		const plain = renderRunTree(sampleRun(), { color: false, now: T0 + 65_000 });
		const coloured = renderRunTree(sampleRun(), { color: true, now: T0 + 65_000 });
		assert.ok(coloured[2]!.includes("\x1b[32mSuccess\x1b[0m"));
		assert.ok(coloured.at(-1)!.includes("\x1b[31mFail\x1b[0m"));
		assert.deepEqual(
			coloured.map((l) => stripVTControlCharacters(l)),
			plain,
		);
		assert.ok(plain.every((l) => !l.includes("\x1b")));
	});
});

describe("status changes", () => {
	test("the first snapshot prints every status, later ones only what changed", () => {
		const run = sampleRun();
		const first = statusChanges(undefined, run, false);
		assert.equal(first.length, statusSnapshot(run).size);
		assert.equal(first[0], "#4 Building");
		assert.ok(first.includes("build/Compile/front (attempt 2) Success"));

		const previous = statusSnapshot(run);
		const next = structuredClone(run);
		next.nodes[1]!.stages[0]!.jobs[0]!.status = "Success";
		next.nodes[1]!.stages[0]!.status = "Success";
		assert.deepEqual(statusChanges(previous, next, false), [
			"deploy/Ship Success",
			"deploy/Ship/push Success",
		]);
		assert.deepEqual(statusChanges(statusSnapshot(next), next, false), []);
	});
});

describe("timeAgo", () => {
	test("relative to now, and empty for unreadable dates", () => {
		assert.equal(timeAgo(at(0), T0 + 125_000), "2m05s ago");
		assert.equal(timeAgo(at(0), T0 + 200), "just now");
		assert.equal(timeAgo("not a date", T0), "");
		assert.equal(timeAgo(null, T0), "");
	});
});
