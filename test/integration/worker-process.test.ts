// The worker as the hatchery runs it: a separate process started from bin/cds-worker.mjs.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { FakeApi, jobSpec, scriptStep } from "../fixtures/worker/fake-api.ts";
import { isRunning } from "../fixtures/worker/process-check.ts";

const LAUNCHER = join(import.meta.dirname, "../../bin/cds-worker.mjs");
let api: FakeApi;
let baseDir: string;
before(async () => {
	api = await new FakeApi().start();
	baseDir = await mkdtemp(join(tmpdir(), "cds-worker-proc-"));
});
after(() => api.close());

function startWorker(env: Record<string, string>) {
	const child = spawn(process.execPath, [LAUNCHER], {
		env: { PATH: process.env.PATH ?? "", CDS_WORKER_BASEDIR: baseDir, CDS_WORKER_NAME: "w1", ...env },
		stdio: ["pipe", "pipe", "pipe"],
	});
	let stderr = "";
	child.stderr.on("data", (chunk: Buffer) => {
		stderr += chunk.toString();
	});
	const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
	return { child, exited, stderr: () => stderr };
}

/** The assignment line a hatchery writes on the worker's stdin. */
const assign = (token: string, jobId = "") =>
	`${JSON.stringify({ type: "assign", apiUrl: api.url, token, jobId })}\n`;

describe("single-use worker", () => {
	test("runs its job, reports, exits 0 even when the job failed", async () => {
		const job = api.addJob("single-1", jobSpec(["echo from process", "exit 7"]));
		const worker = startWorker({});
		worker.child.stdin.end(assign("single-1", "job-1"));
		assert.equal(await worker.exited, 0, worker.stderr());
		assert.equal(job.result.status, "Fail");
		assert.equal(api.logText(job, 0), "from process\n");
	});

	test("exits 1 when it cannot report (the token is refused)", async () => {
		const worker = startWorker({});
		worker.child.stdin.end(assign("unknown"));
		assert.equal(await worker.exited, 1);
		assert.match(worker.stderr(), /401/);
	});

	test("the token reaches it on stdin only: its environment and command line never hold it", async () => {
		const job = api.addJob("single-secret-token", jobSpec(["sleep 1"]));
		const worker = startWorker({});
		worker.child.stdin.write(assign("single-secret-token"));
		const deadline = Date.now() + 10_000;
		while (!job.stepReports.some((r) => r.body.status === "Building") && Date.now() < deadline) {
			await new Promise((resolve) => setTimeout(resolve, 50));
		}
		for (const file of ["environ", "cmdline"]) {
			const text = readFileSync(`/proc/${worker.child.pid}/${file}`, "utf8");
			assert.doesNotMatch(text, /single-secret-token/, file);
		}
		assert.equal(await worker.exited, 0, worker.stderr());
		assert.equal(job.result.status, "Success");
	});

	test("a job that outlives its hatchery's pipes still reports and the worker exits", async () => {
		const job = api.addJob("single-orphan", jobSpec(["sleep 1; echo survived"]));
		const worker = startWorker({});
		worker.child.stdin.end(assign("single-orphan"));
		// The hatchery dies: the worker's stdout and stderr pipes have no reader any more.
		worker.child.stdout.destroy();
		worker.child.stderr.destroy();
		assert.equal(await worker.exited, 0);
		assert.equal(job.result.status, "Success");
		assert.equal(api.logText(job, 0), "survived\n");
	});

	test("SIGTERM stops the current step, reports Stopped and exits", async () => {
		const job = api.addJob("single-term", jobSpec(["echo started; sleep 1000 & echo bg=$!; sleep 1000"]));
		const worker = startWorker({ CDS_WORKER_KILL_GRACE_MS: "500" });
		worker.child.stdin.end(assign("single-term"));
		const deadline = Date.now() + 10_000;
		while (!job.stepReports.some((r) => r.body.status === "Building") && Date.now() < deadline) {
			await new Promise((resolve) => setTimeout(resolve, 50));
		}
		await new Promise((resolve) => setTimeout(resolve, 300));
		worker.child.kill("SIGTERM");
		assert.equal(await worker.exited, 0, worker.stderr());
		assert.equal(job.result.status, "Stopped");
		const pid = Number(/bg=(\d+)/.exec(api.logText(job, 0))![1]);
		assert.equal(isRunning(pid), false, "the background sleep was killed");
	});
});

describe("warm worker", () => {
	test("runs assignments in sequence with a fresh workspace and token each, ends when stdin closes", async () => {
		const first = api.addJob(
			"warm-a",
			jobSpec(["echo $HOME; touch $HOME/leftover; worker export WHO first"]),
		);
		const second = api.addJob(
			"warm-b",
			jobSpec([scriptStep("echo $HOME; ls -A | wc -l; echo who=$CDS_BUILD_WHO")], { id: "job-2" }),
		);
		const worker = startWorker({ CDS_WORKER_MODE: "warm" });
		const lines = createInterface({ input: worker.child.stdout });
		const done: any[] = [];
		lines.on("line", (line) => done.push(JSON.parse(line)));
		const waitFor = async (count: number) => {
			const deadline = Date.now() + 15_000;
			while (done.length < count && Date.now() < deadline)
				await new Promise((resolve) => setTimeout(resolve, 20));
		};
		worker.child.stdin.write(
			JSON.stringify({ type: "assign", apiUrl: api.url, token: "warm-a", jobId: "job-1" }) + "\n",
		);
		await waitFor(1);
		worker.child.stdin.write("not json\n");
		worker.child.stdin.write(
			JSON.stringify({ type: "assign", apiUrl: api.url, token: "warm-b", jobId: "job-2" }) + "\n",
		);
		await waitFor(2);
		worker.child.stdin.end();
		assert.equal(await worker.exited, 0, worker.stderr());
		assert.deepEqual(done, [
			{ type: "done", jobId: "job-1", status: "Success", reported: true },
			{ type: "done", jobId: "job-2", status: "Success", reported: true },
		]);
		const [home1] = api.logText(first, 0).split("\n");
		const [home2, count, who] = api.logText(second, 0).split("\n");
		assert.notEqual(home1, home2);
		assert.equal(count, "0", "the second job starts in an empty workspace");
		assert.equal(who, "who=", "exports of one job do not leak into the next");
		assert.match(worker.stderr(), /not JSON/);
	});

	test("CDS_WORKER_MAX_JOBS ends the worker after N jobs", async () => {
		api.addJob("warm-max", jobSpec(["true"]));
		const worker = startWorker({ CDS_WORKER_MODE: "warm", CDS_WORKER_MAX_JOBS: "1" });
		worker.child.stdin.write(
			JSON.stringify({ type: "assign", apiUrl: api.url, token: "warm-max", jobId: "job-1" }) + "\n",
		);
		assert.equal(await worker.exited, 0, worker.stderr());
	});
});
