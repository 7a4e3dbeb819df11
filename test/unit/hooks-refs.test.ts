import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkRemoteUrl, diffRefs, GitRemoteError, lsRemote, parseLsRemote } from "../../src/hooks/refs.ts";

const A = "a".repeat(40);
const B = "b".repeat(40);
const C = "c".repeat(40);

describe("poller refs", () => {
	test("ls-remote output: branches and tags, annotated tags by their commit", () => {
		const out = `${A}\trefs/heads/main\n${B}\trefs/heads/feature/x\n${C}\trefs/tags/v1.0\n${A}\trefs/tags/v1.0^{}\n${B}\tHEAD\n${C}\trefs/pull/1/head\n`;
		assert.deepEqual(parseLsRemote(out), {
			"refs/heads/main": A,
			"refs/heads/feature/x": B,
			"refs/tags/v1.0": A,
		});
	});

	test("new commit, new branch, deleted branch, new tag", () => {
		const before = { "refs/heads/main": A, "refs/heads/old": B };
		const after = { "refs/heads/main": C, "refs/heads/feature/x": B, "refs/tags/v2": A };
		const changes = diffRefs(before, after, "org/repo");
		assert.deepEqual(
			changes.map((c) => [c.type, c.branch ?? c.tag, c.commit]),
			[
				["branch-created", "feature/x", B],
				["push", "main", C],
				["branch-deleted", "old", undefined],
				["tag", "v2", A],
			],
		);
		assert.deepEqual(changes[1]!.vars, {
			"git.repository": "org/repo",
			"git.branch": "main",
			"git.hash": C,
			"git.hash.short": "ccccccc",
		});
		assert.deepEqual(diffRefs(after, after, "org/repo"), []);
	});

	test("URLs that git could read as options are refused before git runs", async () => {
		for (const url of [
			"--upload-pack=touch /tmp/pwned",
			"-oProxyCommand=x",
			"ext::sh -c touch% /tmp/x",
			"a\nb",
			"",
		]) {
			assert.throws(() => checkRemoteUrl(url), GitRemoteError, url);
			await assert.rejects(lsRemote(url), GitRemoteError);
		}
		await assert.rejects(lsRemote("/nonexistent/repository/path.git", { timeoutMs: 10_000 }), /ls-remote/);
	});
});
