// bin/ts-cache.mjs: the launchers' cache of type-stripped modules. Each case runs a fresh Node
// process with the hook installed for a temporary "checkout", as bin/cds.mjs installs it.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
	chmodSync,
	existsSync,
	mkdirSync,
	mkdtempSync,
	readdirSync,
	rmSync,
	statSync,
	utimesSync,
	writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, test } from "node:test";
// @ts-expect-error: plain JavaScript launcher module, without declarations
import { cacheFile, pruneCache, warmCache } from "../../bin/ts-cache.mjs";

const HOOK = pathToFileURL(join(import.meta.dirname, "..", "..", "bin", "ts-cache.mjs")).href;

let root: string;
let cache: string;

/** Imports `root/main.ts` in a new Node with the hook for `root`; its stdout. */
function run(): { stdout: string; stderr: string; status: number | null } {
	const script = `
		import module from "node:module";
		import { tsCacheLoad } from ${JSON.stringify(HOOK)};
		module.registerHooks({ load: tsCacheLoad(${JSON.stringify(root)}, ${JSON.stringify(cache)}) });
		await import(${JSON.stringify(pathToFileURL(join(root, "main.ts")).href)});
	`;
	const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
		encoding: "utf8",
		cwd: root,
	});
	return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

function cachedFiles(): string[] {
	if (!existsSync(cache)) return [];
	return readdirSync(cache, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".js"));
}

beforeEach(() => {
	root = mkdtempSync(join(tmpdir(), "cds-ts-cache-"));
	cache = join(root, "node_modules", ".cache", "cds-ts");
	writeFileSync(join(root, "package.json"), '{ "type": "module" }\n');
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("bin/ts-cache.mjs", () => {
	test("runs TypeScript modules and keeps their stripped JavaScript", () => {
		writeFileSync(join(root, "lib.ts"), "export const twice = (n: number): number => n * 2;\n");
		writeFileSync(
			join(root, "main.ts"),
			'import { twice } from "./lib.ts";\ninterface Out { value: number }\nconst o: Out = { value: twice(21) };\nconsole.log(o.value);\n',
		);
		const first = run();
		assert.equal(first.status, 0, first.stderr);
		assert.equal(first.stdout, "42\n");
		assert.equal(first.stderr, "", "no experimental warning reaches the user");
		assert.equal(cachedFiles().length, 2);
		const second = run();
		assert.equal(second.stdout, "42\n");
		assert.equal(cachedFiles().length, 2, "the second start finds both modules in the cache");
	});

	test("an edited module runs its new code, even with the same size and mtime", () => {
		const file = join(root, "main.ts");
		writeFileSync(file, "const n: number = 1;\nconsole.log(n);\n");
		assert.equal(run().stdout, "1\n");
		const { atime, mtime } = statSync(file);
		writeFileSync(file, "const n: number = 2;\nconsole.log(n);\n");
		utimesSync(file, atime, mtime);
		assert.equal(run().stdout, "2\n");
	});

	test("the cached JavaScript is what runs: an entry is keyed by the module's source", () => {
		const source = "const n: number = 1;\nconsole.log(n);\n";
		writeFileSync(join(root, "main.ts"), source);
		assert.equal(run().stdout, "1\n");
		const entry = cacheFile(cache, source);
		assert.ok(existsSync(entry));
		writeFileSync(entry, 'console.log("from the cache");\n');
		assert.equal(run().stdout, "from the cache\n");
	});

	test("a cache that cannot be written still runs the modules", () => {
		writeFileSync(join(root, "node_modules"), "not a directory");
		writeFileSync(join(root, "main.ts"), "const n: number = 3;\nconsole.log(n);\n");
		const r = run();
		assert.equal(r.status, 0, r.stderr);
		assert.equal(r.stdout, "3\n");
	});

	test("a cache past its size keeps its recent entries and drops the old ones", () => {
		const old = new Date(Date.now() - 3 * 24 * 3600_000);
		const files = ["aa/aa01.js", "aa/aa02.js", "bb/bb01.js"].map((f) => join(cache, f));
		for (const file of files) {
			mkdirSync(dirname(file), { recursive: true });
			writeFileSync(file, "");
		}
		utimesSync(files[0]!, old, old);
		pruneCache(cache, 3, 24 * 3600_000);
		assert.equal(cachedFiles().length, 3, "not past its size: nothing goes");
		pruneCache(cache, 2, 24 * 3600_000);
		assert.deepEqual(cachedFiles().sort(), ["aa/aa02.js", "bb/bb01.js"]);
	});
	test("a warmed cache serves every runtime module: a start strips nothing (an image cannot write it)", () => {
		mkdirSync(join(root, "src", "deep"), { recursive: true });
		mkdirSync(join(root, "test"));
		writeFileSync(
			join(root, "src", "deep", "lib.ts"),
			"export const twice = (n: number): number => n * 2;\n",
		);
		writeFileSync(join(root, "test", "x.test.ts"), "const t: number = 1;\n");
		writeFileSync(
			join(root, "main.ts"),
			'import { twice } from "./src/deep/lib.ts";\nconst v: number = twice(4);\nconsole.log(v);\n',
		);
		assert.equal(warmCache(root, cache), 2, "main.ts and src/deep/lib.ts; not the tests");
		assert.equal(warmCache(root, cache), 0, "nothing stripped twice");
		const before = cachedFiles().sort();
		chmodSync(cache, 0o555);
		try {
			const r = run();
			assert.equal(r.status, 0, r.stderr);
			assert.equal(r.stdout, "8\n");
			assert.deepEqual(cachedFiles().sort(), before);
		} finally {
			chmodSync(cache, 0o755);
		}
	});
});
