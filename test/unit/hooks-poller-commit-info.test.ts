// Runs started by the poller get git.author, git.author.email and git.message like runs started
// by a webhook: `git ls-remote` gives only commits, so the poller asks for the commit's details
// (before, `{{.git.message}}` stayed literal in such runs).

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import type { HookIntent } from "../../src/hooks/source.ts";
import { pollerContext } from "../helpers/poller-context.ts";
import { PollerSource } from "../../src/hooks/sources/poller.ts";
import type { RepositoryDoc } from "../../src/hooks/source.ts";
import type { RefMap } from "../../src/hooks/refs.ts";
import { readCommitInfo } from "../../src/vcs/git.ts";

const A = "a".repeat(40);
const B = "b".repeat(40);
const C = "c".repeat(40);

const repo = { id: "P/r", project: "P", repo: "org/app", url: "/srv/app.git" } as unknown as RepositoryDoc;

describe("the poller's git.* variables", () => {
	test("a polled push and a new branch carry the commit's author and message", async () => {
		const views: RefMap[] = [{ "refs/heads/main": A }, { "refs/heads/main": B, "refs/heads/feature": C }];
		const poller = new PollerSource({ lsRemote: async () => views.shift()! });
		const asked: string[] = [];
		const { ctx, emitted } = pollerContext({
			commitInfo: async (id, commit, branch) => {
				asked.push(`${id} ${commit.slice(0, 1)} ${branch}`);
				return { author: `Ada ${commit.slice(0, 1)}`, authorEmail: "ada@example.com", message: "feat: x" };
			},
		});
		await poller.poll(ctx, repo); // the baseline
		await poller.poll(ctx, repo);
		assert.equal(emitted.length, 1);
		const vars = emitted[0]!.intents.map((i: HookIntent) => (i as { vars: Record<string, string> }).vars);
		assert.deepEqual(
			vars.map((v) => [v["git.branch"], v["git.author"], v["git.author.email"], v["git.message"]]),
			[
				["feature", "Ada c", "ada@example.com", "feat: x"],
				["main", "Ada b", "ada@example.com", "feat: x"],
			],
		);
		assert.deepEqual(asked.sort(), ["P/r b main", "P/r c feature"]);
	});

	test("a commit that cannot be read still emits its change, without those variables, and is logged", async () => {
		const views: RefMap[] = [{ "refs/heads/main": A }, { "refs/heads/main": B }];
		const poller = new PollerSource({ lsRemote: async () => views.shift()! });
		const { ctx, emitted, warnings } = pollerContext({
			commitInfo: async () => {
				throw new Error("cannot fetch");
			},
		});
		await poller.poll(ctx, repo);
		await poller.poll(ctx, repo);
		const vars = (emitted[0]!.intents[0] as { vars: Record<string, string> }).vars;
		assert.equal(vars["git.hash"], B);
		assert.equal(vars["git.message"], undefined);
		assert.match(warnings.join("\n"), /no author or message for b{40}: cannot fetch/);
	});
});

describe("readCommitInfo", () => {
	const dir = mkdtempSync(path.join(tmpdir(), "cds-commit-info-"));
	after(() => rmSync(dir, { recursive: true, force: true }));

	test("gives the author, the email and the whole message of a commit", async () => {
		const env = {
			PATH: process.env.PATH ?? "/usr/bin:/bin",
			HOME: dir,
			GIT_AUTHOR_NAME: "Zoë Dev",
			GIT_AUTHOR_EMAIL: "zoe@example.com",
			GIT_COMMITTER_NAME: "Bot",
			GIT_COMMITTER_EMAIL: "bot@example.com",
		};
		const run = (...args: string[]) => execFileSync("git", args, { cwd: dir, env, encoding: "utf8" }).trim();
		run("init", "--quiet");
		run("commit", "--quiet", "--allow-empty", "-m", "fix: the title", "-m", "the body\nover two lines");
		const commit = run("rev-parse", "HEAD");
		assert.deepEqual(await readCommitInfo(dir, commit), {
			author: "Zoë Dev",
			authorEmail: "zoe@example.com",
			message: "fix: the title\n\nthe body\nover two lines",
		});
	});
});
