// Loads the checkout's TypeScript modules from a cache of their type-stripped JavaScript, and
// turns on Node's compile cache. Plain JavaScript, imported by the launchers (bin/cds.mjs) before
// anything else.
//
// Why: Node 22 strips the types of every .ts module it loads (a wasm compiler), and `cds run`
// loads some 260 of them — the CLI, server.ts, the services, src/ — which costs more than
// compiling them. The cache is keyed by a hash of each module's source text, read on every
// load: an edited source has another key, so stale code can never run, whatever the mtimes say.
// A miss strips the module as Node would (`stripTypeScriptTypes`, same compiler, same mode:
// positions are kept, so stack traces point at the .ts lines) and stores the result.
//
// The cache lives in node_modules/.cache/cds-ts/ of the checkout; if it cannot be written
// (read-only install) modules are stripped in memory as Node would. CDS_TS_NO_CACHE=1 turns
// both caches off (Node then loads the .ts files itself).

import { createHash } from "node:crypto";
import {
	mkdirSync,
	readdirSync,
	readFileSync,
	renameSync,
	statSync,
	unlinkSync,
	writeFileSync,
} from "node:fs";
import module from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { hostEnv } from "../config/launcher-env.mjs";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
/** Bumped when what is stored changes; the Node version is part of every key too. */
const FORMAT = "1";
/**
 * Every edit of a source adds an entry and none is ever rewritten, so a process that added some
 * prunes the cache as it exits once it holds more than this (some 20 versions of each module):
 * the entries older than a day go. One removed while still in use is only stripped again.
 */
const PRUNE_ABOVE = 5000;
const PRUNE_OLDER_THAN_MS = 24 * 3600_000;

/** Removes the old entries of `cacheDir` when it holds more than PRUNE_ABOVE. */
export function pruneCache(cacheDir, above = PRUNE_ABOVE, olderThanMs = PRUNE_OLDER_THAN_MS) {
	try {
		const entries = [];
		for (const dir of readdirSync(cacheDir)) {
			if (!/^[0-9a-f]{2}$/.test(dir)) continue;
			for (const name of readdirSync(join(cacheDir, dir))) entries.push(join(cacheDir, dir, name));
		}
		if (entries.length <= above) return;
		const before = Date.now() - olderThanMs;
		for (const file of entries) {
			try {
				if (statSync(file).mtimeMs < before) unlinkSync(file);
			} catch {}
		}
	} catch {}
}

function strip(source) {
	// stripTypeScriptTypes warns once that it is experimental: not news for a user of the CLI.
	const emitWarning = process.emitWarning;
	process.emitWarning = () => {};
	try {
		return module.stripTypeScriptTypes(source, { mode: "strip" });
	} finally {
		process.emitWarning = emitWarning;
	}
}

/** Where the stripped JavaScript of `source` is kept in `cacheDir`. */
export function cacheFile(cacheDir, source) {
	const key = createHash("sha256")
		.update(`${FORMAT}\0${process.version}\0`)
		.update(source)
		.digest("hex")
		.slice(0, 40);
	return join(cacheDir, key.slice(0, 2), `${key}.js`);
}

/** A `load` hook for module.registerHooks serving the .ts modules under `root` from `cacheDir`. */
export function tsCacheLoad(root, cacheDir) {
	const rootUrl = pathToFileURL(`${root}/`).href;
	let writable = true;
	let pruneScheduled = false;

	/** The stripped JavaScript of `source`, from the cache or stripped now (and stored). */
	function stripped(source) {
		const file = cacheFile(cacheDir, source);
		try {
			return readFileSync(file, "utf8");
		} catch {}
		const js = strip(source);
		if (writable) {
			try {
				mkdirSync(dirname(file), { recursive: true });
				// Written aside then renamed: a concurrent reader sees the whole file or none.
				const temporary = `${file}.${process.pid}.tmp`;
				writeFileSync(temporary, js);
				renameSync(temporary, file);
				if (!pruneScheduled) {
					pruneScheduled = true;
					process.once("exit", () => pruneCache(cacheDir));
				}
			} catch {
				writable = false;
			}
		}
		return js;
	}

	return function load(url, context, nextLoad) {
		// Only the checkout's own modules: Node never strips types under node_modules anyway.
		if (!url.startsWith(rootUrl) || !url.endsWith(".ts") || url.includes("/node_modules/"))
			return nextLoad(url, context);
		const format = context.format;
		if (format !== undefined && format !== "module-typescript" && format !== "commonjs-typescript")
			return nextLoad(url, context);
		const source = readFileSync(fileURLToPath(url), "utf8");
		return {
			format: format === "commonjs-typescript" ? "commonjs" : "module",
			source: stripped(source),
			shortCircuit: true,
		};
	};
}

/** The directories of the checkout whose modules run (tests and benches are not shipped). */
const RUNTIME_DIRS = ["bin", "config", "mixins", "schemas", "services", "src"];

/**
 * Strips every runtime module of `root` into `cacheDir` ahead of any start: an image built with
 * `node bin/ts-cache.mjs --warm` ships the cache, so its containers — which cannot write under
 * node_modules (another user) and start afresh for every job (worker pods) — never strip a
 * module again. Returns how many modules it stripped (those already cached are skipped).
 */
export function warmCache(root, cacheDir, dirs = RUNTIME_DIRS) {
	const files = [];
	for (const name of readdirSync(root))
		if (name.endsWith(".ts") && !name.endsWith(".d.ts")) files.push(join(root, name));
	for (const dir of dirs) {
		let names = [];
		try {
			names = readdirSync(join(root, dir), { recursive: true, encoding: "utf8" });
		} catch {
			continue;
		}
		for (const name of names)
			if (name.endsWith(".ts") && !name.endsWith(".d.ts") && !name.includes("node_modules"))
				files.push(join(root, dir, name));
	}
	let stripped = 0;
	for (const path of files) {
		const source = readFileSync(path, "utf8");
		const file = cacheFile(cacheDir, source);
		if (statSync(file, { throwIfNoEntry: false })) continue;
		mkdirSync(dirname(file), { recursive: true });
		const temporary = `${file}.${process.pid}.tmp`;
		writeFileSync(temporary, strip(source));
		renameSync(temporary, file);
		stripped++;
	}
	return stripped;
}

/**
 * Installs the hook for this checkout and Node's compile cache, in this process only (children
 * start their own: the worker's launcher does). Off with CDS_TS_NO_CACHE=1, or on a Node without
 * the APIs (it then strips the types itself).
 */
export function enableTsCache() {
	if (hostEnv().CDS_TS_NO_CACHE === "1") return;
	if (typeof module.registerHooks !== "function" || typeof module.stripTypeScriptTypes !== "function") return;
	const cacheDir = join(ROOT, "node_modules", ".cache", "cds-ts");
	module.registerHooks({ load: tsCacheLoad(ROOT, cacheDir) });
	module.enableCompileCache?.(join(cacheDir, "v8"));
}

// `node bin/ts-cache.mjs --warm`: fills this checkout's cache (the Dockerfile runs it).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv[2] === "--warm") {
	const cacheDir = join(ROOT, "node_modules", ".cache", "cds-ts");
	const count = warmCache(ROOT, cacheDir);
	process.stdout.write(`${count} module(s) stripped into ${cacheDir}\n`);
}
