// Reports made by real tools inside a real job: the step runs Node's own test runner with
// its JUnit and lcov reporters, the worker uploads both, the report service parses them and
// judges the coverage gate written in the pipeline — a failed gate fails the job.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const WF = "/api/v1/projects/QUAL/workflows";

function pipeline(minimum: number) {
	return [
		"version: v1.0",
		"name: unit",
		"jobs:",
		"- job: test",
		"  steps:",
		"  - script:",
		"    - mkdir -p src",
		`    - printf 'export function grade(n) {\\n  if (n > 90) return "A";\\n  if (n > 50) return "B";\\n  return "C";\\n}\\n' > src/grade.mjs`,
		`    - printf 'import { test } from "node:test";\\nimport assert from "node:assert";\\nimport { grade } from "./src/grade.mjs";\\ntest("top", () => assert.equal(grade(95), "A"));\\ntest("middle", () => assert.equal(grade(60), "B"));\\n' > grade.test.mjs`,
		"    - node --test --experimental-test-coverage --test-reporter=junit --test-reporter-destination=junit.xml --test-reporter=lcov --test-reporter-destination=lcov.info grade.test.mjs",
		"  - jUnitReport: junit.xml",
		"  - coverage:",
		"      path: lcov.info",
		`      minimum: ${minimum}`,
		"",
	].join("\n");
}

let srv: TestServer;

async function runOnce(minimum: number) {
	const files = [
		{ path: "w.yml", content: "name: quality\nversion: v1.0\npipeline: unit\n" },
		{ path: "unit.pip.yml", content: pipeline(minimum) },
	];
	const imp = await srv.api("POST", "/api/v1/projects/QUAL/import", { files, force: true });
	assert.equal(imp.status, 200, JSON.stringify(imp.body));
	const created = await srv.api("POST", `${WF}/quality/runs`, {});
	assert.equal(created.status, 201, JSON.stringify(created.body));
	for (let i = 0; i < 600; i++) {
		const r = (await srv.api("GET", `${WF}/quality/runs/${created.body.number}`)).body;
		if (!["Waiting", "Building"].includes(r.status)) return r;
		await new Promise((res) => setTimeout(res, 100));
	}
	throw new Error("run did not finish");
}

describe("reports from real tools, through a real job", () => {
	before(async () => {
		srv = await startTestServer({ CDS_HATCHERY_POLL_MS: "100" });
		assert.equal((await srv.api("POST", "/api/v1/projects", { key: "QUAL", name: "q" })).status, 201);
	});
	after(async () => srv?.stop());

	test("a coverage gate the code meets passes; the reports are stored per run", async () => {
		const run = await runOnce(50);
		assert.equal(run.status, "Success", JSON.stringify(run.nodes));
		const reports = await srv.api("GET", `${WF}/quality/runs/${run.number}/reports`);
		assert.equal(reports.status, 200, JSON.stringify(reports.body));
		const kinds = reports.body.items.map((r: { kind: string }) => r.kind).sort();
		assert.deepEqual(kinds, ["coverage", "tests"]);
		const tests = reports.body.items.find((r: { kind: string }) => r.kind === "tests");
		assert.equal(tests.summary.totals.tests, 2);
		assert.equal(tests.summary.totals.failures, 0);
		const coverage = reports.body.items.find((r: { kind: string }) => r.kind === "coverage");
		assert.ok(coverage.summary.totals.lines.total > 0);
		assert.ok(
			coverage.summary.totals.lines.covered < coverage.summary.totals.lines.total,
			"one branch is not covered",
		);
	});

	test("a coverage minimum the code misses fails the job, saying why", async () => {
		const run = await runOnce(99);
		assert.equal(run.status, "Fail");
		const job = run.nodes[0].stages[0].jobs[0];
		assert.match(job.reason, /quality gate failed/);
		assert.match(job.reason, /coverage/i);
		const logs = await srv.api("GET", `${WF}/quality/runs/${run.number}/logs`);
		const text = logs.body.items.map((l: { text: string }) => l.text).join("");
		assert.match(text, /quality gate failed/);
	});
});
