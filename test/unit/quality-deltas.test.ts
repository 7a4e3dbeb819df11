// Deltas between two reports, from real fixture files parsed by src/reports.
import assert from "node:assert/strict";
import path from "node:path";
import { describe, test } from "node:test";
import {
	capDelta,
	chooseDefaultBranch,
	compareReports,
	gateComparison,
	historySeries,
	STORAGE_CAPS,
	type StoredReportBody,
	summariseReport,
} from "../../src/quality/index.ts";
import { parseReportFile, type TestReport } from "../../src/reports/index.ts";

const FIXTURES = path.join(import.meta.dirname, "..", "fixtures");
const body = async (file: string) => summariseReport(await parseReportFile(path.join(FIXTURES, file)));

describe("compareReports", () => {
	test("coverage: percentage points in total and per changed file", async () => {
		const delta = compareReports(await body("quality/feature-lcov.info"), await body("reports/c8/lcov.info"));
		assert.ok(delta?.kind === "coverage");
		assert.deepEqual(delta.totals, { lines: -20.59, branches: 0, functions: 0 });
		assert.deepEqual(delta.files, [{ path: "src/math.js", before: 81.82, after: 50, delta: -31.82 }]);
		// And the other way round, coverage went up.
		const up = compareReports(await body("reports/c8/lcov.info"), await body("quality/feature-lcov.info"));
		assert.ok(up?.kind === "coverage");
		assert.equal(up.totals.lines, 20.59);
	});

	test("coverage: files that appear or disappear are listed without a delta", async () => {
		const before = await body("reports/c8/lcov.info");
		const after: StoredReportBody = structuredClone(before);
		after.detail.files = [...(after.detail.files ?? []).filter((f) => f.path !== "src/strings.js")];
		after.detail.files.push({ path: "src/cart.js", lines: { covered: 1, total: 4 } });
		const delta = compareReports(after, before);
		assert.ok(delta?.kind === "coverage");
		assert.deepEqual(
			delta.files.map((f) => [f.path, f.before, f.after, f.delta]),
			[
				["src/cart.js", null, 25, null],
				["src/strings.js", 58.33, null, null],
			],
		);
	});

	test("security: new and fixed vulnerabilities by fingerprint, per severity", async () => {
		const delta = compareReports(
			await body("quality/feature-trivy.json"),
			await body("reports/samples/trivy.json"),
		);
		assert.ok(delta?.kind === "security");
		assert.deepEqual(
			delta.newVulnerabilities.map((v) => v.id),
			["CVE-2022-25881"],
		);
		assert.deepEqual(
			delta.fixedVulnerabilities.map((v) => v.id),
			["GHSA-c2qf-rxjj-qqgw"],
		);
		assert.deepEqual(delta.newBySeverity, { critical: 0, high: 1, medium: 0, low: 0, unknown: 0 });
		assert.equal(delta.fixedBySeverity.medium, 1);
		assert.equal(delta.total, 0);
	});

	test("analysis: an unchanged report has no new or fixed findings; a removed one is fixed", async () => {
		const eslint = await body("reports/eslint/eslint.json");
		const same = compareReports(eslint, await body("reports/eslint/eslint.json"));
		assert.ok(same?.kind === "analysis");
		assert.equal(same.newFindings.length + same.fixedFindings.length, 0);
		const fewer = structuredClone(eslint);
		fewer.detail.findings = fewer.detail.findings!.filter((f) => f.rule !== "eqeqeq");
		const fixed = compareReports(fewer, eslint);
		assert.ok(fixed?.kind === "analysis");
		assert.deepEqual(
			fixed.fixedFindings.map((f) => f.rule),
			["eqeqeq"],
		);
		assert.equal(fixed.fixedBySeverity.medium, 1);
	});

	test("tests: new and fixed failures by case id", async () => {
		const base = await body("reports/vitest/junit.xml");
		const now = structuredClone(base);
		const cases = now.detail.cases!;
		const wasFailing = cases.find((c) => c.status === "failed")!;
		wasFailing.status = "passed";
		const nowFailing = cases.find((c) => c.status === "passed" && c !== wasFailing)!;
		nowFailing.status = "failed";
		const delta = compareReports(now, base);
		assert.ok(delta?.kind === "tests");
		assert.deepEqual(delta.newFailures, [nowFailing.id]);
		assert.deepEqual(delta.fixedFailures, [wasFailing.id]);
	});

	test("reports of different kinds are not compared", async () => {
		assert.equal(
			compareReports(await body("reports/c8/lcov.info"), await body("reports/vitest/junit.xml")),
			null,
		);
	});

	test("capDelta keeps the counts exact and cuts the lists", async () => {
		const delta = compareReports(
			await body("reports/samples/trivy.json"),
			await body("reports/samples/grype.json"),
		);
		assert.ok(delta?.kind === "security");
		const capped = capDelta(delta, 1);
		assert.ok(capped.kind === "security");
		assert.equal(capped.newVulnerabilities.length, 1);
		assert.deepEqual(capped.newBySeverity, delta.newBySeverity);
		assert.equal(delta.newVulnerabilities.length, 3);
	});
});

describe("summariseReport", () => {
	test("huge test reports keep at most the cap, failing cases first, and say so", () => {
		const cases = Array.from({ length: STORAGE_CAPS.cases + 10 }, (_, i) => ({
			suite: "s",
			className: "c",
			name: `t${i}`,
			status: i === STORAGE_CAPS.cases + 5 ? ("failed" as const) : ("passed" as const),
			timeSeconds: 0,
		}));
		const report: TestReport = {
			kind: "tests",
			format: "junit",
			dialect: "generic",
			totals: {
				tests: cases.length,
				passed: cases.length - 1,
				failures: 1,
				errors: 0,
				skipped: 0,
				timeSeconds: 0,
			},
			cases,
		};
		const stored = summariseReport(report);
		assert.equal(stored.detail.cases!.length, STORAGE_CAPS.cases);
		assert.equal(stored.detail.cases![0]!.id, `s › c › t${STORAGE_CAPS.cases + 5}`);
		assert.deepEqual(stored.detail.truncated, { cases: STORAGE_CAPS.cases + 10 });
		assert.ok(stored.summary.kind === "tests" && stored.summary.totals.tests === cases.length);
	});
});

describe("baselines and history", () => {
	test("default branch: the application's, else master when it has runs, else main", () => {
		assert.equal(chooseDefaultBranch("develop", true), "develop");
		assert.equal(chooseDefaultBranch(undefined, true), "master");
		assert.equal(chooseDefaultBranch(undefined, false), "main");
		assert.equal(chooseDefaultBranch("  ", false), "main");
	});

	test("the gate judges a branch against the default branch, else against its previous run", () => {
		const c = (runNumber: number, branch: string) => ({
			against: { reportId: "x", runNumber, branch },
			delta: { kind: "tests" as const, tests: 0, failures: 0, newFailures: [], fixedFailures: [] },
		});
		assert.equal(
			gateComparison({ previous: c(4, "feat"), default: c(3, "master") })?.against.branch,
			"master",
		);
		assert.equal(gateComparison({ previous: c(4, "master") })?.against.runNumber, 4);
		assert.equal(gateComparison({}), undefined);
	});

	test("history adds up the reports of one run and orders runs", async () => {
		const lcov = await body("reports/c8/lcov.info");
		const feature = await body("quality/feature-lcov.info");
		const entry = (runNumber: number, b: StoredReportBody, passed = true) => ({
			runNumber,
			branch: "master",
			created: `2025-01-0${runNumber}T00:00:00.000Z`,
			summary: b.summary,
			gate: { passed, failures: [] },
		});
		const points = historySeries(
			[
				entry(2, feature, false),
				entry(1, lcov),
				entry(2, lcov),
				entry(1, await body("reports/vitest/junit.xml")),
			],
			"coverage",
		);
		assert.deepEqual(
			points.map((p) => [p.runNumber, p.reports, p.values.lines, p.gatePassed]),
			[
				[1, 1, 73.53],
				[2, 2, 63.24], // (18 + 25) / (34 + 34)
			].map(([n, r, v]) => [n, r, v, n === 1]),
		);
		const tests = historySeries([entry(1, await body("reports/vitest/junit.xml"))], "tests");
		assert.deepEqual(tests[0]!.values, { tests: 6, passed: 4, failures: 1, errors: 0, skipped: 1 });
	});

	test("history: a node restarted in a sub-run replaces its report instead of adding to it", async () => {
		const lcov = await body("reports/c8/lcov.info");
		const feature = await body("quality/feature-lcov.info");
		const at = (runId: string, node: string, b: StoredReportBody, passed = true) => ({
			runNumber: 1,
			runId,
			node,
			name: "lcov.info",
			branch: "master",
			created: "2025-01-01T00:00:00.000Z",
			summary: b.summary,
			gate: { passed, failures: [] },
		});
		// Newest first, as the service reads them: the restart (1.1) of node `test`, then the first run.
		const points = historySeries(
			[
				at("P/w/0000000001.001", "test", lcov),
				at("P/w/0000000001", "test", feature, false),
				at("P/w/0000000001", "other", feature),
			],
			"coverage",
		);
		assert.deepEqual(
			points.map((p) => [p.reports, p.values.lines, p.gatePassed]),
			[[2, 63.24, true]], // the restart's 25/34 plus node `other`'s 18/34; the failed first try is gone
		);
		const older = historySeries(
			[at("P/w/0000000001", "test", feature), at("P/w/0000000001.002", "test", lcov)],
			"coverage",
		);
		assert.deepEqual(
			older.map((p) => p.values.lines),
			[73.53],
		);
	});
});
