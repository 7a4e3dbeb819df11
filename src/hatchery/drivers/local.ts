// The local hatchery: workers are processes on this node's host. A worker is single-use by
// default; with `jobsPerWorker` > 1 or a warm pool, workers wait idle (no token, no job).
// Every worker receives its assignment — token included — on stdin, never in its environment
// (which any process of the same user reads in /proc/<pid>/environ).
//
// Workers are detached (their own session and process group), so a kill reaches everything
// they started and a hatchery killed with -9 does not take them down. The pid file records
// `{pid, jobId, name, startTime}` per worker: a restarted hatchery of the same name adopts
// the workers of jobs still live (it tracks them by polling /proc, since they are not its
// children) and kills those whose job is over.
//
// Every process a step starts runs in the job's sandbox (src/sandbox): the plan is decided
// here, once, and handed to each worker in CDS_WORKER_SANDBOX. The worker itself — it holds
// the job token — stays outside the steps' namespaces. Job directories are named after their
// job, so those of jobs that are over (a worker killed with -9) are removed here.

import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import type { HatcherySettings } from "../../../config/hatchery.ts";
import { hostEnv } from "../../../config/process-env.ts";
import { ConfigError } from "../../../config/settings.ts";
import { NO_SANDBOX, type SandboxPlan, STEP_FILES_BASE, stepFilesPrefix } from "../../sandbox/plan.ts";
import { resolveSandbox, SandboxUnavailable } from "../../sandbox/probe.ts";
import { jobDirPrefix, jobKey, jobOfDir } from "../../worker/workspace.ts";
import type { HatcheryCapabilities } from "../../engine/requirements.ts";
import { PidFile } from "../pid-file.ts";
import type {
	HatcheryCapacity,
	HatcheryDriver,
	PersistentWorkspace,
	ReconcileResult,
	WorkerAssignment,
	WorkerHandle,
} from "../contract.ts";

export interface LocalDriverOptions {
	name: string;
	/** Path of the worker launcher (bin/cds-worker.mjs: it loads cached type-stripped modules). */
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
	/** The sandbox of every step (NO_SANDBOX when unset). */
	sandbox?: SandboxPlan;
	/** Extra environment for workers (e.g. PATH additions); the server's own is never passed. */
	workerEnv?: Record<string, string>;
	/** How often adopted workers (not our children) are checked for their exit. */
	adoptedPollMs?: number;
	/** Where persistent workspaces live, one directory each (default: `<baseDir>/persistent-workspaces`). */
	workspacesDir?: string;
	log?: (msg: string) => void;
}

interface LocalWorker extends WorkerHandle {
	pid: number | undefined;
	/** Kernel start time of the process: a recycled pid is not our worker. */
	startTime?: string;
	/** Absent for adopted workers: they were started by a previous instance. */
	child?: ChildProcess;
	jobsDone: number;
	/** The job this worker served when a reconcile last found that job over. */
	suspectJob?: string;
	poll?: NodeJS.Timeout;
	/** The persistent workspace of its job, if any. */
	workspaceId?: string;
}

/** One line of the pid file. */
interface PidRecord {
	pid: number;
	jobId: string | null;
	name: string;
	startTime?: string;
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

export function detectBinaries(candidates: readonly string[], pathEnv = hostEnv().PATH ?? ""): string[] {
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

/** How long a leftover user of a workspace leased anew gets to stop before SIGKILL. */
const WORKSPACE_EVICT_GRACE_MS = 2000;

/** A workspace id as the contract promises it: a safe directory name. */
const WORKSPACE_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

const INSTALL_ROOT = path.resolve(import.meta.dirname, "../../..");

const within = (parent: string, p: string) => p === parent || p.startsWith(`${parent}${path.sep}`);

/** The sandbox the settings ask for, as this host can give it; a ConfigError when it cannot. */
export function sandboxFor(settings: HatcherySettings, log?: (msg: string) => void): SandboxPlan {
	const host = hostEnv();
	try {
		const { plan, warnings } = resolveSandbox({
			kind: settings.sandbox,
			network: settings.sandboxNetwork,
			uid: settings.sandboxUid,
			gid: settings.sandboxGid,
			// Every persistent workspace too (a job's own is bound back for that job only); the
			// default place is inside the hidden worker directory already.
			hide: [
				settings.dataDir,
				settings.baseDir,
				...(within(settings.baseDir, settings.persistentWorkspacesDir) ||
				within(settings.dataDir, settings.persistentWorkspacesDir)
					? []
					: [settings.persistentWorkspacesDir]),
				os.homedir(),
				...settings.sandboxHide,
			],
			// The `worker` command of the steps runs this install's launcher with this Node.
			// So is helm (CDS_HELM_BIN), which the Kubernetes deployment plugin runs, read-only.
			expose: [
				INSTALL_ROOT,
				path.dirname(path.dirname(process.execPath)),
				...(settings.helm ? [path.dirname(settings.helm)] : []),
			],
			share: settings.sandboxShare,
			searchPath: host.PATH ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
		});
		for (const warning of warnings) log?.(warning);
		return plan;
	} catch (e) {
		if (e instanceof SandboxUnavailable) throw new ConfigError(e.message);
		throw e;
	}
}

/** The registry's factory: the node's hatchery settings → a local driver. */
export function createLocalDriver(settings: HatcherySettings, log?: (msg: string) => void): LocalDriver {
	return new LocalDriver({
		sandbox: sandboxFor(settings, log),
		name: settings.name,
		workerEntry: path.resolve(import.meta.dirname, "../../../bin/cds-worker.mjs"),
		nodeBinary: process.execPath,
		baseDir: settings.baseDir,
		maxWorkers: settings.maxWorkers,
		maxProvisioning: settings.maxProvisioning,
		warmPool: settings.warmPool,
		jobsPerWorker: settings.jobsPerWorker,
		models: settings.models,
		binaries: settings.binaries ?? detectBinaries(DEFAULT_BINARIES),
		memoryMb: settings.memoryMb,
		workspacesDir: settings.persistentWorkspacesDir,
		...(settings.helm ? { workerEnv: { CDS_HELM_BIN: settings.helm } } : {}),
		log,
	});
}

export class LocalDriver implements HatcheryDriver {
	readonly kind = "local";
	private readonly opts: LocalDriverOptions;
	private readonly workers = new Map<string, LocalWorker>();
	private readonly exitListeners: Array<(h: WorkerHandle, code: number | null) => void> = [];
	private counter = 0;
	private closed = false;
	private readonly pidFile: PidFile;

	constructor(opts: LocalDriverOptions) {
		this.opts = opts;
		mkdirSync(opts.baseDir, { recursive: true });
		this.pidFile = new PidFile(
			path.join(opts.baseDir, `hatchery-${opts.name.replace(/[^A-Za-z0-9._-]/g, "_")}.pids`),
		);
	}

	async capabilities(): Promise<HatcheryCapabilities> {
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

	private count(): HatcheryCapacity {
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

	async capacity(): Promise<HatcheryCapacity> {
		return this.count();
	}

	private free(): number {
		const c = this.count();
		const byCount = this.opts.maxWorkers - c.running - c.provisioning;
		const byProvisioning = this.opts.maxProvisioning - c.provisioning + c.idle;
		return Math.max(0, Math.min(byCount, byProvisioning));
	}

	async freeSlots(): Promise<number> {
		return this.free();
	}

	async list(): Promise<WorkerHandle[]> {
		return [...this.workers.values()].map(({ name, jobId, startedAt, state, pid, adopted }) => ({
			name,
			jobId,
			startedAt,
			state,
			pid,
			adopted,
		}));
	}

	onExit(listener: (h: WorkerHandle, code: number | null) => void): void {
		this.exitListeners.push(listener);
	}

	/** Keeps the warm pool filled: the hatchery calls it at every tick. */
	async maintain(): Promise<void> {
		if (this.closed) return;
		const c = this.count();
		const missing = Math.min(
			this.opts.warmPool - c.idle,
			this.opts.maxWorkers - c.running - c.provisioning - c.idle,
		);
		for (let i = 0; i < missing; i++) this.startProcess(undefined);
	}

	async spawn(a: WorkerAssignment): Promise<WorkerHandle> {
		// Made before any worker takes the job: a failure here fails the spawn, not a worker.
		if (a.workspace) {
			await this.evictWorkspaceUsers(a.workspace.id, a.jobId);
			this.prepareWorkspace(a.workspace);
		}
		const idle = [...this.workers.values()].find((w) => w.state === "idle" && w.child);
		if (idle) {
			this.assign(idle, a);
			return idle;
		}
		return this.startProcess(a);
	}

	private baseEnv(): Record<string, string> {
		// A worker gets nothing of the server's environment: no tokens, no URLs of stores.
		const host = hostEnv();
		return {
			PATH: host.PATH ?? "/usr/local/bin:/usr/bin:/bin",
			HOME: this.opts.baseDir,
			LANG: host.LANG ?? "C.UTF-8",
			CDS_WORKER_BASEDIR: this.opts.baseDir,
			CDS_WORKER_SANDBOX: JSON.stringify(this.opts.sandbox ?? NO_SANDBOX),
			...(this.opts.workerEnv ?? {}),
		};
	}

	private startProcess(a: WorkerAssignment | undefined): LocalWorker {
		// The hatchery's pid keeps names unique across restarts (adopted workers keep theirs).
		const name = `${this.opts.name}-${process.pid}-w${++this.counter}`;
		const env: Record<string, string> = {
			...this.baseEnv(),
			CDS_WORKER_NAME: name,
			CDS_WORKER_MAX_JOBS: String(this.opts.jobsPerWorker),
		};
		if (a === undefined || this.opts.jobsPerWorker > 1) env.CDS_WORKER_MODE = "warm";
		const child = spawn(this.opts.nodeBinary, [this.opts.workerEntry], {
			env,
			cwd: this.opts.baseDir,
			detached: true,
			stdio: ["pipe", "pipe", "inherit"],
		});
		const w: LocalWorker = {
			name,
			jobId: null,
			startedAt: Date.now(),
			state: "idle",
			pid: child.pid,
			startTime: child.pid === undefined ? undefined : processStartTime(child.pid),
			child,
			jobsDone: 0,
		};
		this.workers.set(name, w);
		// A worker that died cannot take its next line: that is its exit's business, not a crash.
		child.stdin?.on("error", () => {});
		if (child.stdout)
			createInterface({ input: child.stdout }).on("line", (line) => this.onWorkerMessage(w, line));
		child.on("error", (e) => this.opts.log?.(`worker ${name} failed to start: ${e.message}`));
		child.on("exit", (code) => this.exited(w, code));
		if (a) this.assign(w, a);
		else this.recordPids();
		return w;
	}

	private assign(w: LocalWorker, a: WorkerAssignment): void {
		const workspace = a.workspace ? this.prepareWorkspace(a.workspace) : undefined;
		w.workspaceId = a.workspace?.id;
		w.jobId = a.jobId;
		w.state = "running";
		w.suspectJob = undefined;
		this.recordPids();
		const line = {
			type: "assign",
			apiUrl: a.apiUrl,
			token: a.token,
			jobId: a.jobId,
			...(workspace ? { workspace } : {}),
		};
		w.child?.stdin?.write(`${JSON.stringify(line)}\n`);
	}

	private workspacesDir(): string {
		return this.opts.workspacesDir ?? path.join(this.opts.baseDir, "persistent-workspaces");
	}

	/**
	 * A persistent workspace is a directory named after its id, created on first use; its size is
	 * recorded next to it (`<id>.json`) but not enforced: a plain directory has no quota.
	 */
	private prepareWorkspace(ws: PersistentWorkspace): { name: string; path: string } {
		if (!WORKSPACE_ID.test(ws.id))
			throw new Error(`invalid persistent workspace id ${JSON.stringify(ws.id)}`);
		const root = this.workspacesDir();
		const dir = path.join(root, ws.id);
		mkdirSync(dir, { recursive: true, mode: 0o700 });
		const record = {
			id: ws.id,
			name: ws.name,
			sizeBytes: ws.sizeBytes,
			leaseId: ws.leaseId,
			usedAt: Date.now(),
		};
		writeFileSync(path.join(root, `${ws.id}.json`), `${JSON.stringify(record)}\n`);
		return { name: ws.name, path: dir };
	}

	/**
	 * The store leased the workspace to a new job, so the job that had it is over: a worker of
	 * that job still running (a stopped job's worker in its grace period) is stopped first, so two
	 * jobs never write there at once.
	 */
	private async evictWorkspaceUsers(id: string, jobId: string): Promise<void> {
		for (const w of [...this.workers.values()]) {
			// Only a worker still on that job (a warm worker idle since is not in it any more).
			if (w.workspaceId !== id || w.jobId === jobId || w.state !== "running" || w.pid === undefined) continue;
			this.opts.log?.(`worker ${w.name} of job ${w.jobId} still uses persistent workspace ${id}: stopped`);
			await terminate(w.pid, w.startTime, WORKSPACE_EVICT_GRACE_MS);
			// SIGKILL is sent, not yet acted on: wait (briefly) until the process is gone.
			for (let i = 0; i < 40 && isSameWorker({ pid: w.pid, startTime: w.startTime }); i++)
				await new Promise((resolve) => setTimeout(resolve, 25));
		}
	}

	/** Removes a persistent workspace's directory (its workflow was deleted). Idempotent. */
	async deleteWorkspace(id: string): Promise<void> {
		if (!WORKSPACE_ID.test(id)) throw new Error(`invalid persistent workspace id ${JSON.stringify(id)}`);
		const root = this.workspacesDir();
		await rm(path.join(root, id), { recursive: true, force: true });
		await rm(path.join(root, `${id}.json`), { force: true });
	}

	private exited(w: LocalWorker, code: number | null): void {
		if (w.poll) clearInterval(w.poll);
		if (this.workers.get(w.name) !== w) return;
		w.state = "exited";
		this.workers.delete(w.name);
		this.recordPids();
		// A worker that died on a job (kill -9, crash) could not remove its job's directory.
		if (w.jobId) void this.removeJobDirs(new Set([w.jobId]));
		for (const l of this.exitListeners)
			l({ name: w.name, jobId: w.jobId, startedAt: w.startedAt, state: "exited", adopted: w.adopted }, code);
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
				w.child?.stdin?.end();
				w.state = "exited";
			} else {
				w.state = "idle";
			}
			this.recordPids();
			for (const l of this.exitListeners)
				l({ name: w.name, jobId: finished, startedAt: w.startedAt, state: w.state }, 0);
		}
	}

	/** Stops the worker of a job: SIGTERM to its process group (it stops its steps and reports), SIGKILL after `graceMs`. */
	async kill(jobId: string, graceMs = KILL_GRACE_MS): Promise<void> {
		const w = [...this.workers.values()].find((x) => x.jobId === jobId);
		if (!w || w.pid === undefined) return;
		await terminate(w.pid, w.startTime, graceMs);
	}

	async reconcile(liveJobs: readonly string[]): Promise<ReconcileResult> {
		const live = new Set(liveJobs);
		let adopted = 0;
		let killed = 0;
		// Workers a previous instance of this hatchery started (a crash or kill -9 leaves them running).
		for (const rec of this.readPidFile()) {
			if ([...this.workers.values()].some((w) => w.pid === rec.pid)) continue;
			if (!isSameWorker(rec)) continue;
			if (rec.jobId && live.has(rec.jobId)) {
				this.adopt(rec);
				adopted++;
			} else {
				// Its job is over, or it was an idle warm worker whose pipe died with its hatchery.
				void terminate(rec.pid, rec.startTime, KILL_GRACE_MS);
				killed++;
			}
		}
		// Our own workers: one whose job is over is killed when the next reconcile still finds it
		// on that job — between the two it had all the time it needs to report and exit.
		for (const w of this.workers.values()) {
			if (w.state === "running" && w.jobId && !live.has(w.jobId)) {
				if (w.suspectJob === w.jobId) {
					this.opts.log?.(`worker ${w.name} still serves job ${w.jobId}, which is over: killed`);
					void this.kill(w.jobId, KILL_GRACE_MS);
					killed++;
				} else w.suspectJob = w.jobId;
			} else w.suspectJob = undefined;
		}
		this.recordPids();
		// Directories of jobs that are over and that no worker of ours still serves.
		const keep = new Set(
			[...liveJobs, ...[...this.workers.values()].map((w) => w.jobId ?? "")].filter(Boolean).map(jobKey),
		);
		await this.removeJobDirs(undefined, (key) => !keep.has(key));
		return { adopted, killed };
	}

	/**
	 * Removes job directories — workspaces, and whatever a killed worker left — of the given jobs
	 * or of those `over` says are over. Kept when workers keep workspaces (debugging).
	 */
	private async removeJobDirs(jobs?: ReadonlySet<string>, over?: (job: string) => boolean): Promise<void> {
		if (this.opts.workerEnv?.CDS_WORKER_KEEP_WORKSPACE === "1") return;
		const prefixes = jobs ? [...jobs].map(jobDirPrefix) : undefined;
		let names: string[];
		try {
			names = readdirSync(this.opts.baseDir);
		} catch {
			return;
		}
		// A root worker killed during a step leaves that step's files (its script) in memory too.
		let stepFiles: string[] | undefined;
		for (const name of names) {
			const owner = jobOfDir(name);
			if (owner === undefined) continue;
			const chosen = prefixes ? prefixes.some((p) => name.startsWith(p)) : over?.(owner);
			if (!chosen) continue;
			await rm(path.join(this.opts.baseDir, name), { recursive: true, force: true, maxRetries: 2 }).catch(
				(e: Error) => this.opts.log?.(`cannot remove ${name}: ${e.message}`),
			);
			stepFiles ??= listDir(STEP_FILES_BASE);
			for (const left of stepFiles.filter((f) => f.startsWith(stepFilesPrefix(name))))
				await rm(path.join(STEP_FILES_BASE, left), { recursive: true, force: true }).catch(() => {});
		}
	}

	private adopt(rec: PidRecord): void {
		const w: LocalWorker = {
			name: rec.name,
			jobId: rec.jobId,
			startedAt: Date.now(),
			state: "running",
			pid: rec.pid,
			startTime: rec.startTime,
			jobsDone: 0,
			adopted: true,
		};
		this.workers.set(w.name, w);
		// Not our child: no exit event. Its pipes died with the previous instance, so it ends
		// after this job (its stdin is closed) and /proc tells when.
		w.poll = setInterval(() => {
			if (!isSameWorker({ pid: rec.pid, startTime: rec.startTime })) this.exited(w, null);
		}, this.opts.adoptedPollMs ?? 500);
		w.poll.unref();
	}

	private readPidFile(): PidRecord[] {
		return this.pidFile.read(
			(r): r is PidRecord =>
				typeof r === "object" &&
				r !== null &&
				Number.isInteger((r as PidRecord).pid) &&
				typeof (r as PidRecord).name === "string",
		);
	}

	private recordPids(): void {
		const records: PidRecord[] = [...this.workers.values()]
			.filter((w): w is LocalWorker & { pid: number } => typeof w.pid === "number")
			.map((w) => ({ pid: w.pid, jobId: w.jobId, name: w.name, startTime: w.startTime }));
		try {
			this.pidFile.write(records);
		} catch {
			/* best effort: a worker nobody adopts is caught by the reaper's heartbeat timeout */
		}
	}

	/** A stopping hatchery stops its workers; only a crashed one leaves them for its restart to adopt. */
	async close(options: { leaveRunning?: boolean } = {}): Promise<void> {
		this.closed = true;
		// Left running: their stdin ends (each exits after its job) and the pid file keeps them
		// for the next instance's adoption.
		const left = (w: LocalWorker) => options.leaveRunning === true && !!w.jobId && w.state === "running";
		await Promise.all(
			[...this.workers.values()].map((w) => {
				if (left(w)) {
					w.child?.stdin?.end();
					return Promise.resolve();
				}
				if (w.jobId) return this.kill(w.jobId, 2000);
				w.child?.stdin?.end();
				return Promise.resolve();
			}),
		);
		for (const w of this.workers.values()) {
			if (w.pid && !left(w)) signalGroup(w.pid, "SIGKILL");
			if (w.poll) clearInterval(w.poll);
			// A left worker is no child of ours any more: its end is not this instance's to record.
			if (left(w)) w.child?.removeAllListeners("exit");
		}
		this.pidFile.close();
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

/** SIGTERM the worker's group, SIGKILL after `graceMs`; resolves when the worker is gone. */
async function terminate(pid: number, startTime: string | undefined, graceMs: number): Promise<void> {
	if (!isSameWorker({ pid, startTime })) return;
	signalGroup(pid, "SIGTERM");
	const deadline = Date.now() + graceMs;
	while (Date.now() < deadline) {
		await new Promise((resolve) => setTimeout(resolve, 50));
		if (!isSameWorker({ pid, startTime })) return;
	}
	signalGroup(pid, "SIGKILL");
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
function processStartTime(pid: number): string | undefined {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
		const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
		// fields[0] is field 3 (state); a zombie has exited already.
		if (fields[0] === "Z") return undefined;
		return fields[19];
	} catch {
		return undefined;
	}
}

/** The process is alive, is a worker, and is the one recorded (not a recycled pid). */
function isSameWorker(rec: { pid: number; startTime?: string }): boolean {
	const started = processStartTime(rec.pid);
	if (started === undefined) return false;
	if (rec.startTime !== undefined && started !== rec.startTime) return false;
	try {
		return readFileSync(`/proc/${rec.pid}/cmdline`, "utf8").includes("cds-worker");
	} catch {
		return false;
	}
}

function listDir(dir: string): string[] {
	try {
		return readdirSync(dir);
	} catch {
		return [];
	}
}
