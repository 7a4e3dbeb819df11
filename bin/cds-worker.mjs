#!/usr/bin/env node
// The `cds-worker` executable. Plain JavaScript so that any Node can start it: on Node >= 22.18
// (native TypeScript) it loads ./cds-worker.ts; on an older Node it re-runs itself with the
// Node 22 binary installed as the package's `node` devDependency.
//
// Start-up time matters (a hatchery starts one worker per job), and Node's TypeScript type
// stripping costs more than the rest of the start-up together. So the worker's modules are
// kept type-stripped, as .mjs, in node_modules/.cache/cds-worker: a cache that checks every
// source file's size and mtime on each start and rebuilds itself when one changed. If it
// cannot be used (read-only install, CDS_WORKER_NO_CACHE=1), the .ts files are loaded as is.

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { hostEnv } from "../config/launcher-env.mjs";

const MINIMUM = [22, 18];
const REEXEC_MARK = "CDS_NODE_REEXEC";
const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const ENTRY = join(ROOT, "bin", "cds-worker.ts");
const CACHE = join(ROOT, "node_modules", ".cache", "cds-worker");
// A relative import of a .ts module, static or dynamic.
const TS_SPECIFIER = /((?:\bfrom|\bimport)\s*\(?\s*)(["'])(\.{1,2}\/[^"'\n]+?)\.ts\2/g;

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

function fingerprint(file) {
	const stat = statSync(file);
	return `${stat.size}:${stat.mtimeMs}`;
}

/** The cached entry point when every source file is unchanged, else undefined. */
function cachedEntry() {
	try {
		const build = readFileSync(join(CACHE, "current"), "utf8").trim();
		const manifest = JSON.parse(readFileSync(join(CACHE, build, "manifest.json"), "utf8"));
		if (manifest.node !== process.version) return undefined;
		for (const [file, print] of Object.entries(manifest.files)) {
			if (fingerprint(join(ROOT, file)) !== print) return undefined;
		}
		return join(CACHE, build, "bin", "cds-worker.mjs");
	} catch {
		return undefined;
	}
}

/** Strips every module reachable from the entry point into a new build directory. */
async function buildCache() {
	const { stripTypeScriptTypes } = await import("node:module");
	const files = {};
	const outputs = [];
	const queue = [ENTRY];
	while (queue.length > 0) {
		const file = queue.pop();
		const name = relative(ROOT, file);
		if (name in files) continue;
		files[name] = fingerprint(file);
		const js = stripTypeScriptTypes(readFileSync(file, "utf8"));
		for (const match of js.matchAll(TS_SPECIFIER)) queue.push(resolve(dirname(file), `${match[3]}.ts`));
		outputs.push([
			name.replace(/\.ts$/, ".mjs"),
			js.replace(TS_SPECIFIER, (_m, head, q, path) => `${head}${q}${path}.mjs${q}`),
		]);
	}
	const hash = createHash("sha256").update(process.version);
	for (const [name, js] of outputs) hash.update(name).update("\0").update(js).update("\0");
	const build = `build-${hash.digest("hex").slice(0, 16)}`;
	const staging = join(CACHE, `staging-${process.pid}-${Date.now()}`);
	for (const [name, js] of outputs) {
		mkdirSync(dirname(join(staging, name)), { recursive: true });
		writeFileSync(join(staging, name), js);
	}
	writeFileSync(join(staging, "manifest.json"), JSON.stringify({ node: process.version, files }));
	try {
		renameSync(staging, join(CACHE, build));
	} catch {
		rmSync(staging, { recursive: true, force: true }); // another worker built the same thing
	}
	const pointer = join(CACHE, `current-${process.pid}`);
	writeFileSync(pointer, build);
	renameSync(pointer, join(CACHE, "current"));
	return join(CACHE, build, "bin", "cds-worker.mjs");
}

async function entryPoint() {
	if (hostEnv().CDS_WORKER_NO_CACHE === "1") return ENTRY;
	const cached = cachedEntry();
	if (cached) return cached;
	// stripTypeScriptTypes warns that it is experimental; that is not news for a worker's user.
	const emitWarning = process.emitWarning;
	process.emitWarning = () => {};
	try {
		return await buildCache();
	} catch {
		return ENTRY;
	} finally {
		process.emitWarning = emitWarning;
	}
}

if (isRecentEnough(process.versions.node)) {
	// The `worker` command of the steps runs this file; the worker tells them where it is.
	hostEnv().CDS_WORKER_LAUNCHER = fileURLToPath(import.meta.url);
	const entry = await entryPoint();
	// Node's compile cache beside the stripped modules: V8 skips parsing them again (and Node's own
	// CommonJS modules) on the next start. Not for the .ts fallback, which is not cached.
	if (entry !== ENTRY && hostEnv().CDS_TS_NO_CACHE !== "1") {
		const { enableCompileCache } = await import("node:module");
		enableCompileCache?.(join(CACHE, "v8"));
	}
	await import(pathToFileURL(entry).href);
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
