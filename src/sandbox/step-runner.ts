// The step container of a worker pod: the process that runs a job's step processes for the
// worker, in a container of its own. The worker container holds the job token (its mounted
// Secret, its memory); this one never does: it has no access to that volume, its own PID
// namespace (the worker's /proc entries, descriptors and memory are not there), and shares
// only the workspace volume and this socket with the worker. Steps so cannot read the token
// even without a sandbox tool (bwrap) in the image — the separation container runtimes give
// every container, as GitLab's Kubernetes executor keeps its runner's credentials out of the
// build container.
//
// The protocol, newline-delimited JSON over a Unix socket in the shared volume:
//  - the worker's lifeline: `{"t":"lifeline"}` → `{"t":"hello","filesDir":…}`; when it closes
//    (the worker ended or died), every step process is killed and this process exits;
//  - one connection per launched command: `{"t":"launch",command,args,cwd,env,files}` →
//    `started` | `error`, then `out`/`err` chunks (base64), `outClosed`/`errClosed`, `exit`
//    {code, signal} and `gone` once no process of the step's group is left. The worker may send
//    `{"t":"signal","signal":"SIGTERM"|"SIGKILL"}` (to the step's whole process group).

import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { StepFile } from "./launch.ts";

export interface StepLaunchMessage {
	t: "launch";
	command: string;
	args: string[];
	cwd: string;
	env: Record<string, string>;
	files: StepFile[];
}

/** How long the step container waits for its worker's lifeline before it gives up. */
const LIFELINE_WAIT_MS = 120_000;
const POLL_MS = 50;

/** True while a process of group `pgid` lives (zombies do not count: a pid 1 may never reap them). */
export function groupAlive(pgid: number): boolean {
	try {
		process.kill(-pgid, 0);
	} catch {
		return false;
	}
	for (const entry of readdirSync("/proc")) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
			const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
			// fields[0]: state, fields[2]: process group
			if (Number(fields[2]) === pgid && fields[0] !== "Z" && fields[0] !== "X") return true;
		} catch {
			/* gone meanwhile */
		}
	}
	return false;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
	try {
		process.kill(-pgid, signal);
	} catch {
		/* gone */
	}
}

function filesBase(): string {
	// Memory: an interpolated script holding a project secret never reaches a disk.
	try {
		if (statSync("/dev/shm").isDirectory()) return "/dev/shm";
	} catch {
		/* no /dev/shm */
	}
	return tmpdir();
}

/** Serves the worker of this pod on `socketPath`; resolves with the exit code once its lifeline ends. */
export function serveSteps(socketPath: string, log: (msg: string) => void = () => {}): Promise<number> {
	const groups = new Set<number>();
	const filesDir = mkdtempSync(join(filesBase(), "cds-steps-"));
	let lifeline: Socket | undefined;
	return new Promise((resolve) => {
		const server = createServer((socket) => {
			socket.on("error", () => {});
			const lines = createInterface({ input: socket, crlfDelay: Number.POSITIVE_INFINITY });
			lines.on("error", () => {});
			let launched: { pid: number; gone: () => boolean } | undefined;
			const send = (m: object) => {
				if (!socket.destroyed) socket.write(`${JSON.stringify(m)}\n`);
			};
			lines.on("line", (line) => {
				let m: Omit<Partial<StepLaunchMessage>, "t"> & { t?: string; signal?: string };
				try {
					m = JSON.parse(line);
				} catch {
					socket.destroy();
					return;
				}
				if (m.t === "lifeline" && !lifeline) {
					lifeline = socket;
					clearTimeout(waiting);
					send({ t: "hello", filesDir });
					socket.on("close", () => finish(0));
				} else if (m.t === "launch" && launched === undefined) {
					launched = launch(m as StepLaunchMessage, send, () => socket.end());
				} else if (m.t === "signal" && launched !== undefined) {
					if ((m.signal === "SIGTERM" || m.signal === "SIGKILL") && !launched.gone())
						signalGroup(launched.pid, m.signal);
				}
			});
			// The worker went away mid-step: nothing of the step may outlive it.
			socket.on("close", () => {
				if (launched && launched.pid > 0 && !launched.gone()) signalGroup(launched.pid, "SIGKILL");
			});
		});
		const launch = (
			m: StepLaunchMessage,
			send: (m: object) => void,
			end: () => void,
		): { pid: number; gone: () => boolean } => {
			const written: string[] = [];
			let child: ReturnType<typeof spawn>;
			try {
				for (const f of m.files ?? []) {
					const file = join(filesDir, f.name.replace(/[/\0]/g, "_"));
					writeFileSync(file, f.content, { mode: f.mode });
					written.push(file);
				}
				child = spawn(m.command, m.args ?? [], {
					cwd: m.cwd,
					env: m.env ?? {},
					detached: true,
					stdio: ["ignore", "pipe", "pipe"],
				});
			} catch (e) {
				send({ t: "error", message: (e as Error).message });
				send({ t: "gone" });
				end();
				return { pid: -1, gone: () => true };
			}
			const pid = child.pid ?? -1;
			if (pid > 0) groups.add(pid);
			let open = 2;
			let exited = false;
			let goneSent = false;
			const maybeGone = () => {
				if (goneSent || !exited) return;
				if (pid > 0 && groupAlive(pid)) {
					setTimeout(maybeGone, POLL_MS);
					return;
				}
				goneSent = true;
				groups.delete(pid);
				for (const f of written) rmSync(f, { force: true });
				send({ t: "gone" });
				if (open === 0) end();
			};
			child.on("error", (err) => {
				send({ t: "error", message: err.message });
				exited = true;
				maybeGone();
			});
			child.on("spawn", () => send({ t: "started" }));
			for (const [stream, kind] of [
				[child.stdout, "out"],
				[child.stderr, "err"],
			] as const) {
				stream?.on("data", (d: Buffer) => send({ t: kind, d: d.toString("base64") }));
				stream?.on("close", () => {
					send({ t: `${kind}Closed` });
					open--;
					if (goneSent && open === 0) end();
				});
			}
			child.on("exit", (code, signal) => {
				send({ t: "exit", code, signal });
				exited = true;
				maybeGone();
			});
			// Once gone, its group id may be reused: no signal goes to it any more.
			return { pid, gone: () => goneSent };
		};
		const finish = (code: number) => {
			for (const g of groups) signalGroup(g, "SIGKILL");
			server.close();
			rmSync(filesDir, { recursive: true, force: true });
			rmSync(socketPath, { force: true });
			resolve(code);
		};
		const waiting = setTimeout(() => {
			log(`no worker connected to ${socketPath} within ${LIFELINE_WAIT_MS / 1000} s`);
			finish(1);
		}, LIFELINE_WAIT_MS);
		rmSync(socketPath, { force: true });
		server.listen(socketPath, () => log(`serving steps on ${socketPath}`));
		server.on("error", (e) => {
			log(`cannot serve steps on ${socketPath}: ${e.message}`);
			clearTimeout(waiting);
			resolve(2);
		});
	});
}
