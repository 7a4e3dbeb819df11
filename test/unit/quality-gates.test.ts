// Quality gates: settings read from step parameters, decisions, vulnerability ignores.
import assert from "node:assert/strict";
import path from "node:path";
import { describe, test } from "node:test";
import {
	compareReports,
	evaluateGate,
	GateSettingsError,
	gateSettingsFromStep,
	ignoreMatches,
	IgnoreInputError,
	parseExpiry,
	summariseReport,
} from "../../src/quality/index.ts";
import { parseReportFile } from "../../src/reports/index.ts";

const FIXTURES = path.join(import.meta.dirname, "..", "fixtures");
const body = async (file: string) => summariseReport(await parseReportFile(path.join(FIXTURES, file)));

describe("gateSettingsFromStep", () => {
	test("reads the documented keys, as numbers or strings, and ignores path/format", () => {
		assert.deepEqual(
			gateSettingsFromStep("coverage", { path: "x", format: "lcov", minimum: "80%", maxDrop: 1.5 }),
			{
				minimum: 80,
				maxDrop: 1.5,
			},
		);
		assert.deepEqual(gateSettingsFromStep("security", { path: "t.json", failOn: "HIGH", maxNew: "0" }), {
			failOn: "high",
			maxNew: 0,
		});
		assert.deepEqual(gateSettingsFromStep("analysis", { path: "e.json", failOn: "none" }), {});
		assert.deepEqual(gateSettingsFromStep("tests", "**/junit.xml"), { failOnTestFailures: true });
		assert.deepEqual(gateSettingsFromStep("tests", { path: "x", allowFailures: true }), {
			failOnTestFailures: false,
		});
		assert.deepEqual(gateSettingsFromStep("coverage", undefined), {});
	});

	test("bad values are refused with every problem listed", () => {
		assert.throws(
			() => gateSettingsFromStep("security", { failOn: "severe", maxNew: -1 }),
			(e: unknown) =>
				e instanceof GateSettingsError &&
				e.problems.length === 2 &&
				/^invalid securityScan step: maxNew must be a whole number/.test(e.message) &&
				/failOn must be one of critical, high/.test(e.message),
		);
		assert.throws(
			() => gateSettingsFromStep("coverage", { minimum: 150 }),
			/minimum must be a number of percent/,
		);
	});
});

describe("evaluateGate", () => {
	test("coverage below the minimum (CDS's coverage: {minimum})", async () => {
		const report = await body("quality/feature-lcov.info");
		assert.deepEqual(evaluateGate({ settings: { minimum: 60 }, report, delta: null }), {
			passed: false,
			failures: ["line coverage 52.94% is below the minimum of 60%"],
		});
		assert.equal(evaluateGate({ settings: { minimum: 52.9 }, report, delta: null }).passed, true);
	});

	test("maximum coverage drop needs a baseline and lists both breaks", async () => {
		const report = await body("quality/feature-lcov.info");
		const delta = compareReports(report, await body("reports/c8/lcov.info"));
		assert.equal(evaluateGate({ settings: { maxDrop: 1 }, report, delta: null }).passed, true);
		assert.deepEqual(evaluateGate({ settings: { maxDrop: 25, minimum: 60 }, report, delta }).failures, [
			"line coverage 52.94% is below the minimum of 60%",
		]);
		assert.deepEqual(evaluateGate({ settings: { maxDrop: 20, minimum: 60 }, report, delta }).failures, [
			"line coverage 52.94% is below the minimum of 60%",
			"line coverage dropped by 20.59 points (to 52.94%), more than the allowed 20",
		]);
	});

	test("new vulnerabilities at or above failOn; ignores apply until they expire", async () => {
		const report = await body("quality/feature-trivy.json");
		const delta = compareReports(report, await body("reports/samples/trivy.json"));
		assert.equal(evaluateGate({ settings: { failOn: "critical" }, report, delta }).passed, true);
		assert.deepEqual(evaluateGate({ settings: { failOn: "high", maxNew: 0 }, report, delta }).failures, [
			"1 new vulnerability, more than the allowed 0",
			"1 new vulnerability at or above high: CVE-2022-25881 (high, http-cache-semantics@4.1.0)",
		]);
		const now = new Date("2025-06-01T00:00:00Z");
		const ignore = {
			vulnerability: "CVE-2022-25881",
			reason: "not reachable",
			expires: "2025-07-01T00:00:00Z",
		};
		assert.equal(
			evaluateGate({ settings: { failOn: "high" }, report, delta, ignores: [ignore], now }).passed,
			true,
		);
		const later = new Date("2025-07-02T00:00:00Z");
		assert.equal(
			evaluateGate({ settings: { failOn: "high" }, report, delta, ignores: [ignore], now: later }).passed,
			false,
		);
		// Without a baseline, everything is new.
		assert.match(
			evaluateGate({ settings: { failOn: "high" }, report, delta: null }).failures[0]!,
			/^3 new vulnerabilities/,
		);
	});

	test("static analysis: maximum new findings and failOn", async () => {
		const report = await body("reports/eslint/eslint.json");
		const fewer = structuredClone(report);
		fewer.detail.findings = fewer.detail.findings!.filter((f) => f.rule === "eqeqeq");
		const delta = compareReports(report, fewer);
		assert.deepEqual(evaluateGate({ settings: { maxNew: 1 }, report, delta }).failures, [
			"2 new findings, more than the allowed 1",
		]);
		assert.equal(evaluateGate({ settings: { maxNew: 2, failOn: "critical" }, report, delta }).passed, true);
		assert.match(
			evaluateGate({ settings: { failOn: "high" }, report, delta }).failures[0]!,
			/^2 new findings at or above high: no-var \(high, /,
		);
	});

	test("tests fail the gate when a test fails, unless allowed", async () => {
		const report = await body("reports/vitest/junit.xml");
		assert.deepEqual(evaluateGate({ settings: { failOnTestFailures: true }, report, delta: null }).failures, [
			"1 test failed: test/math.test.js › math > classifies (deliberately wrong)",
		]);
		assert.equal(evaluateGate({ settings: { failOnTestFailures: false }, report, delta: null }).passed, true);
	});
});

describe("vulnerability ignores", () => {
	const vuln = { id: "CVE-2022-24999", aliases: ["GHSA-hrpp-h998-j3pp"], package: "qs" };
	const now = new Date("2025-06-01T00:00:00Z");
	test("match by id or alias, case-insensitively, optionally by package", () => {
		const expires = "2025-06-02T00:00:00Z";
		assert.equal(
			ignoreMatches({ vulnerability: "ghsa-hrpp-h998-j3pp", reason: "r", expires }, vuln, now),
			true,
		);
		assert.equal(
			ignoreMatches({ vulnerability: "CVE-2022-24999", package: "qs", reason: "r", expires }, vuln, now),
			true,
		);
		assert.equal(
			ignoreMatches({ vulnerability: "CVE-2022-24999", package: "express", reason: "r", expires }, vuln, now),
			false,
		);
		assert.equal(ignoreMatches({ vulnerability: "CVE-2022-0001", reason: "r", expires }, vuln, now), false);
		assert.equal(
			ignoreMatches(
				{ vulnerability: "CVE-2022-24999", reason: "r", expires: "2025-05-31T00:00:00Z" },
				vuln,
				now,
			),
			false,
		);
	});

	test("expiry: durations and dates in the future, at most ten years away", () => {
		assert.equal(parseExpiry("30d", now).toISOString(), "2025-07-01T00:00:00.000Z");
		assert.equal(parseExpiry("12h", now).toISOString(), "2025-06-01T12:00:00.000Z");
		assert.equal(parseExpiry("2025-12-31", now).toISOString(), "2025-12-31T00:00:00.000Z");
		assert.throws(() => parseExpiry("2025-01-01", now), /not in the future/);
		assert.throws(() => parseExpiry("soon", now), IgnoreInputError);
		assert.throws(() => parseExpiry("2025-13-45", now), /not a valid date/);
		assert.throws(() => parseExpiry("99999d", now), /more than ten years/);
	});
});
