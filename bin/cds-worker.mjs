#!/usr/bin/env node
// The `cds-worker` executable. Plain JavaScript so that any Node can start it: on Node >= 22.18
// (native TypeScript) it loads ./cds-worker.ts; on an older Node it re-runs itself with the
// Node 22 binary installed as the package's `node` devDependency.
//
// Start-up time matters (a hatchery starts one worker per job), and Node's TypeScript type
// stripping costs more than the rest of the start-up together. So the worker's modules are
// loaded from the cache of type-stripped JavaScript the CLI uses too (bin/ts-cache.mjs: keyed by
// each source's content, so an edited source is never run stale, and shared safely by checkouts
// that share node_modules), with Node's compile cache. CDS_WORKER_NO_CACHE=1 (or
// CDS_TS_NO_CACHE=1) loads the .ts files as they are.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { hostEnv } from "../config/launcher-env.mjs";

const MINIMUM = [22, 18];
const REEXEC_MARK = "CDS_NODE_REEXEC";
const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

function isRecentEnough(version) {
	const [major, minor] = version.split(".").map(Number);
	return major > MINIMUM[0] || (major === MINIMUM[0] && minor >= MINIMUM[1]);
}

function bundledNode() {
	const candidates = [
		join(ROOT, "node_modules", "node", "bin", "node"),
		join(ROOT, "node_modules", ".bin", "node"),
	];
	return candidates.find((path) => existsSync(path) && path !== process.execPath);
}

if (isRecentEnough(process.versions.node)) {
	// The `worker` command of the steps runs this file; the worker tells them where it is.
	hostEnv().CDS_WORKER_LAUNCHER = fileURLToPath(import.meta.url);
	if (hostEnv().CDS_WORKER_NO_CACHE !== "1") {
		const { enableTsCache } = await import("./ts-cache.mjs");
		enableTsCache();
	}
	await import("./cds-worker.ts");
} else {
	const node = hostEnv()[REEXEC_MARK] ? undefined : bundledNode();
	if (!node) {
		process.stderr.write("cds-worker needs Node.js 22.18 or newer\n");
		process.exit(2);
	}
	const child = spawn(node, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
		stdio: "inherit",
		env: { ...hostEnv(), [REEXEC_MARK]: "1" },
	});
	// A hatchery stops a worker by signalling this process: pass the signal on, and stay alive
	// until the worker has reported and exited.
	for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
	child.on("error", () => {
		process.stderr.write("cds-worker needs Node.js 22.18 or newer\n");
		process.exit(2);
	});
	child.on("exit", (code, signal) => {
		if (signal) {
			// Die from the same signal as the child, so callers see the real cause.
			process.removeAllListeners(signal);
			process.kill(process.pid, signal);
		}
		process.exit(code ?? 1);
	});
}
