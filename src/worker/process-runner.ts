/**
 * Runs a command in its own process group so that everything it starts can be killed
 * together: on abort (stop, timeout) the group gets SIGTERM, then SIGKILL after a grace
 * period; when the command ends, anything it left running in its group (`sleep 1000 &`)
 * is killed too, so a step never leaves a process behind.
 */

import { spawn } from "node:child_process";

export interface ProcessOptions {
	command: string;
	args: string[];
	cwd: string;
	env: Record<string, string>;
	onOutput: (chunk: Buffer) => void;
	/** Aborting kills the group; the abort reason is handed back in the result. */
	signal: AbortSignal;
	graceMs: number;
}

export interface ProcessResult {
	exitCode: number | null;
	signal: NodeJS.Signals | null;
	/** The abort reason when the process was killed because of `signal`. */
	aborted: unknown;
	/** Set when the command could not be started at all. */
	error?: string;
}

/** How long output pipes may stay open after the group is gone (a process that escaped with setsid). */
const DRAIN_TIMEOUT_MS = 2000;
/** Leftovers of a finished command get this long after SIGTERM before SIGKILL. */
const LEFTOVER_GRACE_MS = 1000;

function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
	try {
		process.kill(-pid, signal);
		return true;
	} catch {
		return false; // ESRCH: the group is empty
	}
}

/** SIGTERM the group, SIGKILL what is left after `graceMs`; resolves when the group is empty. */
async function killGroup(pid: number, graceMs: number): Promise<void> {
	if (!signalGroup(pid, "SIGTERM")) return;
	const deadline = Date.now() + graceMs;
	while (Date.now() < deadline) {
		await new Promise((resolve) => setTimeout(resolve, 25));
		if (!signalGroup(pid, 0)) return;
	}
	signalGroup(pid, "SIGKILL");
	for (let i = 0; i < 40 && signalGroup(pid, 0); i++) await new Promise((resolve) => setTimeout(resolve, 25));
}

export function runProcess(options: ProcessOptions): Promise<ProcessResult> {
	return new Promise((resolve) => {
		let aborted: unknown;
		let settled = false;
		const child = spawn(options.command, options.args, {
			cwd: options.cwd,
			env: options.env,
			detached: true,
			// Never the worker's own stdin: its assignments, job tokens included, arrive there. No
			// other descriptor is passed on (Node opens every one close-on-exec).
			stdio: ["ignore", "pipe", "pipe"],
		});
		const pid = child.pid;
		let open = 2;
		let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
		let killing: Promise<void> | undefined;

		const finish = (error?: string) => {
			if (settled) return;
			settled = true;
			options.signal.removeEventListener("abort", onAbort);
			resolve({ exitCode: exit?.code ?? null, signal: exit?.signal ?? null, aborted, error });
		};
		const maybeFinish = () => {
			if (exit && open === 0) void (killing ?? Promise.resolve()).then(() => finish());
		};
		const onAbort = () => {
			aborted = options.signal.reason ?? "aborted";
			if (pid !== undefined && !killing) killing = killGroup(pid, options.graceMs);
		};

		for (const stream of [child.stdout, child.stderr]) {
			stream.on("data", (chunk: Buffer) => options.onOutput(chunk));
			stream.on("close", () => {
				open--;
				maybeFinish();
			});
		}
		child.on("error", (err) => {
			exit ??= { code: null, signal: null };
			finish(`cannot run ${options.command}: ${err.message}`);
		});
		child.on("exit", (code, signal) => {
			exit = { code, signal };
			if (pid !== undefined) {
				// The leader is gone; its group may still hold background children keeping the pipes open.
				if (!killing && signalGroup(pid, 0)) killing = killGroup(pid, LEFTOVER_GRACE_MS);
				void (killing ?? Promise.resolve()).then(() => {
					setTimeout(() => {
						if (open > 0) {
							child.stdout.destroy();
							child.stderr.destroy();
						}
					}, DRAIN_TIMEOUT_MS).unref();
				});
			}
			maybeFinish();
		});
		if (options.signal.aborted) onAbort();
		else options.signal.addEventListener("abort", onAbort);
	});
}
