// The run commands of the cds CLI (workflow run/status/stop, track, logs, restart, status)
// in-process against a real CDS-TS node, with the worker side played over HTTP by the test
// while the CLI waits, follows or tracks.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { memoryIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { type BookedJob, bookAll, completeJob } from "../helpers/scripted-worker.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const WF = "/api/v1/projects/DEMO/workflows";
const FILES = [
	{
		path: "tiny.yml",
		content:
			"name: TINY\nversion: v2.0\nworkflow:\n  build:\n    pipeline: build\n  deploy:\n    pipeline: deploy\n    depends_on: [build]\n",
	},
	{
		path: "build.pip.yml",
		content:
			"version: v1.0\nname: build\njobs:\n- job: compile\n  steps:\n  - script: make\n- job: lint\n  steps:\n  - script: make lint\n",
	},
	{
		path: "deploy.pip.yml",
		content: "version: v1.0\nname: deploy\njobs:\n- job: ship\n  steps:\n  - script: ./ship\n",
	},
	{
		path: "gate.yml",
		content:
			"name: GATE\nversion: v2.0\nworkflow:\n  build:\n    pipeline: build\n  release:\n    pipeline: deploy\n    depends_on: [build]\n    when: [manual]\n",
	},
];

let srv: TestServer;
let env: Record<string, string>;

/** Starts the CLI in-process; the result resolves when the command returns. */
function cds(argv: string[]) {
	const out = memoryIo(env, "/");
	const done = main(argv, out.io).then((code) => ({ code, stdout: out.stdout, stderr: out.stderr }));
	return { done, output: () => out.stdout };
}

const nodeOf = (job: BookedJob) => job.jobId.split("/")[3]!;
const jobNameOf = (job: BookedJob) => job.jobId.split("/").at(-2)!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Plays the worker until `finished` settles: books whatever is queued and completes it,
 * failing the jobs of the nodes in `failNodes` and logging `lines(job)`.
 */
async function playWorker(
	finished: Promise<unknown>,
	options: { failNodes?: string[]; lines?: (job: BookedJob) => string[] } = {},
) {
	let over = false;
	void finished.finally(() => {
		over = true;
	});
	while (!over) {
		for (const job of await bookAll(srv.server.broker, srv.url)) {
			const status = options.failNodes?.includes(nodeOf(job)) ? "Fail" : "Success";
			await completeJob(job, status, options.lines?.(job) ?? []);
		}
		await sleep(20);
	}
}

async function startRun(body: Record<string, unknown> = {}, workflow = "TINY"): Promise<number> {
	const created = await srv.api("POST", `${WF}/${workflow}/runs`, body);
	assert.equal(created.status, 201, JSON.stringify(created.body));
	return created.body.number as number;
}

/** Completes everything queued until the run is final. */
async function finishRun(number: number, workflow = "TINY") {
	for (let i = 0; i < 50; i++) {
		const run = (await srv.api("GET", `${WF}/${workflow}/runs/${number}`)).body;
		if (!["Waiting", "Building"].includes(run.status)) return run;
		for (const job of await bookAll(srv.server.broker, srv.url)) await completeJob(job);
		await sleep(20);
	}
	throw new Error(`run ${number} did not end`);
}

describe("cds run commands against a real server", () => {
	before(async () => {
		srv = await startTestServer({ SERVICES: "api,auth,project,workflow,run" });
		assert.equal((await srv.api("POST", "/api/v1/projects", { key: "DEMO", name: "Demo" })).status, 201);
		const imported = await srv.api("POST", "/api/v1/projects/DEMO/import", { files: FILES });
		assert.equal(imported.status, 200, JSON.stringify(imported.body));
		env = {
			CDS_API_URL: srv.url,
			CDS_TOKEN: srv.adminToken,
			CDS_CONFIG: "/nonexistent/cds/config.json",
			CDS_POLL_INTERVAL: "0.05",
		};
	});
	after(async () => srv?.stop());

	test("workflow run --wait shows the run until the worker completes its jobs", async () => {
		const cli = cds([
			"workflow",
			"run",
			"DEMO",
			"TINY",
			"-p",
			"git.branch=master",
			"-p",
			"note=a=b",
			"--commit",
			"abc1234def",
			"--wait",
		]);
		await playWorker(cli.done);
		const r = await cli.done;
		assert.equal(r.code, 0, r.stderr);
		assert.match(r.stdout, /^run #1 started\n/);
		assert.match(r.stdout, /^#1 Building$/m, "status changes are printed as lines (no terminal)");
		assert.match(r.stdout, /^build\/stage 1\/compile Success$/m);
		assert.match(r.stdout, /^TINY #1 {2}Success {2}\S+$/m, "the final tree");
		assert.match(r.stdout, /^branch master {2}commit abc1234def /m);
		assert.match(r.stdout, /^└─ deploy\s+Success\s+\S+$/m);
		assert.match(r.stdout, /^│\s+├─ compile\s+Success/m);
		const run = (await srv.api("GET", `${WF}/TINY/runs/1`)).body;
		assert.equal(run.status, "Success");
	});

	test("workflow run --wait exits 1 when the run fails; --json prints the final run", async () => {
		const cli = cds([
			"workflow",
			"run",
			"DEMO",
			"TINY",
			"--wait",
			"--json",
			"--payload",
			'{"git.branch":"feat"}',
		]);
		await playWorker(cli.done, { failNodes: ["build"] });
		const r = await cli.done;
		assert.equal(r.code, 1, r.stderr);
		const run = JSON.parse(r.stdout);
		assert.equal(run.status, "Fail");
		assert.equal(run.branch, "feat", "the payload reached the run");
	});

	test("workflow status prints the latest run as a tree, or a given one; a missing run is exit 1", async () => {
		const latest = await cds(["workflow", "status", "DEMO", "TINY"]).done;
		assert.equal(latest.code, 0, latest.stderr);
		assert.match(latest.stdout, /^TINY #2 {2}Fail/);
		assert.match(latest.stdout, /^├─ build\s+Fail/m);
		const first = await cds(["workflow", "status", "DEMO", "TINY", "1", "--json"]).done;
		assert.equal(JSON.parse(first.stdout).number, 1);
		const missing = await cds(["workflow", "status", "DEMO", "TINY", "99"]).done;
		assert.equal(missing.code, 1);
		assert.match(missing.stderr, /^error: .+\n$/);
	});

	test("track follows the branch's latest run: exit 0 on success, exit 1 on failure", async () => {
		const ok = await startRun({ params: { "git.branch": "track-ok" } });
		const success = cds(["track", "--project", "DEMO", "--workflow", "TINY", "--branch", "track-ok"]);
		await playWorker(success.done);
		const s = await success.done;
		assert.equal(s.code, 0, s.stderr);
		assert.match(s.stdout, new RegExp(`^TINY #${ok}  Success`, "m"));

		const bad = await startRun({ params: { "git.branch": "track-ko" } });
		const unset = await cds(["track", "--branch", "track-ko"]).done;
		assert.equal(unset.code, 2, "without a project the command is a usage error");
		// The project and workflow may come from the environment instead of flags.
		const saved = env;
		env = { ...env, CDS_PROJECT: "DEMO", CDS_WORKFLOW: "TINY" };
		const failure = cds(["track", "--branch", "track-ko"]);
		env = saved;
		await playWorker(failure.done, { failNodes: ["deploy"] });
		const f = await failure.done;
		assert.equal(f.code, 1, f.stderr);
		assert.match(f.stdout, new RegExp(`^TINY #${bad}  Fail`, "m"));
		assert.match(f.stdout, /^deploy Fail$/m);
	});

	test("track --commit picks the newest run of that commit; --no-follow prints once", async () => {
		const a = await startRun({ params: { "git.branch": "pick" }, commit: "aaaa1111" });
		await finishRun(a);
		const b = await startRun({ params: { "git.branch": "pick" }, commit: "bbbb2222" });
		const target = ["--project", "DEMO", "--workflow", "TINY", "--branch", "pick"];
		const once = await cds(["track", ...target, "--commit", "aaaa", "--no-follow"]).done;
		assert.equal(once.code, 0, once.stderr);
		assert.match(once.stdout, new RegExp(`^TINY #${a}  Success`));
		const running = await cds(["track", ...target, "--no-follow", "--json"]).done;
		assert.equal(JSON.parse(running.stdout).number, b);
		// --timeout 0: no waiting for a run of that commit to start.
		const none = await cds(["track", ...target, "--commit", "cccc", "--timeout", "0"]).done;
		assert.equal(none.code, 1);
		assert.match(none.stderr, /no run of TINY on branch pick at commit cccc/);
		await finishRun(b);
	});

	test("logs -f prints the lines posted while it follows and ends with the run", async () => {
		const n = await startRun({ params: { "git.branch": "logs" } });
		const follow = cds([
			"logs",
			"build",
			"-f",
			"--project",
			"DEMO",
			"--workflow",
			"TINY",
			"--branch",
			"logs",
		]);
		await sleep(150); // the CLI is following before any job runs
		assert.equal(follow.output(), "");
		await playWorker(follow.done, { lines: (job) => [`hello from ${jobNameOf(job)}`, "second line"] });
		const r = await follow.done;
		assert.equal(r.code, 0, r.stderr);
		const lines = r.stdout.trimEnd().split("\n").sort();
		assert.deepEqual(lines, [
			"[compile/1] hello from j0",
			"[compile/1] second line",
			"[lint/1] hello from j1",
			"[lint/1] second line",
		]);

		// One job: no prefix; --node names the node directly.
		const deploy = await cds([
			"logs",
			"--node",
			"deploy",
			"--run",
			String(n),
			"--project",
			"DEMO",
			"--workflow",
			"TINY",
		]).done;
		assert.equal(deploy.code, 0, deploy.stderr);
		assert.equal(deploy.stdout, "hello from j0\nsecond line\n");
	});

	test("logs and restart: a missing PIPELINE is exit 2, an unknown one exit 1", async () => {
		const target = ["--project", "DEMO", "--workflow", "TINY"];
		const missing = await cds(["logs", ...target]).done;
		assert.equal(missing.code, 2);
		assert.match(missing.stderr, /missing PIPELINE \(or --node NAME\)/);
		const unknown = await cds(["restart", "nope", ...target]).done;
		assert.equal(unknown.code, 1);
		assert.match(unknown.stderr, /no node of run #\d+ runs pipeline nope \(pipelines: build, deploy\)/);
	});

	test("restart re-runs the first node of the pipeline as sub-run 1", async () => {
		const n = await startRun({ params: { "git.branch": "restart" } });
		await finishRun(n);
		const r = await cds([
			"restart",
			"deploy",
			"--project",
			"DEMO",
			"--workflow",
			"TINY",
			"--branch",
			"restart",
		]).done;
		assert.equal(r.code, 0, r.stderr);
		assert.match(r.stdout, new RegExp(`^restarted node deploy of run #${n}: run #${n}\\.1\\n`));
		assert.match(r.stdout, new RegExp(`^TINY #${n}\\.1  `, "m"));
		const sub = (await srv.api("GET", `${WF}/TINY/runs/${n}`)).body;
		assert.equal(sub.sub, 1);
		const jobs = await bookAll(srv.server.broker, srv.url);
		assert.deepEqual(jobs.map(nodeOf), ["deploy"], "only the restarted node runs again");
		for (const job of jobs) await completeJob(job);
	});

	test("restart of a node whose parent failed runs it; status and stop take the sub-run (N.1)", async () => {
		// The run fails at build: deploy is Skipped.
		const n = await startRun({ params: { "git.branch": "stuck" } });
		for (let i = 0; i < 50; i++) {
			const run = (await srv.api("GET", `${WF}/TINY/runs/${n}`)).body;
			if (run.status === "Fail") break;
			for (const job of await bookAll(srv.server.broker, srv.url))
				await completeJob(job, nodeOf(job) === "build" ? "Fail" : "Success");
			await sleep(20);
		}
		const target = ["--project", "DEMO", "--workflow", "TINY", "--run", String(n)];
		const r = await cds(["restart", "deploy", ...target]).done;
		assert.equal(r.code, 0, r.stderr);
		assert.match(r.stdout, new RegExp(`^restarted node deploy of run #${n}: run #${n}\\.1\\n`));

		const status = await cds(["workflow", "status", "DEMO", "TINY", `${n}.1`, "--json"]).done;
		assert.equal(status.code, 0, status.stderr);
		const sub = JSON.parse(status.stdout);
		assert.equal(sub.sub, 1);
		assert.equal(sub.status, "Building");
		const byName = Object.fromEntries(
			sub.nodes.map((x: { name: string; status: string }) => [x.name, x.status]),
		);
		assert.deepEqual(byName, { build: "Fail", deploy: "Building" }, "deploy runs although build failed");
		assert.equal(
			sub.nodes.find((x: { name: string }) => x.name === "deploy").stages[0].jobs[0].status,
			"Waiting",
		);

		const stop = await cds(["workflow", "stop", "DEMO", "TINY", `${n}.1`]).done;
		assert.equal(stop.code, 0, stop.stderr);
		// Stopped nodes, but build failed: the run's status stays Fail.
		assert.equal(stop.stdout, `run #${n}.1 is Fail\n`);
		const stopped = (await srv.api("GET", `${WF}/TINY/runs/${n}.1`)).body;
		assert.equal(stopped.nodes.find((x: { name: string }) => x.name === "deploy").status, "Stopped");
		const original = await cds(["workflow", "status", "DEMO", "TINY", `${n}.0`, "--json"]).done;
		assert.equal(JSON.parse(original.stdout).sub, 0);
		assert.equal(JSON.parse(original.stdout).status, "Fail");
		const bad = await cds(["workflow", "stop", "DEMO", "TINY", `${n}.x`]).done;
		assert.equal(bad.code, 2);
		assert.match(bad.stderr, /expected a run number \(4\) or a sub-run \(4\.1\)/);
		const api = await srv.api("GET", `${WF}/TINY/runs/${n}.7`);
		assert.equal(api.status, 404);
		assert.match(api.body.message, new RegExp(`run TINY #${n}\\.7 not found`));
	});

	test("status: pushed or not, the branch's last run and the last run overall", async () => {
		const n = await startRun({ params: { "git.branch": "status-br" }, commit: "feedbeef99" });
		await finishRun(n);
		const r = await cds(["status", "--project", "DEMO", "--workflow", "TINY", "--branch", "status-br"]).done;
		assert.equal(r.code, 0, r.stderr);
		assert.match(r.stdout, /^workflow:\s+TINY: pushed \(version \d+ of branch \S+\)$/m);
		assert.match(
			r.stdout,
			new RegExp(`^last run on status-br:\\s+#${n}  Success  commit feedbeef99  \\d{4}-\\S+ \\(.+\\)$`, "m"),
		);
		assert.match(
			r.stdout,
			new RegExp(`^last run:\\s+#${n}  Success  branch status-br  commit feedbeef99 `, "m"),
		);

		const other = await cds(["status", "--project", "DEMO", "--workflow", "TINY", "--branch", "never-run"])
			.done;
		assert.match(other.stdout, /^last run on never-run:\s+none$/m);
		const json = JSON.parse(
			(await cds(["status", "--project", "DEMO", "--workflow", "NOPE", "--json"]).done).stdout,
		);
		assert.equal(json.pushed, false);
		assert.equal(json.lastRun, null);
		const text = await cds(["status", "--project", "DEMO", "--workflow", "NOPE"]).done;
		assert.match(text.stdout, /^workflow:\s+NOPE: not pushed$/m);
	});

	test("a manual node is resumed with workflow run --resume; stop ends a run", async () => {
		const n = await startRun({}, "GATE");
		for (const job of await bookAll(srv.server.broker, srv.url)) await completeJob(job);
		const waiting = await cds(["workflow", "status", "DEMO", "GATE", String(n)]).done;
		assert.match(waiting.stdout, /^└─ release\s+Manual/m);
		const resume = cds([
			"workflow",
			"run",
			"DEMO",
			"GATE",
			"--resume",
			String(n),
			"--node",
			"release",
			"--wait",
		]);
		// The release node has not started: its pipeline comes from the workflow model.
		const logs = cds(["logs", "deploy", "-f", "--project", "DEMO", "--workflow", "GATE"]);
		await playWorker(Promise.all([resume.done, logs.done]), { lines: () => ["released"] });
		assert.deepEqual(await logs.done, { code: 0, stdout: "released\n", stderr: "" });
		const r = await resume.done;
		assert.equal(r.code, 0, r.stderr);
		assert.match(r.stdout, new RegExp(`^resumed node release of run #${n}\\n`));
		assert.match(r.stdout, new RegExp(`^GATE #${n}  Success`, "m"));

		// A run waiting at its manual gate has no job left: stopping it is immediate.
		const s = await startRun({}, "GATE");
		for (const job of await bookAll(srv.server.broker, srv.url)) await completeJob(job);
		const stopped = await cds(["workflow", "stop", "DEMO", "GATE", String(s)]).done;
		assert.equal(stopped.code, 0, stopped.stderr);
		assert.equal(stopped.stdout, `run #${s} stopped\n`);
		const again = await cds(["workflow", "stop", "DEMO", "GATE", String(s)]).done;
		assert.equal(again.stdout, `run #${s} had already ended: Stopped\n`);
		const tracked = await cds(["track", "--project", "DEMO", "--workflow", "GATE"]).done;
		assert.equal(tracked.code, 1, "a stopped run makes track fail");
	});
});
