// One NAT network namespace per worker, joined by every step it runs (CDS_SANDBOX_NETWORK=nat
// with bubblewrap). Setting up user-mode NAT (slirp4netns, then `ip` in the namespace) cost a
// third of a one-step job's CPU when each step had its own; a warm worker now pays it once.
//
// What a step could leave behind in a namespace it shares with later steps, of its own job or
// of the worker's next jobs, and why none of it survives:
// - processes, listening sockets, abstract Unix sockets: a step's processes live in its own PID
//   namespace, which ends with the step, and a socket ends with its last process;
// - addresses, routes (the prohibited ranges), links, firewall rules: changing them needs
//   CAP_NET_ADMIN over the namespace, which no step holds (a root worker's steps run with no
//   capability; a non-root worker's steps are in a user namespace nested below the one that
//   owns the network namespace, and capabilities never reach upwards);
// - its IPC objects and hostname: bubblewrap still gives each step its own.
//
// The holder is `sleep infinity` in the new namespace(s), killed with the worker (pdeathsig); a
// holder or NAT helper that died is replaced at the next step.

import { type ChildProcess, spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { attachNat, type Nat } from "./nat.ts";
import type { SandboxTools } from "./plan.ts";

const READY_TIMEOUT_MS = 10_000;

export interface NetworkEntry {
	/** The command line prefix that puts a step's sandbox tool in the worker's namespace. */
	prefix: string[];
	/** For a non-root worker: the uid and gid a step keeps in its nested user namespace. */
	ids?: { uid: number; gid: number };
}

interface Holder {
	child: ChildProcess;
	pid: number;
	nat: Nat;
	natExited: () => boolean;
}

export class WorkerNetwork {
	private readonly tools: SandboxTools;
	private readonly hostRoot: boolean;
	private holder: Promise<Holder> | undefined;

	constructor(tools: SandboxTools, hostRoot = process.getuid?.() === 0) {
		this.tools = tools;
		this.hostRoot = hostRoot;
	}

	/** The namespace for the next step: made on first use, remade when its holder or NAT died. */
	async enter(): Promise<NetworkEntry> {
		let current = this.holder ? await this.holder.catch(() => undefined) : undefined;
		if (
			!current ||
			current.child.exitCode !== null ||
			current.child.signalCode !== null ||
			current.natExited()
		) {
			if (current) this.dispose(current);
			this.holder = this.create();
			current = await this.holder.catch((err: unknown) => {
				this.holder = undefined;
				throw err;
			});
		}
		const nsenter = this.tools.nsenter ?? "nsenter";
		if (this.hostRoot) return { prefix: [nsenter, `--net=/proc/${current.pid}/ns/net`, "--"] };
		// Entering the holder's user namespace keeps this uid (it is root there, mapped to us), so
		// bubblewrap can make the step's own user namespace below it; the step keeps our ids.
		return {
			prefix: [nsenter, "-t", String(current.pid), "--user", "--net", "--preserve-credentials", "--"],
			ids: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
		};
	}

	close(): void {
		const holder = this.holder;
		this.holder = undefined;
		holder?.then((h) => this.dispose(h)).catch(() => {});
	}

	private dispose(holder: Holder): void {
		holder.nat.close();
		if (holder.child.exitCode === null) holder.child.kill("SIGKILL");
	}

	private async create(): Promise<Holder> {
		const unshare = this.tools.unshare ?? "unshare";
		const namespaces = this.hostRoot ? ["--net"] : ["--user", "--map-root-user", "--net"];
		const child = spawn(
			this.tools.setpriv ?? "setpriv",
			[
				"--pdeathsig",
				"SIGKILL",
				"--",
				unshare,
				...namespaces,
				"--",
				"/bin/sh",
				"-c",
				"echo ready >&3; exec 3>&-; exec sleep infinity",
			],
			{ stdio: ["ignore", "ignore", "pipe", "pipe"], detached: true },
		);
		let stderr = "";
		child.stderr?.on("data", (d: Buffer) => {
			stderr = (stderr + d.toString()).slice(-2000);
		});
		try {
			await readyLine(child, child.stdio[3] as Readable, () => stderr);
			const pid = child.pid;
			if (pid === undefined) throw new Error("the network holder has no pid");
			let natEnded = false;
			const nat = await attachNat(pid, this.tools, !this.hostRoot, {
				loopback: true,
				onExit: () => (natEnded = true),
			});
			return { child, pid, nat, natExited: () => natEnded };
		} catch (err) {
			if (child.exitCode === null) child.kill("SIGKILL");
			throw err;
		}
	}
}

function readyLine(child: ChildProcess, info: Readable, stderr: () => string): Promise<void> {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => fail("did not get ready"), READY_TIMEOUT_MS);
		timer.unref();
		const fail = (why: string) => {
			clearTimeout(timer);
			reject(new Error(`the job network ${why}: ${stderr().trim().split("\n").pop() ?? ""}`));
		};
		info.on("error", () => {});
		info.setEncoding("utf8");
		info.once("data", () => {
			clearTimeout(timer);
			resolve();
		});
		child.once("exit", () => fail("ended"));
		child.once("error", (err) => fail(err.message));
	});
}
