import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
	type AnalysisReport,
	parseReportFile,
	parseReportStream,
	type SecurityReport,
} from "../../src/reports/index.ts";

const fixtures = join(import.meta.dirname, "../fixtures/reports");

async function analysis(path: string): Promise<AnalysisReport> {
	const report = await parseReportFile(join(fixtures, path));
	assert.equal(report.kind, "analysis");
	return report as AnalysisReport;
}

async function security(path: string, format?: "sarif-security"): Promise<SecurityReport> {
	const report = await parseReportFile(join(fixtures, path), { format });
	assert.equal(report.kind, "security");
	return report as SecurityReport;
}

describe("static analysis", () => {
	test("ESLint JSON and ESLint SARIF (real outputs) give the same findings", async () => {
		const json = await analysis("eslint/eslint.json");
		const sarif = await analysis("eslint/eslint.sarif");
		for (const r of [json, sarif]) {
			assert.equal(r.findings.length, 3);
			assert.deepEqual(r.counts, { critical: 0, high: 2, medium: 1, low: 0, info: 0 });
			const eqeqeq = r.findings.find((f) => f.rule === "eqeqeq")!;
			assert.equal(eqeqeq.severity, "medium");
			assert.equal(eqeqeq.line, 11);
			assert.match(eqeqeq.file!, /src\/strings\.js$/);
		}
		assert.equal(sarif.findings[0]!.file, "/tmp/cds-reports-fixtures/js/src/math.js");
		assert.equal(new Set(json.findings.map((f) => f.fingerprint)).size, 3);
	});

	test("Checkstyle sample: severities normalised", async () => {
		const r = await analysis("samples/checkstyle-result.xml");
		assert.deepEqual(
			r.findings.map((f) => [f.severity, f.line]),
			[
				["medium", 7],
				["high", 12],
				["low", 3],
			],
		);
		assert.equal(r.findings[0]!.column, 5);
	});

	test("SonarQube issues sample: impacts severity, component path", async () => {
		const r = await analysis("samples/sonarqube-issues.json");
		const password = r.findings.find((f) => f.rule === "javascript:S2068")!;
		assert.equal(password.severity, "high");
		assert.equal(password.file, "src/config.js");
		assert.equal(r.findings.find((f) => f.rule === "javascript:S1135")!.severity, "info");
	});

	test("SARIF partialFingerprints and security-severity", async () => {
		const r = await analysis("samples/codeql-partial-fingerprints.sarif");
		assert.equal(r.findings[0]!.severity, "high");
		assert.equal(r.findings[1]!.severity, "low");
	});

	test("fingerprints survive line shifts and number changes in messages", async () => {
		const eslint = (line: number, text: string) =>
			JSON.stringify([
				{
					filePath: "/p/a.js",
					source: `${"\n".repeat(line - 1)}var x = 1;\n`,
					messages: [{ ruleId: "no-var", severity: 2, message: text, line, column: 1 }],
				},
			]);
		const first = (await parseReportStream([eslint(3, "Unexpected var (seen 3 times)")])) as AnalysisReport;
		const moved = (await parseReportStream([eslint(40, "Unexpected var (seen 4 times)")])) as AnalysisReport;
		assert.equal(first.findings[0]!.fingerprint, moved.findings[0]!.fingerprint);
		const otherRule = (await parseReportStream([
			eslint(3, "Unexpected var (seen 3 times)").replace("no-var", "x"),
		])) as AnalysisReport;
		assert.notEqual(first.findings[0]!.fingerprint, otherRule.findings[0]!.fingerprint);
	});
});

describe("security", () => {
	test("Trivy JSON sample", async () => {
		const r = await security("samples/trivy.json");
		assert.deepEqual(r.counts, { critical: 1, high: 1, medium: 1, low: 0, unknown: 0 });
		const qs = r.vulnerabilities.find((v) => v.package === "qs")!;
		assert.equal(qs.id, "CVE-2022-24999");
		assert.deepEqual(qs.aliases, ["GHSA-hrpp-h998-j3pp"]);
		assert.deepEqual(qs.fixedIn, ["6.10.3", "6.9.7", "6.5.3"]);
		assert.equal(qs.installedVersion, "6.5.2");
		assert.equal(qs.target, "app/package-lock.json");
	});

	test("Grype sample: the related CVE becomes the id", async () => {
		const r = await security("samples/grype.json");
		const log4j = r.vulnerabilities[0]!;
		assert.equal(log4j.id, "CVE-2021-44228");
		assert.deepEqual(log4j.aliases, ["GHSA-jfh8-c2jp-5v3q"]);
		assert.deepEqual(log4j.fixedIn, ["2.15.0"]);
		assert.equal(r.vulnerabilities[1]!.severity, "low");
	});

	test("Dependency-Check sample: package from purl, severity from CVSS when the word is empty", async () => {
		const r = await security("samples/dependency-check-report.json");
		assert.equal(r.vulnerabilities.length, 2);
		assert.equal(r.vulnerabilities[0]!.package, "org.apache.logging.log4j/log4j-core");
		assert.equal(r.vulnerabilities[1]!.severity, "critical");
		assert.deepEqual(r.vulnerabilities[1]!.fixedIn, ["2.16.0"]);
	});

	test("Clair v4 sample", async () => {
		const r = await security("samples/clair-vulnerability-report.json");
		assert.deepEqual(
			r.vulnerabilities.map((v) => [v.id, v.package, v.installedVersion, v.severity]),
			[
				["CVE-2021-3711", "openssl", "1.1.1k-r0", "critical"],
				["CVE-2018-25032", "zlib", "1.2.11-r3", "high"],
				["CVE-2020-28928", "musl", "1.2.2-r3", "low"],
			],
		);
	});

	test("npm audit v2 sample: one vulnerability per advisory, moderate → medium", async () => {
		const r = await security("samples/npm-audit.json");
		assert.equal(r.vulnerabilities.length, 2);
		const semver = r.vulnerabilities.find((v) => v.package === "semver")!;
		assert.equal(semver.id, "GHSA-c2qf-rxjj-qqgw");
		assert.equal(semver.severity, "medium");
		assert.deepEqual(r.vulnerabilities.find((v) => v.package === "minimist")!.fixedIn, ["mkdirp@0.5.6"]);
	});

	test("SARIF from Trivy is read as vulnerabilities; the same CVE as in Trivy JSON has the same fingerprint", async () => {
		const sarif = await security("samples/trivy.sarif");
		const v = sarif.vulnerabilities[0]!;
		assert.equal(v.package, "qs");
		assert.equal(v.installedVersion, "6.5.2");
		assert.equal(v.severity, "high");
		const json = await security("samples/trivy.json");
		assert.equal(json.vulnerabilities.find((x) => x.package === "qs")!.fingerprint, v.fingerprint);
	});

	test("format override sarif-security turns a code-analysis SARIF into vulnerabilities", async () => {
		const r = await security("samples/codeql-partial-fingerprints.sarif", "sarif-security");
		assert.equal(r.format, "sarif-security");
		assert.equal(r.vulnerabilities[0]!.severity, "high");
	});
});
