import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { type CoverageReport, parseReportFile, parseReportStream } from "../../src/reports/index.ts";

const fixtures = join(import.meta.dirname, "../fixtures/reports");

async function coverage(path: string): Promise<CoverageReport> {
	const report = await parseReportFile(join(fixtures, path));
	assert.equal(report.kind, "coverage");
	return report as CoverageReport;
}

function file(r: CoverageReport, suffix: string) {
	const found = r.files.find((f) => f.path.endsWith(suffix));
	assert.ok(found, `no file ending with ${suffix}`);
	return found;
}

describe("coverage parsers on the same c8 run agree", () => {
	// c8's own text summary for this run: lines 25/34, branches 9/12, functions 4/7.
	for (const path of ["c8/lcov.info", "c8/cobertura-coverage.xml", "c8/coverage-summary.json"]) {
		test(path, async () => {
			const r = await coverage(path);
			assert.deepEqual(r.totals.lines, { covered: 25, total: 34 });
			assert.deepEqual(r.totals.branches, { covered: 9, total: 12 });
			assert.deepEqual(r.totals.functions, { covered: 4, total: 7 });
			assert.equal(r.files.length, 2);
			assert.deepEqual(file(r, "math.js").lines, { covered: 18, total: 22 });
			assert.deepEqual(file(r, "strings.js").functions, { covered: 1, total: 3 });
		});
	}

	test("clover: statements, conditionals and methods from its metrics", async () => {
		const r = await coverage("c8/clover.xml");
		assert.deepEqual(r.totals.statements, { covered: 25, total: 34 });
		assert.deepEqual(r.totals.branches, { covered: 9, total: 12 });
		assert.deepEqual(r.totals.functions, { covered: 4, total: 7 });
		assert.deepEqual(file(r, "math.js").lines, { covered: 18, total: 22 });
	});
});

describe("other coverage formats", () => {
	test("Go coverprofile (real output): statements and derived lines, no branches", async () => {
		const r = await coverage("go/cover.out");
		assert.deepEqual(r.totals.statements, { covered: 5, total: 8 });
		assert.equal(r.totals.branches, undefined);
		assert.equal(r.files[0]!.path, "example.com/calc/calc/calc.go");
		assert.ok(r.totals.lines.total > 0 && r.totals.lines.covered < r.totals.lines.total);
	});

	test("JaCoCo sample: sourcefile counters, DOCTYPE with a public DTD accepted", async () => {
		const r = await coverage("samples/jacoco.xml");
		assert.deepEqual(file(r, "com/example/Calculator.java").lines, { covered: 3, total: 5 });
		assert.deepEqual(file(r, "Calculator.java").branches, { covered: 1, total: 2 });
		assert.deepEqual(r.totals.lines, { covered: 4, total: 6 });
		assert.deepEqual(r.totals.functions, { covered: 3, total: 4 });
	});

	test("lcov: records of the same file under several test names merge line by line", async () => {
		const lcov = [
			"TN:unit",
			"SF:a.js",
			"FN:1,f",
			"FNDA:0,f",
			"DA:1,0",
			"DA:2,1",
			"BRDA:2,0,0,0",
			"BRDA:2,0,1,1",
			"end_of_record",
			"TN:e2e",
			"SF:a.js",
			"FN:1,f",
			"FNDA:3,f",
			"DA:1,4",
			"DA:3,0",
			"BRDA:2,0,0,2",
			"end_of_record",
			"",
		].join("\n");
		const r = (await parseReportStream([Buffer.from(lcov)], { format: "lcov" })) as CoverageReport;
		assert.deepEqual(r.files[0], {
			path: "a.js",
			lines: { covered: 2, total: 3 },
			branches: { covered: 2, total: 2 },
			functions: { covered: 1, total: 1 },
		});
	});
});
