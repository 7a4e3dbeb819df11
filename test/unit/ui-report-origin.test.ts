import assert from "node:assert/strict";
import { test } from "node:test";
import { jobId } from "../../src/engine/advance.ts";
import { runId, subRunId } from "../../src/engine/run-repository.ts";
import { reportOrigin, runRef } from "../../src/ui/report-origin.ts";

test("a report names its run and sub-run from the run id", () => {
	assert.equal(runRef(runId("UI", "ui", 7)), "#7");
	assert.equal(runRef(subRunId("UI", "ui", 1, 1)), "#1.1");
	assert.equal(runRef(subRunId("UI", "ui", 12, 0)), "#12");
	assert.equal(runRef("not a run"), null);
});

test("two reports of one name in one run (a node and its restart) read differently", () => {
	const first = reportOrigin({
		node: "test",
		runId: runId("UI", "ui", 1),
		jobId: jobId(runId("UI", "ui", 1), "test", 0, 1),
	});
	const restart = reportOrigin({
		node: "test",
		runId: subRunId("UI", "ui", 1, 1),
		jobId: jobId(subRunId("UI", "ui", 1, 1), "test", 0, 1),
	});
	assert.equal(first, "node test · run #1 · job 1, attempt 1");
	assert.equal(restart, "node test · run #1.1 · job 1, attempt 1");
	assert.equal(reportOrigin({ node: "a b", runId: "x", jobId: "y" }), "node a b");
});
