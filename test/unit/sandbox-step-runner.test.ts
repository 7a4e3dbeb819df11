// A pod's step container (src/sandbox/step-runner.ts) and the worker's side of it
// (src/sandbox/remote-job.ts), over a real Unix socket: a step's output, exit code and files;
// a stopped step's whole process group ended; leftovers of a finished command ended; and the
// step container ending with its worker's lifeline, taking every step process with it.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { connectStepRunner, RemoteJob } from "../../src/sandbox/remote-job.ts";
import { groupAlive, serveSteps } from "../../src/sandbox/step-runner.ts";
import { runProcess } from "../../src/worker/process-runner.ts";

const dir = mkdtempSync(path.join(tmpdir(), "cds-step-runner-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const paths = { workspace: dir, tmp: dir, bin: dir, socket: path.join(dir, "worker.sock") };
const env = { PATH: "/usr/bin:/bin" };

/** A live process (a zombie waiting for its reaper is not). */
function running(pid: number): boolean {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
		return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
	} catch {
		return false;
	}
}

async function run(job: RemoteJob, script: string, signal = new AbortController().signal) {
	let output = "";
	const result = await runProcess({
		command: "/bin/sh",
		args: ["-e", job.filePath("step.sh")],
		cwd: dir,
		env,
		files: [{ name: "step.sh", content: script, mode: 0o700 }],
		sandbox: job,
		onOutput: (c) => {
			output += c.toString();
		},
		signal,
		graceMs: 500,
	});
	return { ...result, output };
}

describe("the step container", () => {
	test("runs a step: its output, its exit code, its file (in memory), nothing left after", async () => {
		const socket = path.join(dir, "a.sock");
		const served = serveSteps(socket);
		const runner = await connectStepRunner(socket, 5000);
		const job = new RemoteJob(runner, paths);
		assert.ok(job.filePath("step.sh").startsWith(runner.filesDir));
		const ok = await run(job, 'echo "hello $PWD"; echo err >&2; exit 3\n');
		assert.equal(ok.exitCode, 3);
		assert.match(ok.output, new RegExp(`hello ${dir}`));
		assert.match(ok.output, /err/);
		assert.equal(existsSync(job.filePath("step.sh")), false, "the step's file is removed after it");
		// A process left in the background is ended with the command.
		const pidFile = path.join(dir, "bg.pid");
		const bg = await run(job, `sleep 300 & echo $! > ${pidFile}; echo started\n`);
		assert.equal(bg.exitCode, 0);
		const pid = Number(readFileSync(pidFile, "utf8"));
		assert.equal(running(pid), false, "the background process outlived its step");
		// A command that does not exist: the step fails saying so.
		const missing = await runProcess({
			command: "/nonexistent/tool",
			args: [],
			cwd: dir,
			env,
			sandbox: job,
			onOutput: () => {},
			signal: new AbortController().signal,
			graceMs: 500,
		});
		assert.match(missing.error ?? "", /cannot run \/nonexistent\/tool: .*ENOENT/);
		runner.close();
		assert.equal(await served, 0);
		assert.equal(existsSync(runner.filesDir), false);
	});

	test("a stopped step: its whole group gets SIGTERM then SIGKILL", async () => {
		const socket = path.join(dir, "b.sock");
		const served = serveSteps(socket);
		const runner = await connectStepRunner(socket, 5000);
		const job = new RemoteJob(runner, paths);
		const abort = new AbortController();
		setTimeout(() => abort.abort("stopped"), 300);
		const r = await run(job, "trap '' TERM; sleep 300 & sleep 300\n", abort.signal);
		assert.equal(r.aborted, "stopped");
		assert.notEqual(r.exitCode, 0);
		runner.close();
		assert.equal(await served, 0);
	});

	test("the worker gone: the step container kills the running step and exits", async () => {
		const socket = path.join(dir, "c.sock");
		const served = serveSteps(socket);
		const runner = await connectStepRunner(socket, 5000);
		const job = new RemoteJob(runner, paths);
		const script = `sleep 300 # ${process.pid}`;
		const launched = job.launch({ command: "/bin/sh", args: ["-c", script], cwd: dir, env });
		await launched.ready;
		launched.child.stdout?.resume();
		launched.child.stderr?.resume();
		const pid = await new Promise<number>((resolve) => {
			// The group leader is the step's shell: find it by its group.
			const poll = () => {
				for (const e of readdirSync("/proc"))
					if (/^\d+$/.test(e))
						try {
							if (readFileSync(`/proc/${e}/cmdline`, "utf8") === `/bin/sh\0-c\0${script}\0`)
								return resolve(Number(e));
						} catch {}
				setTimeout(poll, 20);
			};
			poll();
		});
		assert.equal(groupAlive(pid), true);
		runner.close();
		assert.equal(await served, 0);
		for (let i = 0; i < 100 && groupAlive(pid); i++) await new Promise((r) => setTimeout(r, 20));
		assert.equal(groupAlive(pid), false, "the step outlived its worker");
	});

	test("no step container: the worker says where it looked", async () => {
		await assert.rejects(
			connectStepRunner(path.join(dir, "none.sock"), 200),
			/does not answer on .*none\.sock/,
		);
	});
});
