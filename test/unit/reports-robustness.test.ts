import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
	detectReportFormat,
	formatReportText,
	parseReportFile,
	parseReportStream,
	ReportParseError,
} from "../../src/reports/index.ts";

const fixtures = join(import.meta.dirname, "../fixtures/reports");
let scratch = "";
before(async () => {
	scratch = await mkdtemp(join(tmpdir(), "cds-reports-"));
});
after(async () => {
	await rm(scratch, { recursive: true, force: true });
});

async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<ReportParseError> {
	try {
		await promise;
	} catch (error) {
		assert.ok(error instanceof ReportParseError, `expected ReportParseError, got ${String(error)}`);
		assert.match(error.message, pattern);
		return error;
	}
	assert.fail("expected a ReportParseError");
}

describe("format detection by content", () => {
	const cases: Array<[string, string]> = [
		["vitest/junit.xml", "junit"],
		["pytest/junit.xml", "junit"],
		["samples/surefire-TEST-com.example.CalculatorTest.xml", "junit"],
		["c8/lcov.info", "lcov"],
		["c8/cobertura-coverage.xml", "cobertura"],
		["c8/clover.xml", "clover"],
		["c8/coverage-summary.json", "istanbul-summary"],
		["go/cover.out", "go-cover"],
		["samples/jacoco.xml", "jacoco"],
		["eslint/eslint.json", "eslint"],
		["eslint/eslint.sarif", "sarif"],
		["samples/checkstyle-result.xml", "checkstyle"],
		["samples/sonarqube-issues.json", "sonarqube"],
		["samples/dependency-check-report.json", "dependency-check"],
		["samples/clair-vulnerability-report.json", "clair"],
		["samples/trivy.json", "trivy"],
		["samples/grype.json", "grype"],
		["samples/npm-audit.json", "npm-audit"],
	];
	for (const [path, format] of cases) {
		test(`${path} → ${format}`, async () => {
			const head = (await readFile(join(fixtures, path), "utf8")).slice(0, 1024);
			assert.equal(detectReportFormat(head), format);
		});
	}

	test("unknown content is undefined; file name is only a fallback", () => {
		assert.equal(detectReportFormat("hello world"), undefined);
		assert.equal(detectReportFormat("hello", "scan.sarif"), "sarif");
		assert.equal(detectReportFormat("mode: set\n", "x.sarif"), "go-cover");
	});

	test("explicit format overrides detection and mismatches are clear errors", async () => {
		await rejects(
			parseReportFile(join(fixtures, "vitest/junit.xml"), { format: "checkstyle" }),
			/not a Checkstyle report: root element is <testsuites>/,
		);
		await rejects(
			parseReportFile(join(fixtures, "c8/lcov.info"), { format: "go-cover" }),
			/missing "mode:" header/,
		);
		const unknown = join(scratch, "notes.txt");
		await writeFile(unknown, "just some notes\n");
		await rejects(parseReportFile(unknown), /unknown report format/);
	});
});

describe("bad and truncated input gives ReportParseError with a position", () => {
	async function truncated(path: string, keep: number): Promise<string> {
		const text = await readFile(join(fixtures, path), "utf8");
		const out = join(scratch, `cut-${path.replaceAll("/", "_")}`);
		await writeFile(out, text.slice(0, Math.floor(text.length * keep)));
		return out;
	}

	test("truncated XML (tests, coverage, analysis)", async () => {
		for (const path of ["vitest/junit.xml", "c8/cobertura-coverage.xml", "samples/checkstyle-result.xml"]) {
			const error = await rejects(parseReportFile(await truncated(path, 0.6)), /invalid XML/);
			assert.ok(error.line! > 0, "line known");
			assert.ok(error.file!.includes("cut-"));
		}
	});

	test("truncated lcov: cut between lines names the unterminated record, cut mid-line names the line", async () => {
		const text = await readFile(join(fixtures, "c8/lcov.info"), "utf8");
		const atLine = join(scratch, "cut-at-line.info");
		await writeFile(atLine, text.slice(0, text.indexOf("\nDA:9,")));
		await rejects(parseReportFile(atLine), /truncated: record for src\/math\.js/);
		const midLine = join(scratch, "cut-mid-line.info");
		await writeFile(midLine, text.slice(0, text.indexOf("\nDA:9,") + 3));
		const error = await rejects(parseReportFile(midLine), /not an lcov line: "DA"/);
		assert.ok(error.line! > 10);
	});

	test("garbage in lcov and Go coverprofiles names the line", async () => {
		const lcov = await rejects(
			parseReportStream(["TN:\nSF:a.js\nDA:1,1\n$$ garbage $$\nend_of_record\n"]),
			/not an lcov line/,
		);
		assert.equal(lcov.line, 4);
		const go = await rejects(
			parseReportStream(["mode: set\na.go:1.1,2.2 1 1\na.go:3.1,4\n"]),
			/not a coverprofile block/,
		);
		assert.equal(go.line, 3);
	});

	test("truncated JSON (analysis, security) reports line and column", async () => {
		for (const path of ["eslint/eslint.sarif", "samples/trivy.json"]) {
			const error = await rejects(parseReportFile(await truncated(path, 0.5)), /invalid JSON/);
			assert.ok(error.line! > 1);
		}
	});

	test("well-formed JSON of the wrong shape is an error, not a TypeError", async () => {
		await rejects(
			parseReportStream(['{"SchemaVersion":2,"Results":"nope"}']),
			/Results must be a JSON array/,
		);
		await rejects(
			parseReportStream(['{"matches":[{"vulnerability":1}]}'], { format: "grype" }),
			/matches\[0\]/,
		);
		await rejects(parseReportStream(["[1,2]"], { format: "eslint" }), /not an ESLint file result/);
	});

	test("empty and missing files", async () => {
		const empty = join(scratch, "empty.xml");
		await writeFile(empty, "");
		await rejects(parseReportFile(empty), /empty file/);
		await rejects(parseReportFile(empty, { format: "junit" }), /root element/);
		await rejects(parseReportFile(join(scratch, "absent.xml")), /file not found/);
	});
});

describe("hardened XML", () => {
	test("billion laughs is refused before expansion", async () => {
		// Refused at the DOCTYPE, before any entity could expand.
		const error = await rejects(
			parseReportFile(join(fixtures, "hostile/billion-laughs.xml")),
			/refused: DOCTYPE with an internal subset/,
		);
		assert.equal(error.format, "junit");
	});

	test("XXE is refused and the secret never appears", async () => {
		const secret = join(scratch, "secret.txt");
		await writeFile(secret, "TOP-SECRET-VALUE-42");
		const xxe = join(scratch, "xxe.xml");
		await writeFile(
			xxe,
			`<?xml version="1.0"?>\n<!DOCTYPE checkstyle [ <!ENTITY x SYSTEM "file://${secret}"> ]>\n<checkstyle><file name="a"><error line="1" severity="error" message="&x;" source="r"/></file></checkstyle>\n`,
		);
		for (const format of [undefined, "checkstyle" as const]) {
			const error = await rejects(parseReportFile(xxe, { format }), /refused/);
			assert.doesNotMatch(`${error.message} ${JSON.stringify(error)}`, /TOP-SECRET/);
		}
		await rejects(parseReportFile(join(fixtures, "hostile/xxe.xml")), /refused/);
	});

	test("an entity that was never declared is an error, not an expansion", async () => {
		await rejects(parseReportFile(join(fixtures, "hostile/undeclared-entity.xml")), /undefined entity/);
	});
});

describe("size limits", () => {
	test("file over maxBytes is refused before reading", async () => {
		await rejects(
			parseReportFile(join(fixtures, "c8/lcov.info"), { maxBytes: 100 }),
			/larger than the limit of 100 B/,
		);
	});

	test("streams are cut off at maxBytes", async () => {
		async function* endless() {
			yield "TN:\nSF:a.js\n";
			for (;;) yield "DA:1,1\n".repeat(1000);
		}
		await rejects(parseReportStream(endless(), { maxBytes: 64 * 1024 }), /larger than the limit of 64 KiB/);
	});

	test("JSON formats have their own, smaller cap and say so", async () => {
		await rejects(
			parseReportFile(join(fixtures, "samples/trivy.json"), { jsonMaxBytes: 500 }),
			/JSON reports are loaded whole and limited to 500 B/,
		);
	});
});

describe("formatReportText", () => {
	test("summarises each family", async () => {
		const tests = formatReportText(await parseReportFile(join(fixtures, "pytest/junit.xml")));
		assert.match(tests, /tests: 5 {2}passed: 2 {2}failures: 1 {2}errors: 1 {2}skipped: 1/);
		assert.match(tests, /ERROR .*test_error: failed on setup/);
		const coverage = formatReportText(await parseReportFile(join(fixtures, "c8/lcov.info")));
		assert.match(coverage, /lines 73\.52% \(25\/34\)/);
		const analysis = formatReportText(await parseReportFile(join(fixtures, "eslint/eslint.json")));
		assert.match(analysis, /medium .*strings\.js:11:18 eqeqeq/);
		const security = formatReportText(await parseReportFile(join(fixtures, "samples/trivy.json")));
		assert.match(security, /critical CVE-2021-3711 libssl1\.1@1\.1\.1k-r0 \(fixed in 1\.1\.1l-r0\)/);
	});
});
