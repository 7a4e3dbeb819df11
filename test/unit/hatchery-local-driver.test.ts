// The local driver's reconcile against real processes: what a previous instance of the
// hatchery left in its pid file is adopted when its job is live and killed otherwise, a
// recycled pid is left alone, and a worker whose job is over is killed at the second look.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import type { WorkerHandle } from "../../src/hatchery/contract.ts";
import { LocalDriver } from "../../src/hatchery/drivers/local.ts";
import { jobRequirements } from "../../src/hatchery/requirements.ts";

const children: ChildProcess[] = [];

/**
 * A process that looks like a worker (its command line names cds-worker), in its own group —
 * once it does: right after the fork it still shows this test's command line, and a driver
 * polling it then would see no worker.
 */
async function fakeWorker(): Promise<ChildProcess & { gone: Promise<void> }> {
	const child = spawn("bash", ["-c", "exec -a cds-worker-fake sleep 120"], {
		detached: true,
		stdio: "ignore",
	});
	children.push(child);
	const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
	await until("the fake worker to show its command line", () => {
		try {
			return readFileSync(`/proc/${child.pid}/cmdline`, "utf8").startsWith("cds-worker-fake");
		} catch {
			return false;
		}
	});
	return Object.assign(child, { gone });
}

async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await fn())) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 20));
	}
}

function driverIn(baseDir: string): LocalDriver {
	return new LocalDriver(driverOptions(baseDir));
}

function driverOptions(baseDir: string): ConstructorParameters<typeof LocalDriver>[0] {
	return {
		name: "h1",
		workerEntry: "/nonexistent/cds-worker.mjs",
		nodeBinary: process.execPath,
		baseDir,
		maxWorkers: 2,
		maxProvisioning: 2,
		warmPool: 0,
		jobsPerWorker: 1,
		models: [],
		binaries: [],
		memoryMb: 1024,
		adoptedPollMs: 20,
	};
}

after(() => {
	for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

describe("local driver: reconcile after a restart", () => {
	test("adopts the worker of a live job, kills the one whose job is over, ignores a recycled pid", async () => {
		const baseDir = mkdtempSync(path.join(tmpdir(), "cds-local-driver-"));
		try {
			const live = await fakeWorker();
			const over = await fakeWorker();
			const recycled = await fakeWorker();
			writeFileSync(
				path.join(baseDir, "hatchery-h1.pids"),
				JSON.stringify([
					{ pid: live.pid, jobId: "P/W/1/n/j0/a1", name: "h1-old-w1" },
					{ pid: over.pid, jobId: "P/W/1/n/j1/a1", name: "h1-old-w2" },
					// Same pid, another process: the recorded start time does not match.
					{ pid: recycled.pid, jobId: "P/W/1/n/j2/a1", name: "h1-old-w3", startTime: "1" },
				]),
			);
			const driver = driverIn(baseDir);
			const exits: WorkerHandle[] = [];
			driver.onExit((h) => exits.push(h));

			assert.deepEqual(await driver.reconcile(["P/W/1/n/j0/a1", "P/W/1/n/j2/a1"]), { adopted: 1, killed: 1 });
			await over.gone;
			const [adopted, ...rest] = await driver.list();
			assert.deepEqual(rest, []);
			assert.equal(adopted?.name, "h1-old-w1");
			assert.equal(adopted?.pid, live.pid);
			assert.equal(adopted?.adopted, true);
			assert.equal((await driver.capacity()).running, 1, "an adopted worker takes a slot");
			assert.equal(await driver.freeSlots(), 1);
			assert.equal(recycled.exitCode, null, "a process that merely reuses a recorded pid is left alone");
			const recorded = JSON.parse(readFileSync(path.join(baseDir, "hatchery-h1.pids"), "utf8"));
			assert.deepEqual(
				recorded.map((r: { pid: number; jobId: string }) => [r.pid, r.jobId]),
				[[live.pid, "P/W/1/n/j0/a1"]],
			);

			// Adopted workers are killable, and their end is noticed although they are not our children.
			await driver.kill("P/W/1/n/j0/a1", 1000);
			await live.gone;
			await until("the adopted worker's exit to be noticed", () => exits.length === 1);
			assert.equal(exits[0]!.jobId, "P/W/1/n/j0/a1");
			assert.deepEqual(await driver.list(), []);
			await driver.close();
		} finally {
			rmSync(baseDir, { recursive: true, force: true });
		}
	});

	test("a worker whose job is over is killed at the second reconcile that finds it so, not the first", async () => {
		const baseDir = mkdtempSync(path.join(tmpdir(), "cds-local-driver-"));
		try {
			const worker = await fakeWorker();
			writeFileSync(
				path.join(baseDir, "hatchery-h1.pids"),
				JSON.stringify([{ pid: worker.pid, jobId: "J", name: "h1-old-w1" }]),
			);
			const driver = driverIn(baseDir);
			assert.deepEqual(await driver.reconcile(["J"]), { adopted: 1, killed: 0 });
			assert.deepEqual(
				await driver.reconcile([]),
				{ adopted: 0, killed: 0 },
				"it may be reporting right now",
			);
			assert.equal(worker.exitCode, null);
			assert.deepEqual(await driver.reconcile([]), { adopted: 0, killed: 1 });
			await worker.gone;
			await driver.close();
		} finally {
			rmSync(baseDir, { recursive: true, force: true });
		}
	});
});

describe("job requirements as a driver reads them", () => {
	test("model, memory, binaries, services, hostname, os and region", () => {
		assert.deepEqual(
			jobRequirements([
				{ type: "model", name: "node:22", value: "node:22" },
				{ type: "memory", name: "2Gi", value: "2Gi" },
				{ type: "binary", name: "git", value: "git" },
				{ type: "binary", name: "git", value: "git" },
				{ type: "binary", name: "go", value: "go" },
				{ type: "service", name: "pg", value: "postgres:16 POSTGRES_USER=cds" },
				{ type: "hostname", name: "build-1", value: "build-1" },
				{ type: "os-architecture", name: "linux/amd64", value: "linux/amd64" },
				{ type: "region", name: "gra", value: "gra" },
			]),
			{
				model: "node:22",
				memoryMb: 2048,
				binaries: ["git", "go"],
				services: [{ name: "pg", value: "postgres:16 POSTGRES_USER=cds" }],
				hostname: "build-1",
				os: "linux/amd64",
				region: "gra",
			},
		);
		assert.deepEqual(jobRequirements(undefined), { binaries: [], services: [] });
	});
});

describe("local driver: persistent workspaces", () => {
	test("a directory per workspace id, named on the assign line; deleted on request", async () => {
		const baseDir = mkdtempSync(path.join(tmpdir(), "cds-local-driver-"));
		const root = path.join(baseDir, "pws");
		// A stand-in worker: writes the assign line it reads to a file, then exits.
		const entry = path.join(baseDir, "echo-worker.mjs");
		const out = path.join(baseDir, "assign.json");
		writeFileSync(
			entry,
			`import { createInterface } from "node:readline"; import { writeFileSync } from "node:fs";\nfor await (const line of createInterface({ input: process.stdin })) { writeFileSync(${JSON.stringify(out)}, line); process.exit(0); }\n`,
		);
		const driver = new LocalDriver({ ...driverOptions(baseDir), workerEntry: entry, workspacesDir: root });
		try {
			const ws = { id: "ws-cache-0123456789abcdef", name: "cache", sizeBytes: 2e9, leaseId: "job@n1" };
			await driver.spawn({
				jobId: "P/W/1/n/j0/a1",
				runId: "P/W/1",
				token: "t0k",
				apiUrl: "http://127.0.0.1:1",
				timeoutSeconds: 60,
				requirements: jobRequirements([]),
				workspace: ws,
			});
			await until("the worker to read its assignment", () => {
				try {
					return readFileSync(out, "utf8").length > 0;
				} catch {
					return false;
				}
			});
			const line = JSON.parse(readFileSync(out, "utf8"));
			assert.deepEqual(line.workspace, { name: "cache", path: path.join(root, ws.id) });
			assert.ok(existsSync(path.join(root, ws.id)));
			const record = JSON.parse(readFileSync(path.join(root, `${ws.id}.json`), "utf8"));
			assert.equal(record.sizeBytes, 2e9, "the size is recorded (not enforced)");
			await driver.deleteWorkspace(ws.id);
			await driver.deleteWorkspace(ws.id); // idempotent
			assert.deepEqual(readdirSync(root), []);
			await assert.rejects(driver.deleteWorkspace("../escape"), /invalid persistent workspace id/);
		} finally {
			await driver.close();
			rmSync(baseDir, { recursive: true, force: true });
		}
	});
});

describe("local driver: a workspace leased anew", () => {
	test("a worker still on the job that had it (stopped, in its grace period) is stopped before the next starts", async () => {
		const baseDir = mkdtempSync(path.join(tmpdir(), "cds-local-driver-"));
		// A stand-in worker that takes its assignment and never ends (ignoring SIGTERM).
		// Named so the driver recognises it as its worker (it checks the command line before signalling).
		const entry = path.join(baseDir, "cds-worker-stuck.mjs");
		writeFileSync(
			entry,
			`process.on("SIGTERM", () => {}); process.stdin.resume(); setInterval(() => {}, 1000);\n`,
		);
		const driver = new LocalDriver({
			...driverOptions(baseDir),
			workerEntry: entry,
			workspacesDir: path.join(baseDir, "pws"),
		});
		const exits: Array<string | null> = [];
		driver.onExit((h) => exits.push(h.jobId));
		const ws = { id: "ws-cache-00000000000000aa", name: "cache", sizeBytes: 1e9, leaseId: "x" };
		const assignment = (jobId: string) => ({
			jobId,
			runId: "P/W/1",
			token: "t",
			apiUrl: "http://127.0.0.1:1",
			timeoutSeconds: 60,
			requirements: jobRequirements([]),
			workspace: { ...ws, leaseId: `${jobId}@n` },
		});
		try {
			const first = await driver.spawn(assignment("P/W/1/n/j0/a1"));
			const alive = () => {
				try {
					return readFileSync(`/proc/${first.pid}/cmdline`, "utf8").includes("cds-worker");
				} catch {
					return false;
				}
			};
			await until("the first worker to run", async () => alive());
			// The store gave the lease to the next job: the first one is over.
			await driver.spawn(assignment("P/W/2/n/j0/a1"));
			assert.equal(alive(), false, "the first job's worker was stopped before the spawn returned");
			await until("its exit to be seen", async () => exits.length === 1);
			assert.deepEqual(exits, ["P/W/1/n/j0/a1"]);
			assert.deepEqual(
				(await driver.list()).map((w) => w.jobId),
				["P/W/2/n/j0/a1"],
			);
		} finally {
			await driver.close();
			rmSync(baseDir, { recursive: true, force: true });
		}
	});
});
