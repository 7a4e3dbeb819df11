// `cds report parse` offline, and the coloured/plain text of `cds report`.
import assert from "node:assert/strict";
import path from "node:path";
import { describe, test } from "node:test";
import { memoryIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import {
	arrow,
	compareReports,
	evaluateGate,
	formatReportView,
	summariseReport,
} from "../../src/quality/index.ts";
import { parseReportFile } from "../../src/reports/index.ts";

const FIXTURES = path.join(import.meta.dirname, "..", "fixtures");
const run = async (argv: string[], env: Record<string, string> = {}) => {
	const out = memoryIo(env, FIXTURES);
	const code = await main(argv, out.io);
	return { code, stdout: out.stdout, stderr: out.stderr };
};

describe("cds report parse", () => {
	test("prints each file's normalised summary without a server", async () => {
		const r = await run(["report", "parse", "reports/c8/lcov.info", "quality/feature-trivy.json"]);
		assert.equal(r.code, 0, r.stderr);
		assert.match(r.stdout, /^reports\/c8\/lcov\.info \[lcov\]\n {2}total: lines 73\.52% \(25\/34\)/);
		assert.match(r.stdout, /high {5}CVE-2022-25881 http-cache-semantics@4\.1\.0/);
	});

	test("--json: the report object for one file, an array for several; --format forces the parser", async () => {
		const one = await run(["report", "parse", "--json", "reports/vitest/junit.xml"]);
		const report = JSON.parse(one.stdout);
		assert.equal(report.kind, "tests");
		assert.equal(report.file, "reports/vitest/junit.xml");
		assert.equal(report.totals.failures, 1);
		const two = await run([
			"report",
			"parse",
			"--json",
			"--format",
			"trivy",
			"reports/samples/trivy.json",
			"quality/feature-trivy.json",
		]);
		assert.deepEqual(
			JSON.parse(two.stdout).map((x: { vulnerabilities: unknown[] }) => x.vulnerabilities.length),
			[3, 3],
		);
	});

	test("unreadable files exit 2 with one line each; the readable ones are still printed", async () => {
		const r = await run([
			"report",
			"parse",
			"missing.xml",
			"reports/hostile/xxe.xml",
			"reports/c8/lcov.info",
		]);
		assert.equal(r.code, 2);
		assert.match(
			r.stderr,
			/^error: cannot read 2 reports\nmissing\.xml: file not found\nreports\/hostile\/xxe\.xml/,
		);
		assert.match(r.stdout, /reports\/c8\/lcov\.info \[lcov\]/);
	});

	test("usage errors: no file, unknown format, unknown verb, missing project", async () => {
		assert.equal((await run(["report", "parse"])).code, 2);
		assert.match((await run(["report", "parse", "--format", "xls", "a"])).stderr, /invalid --format "xls"/);
		assert.match((await run(["report", "show"])).stderr, /unknown argument "show"/);
		assert.match((await run(["report", "--workflow", "w"])).stderr, /missing --project/);
	});
});

describe("report text", () => {
	test("arrows are coloured by whether the change is good, only when asked", () => {
		assert.equal(arrow(-1.5, true, { color: false }), "▼ 1.50");
		assert.equal(arrow(2, false, { color: false }, 0), "▲ 2");
		assert.equal(arrow(0, true, { color: true }), "= 0");
		assert.equal(arrow(-1.5, true, { color: true }), "\u001b[31m▼ 1.50\u001b[0m");
		assert.equal(arrow(-3, false, { color: true }, 0), "\u001b[32m▼ 3\u001b[0m");
	});

	test("a report with its comparison and failed gate", async () => {
		const now = summariseReport(await parseReportFile(path.join(FIXTURES, "quality/feature-lcov.info")));
		const then = summariseReport(await parseReportFile(path.join(FIXTURES, "reports/c8/lcov.info")));
		const delta = compareReports(now, then)!;
		const view = {
			id: "x",
			runNumber: 2,
			branch: "feature",
			node: "build",
			kind: "coverage" as const,
			name: "lcov.info",
			format: "lcov",
			summary: now.summary,
			gate: evaluateGate({ settings: { minimum: 60 }, report: now, delta }),
			comparisons: { default: { against: { reportId: "y", runNumber: 1, branch: "master" }, delta } },
		};
		const plain = formatReportView(view, { color: false });
		assert.equal(
			plain,
			[
				"coverage  build › lcov.info [lcov]",
				"  lines 52.94%, branches 75.00%, functions 57.14% (2 files)",
				"  lines ▼ 20.59 pts, branches = 0 pts, functions = 0 pts vs default branch #1 (master)",
				"    src/math.js 50.00% ▼ 31.82 pts",
				"  gate: FAILED",
				"    - line coverage 52.94% is below the minimum of 60%",
			].join("\n"),
		);
		assert.ok(formatReportView(view, { color: true }).includes("\u001b[31mFAILED\u001b[0m"));
	});
});
