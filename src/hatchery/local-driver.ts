// The local hatchery: workers are child processes of this node. A worker is single-use by
// default; with `jobsPerWorker` > 1 or a warm pool, workers wait idle (no token, no job) and
// receive an assignment on stdin — how throughput is reached on a small machine.
// Each worker runs in its own process group so a kill reaches everything its steps started.

import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import type { HatcheryCapabilities } from "../engine/requirements.ts";
import type { HatcheryCapacity, HatcheryDriver, WorkerAssignment, WorkerHandle } from "./contract.ts";

export interface LocalDriverOptions {
	name: string;
	/** Path of the worker launcher (bin/cds-worker.mjs: it keeps a cache of type-stripped modules). */
	workerEntry: string;
	/** Node binary (Node 22 with type stripping). */
	nodeBinary: string;
	baseDir: string;
	maxWorkers: number;
	maxProvisioning: number;
	/** Idle warm workers kept ready (0: spawn per job). */
	warmPool: number;
	/** Jobs one worker process serves before it exits (1: single-use). */
	jobsPerWorker: number;
	models: string[];
	binaries: string[];
	memoryMb: number;
	/** Extra environment for workers (e.g. PATH additions); the server's own is never passed. */
	workerEnv?: Record<string, string>;
	log?: (msg: string) => void;
}

interface LocalWorker extends WorkerHandle {
	child: ChildProcess;
	jobsDone: number;
	warm: boolean;
}

const KILL_GRACE_MS = 5000;

/** Binaries looked for on PATH when the configuration names none. */
export const DEFAULT_BINARIES = [
	"bash",
	"sh",
	"git",
	"node",
	"npm",
	"go",
	"python3",
	"java",
	"mvn",
	"make",
	"gcc",
	"docker",
	"curl",
	"tar",
];

export function detectBinaries(candidates: readonly string[], pathEnv = process.env.PATH ?? ""): string[] {
	const dirs = pathEnv.split(path.delimiter).filter(Boolean);
	return candidates.filter((bin) =>
		dirs.some((d) => {
			try {
				accessSync(path.join(d, bin), constants.X_OK);
				return true;
			} catch {
				return false;
			}
		}),
	);
}

export class LocalDriver implements HatcheryDriver {
	readonly kind = "local";
	private readonly opts: LocalDriverOptions;
	private readonly workers = new Map<string, LocalWorker>();
	private readonly exitListeners: Array<(h: WorkerHandle, code: number | null) => void> = [];
	private counter = 0;
	private closed = false;
	private readonly pidFile: string;

	constructor(opts: LocalDriverOptions) {
		this.opts = opts;
		mkdirSync(opts.baseDir, { recursive: true });
		this.pidFile = path.join(opts.baseDir, `hatchery-${opts.name.replace(/[^A-Za-z0-9._-]/g, "_")}.pids`);
	}

	capabilities(): HatcheryCapabilities {
		return {
			name: this.opts.name,
			models: this.opts.models,
			binaries: this.opts.binaries,
			hostname: os.hostname(),
			osArch: `${os.platform()}/${os.arch() === "x64" ? "amd64" : os.arch()}`,
			memoryMb: this.opts.memoryMb,
			services: [],
		};
	}

	capacity(): HatcheryCapacity {
		let running = 0;
		let provisioning = 0;
		let idle = 0;
		for (const w of this.workers.values()) {
			if (w.state === "running") running++;
			else if (w.state === "provisioning") provisioning++;
			else if (w.state === "idle") idle++;
		}
		return { max: this.opts.maxWorkers, running, provisioning, idle };
	}

	freeSlots(): number {
		const c = this.capacity();
		const byCount = this.opts.maxWorkers - c.running - c.provisioning;
		const byProvisioning = this.opts.maxProvisioning - c.provisioning + c.idle;
		return Math.max(0, Math.min(byCount, byProvisioning));
	}

	list(): WorkerHandle[] {
		return [...this.workers.values()].map(({ name, jobId, startedAt, state, child }) => ({
			name,
			jobId,
			startedAt,
			state,
			pid: child.pid,
		}));
	}

	onExit(listener: (h: WorkerHandle, code: number | null) => void): void {
		this.exitListeners.push(listener);
	}

	/** Keeps the warm pool filled (call periodically). */
	fillWarmPool(): void {
		if (this.closed) return;
		const c = this.capacity();
		const missing = Math.min(
			this.opts.warmPool - c.idle,
			this.opts.maxWorkers - c.running - c.provisioning - c.idle,
		);
		for (let i = 0; i < missing; i++) this.startProcess(undefined);
	}

	async spawn(a: WorkerAssignment): Promise<WorkerHandle> {
		const idle = [...this.workers.values()].find((w) => w.state === "idle");
		if (idle) {
			this.assign(idle, a);
			return idle;
		}
		return this.startProcess(a);
	}

	private baseEnv(): Record<string, string> {
		// A worker gets nothing of the server's environment: no tokens, no URLs of stores.
		return {
			PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
			HOME: this.opts.baseDir,
			LANG: process.env.LANG ?? "C.UTF-8",
			CDS_WORKER_BASEDIR: this.opts.baseDir,
			...(this.opts.workerEnv ?? {}),
		};
	}

	private startProcess(a: WorkerAssignment | undefined): LocalWorker {
		const name = `${this.opts.name}-w${++this.counter}`;
		const warm = a === undefined || this.opts.jobsPerWorker > 1;
		const env: Record<string, string> = { ...this.baseEnv(), CDS_WORKER_NAME: name };
		if (warm) {
			env.CDS_WORKER_MODE = "warm";
			env.CDS_WORKER_MAX_JOBS = String(this.opts.jobsPerWorker);
		} else if (a) {
			Object.assign(env, { CDS_API_URL: a.apiUrl, CDS_WORKER_TOKEN: a.token, CDS_WORKER_JOB_ID: a.jobId });
		}
		const child = spawn(this.opts.nodeBinary, [this.opts.workerEntry], {
			env,
			cwd: this.opts.baseDir,
			detached: true,
			stdio: warm ? ["pipe", "pipe", "inherit"] : ["ignore", "inherit", "inherit"],
		});
		const w: LocalWorker = {
			name,
			jobId: a?.jobId ?? null,
			startedAt: Date.now(),
			state: a ? "running" : "idle",
			child,
			jobsDone: 0,
			warm,
		};
		this.workers.set(name, w);
		this.recordPids();
		if (warm && child.stdout) {
			createInterface({ input: child.stdout }).on("line", (line) => this.onWorkerMessage(w, line));
			if (a) this.assign(w, a);
		}
		child.on("error", (e) => this.opts.log?.(`worker ${name} failed to start: ${e.message}`));
		child.on("exit", (code) => {
			w.state = "exited";
			this.workers.delete(name);
			this.recordPids();
			for (const l of this.exitListeners)
				l({ name, jobId: w.jobId, startedAt: w.startedAt, state: "exited" }, code);
		});
		return w;
	}

	private assign(w: LocalWorker, a: WorkerAssignment): void {
		w.jobId = a.jobId;
		w.state = "running";
		w.child.stdin?.write(
			`${JSON.stringify({ type: "assign", apiUrl: a.apiUrl, token: a.token, jobId: a.jobId })}\n`,
		);
	}

	private onWorkerMessage(w: LocalWorker, line: string): void {
		let msg: { type?: string; jobId?: string };
		try {
			msg = JSON.parse(line);
		} catch {
			return;
		}
		if (msg.type === "done") {
			w.jobsDone++;
			const finished = w.jobId;
			w.jobId = null;
			if (w.jobsDone >= this.opts.jobsPerWorker && this.opts.jobsPerWorker > 0) {
				w.child.stdin?.end();
				w.state = "exited";
			} else {
				w.state = "idle";
			}
			for (const l of this.exitListeners)
				l({ name: w.name, jobId: finished, startedAt: w.startedAt, state: w.state }, 0);
		}
	}

	async kill(jobId: string, graceMs = KILL_GRACE_MS): Promise<void> {
		const w = [...this.workers.values()].find((x) => x.jobId === jobId);
		if (!w || w.child.pid === undefined) return;
		const pid = w.child.pid;
		signalGroup(pid, "SIGTERM");
		await new Promise<void>((resolve) => {
			const timer = setTimeout(() => {
				signalGroup(pid, "SIGKILL");
				resolve();
			}, graceMs);
			timer.unref();
			w.child.once("exit", () => {
				clearTimeout(timer);
				resolve();
			});
		});
	}

	/** Kills worker process groups left by a previous instance (recorded in the pid file). */
	async killOrphans(_liveJobs: readonly string[]): Promise<number> {
		let killed = 0;
		let pids: number[] = [];
		try {
			pids = JSON.parse(readFileSync(this.pidFile, "utf8")) as number[];
		} catch {
			return 0;
		}
		for (const pid of pids) {
			if ([...this.workers.values()].some((w) => w.child.pid === pid)) continue;
			if (!isWorkerProcess(pid)) continue;
			signalGroup(pid, "SIGKILL");
			killed++;
		}
		this.recordPids();
		return killed;
	}

	private recordPids(): void {
		const pids = [...this.workers.values()]
			.map((w) => w.child.pid)
			.filter((p): p is number => typeof p === "number");
		try {
			writeFileSync(this.pidFile, JSON.stringify(pids));
		} catch {
			/* best effort: orphans are also caught by the reaper's heartbeat timeout */
		}
	}

	async close(): Promise<void> {
		this.closed = true;
		await Promise.all(
			[...this.workers.values()].map((w) =>
				w.jobId ? this.kill(w.jobId, 2000) : Promise.resolve(w.child.stdin?.end()),
			),
		);
		for (const w of this.workers.values()) if (w.child.pid) signalGroup(w.child.pid, "SIGKILL");
	}
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
	try {
		process.kill(-pid, signal);
	} catch {
		try {
			process.kill(pid, signal);
		} catch {
			/* already gone */
		}
	}
}

function isWorkerProcess(pid: number): boolean {
	try {
		return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("cds-worker");
	} catch {
		return false;
	}
}
