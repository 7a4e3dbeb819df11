// `cds run` as a user types it: the real CLI process, in a temporary git working tree holding
// examples/hello's files under .cds/, with no server and no login. Success, a failing step, a
// file the linter rejects, --only and a pipeline run alone, each by its exit code and output.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";

const ROOT = path.resolve(import.meta.dirname, "../..");
// The launcher a user runs (`npx cds`): it loads the cached type-stripped modules (bin/ts-cache.mjs).
const CDS = path.join(ROOT, "bin/cds.mjs");

interface Result {
	code: number;
	stdout: string;
	stderr: string;
}

/** Runs `cds ARGS…` in `cwd` with a private HOME (so no saved login can be used). */
function cds(
	cwd: string,
	home: string,
	args: string[],
	extraEnv: Record<string, string> = {},
): Promise<Result> {
	return new Promise((done) => {
		execFile(
			process.execPath,
			[CDS, ...args],
			{ cwd, env: { HOME: home, PATH: process.env.PATH ?? "/usr/bin:/bin", ...extraEnv }, timeout: 120_000 },
			(err, stdout, stderr) => {
				const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
				done({ code, stdout, stderr });
			},
		);
	});
}

/** A git working tree on branch `main` with examples/hello in .cds/ (no commit needed). */
function workingTree(base: string, name: string): string {
	const dir = path.join(base, name);
	mkdirSync(path.join(dir, ".git", "refs", "heads"), { recursive: true });
	writeFileSync(path.join(dir, ".git", "HEAD"), "ref: refs/heads/main\n");
	cpSync(path.join(ROOT, "examples/hello"), path.join(dir, ".cds"), { recursive: true });
	return dir;
}

describe("cds run (local, no server)", () => {
	let base: string;
	let home: string;
	before(() => {
		base = mkdtempSync(path.join(tmpdir(), "cds-local-run-"));
		home = path.join(base, "home");
		mkdirSync(home);
	});
	after(() => rmSync(base, { recursive: true, force: true }));

	test("runs the only workflow: exit 0, the tree and every step's logs printed", async () => {
		const dir = workingTree(base, "ok");
		const r = await cds(dir, home, ["run"]);
		assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
		assert.match(r.stdout, /running hello from \.cds/);
		assert.match(r.stdout, /├─ build +Success/);
		assert.match(r.stdout, /└─ test +Success/);
		// The logs, with the current branch of the working tree as git.branch.
		assert.match(r.stdout, /building hello, run 1, on branch main/);
		assert.match(r.stdout, /testing hello, run 1/);
		assert.match(r.stdout, /hello: Success\n$/);
	});

	test("the embedded node's temporary directory is gone after a success and after a failure", async () => {
		// The CLI ends without closing the thrown-away store: what it leaves must still be removed.
		const tmp = path.join(base, "tmp");
		mkdirSync(tmp);
		const ok = await cds(workingTree(base, "clean-ok"), home, ["run"], { TMPDIR: tmp });
		assert.equal(ok.code, 0, `${ok.stdout}\n${ok.stderr}`);
		assert.match(ok.stdout, /hello: Success\n$/);
		const failing = workingTree(base, "clean-fail");
		const file = path.join(failing, ".cds/test.pip.yml");
		writeFileSync(
			file,
			readFileSync(file, "utf8").replace('- echo "testing', '- false\n    - echo "testing'),
		);
		const failed = await cds(failing, home, ["run"], { TMPDIR: tmp });
		assert.equal(failed.code, 1, `${failed.stdout}\n${failed.stderr}`);
		assert.deepEqual(readdirSync(tmp), []);
	});

	test("a failing step: exit 1, the failure and its node's logs printed", async () => {
		const dir = workingTree(base, "fail");
		const file = path.join(dir, ".cds/test.pip.yml");
		writeFileSync(
			file,
			readFileSync(file, "utf8").replace(
				'- echo "testing',
				'- echo "about to fail"; false\n    - echo "testing',
			),
		);
		const r = await cds(dir, home, ["run", "hello"]);
		assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
		assert.match(r.stdout, /└─ test +Fail/);
		assert.match(r.stdout, /about to fail/);
		assert.doesNotMatch(r.stdout, /testing hello/);
		assert.match(r.stdout, /hello: Fail\n$/);
	});

	test("a file the linter rejects: exit 2 with file:line:column, nothing run", async () => {
		const dir = workingTree(base, "bad");
		writeFileSync(
			path.join(dir, ".cds/bad.yml"),
			"name: bad\nversion: v2.0\nworkflow:\n  a:\n    pipeline: nope\n",
		);
		const r = await cds(dir, home, ["run", "hello"]);
		assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`);
		assert.match(r.stderr, /^\.cds\/bad\.yml:5:15: pipeline 'nope'/m);
		assert.doesNotMatch(r.stdout, /running/);
	});

	test("--only NODE runs that node alone; a pipeline name runs that pipeline alone", async () => {
		const dir = workingTree(base, "only");
		const only = await cds(dir, home, ["run", "--only", "test"]);
		assert.equal(only.code, 0, `${only.stdout}\n${only.stderr}`);
		assert.match(only.stdout, /testing hello, run 1/);
		assert.doesNotMatch(only.stdout, /building/);
		assert.doesNotMatch(only.stdout, /build +Success/);

		const pipeline = await cds(dir, home, ["run", "build", "-p", "git.branch=feature"]);
		assert.equal(pipeline.code, 0, `${pipeline.stdout}\n${pipeline.stderr}`);
		assert.match(pipeline.stdout, /building build, run 1, on branch feature/);
		assert.doesNotMatch(pipeline.stdout, /testing/);
	});

	test("bad names are usage errors naming what exists", async () => {
		const dir = workingTree(base, "names");
		const r = await cds(dir, home, ["run", "nothing"]);
		assert.equal(r.code, 2);
		assert.match(r.stderr, /no workflow or pipeline named nothing: workflows hello; pipelines build, test/);
		const node = await cds(dir, home, ["run", "--only", "deploy"]);
		assert.equal(node.code, 2);
		assert.match(node.stderr, /workflow hello has no pipeline node deploy \(nodes: build, test\)/);
	});
});
