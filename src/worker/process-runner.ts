/**
 * Runs a command of a step — in the job's sandbox (src/sandbox) — so that everything it starts
 * can be ended together: on abort (stop, timeout) every process of the step gets SIGTERM, then
 * SIGKILL after a grace period; when the command ends, anything it left running
 * (`sleep 1000 &`) is ended too, so a step never leaves a process behind.
 */

import type { JobSandbox, StepFile } from "../sandbox/launch.ts";

export interface ProcessOptions {
	command: string;
	args: string[];
	cwd: string;
	env: Record<string, string>;
	/** Files the command needs (its script), placed where `sandbox.filePath(name)` says. */
	files?: StepFile[];
	sandbox: JobSandbox;
	onOutput: (chunk: Buffer) => void;
	/** Aborting kills the step's processes; the abort reason is handed back in the result. */
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

/** How long output pipes may stay open after the step's processes are gone. */
const DRAIN_TIMEOUT_MS = 2000;
/** Leftovers of a finished command get this long after SIGTERM before SIGKILL. */
const LEFTOVER_GRACE_MS = 1000;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function runProcess(options: ProcessOptions): Promise<ProcessResult> {
	return new Promise((resolve) => {
		let aborted: unknown;
		let settled = false;
		let setupError: string | undefined;
		const launched = options.sandbox.launch({
			command: options.command,
			args: options.args,
			cwd: options.cwd,
			env: options.env,
			files: options.files,
		});
		const { child } = launched;
		let open = 2;
		let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
		let killing: Promise<void> | undefined;

		/** SIGTERM the step's processes, SIGKILL what is left after `graceMs`. */
		const end = async (graceMs: number) => {
			launched.terminate();
			const deadline = Date.now() + graceMs;
			while (Date.now() < deadline && launched.alive()) await pause(25);
			if (launched.alive()) launched.forceKill();
			for (let i = 0; i < 40 && launched.alive(); i++) await pause(25);
		};
		const finish = (error?: string) => {
			if (settled) return;
			settled = true;
			options.signal.removeEventListener("abort", onAbort);
			void launched.dispose().finally(() =>
				resolve({
					exitCode: exit?.code ?? null,
					signal: exit?.signal ?? null,
					aborted,
					error: error ?? setupError,
				}),
			);
		};
		const maybeFinish = () => {
			if (exit && open === 0) void (killing ?? Promise.resolve()).then(() => finish());
		};
		const onAbort = () => {
			aborted = options.signal.reason ?? "aborted";
			if (!killing) killing = end(options.graceMs);
		};

		launched.ready.catch((err: unknown) => {
			setupError = `cannot start the step's sandbox: ${err instanceof Error ? err.message : String(err)}`;
		});
		for (const stream of [child.stdout, child.stderr]) {
			stream?.on("data", (chunk: Buffer) => options.onOutput(chunk));
			stream?.on("close", () => {
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
			// The command is gone; processes it left in the background may keep the pipes open.
			if (!killing && launched.alive()) killing = end(LEFTOVER_GRACE_MS);
			void (killing ?? Promise.resolve()).then(() => {
				setTimeout(() => {
					if (open > 0) {
						child.stdout?.destroy();
						child.stderr?.destroy();
					}
				}, DRAIN_TIMEOUT_MS).unref();
			});
			maybeFinish();
		});
		if (options.signal.aborted) onAbort();
		else options.signal.addEventListener("abort", onAbort);
	});
}
