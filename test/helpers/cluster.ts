// CDS-TS nodes as separate OS processes (`node server.ts`), so tests can kill -9 them.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../..");

export interface NodeProcess {
	name: string;
	env: Record<string, string>;
	child: ChildProcess;
	output: string[];
	/** kill -9, and wait until the process is gone. */
	kill9(): Promise<void>;
	/** SIGTERM and wait. */
	stop(): Promise<void>;
	exited: Promise<number | null>;
}

export function spawnNode(name: string, env: Record<string, string>): NodeProcess {
	const dataDir = mkdtempSync(path.join(tmpdir(), `cds-node-${name}-`));
	const fullEnv: Record<string, string> = {
		PATH: process.env.PATH ?? "/usr/bin:/bin",
		HOME: process.env.HOME ?? "/root",
		CDS_DATA_DIR: dataDir,
		LOG_LEVEL: "warn",
		NODE_ID: name,
		...env,
	};
	const child = spawn(process.execPath, [path.join(ROOT, "server.ts")], {
		env: fullEnv,
		cwd: dataDir,
		stdio: ["ignore", "pipe", "pipe"],
	});
	const output: string[] = [];
	const keep = (chunk: Buffer) => {
		output.push(chunk.toString());
		if (process.env.CDS_TRACE_ECHO) process.stderr.write(chunk);
		if (output.length > 2000) output.splice(0, 1000);
	};
	child.stdout?.on("data", keep);
	child.stderr?.on("data", keep);
	const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
	return {
		name,
		env: fullEnv,
		child,
		output,
		exited,
		async kill9() {
			if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
			await exited;
		},
		async stop() {
			if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
			const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
			await exited;
			clearTimeout(timer);
		},
	};
}
