import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { builtinStep, FakeApi, jobSpec } from "../fixtures/worker/fake-api.ts";
import { runTestJob } from "../fixtures/worker/run-job.ts";

let api: FakeApi;
let bare: string;
let firstCommit: string;
before(async () => {
	api = await new FakeApi().start();
	// A real repository: two commits on main, one on a feature branch, published to a bare repo.
	const root = await mkdtemp(join(tmpdir(), "cds-git-"));
	const work = join(root, "work");
	bare = join(root, "repo.git");
	const git = (...args: string[]) =>
		execFileSync("git", args, {
			cwd: work,
			env: {
				...process.env,
				GIT_AUTHOR_NAME: "t",
				GIT_AUTHOR_EMAIL: "t@x",
				GIT_COMMITTER_NAME: "t",
				GIT_COMMITTER_EMAIL: "t@x",
			},
		})
			.toString()
			.trim();
	execFileSync("git", ["init", "-q", "-b", "main", work]);
	await writeFile(join(work, "README"), "first\n");
	git("add", ".");
	git("commit", "-q", "-m", "first");
	firstCommit = git("rev-parse", "HEAD");
	await writeFile(join(work, "README"), "second\n");
	git("commit", "-q", "-am", "second");
	git("checkout", "-q", "-b", "feature");
	await writeFile(join(work, "FEATURE"), "yes\n");
	git("add", ".");
	git("commit", "-q", "-m", "feature");
	execFileSync("git", ["clone", "-q", "--bare", work, bare]);
});
after(() => api.close());

let tokens = 0;
function addJob(
	steps: Record<string, unknown>[] | (string | Record<string, unknown>)[],
	variables: Record<string, string> = {},
) {
	const token = `git-${++tokens}`;
	const spec = jobSpec(steps);
	spec.variables = { ...(spec.variables as Record<string, string>), ...variables };
	return { token, job: api.addJob(token, spec) };
}

describe("gitClone", () => {
	test("clones a branch into an absolute directory that resolves inside the workspace", async () => {
		const { token, job } = addJob([
			builtinStep("gitClone", { url: bare, branch: "feature", directory: "/go/src/app/" }),
			"cat go/src/app/FEATURE go/src/app/README && git -C go/src/app rev-parse --abbrev-ref HEAD",
		]);
		const outcome = await runTestJob(api, token);
		assert.equal(outcome.status, "Success", api.allLogs(job));
		assert.equal(api.logText(job, 1), "yes\nsecond\nfeature\n");
	});

	test("checks out the given commit", async () => {
		const { token, job } = addJob([
			builtinStep("gitClone", { url: bare, branch: "main", commit: firstCommit, directory: "src" }),
			"cat src/README",
		]);
		await runTestJob(api, token);
		assert.equal(api.logText(job, 1), "first\n");
	});

	test("checkout clones the run's repository from git.* variables into {{.cds.workspace}}", async () => {
		const { token, job } = addJob([builtinStep("checkout", "{{.cds.workspace}}"), "cat README"], {
			"git.url": bare,
			"git.branch": "main",
			"git.hash": firstCommit,
		});
		const outcome = await runTestJob(api, token);
		assert.equal(outcome.status, "Success", api.allLogs(job));
		assert.equal(api.logText(job, 1), "first\n");
	});

	test("an unresolved {{.git.tag}} counts as not given", async () => {
		const { token, job } = addJob([
			builtinStep("gitClone", { url: bare, branch: "main", tag: "{{.git.tag}}", directory: "r" }),
			"cat r/README",
		]);
		await runTestJob(api, token);
		assert.equal(api.logText(job, 1), "second\n");
	});

	test("option-like values are refused before git runs", async () => {
		const { token, job } = addJob([
			builtinStep("gitClone", { url: "--upload-pack=touch /tmp/pwned", directory: "a" }, { optional: true }),
			builtinStep("gitClone", { url: bare, branch: "--orphan", directory: "b" }, { optional: true }),
			builtinStep("gitClone", { url: bare, commit: "-q", directory: "c" }, { optional: true }),
			builtinStep(
				"gitClone",
				{ url: "ext::sh -c touch% /tmp/pwned-ext", directory: "d" },
				{ optional: true },
			),
		]);
		await runTestJob(api, token);
		assert.match(api.logText(job, 0), /url "--upload-pack=touch \/tmp\/pwned" must not start with "-"/);
		assert.match(api.logText(job, 1), /branch "--orphan" must not start with "-"/);
		assert.match(api.logText(job, 2), /commit "-q" must not start with "-"/);
		assert.match(api.logText(job, 3), /transport 'ext' not allowed|step failed/);
		assert.deepEqual(
			job.result.steps.map((s: { status: string }) => s.status),
			["Fail", "Fail", "Fail", "Fail"],
		);
	});

	test("a clone that fails reports git's message", async () => {
		const { token, job } = addJob([
			builtinStep("gitClone", { url: join(bare, "missing.git"), directory: "x" }),
		]);
		const outcome = await runTestJob(api, token);
		assert.equal(outcome.status, "Fail");
		assert.match(api.logText(job, 0), /does not appear to be a git repository|not found|fatal/);
	});
});
