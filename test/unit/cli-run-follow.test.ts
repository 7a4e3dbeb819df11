// Following a run (live tree on a terminal, status-change lines otherwise), log line
// formatting, graph order and commit matching.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ValidationError } from "../../src/cli/errors.ts";
import type { CliIo } from "../../src/cli/io.ts";
import { formatLogLine } from "../../src/cli/log-follow.ts";
import { commitMatches, nodesInGraphOrder, type Run } from "../../src/cli/run-api.ts";
import { followRun, manualHints, pollIntervalMs } from "../../src/cli/run-follow.ts";

function run(status: string, jobStatus: string, manual = false): Run {
	return {
		id: "P/W/1",
		project: "P",
		workflow: "W",
		number: 1,
		sub: 0,
		status,
		created: "2025-01-01T00:00:00.000Z",
		ended: null,
		nodes: [
			{
				name: "build",
				status: jobStatus === "Waiting" ? "Waiting" : status === "Manual" ? "Success" : status,
				pipeline: "build",
				stages: [{ name: "S", status: jobStatus, jobs: [{ name: "j", status: jobStatus }] }],
			},
			...(manual ? [{ name: "release", status: "Manual", pipeline: "p", stages: [] }] : []),
		],
	};
}

function sink(isTTY: boolean, env: Record<string, string> = {}) {
	let out = "";
	const stdout = { write: (t: string) => (out += t), isTTY, columns: 80 };
	const io: CliIo = { stdout, stderr: { write: () => true }, env, cwd: "/" };
	return { io, text: () => out };
}

function sequence(runs: Run[]) {
	let i = 0;
	return { refresh: async () => runs[Math.min(++i, runs.length - 1)]!, calls: () => i };
}

const noSleep = async () => {};

describe("followRun", () => {
	test("without a terminal: one line per status change, then the final tree, no escapes", async () => {
		const out = sink(false);
		const states = [
			run("Building", "Waiting"),
			run("Building", "Waiting"),
			run("Building", "Building"),
			run("Success", "Success"),
		];
		const seq = sequence(states);
		const final = await followRun(states[0]!, {
			io: out.io,
			intervalMs: 1,
			refresh: seq.refresh,
			sleep: noSleep,
			now: () => 0,
		});
		assert.equal(final.status, "Success");
		assert.equal(seq.calls(), 3);
		const lines = out.text().split("\n");
		assert.deepEqual(lines.slice(0, 4), [
			"#1 Building",
			"build Waiting",
			"build/S Waiting",
			"build/S/j Waiting",
		]);
		assert.deepEqual(lines.slice(4, 7), ["build Building", "build/S Building", "build/S/j Building"]);
		assert.ok(lines.includes("#1 Success"));
		assert.ok(lines.includes("W #1  Success"), out.text());
		assert.ok(!out.text().includes("\x1b"));
	});

	test("on a terminal the tree is redrawn in place with colours", async () => {
		const out = sink(true);
		const states = [run("Building", "Building"), run("Fail", "Fail")];
		const seq = sequence(states);
		const final = await followRun(states[0]!, {
			io: out.io,
			intervalMs: 1,
			refresh: seq.refresh,
			sleep: noSleep,
			now: () => 0,
		});
		assert.equal(final.status, "Fail");
		// The first tree is 5 lines (header, details, node, stage, job): the redraw moves up 5 and clears.
		const text = out.text();
		const at = text.indexOf("\x1b[5A\x1b[0J");
		assert.ok(at > 0, "moves up over the previous tree and clears it");
		assert.equal(text.slice(0, at).split("\n").length - 1, 5);
		assert.ok(text.includes("\x1b[31mFail\x1b[0m"), "the status word is coloured");
	});

	test("NO_COLOR keeps a terminal's output plain apart from the redraw", async () => {
		const out = sink(true, { NO_COLOR: "1" });
		await followRun(run("Success", "Success"), {
			io: out.io,
			intervalMs: 1,
			refresh: async () => run("Success", "Success"),
			sleep: noSleep,
		});
		assert.ok(!out.text().includes("\x1b"));
	});

	test("a run waiting for a manual start prints how to resume it once", async () => {
		const out = sink(false);
		const states = [
			run("Manual", "Success", true),
			run("Manual", "Success", true),
			run("Success", "Success"),
		];
		const seq = sequence(states);
		await followRun(states[0]!, { io: out.io, intervalMs: 1, refresh: seq.refresh, sleep: noSleep });
		const hint = "release waits for a manual start: cds workflow run P W --resume 1 --node release";
		assert.equal(out.text().split(hint).length - 1, 1);
		assert.deepEqual(manualHints(states[2]!), []);
	});
});

describe("pollIntervalMs", () => {
	test("CDS_POLL_INTERVAL in seconds, 1 s by default, bad values rejected", () => {
		assert.equal(pollIntervalMs({}), 1000);
		assert.equal(pollIntervalMs({ CDS_POLL_INTERVAL: "0.25" }), 250);
		assert.throws(() => pollIntervalMs({ CDS_POLL_INTERVAL: "soon" }), ValidationError);
		assert.throws(() => pollIntervalMs({ CDS_POLL_INTERVAL: "0" }), ValidationError);
	});
});

describe("formatLogLine", () => {
	const line = { id: "1", job: "j1", node: "n", jobName: "compile", step: 0, seq: 0, text: "one\ntwo\n" };
	test("plain lines as sent, a newline added when missing", () => {
		assert.equal(formatLogLine(line, false), "one\ntwo\n");
		assert.equal(formatLogLine({ ...line, text: "partial" }, false), "partial\n");
	});
	test("prefixed: every line gets [job/step] with steps counted from 1", () => {
		assert.equal(formatLogLine({ ...line, step: 2 }, true), "[compile/3] one\n[compile/3] two\n");
	});
});

describe("graph order and commits", () => {
	test("nodesInGraphOrder sorts by the model and keeps unknown nodes last in their order", () => {
		const r = run("Success", "Success");
		r.nodes = ["c", "x", "a", "b"].map((name) => ({ name, status: "Success", stages: [] }));
		assert.deepEqual(
			nodesInGraphOrder(r, ["a", "b", "c"]).map((n) => n.name),
			["a", "b", "c", "x"],
		);
		assert.deepEqual(
			nodesInGraphOrder(r, []).map((n) => n.name),
			["c", "x", "a", "b"],
		);
	});

	test("commitMatches: whole hash or a prefix of 4+ characters, case-insensitive", () => {
		assert.ok(commitMatches("0123abcdef", "0123ABCDEF"));
		assert.ok(commitMatches("0123abcdef", "0123a"));
		assert.ok(!commitMatches("0123abcdef", "012"));
		assert.ok(!commitMatches(null, "0123"));
		assert.ok(!commitMatches("0123abcdef", "abcd"));
	});
});
