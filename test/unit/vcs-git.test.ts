// The git helpers against real repositories in a temp directory: repository discovery, the
// files of .cds/ at a given commit fetched into a bare cache, and the refusals that keep
// options and helpers away from git.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { isCdsFile } from "../../src/vcs/cds-files.ts";
import {
	assertBranch,
	currentBranch,
	ensureBareCache,
	fetchCommit,
	findRepositoryRoot,
	GitError,
	headCommit,
	lsRemoteDefaultBranch,
	readTreeFiles,
	remoteUrl,
} from "../../src/vcs/git.ts";
import { RemoteUrlError } from "../../src/vcs/remote-url.ts";

let dir: string;
let work: string;
let remote: string;
const run = (cwd: string, ...args: string[]) =>
	execFileSync("git", args, {
		cwd,
		encoding: "utf8",
		env: {
			...process.env,
			GIT_AUTHOR_NAME: "a",
			GIT_AUTHOR_EMAIL: "a@b",
			GIT_COMMITTER_NAME: "a",
			GIT_COMMITTER_EMAIL: "a@b",
		},
	}).trim();

describe("git helpers", () => {
	before(() => {
		dir = mkdtempSync(path.join(tmpdir(), "vcs-git-"));
		remote = path.join(dir, "remote.git");
		run(dir, "init", "--quiet", "--bare", "--initial-branch=main", remote);
		work = path.join(dir, "work");
		run(dir, "clone", "--quiet", remote, "work");
		mkdirSync(path.join(work, ".cds", "sub"), { recursive: true });
		mkdirSync(path.join(work, "src"));
		writeFileSync(path.join(work, ".cds", "w.yml"), "name: w\n");
		writeFileSync(path.join(work, ".cds", "sub", "p.pip.yml"), "name: p\n");
		writeFileSync(path.join(work, ".cds", "README.md"), "not a cds file\n");
		writeFileSync(path.join(work, "src", "x.yml"), "outside\n");
		run(work, "add", "-A");
		run(work, "commit", "--quiet", "-m", "one");
		run(work, "push", "--quiet", "origin", "main");
	});
	after(() => rmSync(dir, { recursive: true, force: true }));

	test("the repository root is found from a subdirectory; none outside a repository", () => {
		assert.equal(findRepositoryRoot(path.join(work, ".cds", "sub")), work);
		assert.equal(findRepositoryRoot(dir), null);
	});

	test("branch, commit and remote of a clone", async () => {
		assert.equal(await currentBranch(work), "main");
		assert.match(await headCommit(work), /^[0-9a-f]{40}$/);
		assert.equal(await remoteUrl(work, "origin"), remote);
		assert.equal(await remoteUrl(work, "upstream"), null);
		await assert.rejects(remoteUrl(work, "-c"), GitError);
		assert.equal(await lsRemoteDefaultBranch(remote), "main");
	});

	test("the .cds files of a commit on a new branch, read from a bare cache without checkout", async () => {
		run(work, "checkout", "--quiet", "-b", "feature/y");
		writeFileSync(path.join(work, ".cds", "w.yml"), "name: w\n# feature\n");
		run(work, "commit", "--quiet", "-am", "two");
		run(work, "push", "--quiet", "origin", "feature/y");
		const commit = await headCommit(work);
		const cache = path.join(dir, "cache.git");
		await ensureBareCache(cache);
		await fetchCommit(cache, remote, commit, "feature/y");
		const files = await readTreeFiles(cache, commit, ".cds", isCdsFile);
		assert.deepEqual(files, [
			{ path: "sub/p.pip.yml", content: "name: p\n" },
			{ path: "w.yml", content: "name: w\n# feature\n" },
		]);
		const first = run(work, "rev-parse", "HEAD~1");
		assert.deepEqual(
			(await readTreeFiles(cache, first, "./.cds/", isCdsFile)).map((f) => f.content),
			["name: p\n", "name: w\n"],
		);
	});

	test("refusals: option-like URLs, ext::, short or option-like commits, bad branches, escaping dirs", async () => {
		const cache = path.join(dir, "cache2.git");
		await ensureBareCache(cache);
		const commit = await headCommit(work);
		const pwned = path.join(dir, "pwned");
		await assert.rejects(fetchCommit(cache, `--upload-pack=touch ${pwned}`, commit, null), RemoteUrlError);
		await assert.rejects(fetchCommit(cache, `ext::sh -c touch% ${pwned}`, commit, null), RemoteUrlError);
		await assert.rejects(fetchCommit(cache, remote, "--all", null), GitError);
		await assert.rejects(fetchCommit(cache, remote, commit.slice(0, 12), null), GitError);
		await assert.rejects(fetchCommit(cache, remote, commit, "--force"), GitError);
		assert.throws(() => assertBranch("a..b"), GitError);
		assert.throws(() => assertBranch("-x"), GitError);
		assert.doesNotThrow(() => assertBranch("feature/x"));
		await assert.rejects(readTreeFiles(cache, commit, "../etc", isCdsFile), GitError);
		assert.equal(existsSync(pwned), false);
	});

	test("a file:// remote is refused, naming the setting, when local repositories are disabled", async () => {
		const cache = path.join(dir, "cache3.git");
		await ensureBareCache(cache);
		const commit = await headCommit(work);
		await assert.rejects(
			fetchCommit(cache, `file://${remote}`, commit, null, { allowFile: false }),
			/local repositories are off.*CDS_REPOSITORY_ALLOW_LOCAL=true/,
		);
	});
});
