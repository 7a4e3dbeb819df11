#!/usr/bin/env node
// The `cds` executable. Plain JavaScript so that any Node can start it. Installed from the
// packed project (`npm install -g cds-ts-<version>.tgz`), there is no TypeScript beside it —
// Node refuses to strip types under node_modules — but the JavaScript built at `prepack`
// (dist/, `npm run build:cli`), which runs on Node 20 too. In the checkout, on Node >= 22.18
// (native TypeScript) it loads ./cds.ts; on an older Node it re-runs itself with the Node 22
// binary installed as the package's `node` devDependency.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { hostEnv } from "../config/launcher-env.mjs";

const MINIMUM = [22, 18];
const REEXEC_MARK = "CDS_NODE_REEXEC";

function isRecentEnough(version) {
	const [major, minor] = version.split(".").map(Number);
	return major > MINIMUM[0] || (major === MINIMUM[0] && minor >= MINIMUM[1]);
}

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const SOURCE = join(ROOT, "bin", "cds.ts");
const BUILT = join(ROOT, "dist", "bin", "cds.js");

function bundledNode() {
	const candidates = [
		join(ROOT, "node_modules", "node", "bin", "node"),
		join(ROOT, "node_modules", ".bin", "node"),
	];
	return candidates.find((path) => existsSync(path) && path !== process.execPath);
}

// The sources win when present, so a stale dist/ in the checkout never runs instead of them.
if (!existsSync(SOURCE) && existsSync(BUILT)) {
	await import(pathToFileURL(BUILT).href);
} else if (isRecentEnough(process.versions.node)) {
	// The checkout's modules, type-stripped once and kept (bin/ts-cache.mjs).
	const { enableTsCache } = await import("./ts-cache.mjs");
	enableTsCache();
	await import("./cds.ts");
} else {
	const node = hostEnv()[REEXEC_MARK] ? undefined : bundledNode();
	if (!node) {
		process.stderr.write("cds needs Node.js 22.18 or newer\n");
		process.exit(2);
	}
	const child = spawn(node, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
		stdio: "inherit",
		env: { ...hostEnv(), [REEXEC_MARK]: "1" },
	});
	// The child receives terminal signals itself; keep this process alive until it exits.
	for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => {});
	child.on("error", () => {
		process.stderr.write("cds needs Node.js 22.18 or newer\n");
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
