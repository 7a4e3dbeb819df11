import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseReportFile, type TestReport } from "../../src/reports/index.ts";

const fixtures = join(import.meta.dirname, "../fixtures/reports");

async function tests(path: string): Promise<TestReport> {
	const report = await parseReportFile(join(fixtures, path));
	assert.equal(report.kind, "tests");
	return report as TestReport;
}

describe("JUnit dialects", () => {
	test("vitest (real output)", async () => {
		const r = await tests("vitest/junit.xml");
		assert.equal(r.dialect, "vitest");
		assert.deepEqual(
			{
				tests: r.totals.tests,
				passed: r.totals.passed,
				failures: r.totals.failures,
				skipped: r.totals.skipped,
			},
			{ tests: 6, passed: 4, failures: 1, skipped: 1 },
		);
		const failed = r.cases.find((c) => c.status === "failed")!;
		assert.equal(failed.name, "math > classifies (deliberately wrong)");
		assert.equal(failed.suite, "test/math.test.js");
		assert.match(failed.message!, /expected 'negative' to be 'positive'/);
		assert.ok(r.totals.timeSeconds > 0);
	});

	test("pytest (real output): failure, setup error, skip and class", async () => {
		const r = await tests("pytest/junit.xml");
		assert.equal(r.dialect, "pytest");
		assert.equal(r.totals.tests, 5);
		assert.equal(r.totals.failures, 1);
		assert.equal(r.totals.errors, 1);
		assert.equal(r.totals.skipped, 1);
		const error = r.cases.find((c) => c.name === "test_error")!;
		assert.equal(error.status, "error");
		assert.match(error.message!, /fixture exploded/);
		assert.equal(r.cases.find((c) => c.name === "test_in_class")!.className, "test_sample.TestGroup");
		assert.equal(r.cases.find((c) => c.name === "test_skipped")!.message, "not ready");
	});

	test("go-junit-report (real output)", async () => {
		const r = await tests("go/go-junit-report.xml");
		assert.equal(r.dialect, "go-junit-report");
		assert.equal(r.totals.tests, 4);
		assert.equal(r.totals.failures, 1);
		assert.equal(r.totals.skipped, 1);
		const failed = r.cases.find((c) => c.status === "failed")!;
		assert.equal(failed.name, "TestSignWrong");
		assert.equal(failed.className, "example.com/calc/calc");
	});

	test("Maven Surefire sample: error, failure, skip, time with thousands separator", async () => {
		const r = await tests("samples/surefire-TEST-com.example.CalculatorTest.xml");
		assert.equal(r.dialect, "surefire");
		assert.deepEqual(r.totals, {
			tests: 4,
			passed: 1,
			failures: 1,
			errors: 1,
			skipped: 1,
			timeSeconds: 1234.5,
		});
		assert.equal(r.cases[2]!.status, "error");
		assert.match(r.cases[2]!.message!, /FileNotFoundException/);
		assert.equal(r.cases[1]!.message, "expected: <4> but was: <5>");
	});

	test("jest-junit sample: message taken from the failure body when there is no attribute", async () => {
		const r = await tests("samples/jest-junit.xml");
		assert.equal(r.dialect, "jest-junit");
		assert.equal(r.totals.timeSeconds, 1.52);
		assert.equal(r.totals.failures, 1);
		assert.match(r.cases[1]!.message!, /^Error: expect\(received\)\.toBe\(expected\)/);
	});
});
