// The browser suite's and bench:ui's cluster: one node with every service and its local hatchery,
// a project `UI` and a workflow `ui` with a fork (build → test, lint) and a join (deploy). Its
// build step holds until the test creates `go` in a gate directory shared into the sandbox, so a
// page can be opened while the run is live; log lines, a test name and the run's commit carry
// script payloads (the XSS checks). The test job copies its reports (JUnit, LCOV coverage, ESLint
// findings, Trivy vulnerabilities) from `reports/` in the gate directory, so the test decides what
// each run reports with writeReports(gate, phase) before starting it.

import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { startTestServer, type TestServer } from "../helpers/server.ts";

/** Markup that would run script if any page put it in the DOM as HTML. */
export const PAYLOAD = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`;

const q = (s: string) => `'${s.replaceAll("'", "''")}'`;
const xml = (s: string) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll('"', "&quot;");

/** Lines covered (of 10) per phase: phase 4 (a branch's second run) drops. */
export const COVERAGE_LINES: Record<number, number> = { 1: 6, 2: 7, 3: 8, 4: 5 };

/**
 * The reports the next test job copies. In every phase `ui › ui › passes` passes and the planted
 * name fails; `ui › ui › regresses` fails from phase 4 on. Phase 4 also adds an ESLint error and
 * a critical vulnerability to the ones every phase has (one ESLint warning; a high and a low).
 */
export function writeReports(gate: string, phase: number) {
	const dir = path.join(gate, "reports");
	mkdirSync(dir, { recursive: true, mode: 0o755 });
	const regresses = phase >= 4;
	const junit = [
		`<testsuites><testsuite name="ui" tests="3" failures="${regresses ? 2 : 1}">`,
		`<testcase classname="ui" name="passes"/>`,
		`<testcase classname="ui" name="renders ${xml(PAYLOAD)}"><failure message="boom"/></testcase>`,
		`<testcase classname="ui" name="regresses">${regresses ? `<failure message="now broken"/>` : ""}</testcase>`,
		"</testsuite></testsuites>",
	].join("");
	const hit = COVERAGE_LINES[phase] ?? 6;
	const lcov = [
		"TN:",
		"SF:src/app.ts",
		...Array.from({ length: 10 }, (_, i) => `DA:${i + 1},${i < hit ? 1 : 0}`),
		"LF:10",
		`LH:${hit}`,
		"end_of_record",
		"",
	].join("\n");
	const message = (ruleId: string, severity: number, line: number, text: string) => ({
		ruleId,
		severity,
		message: text,
		line,
		column: 1,
	});
	const eslint = [
		{
			filePath: "/src/app.ts",
			messages: [
				message("no-unused-vars", 1, 3, `unused ${PAYLOAD}`),
				...(phase >= 4 ? [message("no-eval", 2, 7, "eval can be harmful")] : []),
			],
		},
	];
	const vuln = (id: string, pkg: string, severity: string) => ({
		VulnerabilityID: id,
		PkgName: pkg,
		InstalledVersion: "1.0.0",
		FixedVersion: "1.0.1",
		Title: `${id} in ${pkg} ${PAYLOAD}`,
		Severity: severity,
	});
	const trivy = {
		SchemaVersion: 2,
		ArtifactName: "ui",
		Results: [
			{
				Target: "package-lock.json",
				Class: "lang-pkgs",
				Type: "npm",
				Vulnerabilities: [
					vuln("CVE-2024-0001", "qs", "HIGH"),
					vuln("CVE-2024-0002", "debug", "LOW"),
					...(phase >= 4 ? [vuln("CVE-2024-0003", "lodash", "CRITICAL")] : []),
				],
			},
		],
	};
	writeFileSync(path.join(dir, "junit.xml"), junit, { mode: 0o644 });
	writeFileSync(path.join(dir, "lcov.info"), lcov, { mode: 0o644 });
	writeFileSync(path.join(dir, "eslint.json"), JSON.stringify(eslint), { mode: 0o644 });
	writeFileSync(path.join(dir, "trivy.json"), JSON.stringify(trivy), { mode: 0o644 });
}

export function uiWorkflowFiles(gate: string) {
	const step = (lines: string[]) =>
		["  steps:", "  - script:", ...lines.map((l) => `    - ${q(l)}`)].join("\n");
	return [
		{
			path: "ui.yml",
			content: [
				"name: ui",
				"version: v2.0",
				"workflow:",
				"  build:",
				"    pipeline: build",
				"  test:",
				"    pipeline: test",
				"    depends_on: [build]",
				"  lint:",
				"    pipeline: lint",
				"    depends_on: [build]",
				"    conditions:",
				"      check:",
				"      - variable: cds.manual",
				"        operator: ne",
				"        value: never",
				"  deploy:",
				"    pipeline: deploy",
				"    depends_on: [test, lint]",
				"",
			].join("\n"),
		},
		{
			path: "build.pip.yml",
			content: `version: v1.0\nname: build\njobs:\n- job: compile\n${step([
				"echo compiling",
				`printf '\\033[31mred %s\\033[0m\\n' ${JSON.stringify(PAYLOAD).replaceAll("$", "\\$")}`,
				`while [ ! -f ${gate}/go ]; do sleep 0.1; done`,
				"echo after the page opened",
				`printf '%s\\n' ${JSON.stringify(PAYLOAD).replaceAll("$", "\\$")} > page.html`,
			])}\n  - artifactUpload:\n      path: page.html\n      tag: ui\n`,
		},
		{
			path: "test.pip.yml",
			// The JUnit step comes last: its gate fails the job, and the steps after it would not run.
			content: `version: v1.0\nname: test\njobs:\n- job: unit\n${step([
				"echo testing",
				`cp ${gate}/reports/* .`,
			])}\n  - coverage:\n      path: lcov.info\n  - staticAnalysis:\n      path: eslint.json\n      format: eslint\n  - securityScan:\n      path: trivy.json\n      format: trivy\n  - jUnitReport: junit.xml\n`,
		},
		{
			path: "lint.pip.yml",
			content: `version: v1.0\nname: lint\njobs:\n- job: lint\n${step(["echo linting"])}\n`,
		},
		{
			path: "deploy.pip.yml",
			content: `version: v1.0\nname: deploy\njobs:\n- job: deploy\n${step(["echo deploying"])}\n`,
		},
	];
}

export interface UiCluster {
	srv: TestServer;
	gate: string;
	open(): void;
	stop(): Promise<void>;
}

export async function startUiCluster(extraEnv: Record<string, string> = {}): Promise<UiCluster> {
	const gate = mkdtempSync(path.join(process.env.CDS_UI_GATE_DIR ?? "/var/tmp", "cds-ui-gate-"));
	chmodSync(gate, 0o755);
	writeReports(gate, 1);
	const srv = await startTestServer({
		CDS_HATCHERY_MAX_WORKERS: "3",
		CDS_WORKER_HEARTBEAT_SECONDS: "1",
		CDS_HATCHERY_POLL_MS: "100",
		CDS_SANDBOX_SHARE: gate,
		...extraEnv,
	});
	return {
		srv,
		gate,
		open: () => writeFileSync(path.join(gate, "go"), ""),
		async stop() {
			await srv.stop();
			rmSync(gate, { recursive: true, force: true });
		},
	};
}
