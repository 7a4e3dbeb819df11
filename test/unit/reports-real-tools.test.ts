// The parsers on outputs that real tools produce during this test run: Node's own test runner
// (JUnit and lcov reporters), `go test -coverprofile`, and pytest's --junitxml. (vitest, c8
// and ESLint outputs are committed fixtures made by those tools: test/fixtures/reports.)

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { parseReportFile } from "../../src/reports/index.ts";

function has(cmd: string, args: string[]): boolean {
	return spawnSync(cmd, args, { stdio: "ignore" }).status === 0;
}

let dir: string;

describe("parsers on outputs made by real tools in this run", () => {
	before(() => {
		dir = mkdtempSync(path.join(tmpdir(), "cds-real-tools-"));
	});
	after(() => rmSync(dir, { recursive: true, force: true }));

	test("node --test: JUnit and lcov", async () => {
		writeFileSync(
			path.join(dir, "calc.mjs"),
			"export function sign(n) {\n  if (n > 0) return 1;\n  if (n < 0) return -1;\n  return 0;\n}\n",
		);
		writeFileSync(
			path.join(dir, "calc.test.mjs"),
			[
				'import { test } from "node:test";',
				'import assert from "node:assert";',
				'import { sign } from "./calc.mjs";',
				'test("positive", () => assert.equal(sign(3), 1));',
				'test("negative", () => assert.equal(sign(-3), -1));',
				'test("wrong on purpose", () => assert.equal(sign(0), 1));',
				'test("later", { skip: "not yet" }, () => {});',
				"",
			].join("\n"),
		);
		spawnSync(
			process.execPath,
			[
				"--test",
				"--experimental-test-coverage",
				"--test-reporter=junit",
				"--test-reporter-destination=junit.xml",
				"--test-reporter=lcov",
				"--test-reporter-destination=lcov.info",
				"calc.test.mjs",
			],
			// Without NODE_TEST_CONTEXT: otherwise the child reports to this runner instead of its reporters.
			{ cwd: dir, stdio: "ignore", env: { ...process.env, NODE_TEST_CONTEXT: undefined } },
		);
		const junit = await parseReportFile(path.join(dir, "junit.xml"));
		assert.equal(junit.kind, "tests");
		if (junit.kind !== "tests") return;
		assert.equal(junit.totals.tests, 4);
		assert.equal(junit.totals.failures + junit.totals.errors, 1);
		assert.equal(junit.totals.skipped, 1);
		const failed = junit.cases.find((c) => c.status === "failed" || c.status === "error");
		assert.equal(failed?.name, "wrong on purpose");

		const lcov = await parseReportFile(path.join(dir, "lcov.info"));
		assert.equal(lcov.kind, "coverage");
		if (lcov.kind !== "coverage") return;
		const calc = lcov.files.find((f) => f.path.endsWith("calc.mjs"));
		assert.ok(calc, "calc.mjs is covered");
		assert.equal(calc.lines.total, 5);
		assert.equal(calc.lines.covered, 5, "every line of sign() ran (0 took the last return)");
	});

	test("go test -coverprofile", {
		skip: has("go", ["version"]) ? false : "go is not installed",
	}, async () => {
		const mod = path.join(dir, "gomod");
		execFileSync("mkdir", ["-p", mod]);
		writeFileSync(path.join(mod, "go.mod"), "module example.com/calc\n\ngo 1.21\n");
		writeFileSync(
			path.join(mod, "calc.go"),
			"package calc\n\nfunc Sign(n int) int {\n\tif n > 0 {\n\t\treturn 1\n\t}\n\tif n < 0 {\n\t\treturn -1\n\t}\n\treturn 0\n}\n",
		);
		writeFileSync(
			path.join(mod, "calc_test.go"),
			'package calc\n\nimport "testing"\n\nfunc TestSign(t *testing.T) {\n\tif Sign(2) != 1 {\n\t\tt.Fatal("sign")\n\t}\n}\n',
		);
		execFileSync("go", ["test", "-coverprofile=cover.out", "./..."], {
			cwd: mod,
			env: { ...process.env, GOFLAGS: "-mod=mod", GOTOOLCHAIN: "local" },
			stdio: "ignore",
		});
		const report = await parseReportFile(path.join(mod, "cover.out"));
		assert.equal(report.kind, "coverage");
		if (report.kind !== "coverage") return;
		assert.equal(report.files.length, 1);
		assert.ok(report.totals.lines.covered > 0);
		assert.ok(
			report.totals.lines.covered < report.totals.lines.total,
			"the negative and zero branches did not run",
		);
	});

	test("pytest --junitxml", {
		skip: has("python3", ["-m", "pytest", "--version"]) ? false : "pytest is not installed",
	}, async () => {
		const py = path.join(dir, "py");
		execFileSync("mkdir", ["-p", py]);
		writeFileSync(
			path.join(py, "test_calc.py"),
			"import pytest\n\ndef test_ok():\n    assert 1 + 1 == 2\n\ndef test_bad():\n    assert 1 + 1 == 3\n\n@pytest.mark.skip(reason='later')\ndef test_later():\n    pass\n",
		);
		spawnSync("python3", ["-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml=report.xml"], {
			cwd: py,
			stdio: "ignore",
		});
		const report = await parseReportFile(path.join(py, "report.xml"));
		assert.equal(report.kind, "tests");
		if (report.kind !== "tests") return;
		assert.equal(report.totals.tests, 3);
		assert.equal(report.totals.failures, 1);
		assert.equal(report.totals.skipped, 1);
		assert.equal(report.cases.find((c) => c.status === "failed")?.name, "test_bad");
	});
});
