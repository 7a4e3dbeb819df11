// The world a CLI command sees. main() receives it instead of touching process.*
// directly so tests can run commands in-process with captured output and a private env.

import { hostEnv } from "../../config/process-env.ts";

export interface TextSink {
	write(text: string): unknown;
}

export interface CliIo {
	stdout: TextSink;
	stderr: TextSink;
	env: Record<string, string | undefined>;
	cwd: string;
	/** Answers questions as a terminal user would (tests of the prompts; the real CLI asks on its TTY). */
	ask?: (question: string, secret: boolean) => Promise<string>;
	/**
	 * Ends the process with `code` once the output is flushed, without waiting for what is
	 * still open (timers, files) — for a command that throws its state away (`cds run`). Absent
	 * in-process (tests, embedding): the command then closes everything itself.
	 */
	exitNow?: (code: number) => Promise<never>;
}

/** The real process streams and environment, used by bin/cds.ts. */
export function processIo(): CliIo {
	return {
		stdout: process.stdout,
		stderr: process.stderr,
		env: hostEnv(),
		cwd: process.cwd(),
		// The write callbacks run once the earlier writes reached the streams: nothing printed is lost.
		exitNow: (code) =>
			new Promise<never>(() => {
				process.stderr.write("", () => process.stdout.write("", () => process.exit(code)));
			}),
	};
}

/** An in-memory CliIo for running commands in-process (tests, embedding). */
export function memoryIo(env: Record<string, string | undefined> = {}, cwd = process.cwd()) {
	let stdout = "";
	let stderr = "";
	const io: CliIo = {
		stdout: { write: (text: string) => (stdout += text) },
		stderr: { write: (text: string) => (stderr += text) },
		env,
		cwd,
	};
	return {
		io,
		get stdout() {
			return stdout;
		},
		get stderr() {
			return stderr;
		},
	};
}
