import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { builtinStep, FakeApi, jobSpec, scriptStep } from "../fixtures/worker/fake-api.ts";
import { isRunning as isAlive } from "../fixtures/worker/process-check.ts";
import { runTestJob } from "../fixtures/worker/run-job.ts";

let api: FakeApi;
before(async () => {
	api = await new FakeApi().start();
});
after(() => api.close());

let tokens = 0;
function addJob(steps: (string | Record<string, unknown>)[], extra: Record<string, unknown> = {}) {
	const token = `job-token-${++tokens}`;
	return { token, job: api.addJob(token, jobSpec(steps, extra)) };
}

describe("steps", () => {
	test("disabled, skipped after a failure, always_executed and optional steps", async () => {
		const { token, job } = addJob([
			scriptStep("echo one"),
			scriptStep("echo never", { enabled: false }),
			scriptStep("exit 4", { optional: true }),
			scriptStep("echo after optional"),
			scriptStep("false"),
			scriptStep("echo skipped"),
			scriptStep("echo cleanup", { alwaysExecuted: true }),
		]);
		const outcome = await runTestJob(api, token);
		assert.equal(outcome.status, "Fail");
		assert.equal(outcome.reported, true);
		assert.deepEqual(
			job.result.steps.map((s: { status: string }) => s.status),
			["Success", "Disabled", "Fail", "Success", "Fail", "Skipped", "Success"],
		);
		assert.equal(job.result.steps[2].exitCode, 4);
		assert.equal(api.logText(job, 3), "after optional\n");
		assert.equal(api.logText(job, 6), "cleanup\n");
		assert.equal(api.logText(job, 5), "");
		// Quick steps are reported once, ended, with their start; each step that ran, once at least.
		const ran = job.stepReports.filter((r) => r.body.started !== undefined).map((r) => r.index);
		assert.deepEqual([...new Set(ran)], [0, 2, 3, 4, 6]);
		for (const r of job.stepReports.filter((r) => ["Success", "Fail"].includes(r.body.status)))
			assert.ok(r.body.started && r.body.ended, JSON.stringify(r.body));
	});

	test("a step still running after a moment is reported Building first; a quick one only when it ended", async () => {
		const statuses = (job: { stepReports: Array<{ index: number; body: { status: string } }> }) =>
			job.stepReports.map((r) => `${r.index}:${r.body.status}`);
		// Steps ending within the delay: one report each.
		const quick = addJob(["true", "echo hi"]);
		assert.equal((await runTestJob(api, quick.token, { buildingReportDelayMs: 60_000 })).status, "Success");
		assert.deepEqual(statuses(quick.job), ["0:Success", "1:Success"]);
		// The last one's report goes with the job's result: one request less a job.
		assert.deepEqual(
			quick.job.stepReports.map((r) => r.withResult === true),
			[false, true],
		);
		// Steps outliving it: Building, then their end.
		const slow = addJob(["sleep 0.3", "sleep 0.3"]);
		assert.equal((await runTestJob(api, slow.token, { buildingReportDelayMs: 10 })).status, "Success");
		assert.deepEqual(statuses(slow.job), ["0:Building", "0:Success", "1:Building", "1:Success"]);
	});

	test("bash -e stops a script at its first failing command; stdout and stderr keep their order", async () => {
		const { token, job } = addJob(["echo a; echo b >&2; echo c; false; echo unreachable"]);
		const outcome = await runTestJob(api, token);
		assert.equal(outcome.status, "Fail");
		assert.equal(api.logText(job, 0), "a\nb\nc\nstep failed: script exited with code 1\n");
	});

	test("variables are interpolated and given as env; nothing of the worker's env leaks", async () => {
		process.env.CDS_WORKER_TOKEN = "must-not-leak";
		process.env.SOME_SERVER_SETTING = "must-not-leak";
		try {
			const { token, job } = addJob([
				'echo "{{.cds.project}}/{{.git.branch | upper}} $CDS_PROJECT $GIT_BRANCH"; env | grep -c must-not-leak || true; echo "home=$([ "$HOME" = "$PWD" ] && echo workspace)"',
			]);
			const outcome = await runTestJob(api, token);
			assert.equal(outcome.status, "Success");
			assert.equal(api.logText(job, 0), "PRJ/MAIN PRJ main\n0\nhome=workspace\n");
		} finally {
			delete process.env.CDS_WORKER_TOKEN;
			delete process.env.SOME_SERVER_SETTING;
		}
	});

	test("unsupported actions, and plugins or deployments the job cannot have, fail clearly", async () => {
		const { token, job } = addJob([
			builtinStep("deploy", {}, { optional: true }),
			{ ...scriptStep(""), action: { kind: "plugin", name: "venom", params: {} }, optional: true },
			{ ...scriptStep(""), action: { kind: "action", name: "myAction", params: {} } },
		]);
		await runTestJob(api, token);
		assert.match(api.logText(job, 0), /DeployApplication: the node names no deployment integration/);
		assert.match(
			job.stepReports.find((r) => r.index === 1 && r.body.status === "Fail")!.body.reason,
			/GET \/plugins\/venom\?os=\w+&arch=\w+: HTTP 404/,
		);
		assert.match(
			job.stepReports.find((r) => r.index === 2 && r.body.status === "Fail")!.body.reason,
			/action myAction is not supported by this worker yet/,
		);
	});

	test("the workspace is fresh and removed after the job unless kept", async () => {
		const baseDir = await mkdtemp(join(tmpdir(), "cds-ws-"));
		const first = addJob(["ls -A | wc -l; touch marker"]);
		await runTestJob(api, first.token, { baseDir });
		assert.deepEqual(await readdir(baseDir), []);
		const second = addJob(["ls -A | wc -l; touch kept"]);
		const outcome = await runTestJob(api, second.token, { baseDir, keepWorkspace: true });
		assert.equal(api.logText(first.job, 0).trim(), "0");
		assert.equal(api.logText(second.job, 0).trim(), "0");
		assert.ok(outcome.workspace && existsSync(join(outcome.workspace, "kept")));
	});
});

describe("the worker command", () => {
	test("export is visible to the next steps as {{.cds.build.NAME}} and CDS_BUILD_NAME, and recorded", async () => {
		const { token, job } = addJob([
			"worker export VERSION_TAG v1.2.3",
			'echo "{{.cds.build.VERSION_TAG}} $CDS_BUILD_VERSION_TAG"',
			"worker export 'bad name' x",
		]);
		const outcome = await runTestJob(api, token);
		assert.equal(api.logText(job, 1), "v1.2.3 v1.2.3\n");
		assert.deepEqual(job.variables, [{ name: "VERSION_TAG", value: "v1.2.3" }]);
		assert.deepEqual(job.result.exports, { VERSION_TAG: "v1.2.3" });
		assert.equal(outcome.status, "Fail");
		assert.match(api.logText(job, 2), /invalid variable name/);
	});

	test("steps get a socket, never the token", async () => {
		const { token, job } = addJob([
			'test -S "$CDS_WORKER_SOCKET" && echo socket; env | grep -c "' + "job-token" + '" || true',
		]);
		await runTestJob(api, token);
		assert.equal(api.logText(job, 0), "socket\n0\n");
	});

	test("upload and download artifacts with globs; tag; tmpl; check-secret; cache push and pull", async () => {
		const { token, job } = addJob(
			[
				"mkdir -p dist && echo one > dist/a.txt && echo two > dist/b.txt && echo no > dist/c.log && worker upload --tag=t1 'dist/*.txt'",
				"mkdir in && cd in && worker download --tag=t1 --pattern='a*' && ls && cat a.txt",
				"worker tag env=prod team=core",
				"printf 'project={{.cds.project}}\\n' > t.tmpl && worker tmpl t.tmpl out.txt && cat out.txt",
				"echo harmless > ok.txt && worker check-secret ok.txt && echo 'has hunter22' > bad.txt && ! worker check-secret bad.txt && echo checked",
				"mkdir -p deps/x && echo dep > deps/x/f && worker cache push deps-cache deps && mkdir restore && worker cache pull deps-cache restore && cat restore/deps/x/f",
			],
			{ secrets: ["hunter22"] },
		);
		const outcome = await runTestJob(api, token);
		assert.equal(outcome.status, "Success", api.allLogs(job));
		assert.deepEqual([...api.artifacts.keys()].filter((k) => k.startsWith("t1/")).sort(), [
			"t1/a.txt",
			"t1/b.txt",
		]);
		assert.equal(api.artifacts.get("t1/b.txt")!.toString(), "two\n");
		assert.equal(api.logText(job, 1), "downloaded a.txt\na.txt\none\n");
		assert.deepEqual(job.tags, [{ env: "prod", team: "core" }]);
		assert.equal(api.logText(job, 3), "project=PRJ\n");
		assert.match(api.logText(job, 4), /bad.txt contains a secret value\nchecked\n/);
		assert.ok(!api.logText(job, 4).includes("hunter22"));
		assert.ok(api.cache.has("deps-cache/cache.tar"));
		assert.match(api.logText(job, 5), /dep\n$/);
	});
});

describe("built-in actions", () => {
	test("artifactUpload/artifactDownload and report uploads, paths resolved inside the workspace", async () => {
		const { token, job } = addJob([
			"mkdir -p go/src/app/dist reports && echo bin > go/src/app/dist/app.bin && echo '<testsuites/>' > reports/junit.xml && echo cov > cov.out",
			builtinStep("artifactUpload", { path: "/go/src/app/dist/*.bin", tag: "{{.cds.version}}" }),
			builtinStep("artifactDownload", { path: "/downloaded", tag: "1", pattern: "^app\\." }),
			"cat downloaded/app.bin",
			builtinStep("jUnitReport", "reports/*.xml"),
			builtinStep("coverage", { path: "cov.out", format: "go" }),
			builtinStep("artifactUpload", { path: "nothing/*.zip" }, { optional: true }),
		]);
		const outcome = await runTestJob(api, token);
		assert.equal(outcome.status, "Success", api.allLogs(job));
		assert.equal(api.artifacts.get("1/app.bin")!.toString(), "bin\n");
		assert.equal(api.logText(job, 3), "bin\n");
		assert.deepEqual(
			job.reports.map((r) => [r.kind, r.name, r.body.toString()]),
			[
				["tests", "junit.xml", "<testsuites/>\n"],
				["coverage", "cov.out", "cov\n"],
			],
		);
		assert.match(api.logText(job, 6), /no file matches nothing\/\*\.zip/);
	});

	test("paths leaving the workspace are refused, also through a symlink", async () => {
		const { token, job } = addJob([
			builtinStep("artifactUpload", { path: "../../etc/passwd" }, { optional: true }),
			builtinStep("artifactDownload", { path: "../outside", tag: "1" }, { optional: true }),
			"ln -s /etc etc-link",
			builtinStep("artifactUpload", { path: "etc-link/hostname" }, { optional: true }),
			builtinStep("gitClone", { url: "file:///nonexistent", directory: "../../x" }, { optional: true }),
		]);
		await runTestJob(api, token);
		for (const step of [0, 1, 3, 4])
			assert.match(api.logText(job, step), /leaves the workspace/, `step ${step}`);
		assert.equal(
			api.artifacts.size > 0 && [...api.artifacts.keys()].some((k) => k.endsWith("passwd")),
			false,
		);
	});
});

describe("timeouts and stop", () => {
	test("a step timeout kills the whole process group, background processes included", async () => {
		const { token, job } = addJob([
			scriptStep("sleep 1000 & echo bg=$!; sleep 1000", { timeout: 0.5 }),
			scriptStep("echo cleanup", { alwaysExecuted: true }),
		]);
		const start = Date.now();
		const outcome = await runTestJob(api, token);
		assert.ok(Date.now() - start < 5000);
		assert.equal(outcome.status, "Fail");
		const log = api.logText(job, 0);
		const pid = Number(/bg=(\d+)/.exec(log)![1]);
		assert.equal(isAlive(pid), false, "the background sleep was killed");
		assert.match(log, /timed out after 0.5s/);
		assert.equal(api.logText(job, 1), "cleanup\n");
	});

	test("a step that ends normally leaves no background process behind", async () => {
		const { token, job } = addJob(["sleep 1000 & echo bg=$!"]);
		const outcome = await runTestJob(api, token);
		assert.equal(outcome.status, "Success");
		const pid = Number(/bg=(\d+)/.exec(api.logText(job, 0))![1]);
		assert.equal(isAlive(pid), false);
	});

	test("stop from the heartbeat: SIGTERM, then SIGKILL after the grace period; the job reports Stopped", async () => {
		const { token, job } = addJob([
			"trap '' TERM; sleep 1000 & echo bg=$!; while true; do sleep 0.05; done",
			scriptStep("echo cleanup", { alwaysExecuted: true }),
		]);
		setTimeout(() => {
			job.stop = true;
		}, 400);
		const start = Date.now();
		const outcome = await runTestJob(api, token, { graceMs: 300 });
		// Without the SIGKILL the trapped loop never ends: a generous bound tells a hang from slowness.
		assert.ok(Date.now() - start < 15_000);
		assert.equal(outcome.status, "Stopped");
		assert.equal(job.result.status, "Stopped");
		assert.deepEqual(
			job.result.steps.map((s: { status: string }) => s.status),
			["Fail", "Skipped"],
		);
		const pid = Number(/bg=(\d+)/.exec(api.logText(job, 0))![1]);
		assert.equal(isAlive(pid), false);
		assert.ok(job.heartbeats >= 2);
	});

	test("the job timeout fails the job", async () => {
		const { token, job } = addJob(["sleep 1000"], { timeoutSeconds: 0.4 });
		const outcome = await runTestJob(api, token);
		assert.equal(outcome.status, "Fail");
		assert.match(job.result.reason, /job timed out after 0.4s/);
	});
});

describe("logs", () => {
	test("a password never appears in shipped logs: clear, base64, split across writes", async () => {
		const secret = "Pa55-w0rd-xyz";
		const { token, job } = addJob(
			[
				'echo "clear {{.cds.app.password}} env $CDS_APP_PASSWORD"; echo -n "$CDS_APP_PASSWORD" | base64; printf "pre%s" "Pa55-w0"; sleep 0.3; printf "rd-xyz post\\n"',
			],
			{ variables: { "cds.app.password": secret }, secrets: [secret] },
		);
		await runTestJob(api, token);
		const log = api.allLogs(job);
		assert.ok(!log.includes(secret), log);
		assert.ok(!log.includes(Buffer.from(secret).toString("base64")), log);
		assert.ok(!log.includes("rd-xyz"), log);
		assert.equal(log, "clear ********** env **********\n**********\npre********** post\n");
	});

	test("100,000 numbered lines arrive complete and in order, even across an API outage", async (t) => {
		const { token, job } = addJob(['for i in $(seq 1 100000); do echo "line $i"; done']);
		setTimeout(() => api.failFor(300, "503", /\/job\/logs$/), 100);
		const start = Date.now();
		const outcome = await runTestJob(api, token);
		const seconds = (Date.now() - start) / 1000;
		assert.equal(outcome.status, "Success");
		const lines = api.logText(job, 0).split("\n");
		assert.equal(lines.pop(), "");
		assert.equal(lines.length, 100_000);
		for (let i = 0; i < lines.length; i++) {
			if (lines[i] !== `line ${i + 1}`) assert.fail(`line ${i + 1} is ${JSON.stringify(lines[i])}`);
		}
		t.diagnostic(
			`100000 lines in ${seconds.toFixed(2)} s (${Math.round(100_000 / seconds)} lines/s), ${outcome.logs!.requests} log requests`,
		);
	});
});
