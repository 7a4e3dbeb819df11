// Starts the processes of a step, sandboxed as the plan says. The process runner sees one
// interface whatever the sandbox: start, ask everything the step started to stop, force it,
// tell whether any of it still lives.

import { type ChildProcess, spawn } from "node:child_process";
import {
	chownSync,
	lstatSync,
	mkdirSync,
	mkdtempSync,
	readdirSync,
	readFileSync,
	readlinkSync,
	rmSync,
	writeFileSync,
} from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { bwrapArgs, dropPrivileges, type StepMounts, type TopLevelEntry } from "./bwrap-args.ts";
import { attachNat, NAT_RESOLV_CONF, type Nat } from "./nat.ts";
import { SANDBOX_FILES, STEP_FILES_BASE, type SandboxPlan, stepFilesPrefix } from "./plan.ts";
import { RemoteJob, type StepRunner } from "./remote-job.ts";
import { unshareArgs, unshareScript } from "./unshare-script.ts";
import type { NetworkEntry, WorkerNetwork } from "./worker-network.ts";

/** A file the step's command needs (its script, a key): never written to persistent disk. */
export interface StepFile {
	name: string;
	content: string;
	mode: number;
}

export interface LaunchRequest {
	command: string;
	args: string[];
	cwd: string;
	env: Record<string, string>;
	files?: StepFile[];
}

export interface Launched {
	child: ChildProcess;
	/** Resolves when the command runs; rejects when its sandbox could not be set up. */
	ready: Promise<void>;
	/** Asks every process of the step to stop (SIGTERM). */
	terminate(): void;
	/** Ends every process of the step now. */
	forceKill(): void;
	/** True while some process of the step lives. */
	alive(): boolean;
	/** Frees what the launch holds (NAT helper, files) once the step ended. */
	dispose(): Promise<void>;
}

/** The sandbox of one job: where its files appear, and how its processes start. */
export interface JobSandbox {
	readonly kind: SandboxPlan["kind"];
	/** The worker socket path as steps see it. */
	readonly socketPath: string;
	/** The `worker` command's directory as steps see it. */
	readonly binPath: string;
	/** Where a file given in LaunchRequest.files appears to the command. */
	filePath(name: string): string;
	launch(request: LaunchRequest): Launched;
}

export interface JobPaths {
	workspace: string;
	tmp: string;
	bin: string;
	socket: string;
}

function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
	try {
		process.kill(-pid, signal);
		return true;
	} catch {
		return false;
	}
}

/** CDS_HATCHERY_SANDBOX=none: a process group, files on a tmpfs when there is one. */
class UnsandboxedJob implements JobSandbox {
	readonly kind = "none" as const;
	readonly socketPath: string;
	readonly binPath: string;
	private readonly filesDir: Promise<string>;

	constructor(paths: JobPaths) {
		this.socketPath = paths.socket;
		this.binPath = paths.bin;
		// /dev/shm is memory: an interpolated script holding a secret never reaches a disk.
		const base = safeDir("/dev/shm") ?? paths.tmp ?? tmpdir();
		this.filesDir = mkdtemp(join(base, "cds-step-"));
		this.filesDir.catch(() => {});
	}

	private dir = "";
	filePath(name: string): string {
		return join(this.dir, name);
	}

	async prepare(): Promise<void> {
		this.dir = await this.filesDir;
	}

	launch(request: LaunchRequest): Launched {
		const files = request.files ?? [];
		// Written before the command starts: it reads them at once.
		for (const f of files) writeFileSync(this.filePath(f.name), f.content, { mode: f.mode });
		const child = spawn(request.command, request.args, {
			cwd: request.cwd,
			env: request.env,
			detached: true,
			// Never the worker's stdin: its assignments, job tokens included, arrive there.
			stdio: ["ignore", "pipe", "pipe"],
		});
		const pid = child.pid;
		return {
			child,
			ready: Promise.resolve(),
			terminate: () => void (pid !== undefined && signalGroup(pid, "SIGTERM")),
			forceKill: () => void (pid !== undefined && signalGroup(pid, "SIGKILL")),
			alive: () => pid !== undefined && signalGroup(pid, 0),
			dispose: async () => {
				await Promise.all(files.map((f) => rm(this.filePath(f.name), { force: true })));
			},
		};
	}

	async close(): Promise<void> {
		await rm(await this.filesDir, { recursive: true, force: true }).catch(() => {});
	}
}

function safeDir(path: string): string | undefined {
	try {
		return lstatSync(path).isDirectory() ? path : undefined;
	} catch {
		return undefined;
	}
}

function rootEntries(): TopLevelEntry[] {
	return readdirSync("/").map((name) => {
		const stat = lstatSync(`/${name}`);
		return stat.isSymbolicLink()
			? { name, symlinkTarget: readlinkSync(`/${name}`), isDirectory: false }
			: { name, isDirectory: stat.isDirectory() };
	});
}

/** The PID namespace a process is in, as /proc shows it (`pid:[4026532180]`). */
function pidNamespace(pid: number | string): string | undefined {
	try {
		return readlinkSync(`/proc/${pid}/ns/pid`);
	} catch {
		return undefined;
	}
}

/** Signals every process of a PID namespace but its init (whose death ends them all). */
function signalNamespace(namespace: string, init: number, signal: NodeJS.Signals): void {
	for (const entry of readdirSync("/proc")) {
		if (!/^\d+$/.test(entry) || Number(entry) === init) continue;
		if (pidNamespace(entry) !== namespace) continue;
		try {
			process.kill(Number(entry), signal);
		} catch {
			/* gone meanwhile */
		}
	}
}

/** The descriptors (3…) a namespaced launch hands its tool: info, [block, resolv.conf], files. */
interface LaunchFds {
	infoFd: number;
	blockFd?: number;
	resolvConfFd?: number;
	files: Array<{ fd: number; name: string; mode: number }>;
	/** The step's files already written, owned by the step's user, in this host directory. */
	filesDir?: string;
}

/**
 * A root worker's step files, written in memory (/dev/shm) already owned by the user the step
 * runs as, so that no `sh -c 'chown -R …'` has to run in the sandbox before the command (two
 * processes, about a third of a one-step job's sandbox CPU). The directory the sandbox shows
 * lies in a root-only one: no host process of that user can reach it. Undefined without
 * /dev/shm, or when it cannot be written: bubblewrap then copies the files in, and a shell
 * hands them to the user.
 */

function hostFilesDir(
	files: StepFile[],
	runAs: { uid: number; gid: number },
	jobRoot: string,
): { dir: string; holder: string } | undefined {
	const base = safeDir(STEP_FILES_BASE);
	if (base === undefined) return undefined;
	// Named after the job: what a killed worker left, the hatchery removes with the job's directory.
	const holder = mkdtempSync(join(base, stepFilesPrefix(basename(jobRoot))));
	try {
		const dir = join(holder, "files");
		mkdirSync(dir, { mode: 0o700 });
		for (const f of files) {
			const file = join(dir, f.name);
			writeFileSync(file, f.content, { mode: f.mode, flag: "wx" });
			chownSync(file, runAs.uid, runAs.gid);
		}
		chownSync(dir, runAs.uid, runAs.gid);
		return { dir, holder };
	} catch {
		rmSync(holder, { recursive: true, force: true });
		return undefined;
	}
}

/**
 * A step in its own namespaces, made by a tool (bubblewrap, unshare) that reports on an info
 * descriptor once they exist and waits on a block descriptor while NAT is attached.
 */
abstract class NamespacedJob implements JobSandbox {
	abstract readonly kind: "bwrap" | "unshare";
	readonly socketPath = "/run/cds/worker.sock";
	readonly binPath = "/run/cds/bin";
	protected readonly plan: SandboxPlan;
	protected readonly paths: JobPaths & { root: string };
	protected readonly root = rootEntries();
	protected readonly hostRoot = process.getuid?.() === 0;
	/** The worker's NAT namespace the steps join, when it has one (bubblewrap only). */
	protected readonly network: WorkerNetwork | undefined;
	protected networkEntry: NetworkEntry | undefined;

	constructor(plan: SandboxPlan, paths: JobPaths & { root: string }, network?: WorkerNetwork) {
		this.plan = plan;
		this.paths = paths;
		this.network = plan.network === "nat" ? network : undefined;
	}

	filePath(name: string): string {
		return `${SANDBOX_FILES}/${name}`;
	}

	async prepare(): Promise<void> {
		const runAs = this.plan.runAs;
		if (this.hostRoot && runAs) {
			const { chown } = await import("node:fs/promises");
			for (const dir of [this.paths.workspace, this.paths.tmp, this.paths.socket])
				await chown(dir, runAs.uid, runAs.gid);
		}
		await chmod(this.paths.bin, 0o755);
		// Without it (its holder could not start: the worker said why), each step gets its own NAT.
		if (this.network) this.networkEntry = await this.network.enter().catch(() => undefined);
	}

	async close(): Promise<void> {}

	/** The tool's command line for this step. */
	protected abstract command(request: LaunchRequest, fds: LaunchFds): { file: string; args: string[] };

	/** Waits for the tool's report on the info descriptor; the host pid of the namespaces' init. */
	protected abstract initPid(child: ChildProcess, info: Readable): Promise<number>;

	launch(request: LaunchRequest): Launched {
		const files = request.files ?? [];
		const nat = this.plan.network === "nat";
		// NAT per step only without the worker's shared namespace.
		const ownNat = nat && this.networkEntry === undefined;
		// bubblewrap binds a directory of the host; unshare's script copies descriptors.
		const runAs = this.plan.runAs;
		const written =
			files.length > 0 && this.kind === "bwrap" && this.hostRoot && runAs
				? hostFilesDir(files, runAs, this.paths.root)
				: undefined;
		const piped = written ? [] : files;
		let next = 3;
		const fds: LaunchFds = {
			infoFd: next++,
			blockFd: ownNat ? next++ : undefined,
			resolvConfFd: nat ? next++ : undefined,
			files: piped.map((f) => ({ fd: next++, name: f.name, mode: f.mode })),
			filesDir: written?.dir,
		};
		const { file, args } = this.command(request, fds);
		const child = spawn(file, args, {
			env: request.env,
			detached: true,
			stdio: ["ignore", "pipe", "pipe", ...Array.from({ length: next - 3 }, () => "pipe" as const)],
		});
		const pipe = (fd: number) => child.stdio[fd] as Writable & Readable;
		for (let fd = 3; fd < next; fd++) pipe(fd).on("error", () => {});
		if (fds.resolvConfFd !== undefined) pipe(fds.resolvConfFd).end(NAT_RESOLV_CONF);
		for (const [i, f] of piped.entries()) pipe(fds.files[i]!.fd).end(f.content);

		let init: number | undefined;
		let namespace: string | undefined;
		let natHelper: Nat | undefined;
		const exited = () => child.exitCode !== null || child.signalCode !== null;
		const forceKill = () => {
			if (child.pid !== undefined) signalGroup(child.pid, "SIGKILL");
		};
		const ready = (async () => {
			init = await this.initPid(child, pipe(fds.infoFd));
			namespace = pidNamespace(init);
			if (fds.blockFd !== undefined) {
				natHelper = await attachNat(init, this.plan.tools, !this.hostRoot);
				pipe(fds.blockFd).end("go\n");
			}
		})();
		ready.catch(() => forceKill());
		return {
			child,
			ready,
			terminate: () => {
				if (init !== undefined && namespace !== undefined && !exited())
					signalNamespace(namespace, init, "SIGTERM");
				else forceKill();
			},
			forceKill,
			alive: () => !exited(),
			dispose: async () => {
				if (written) rmSync(written.holder, { recursive: true, force: true });
				await natHelper?.close();
			},
		};
	}
}

/** CDS_HATCHERY_SANDBOX=bwrap: every process of a step in its own bubblewrap sandbox. */
class BwrapJob extends NamespacedJob {
	readonly kind = "bwrap" as const;

	protected command(request: LaunchRequest, fds: LaunchFds) {
		const entry = this.networkEntry;
		const mounts: StepMounts = {
			...this.paths,
			...fds,
			cwd: request.cwd,
			hostRoot: this.hostRoot,
			joinedNetwork: entry !== undefined,
			ids: entry?.ids,
		};
		const bwrap = [
			this.plan.tools.bwrap ?? "bwrap",
			...bwrapArgs(this.plan, mounts, this.root),
			"--",
			// Files written by the worker (fds.filesDir) are their user's already.
			...dropPrivileges(this.plan, request.command, request.args, fds.files.length > 0),
		];
		const [file, ...args] = entry ? [...entry.prefix, ...bwrap] : bwrap;
		return { file: file!, args };
	}

	/** bubblewrap writes `{"child-pid": …}` and closes the descriptor once the namespaces exist. */
	protected async initPid(_child: ChildProcess, info: Readable): Promise<number> {
		let text = "";
		info.setEncoding("utf8");
		info.on("data", (d: string) => {
			text += d;
		});
		await new Promise<void>((resolve) => {
			info.once("end", resolve);
			info.once("close", resolve);
		});
		if (text === "") throw new Error("bubblewrap could not set up the sandbox");
		return Number((JSON.parse(text) as { "child-pid"?: number })["child-pid"]);
	}
}

/** CDS_HATCHERY_SANDBOX=unshare: the same layout built by util-linux unshare and a script. */
class UnshareJob extends NamespacedJob {
	readonly kind = "unshare" as const;

	protected command(request: LaunchRequest, fds: LaunchFds) {
		const mounts = {
			...this.paths,
			...fds,
			jobRoot: this.paths.root,
			cwd: request.cwd,
			hostRoot: this.hostRoot,
		};
		const script = unshareScript(this.plan, mounts, this.root);
		// setpriv --pdeathsig: unshare dies with the worker (and the namespace with unshare), as
		// bubblewrap's --die-with-parent does.
		return {
			file: this.plan.tools.setpriv ?? "setpriv",
			args: [
				"--pdeathsig",
				"SIGKILL",
				"--",
				this.plan.tools.unshare ?? "unshare",
				...unshareArgs(this.plan, this.hostRoot),
				"--",
				"/bin/sh",
				"-c",
				script,
				request.cwd,
				request.command,
				...request.args,
			],
		};
	}

	/** The script says `ready` once its mounts are done; its PID 1 is unshare's child. */
	protected async initPid(child: ChildProcess, info: Readable): Promise<number> {
		info.setEncoding("utf8");
		const line = await new Promise<string>((resolve) => {
			let text = "";
			info.on("data", (d: string) => {
				text += d;
				if (text.includes("\n")) resolve(text);
			});
			info.once("close", () => resolve(text));
		});
		if (!line.includes("ready") || child.pid === undefined)
			throw new Error("unshare could not set up the sandbox");
		const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim();
		return Number(children.split(" ")[0]);
	}
}

export interface PreparedJobSandbox extends JobSandbox {
	close(): Promise<void>;
}

/** The sandbox for one job, ready for its steps. */
export async function openJobSandbox(
	plan: SandboxPlan,
	paths: JobPaths & { root: string },
	network?: WorkerNetwork,
	stepRunner?: StepRunner,
): Promise<PreparedJobSandbox> {
	// A worker pod's step container runs the steps: the container is their sandbox.
	if (stepRunner) return new RemoteJob(stepRunner, paths);
	const job =
		plan.kind === "bwrap"
			? new BwrapJob(plan, paths, network)
			: plan.kind === "unshare"
				? new UnshareJob(plan, paths)
				: new UnsandboxedJob(paths);
	await job.prepare();
	return job;
}
