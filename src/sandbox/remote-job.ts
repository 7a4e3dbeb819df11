// The worker's side of a pod's step container (src/sandbox/step-runner.ts): a job sandbox whose
// processes start in the other container, through its socket. The worker holds a lifeline
// connection for its whole life (the step container ends with it) and opens one connection per
// launched command; to the process runner it looks like a local child process.

import type { ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { PassThrough } from "node:stream";
import type { JobPaths, LaunchRequest, Launched, PreparedJobSandbox } from "./launch.ts";

export interface StepRunner {
	socket: string;
	/** Where the step container writes a launch's files (its memory). */
	filesDir: string;
	close(): void;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Connects the worker's lifeline to the step container, retrying while it starts (containers start together). */
export async function connectStepRunner(socketPath: string, waitMs = 60_000): Promise<StepRunner> {
	const deadline = Date.now() + waitMs;
	let last = "";
	for (;;) {
		try {
			const { socket, filesDir } = await new Promise<{ socket: Socket; filesDir: string }>(
				(resolve, reject) => {
					const socket = connect(socketPath);
					socket.once("error", reject);
					const lines = createInterface({ input: socket });
					lines.on("error", () => {});
					lines.once("line", (line) => {
						const m = JSON.parse(line) as { t?: string; filesDir?: string };
						if (m.t === "hello" && typeof m.filesDir === "string") resolve({ socket, filesDir: m.filesDir });
						else reject(new Error("the step container answered no hello"));
					});
					socket.once("close", () => reject(new Error("the step container closed the connection")));
					socket.write(`${JSON.stringify({ t: "lifeline" })}\n`);
				},
			);
			socket.on("error", () => {});
			return { socket: socketPath, filesDir, close: () => socket.destroy() };
		} catch (e) {
			last = (e as Error).message;
		}
		if (Date.now() > deadline)
			throw new Error(`the step container does not answer on ${socketPath} (${last})`);
		await pause(100);
	}
}

/** A job's sandbox in the step container: steps see the workspace volume both containers share. */
export class RemoteJob implements PreparedJobSandbox {
	readonly kind = "none" as const;
	readonly socketPath: string;
	readonly binPath: string;
	private readonly runner: StepRunner;

	constructor(runner: StepRunner, paths: JobPaths) {
		this.runner = runner;
		this.socketPath = paths.socket;
		this.binPath = paths.bin;
	}

	filePath(name: string): string {
		return join(this.runner.filesDir, name.replace(/[/\0]/g, "_"));
	}

	async close(): Promise<void> {}

	launch(request: LaunchRequest): Launched {
		const child = new EventEmitter() as EventEmitter & {
			stdout: PassThrough;
			stderr: PassThrough;
			exitCode: number | null;
			signalCode: NodeJS.Signals | null;
		};
		child.stdout = new PassThrough();
		child.stderr = new PassThrough();
		child.exitCode = null;
		child.signalCode = null;
		let gone = false;
		let exited = false;
		let settleReady: { resolve: () => void; reject: (e: Error) => void } | undefined;
		const ready = new Promise<void>((resolve, reject) => {
			settleReady = { resolve, reject };
		});
		ready.catch(() => {});
		const exit = (code: number | null, signal: NodeJS.Signals | null) => {
			if (exited) return;
			exited = true;
			child.exitCode = code;
			child.signalCode = signal;
			child.emit("exit", code, signal);
		};
		const socket = connect(this.runner.socket);
		const send = (m: object) => {
			if (!socket.destroyed) socket.write(`${JSON.stringify(m)}\n`);
		};
		socket.on("error", (err) => {
			if (!exited && !gone) {
				settleReady?.reject(err);
				child.emit("error", new Error(`the step container: ${err.message}`));
			}
		});
		socket.on("close", () => {
			gone = true;
			child.stdout.end();
			child.stderr.end();
			exit(exited ? child.exitCode : null, exited ? child.signalCode : "SIGKILL");
		});
		const lines = createInterface({ input: socket, crlfDelay: Number.POSITIVE_INFINITY });
		lines.on("error", () => {});
		lines.on("line", (line) => {
			const m = JSON.parse(line) as {
				t: string;
				d?: string;
				code?: number | null;
				signal?: NodeJS.Signals | null;
				message?: string;
			};
			if (m.t === "started") settleReady?.resolve();
			else if (m.t === "out") child.stdout.write(Buffer.from(m.d ?? "", "base64"));
			else if (m.t === "err") child.stderr.write(Buffer.from(m.d ?? "", "base64"));
			else if (m.t === "outClosed") child.stdout.end();
			else if (m.t === "errClosed") child.stderr.end();
			else if (m.t === "exit") exit(m.code ?? null, m.signal ?? null);
			else if (m.t === "gone") gone = true;
			else if (m.t === "error") {
				const err = new Error(m.message ?? "cannot start");
				settleReady?.reject(err);
				exited = true;
				child.emit("error", err);
			}
		});
		send({ t: "launch", ...request, files: request.files ?? [] });
		return {
			child: child as unknown as ChildProcess,
			ready,
			terminate: () => send({ t: "signal", signal: "SIGTERM" }),
			forceKill: () => send({ t: "signal", signal: "SIGKILL" }),
			alive: () => !gone,
			dispose: async () => {
				socket.end();
			},
		};
	}
}
