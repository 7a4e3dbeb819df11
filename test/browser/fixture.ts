// The browser suite's and bench:ui's cluster: one node with every service and its local hatchery,
// a project `UI` and a workflow `ui` with a fork (build → test, lint) and a join (deploy). Its
// build step holds until the test creates `go` in a gate directory shared into the sandbox, so a
// page can be opened while the run is live; log lines, a test name and the run's commit carry
// script payloads (the XSS checks).

import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { startTestServer, type TestServer } from "../helpers/server.ts";

/** Markup that would run script if any page put it in the DOM as HTML. */
export const PAYLOAD = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`;

const q = (s: string) => `'${s.replaceAll("'", "''")}'`;

export function uiWorkflowFiles(gate: string) {
	const step = (lines: string[]) =>
		["  steps:", "  - script:", ...lines.map((l) => `    - ${q(l)}`)].join("\n");
	const junit = `<testsuites><testsuite name="ui" tests="2" failures="1"><testcase classname="ui" name="passes"/><testcase classname="ui" name="renders ${PAYLOAD.replaceAll("<", "&lt;").replaceAll('"', "&quot;")}"><failure message="boom"/></testcase></testsuite></testsuites>`;
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
			content: `version: v1.0\nname: test\njobs:\n- job: unit\n${step([
				"echo testing",
				`printf '%s\\n' ${q(junit).replace(/^'|'$/g, "'")} > junit.xml`,
			])}\n  - jUnitReport: junit.xml\n`,
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
