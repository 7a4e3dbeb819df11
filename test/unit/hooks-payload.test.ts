import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { HookPayloadError, parseDelivery } from "../../src/hooks/payload.ts";

const fixture = (name: string) => readFileSync(path.join(import.meta.dirname, "../fixtures/hooks", name));

describe("webhook payloads → git.* variables", () => {
	test("GitHub push (documented sample)", () => {
		const d = parseDelivery(
			"github",
			{ "x-github-event": "push", "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958" },
			fixture("github-push.json"),
		);
		assert.equal(d.deliveryId, "72d3162e-cc78-11e3-81ab-4c9367dc0958");
		assert.deepEqual(d.changes, [
			{
				type: "push",
				branch: "main",
				commit: "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
				vars: {
					"git.branch": "main",
					"git.repository": "Codertocat/Hello-World",
					"git.hash": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
					"git.hash.short": "0d1a26e",
					"git.author": "Codertocat",
					"git.author.email": "21031067+Codertocat@users.noreply.github.com",
					"git.message": "Update README.md",
				},
			},
		]);
	});

	test("a \\u0000 or lone surrogate escape in the payload becomes U+FFFD (no store keeps them)", () => {
		const push = JSON.parse(fixture("github-push.json").toString());
		push.ref = "refs/heads/ma\u0000in";
		push.head_commit.message = "cut \ud83d";
		const d = parseDelivery("github", { "x-github-event": "push" }, Buffer.from(JSON.stringify(push)));
		const vars = d.changes[0]!.vars;
		assert.equal(vars["git.branch"], "ma\uFFFDin");
		assert.equal(d.changes[0]!.branch, "ma\uFFFDin");
		assert.ok(
			Object.values(vars).some((v) => v === "cut \uFFFD"),
			JSON.stringify(vars),
		);
	});

	test("GitHub push deleting a branch, and a form-encoded body", () => {
		const body = fixture("github-delete-branch-push.json");
		const d = parseDelivery("github", { "x-github-event": "push" }, body);
		assert.deepEqual(d.changes, [
			{
				type: "branch-deleted",
				branch: "feature/x",
				vars: { "git.branch": "feature/x", "git.repository": "Codertocat/Hello-World" },
			},
		]);
		// Without a delivery header, the id is a digest of the body (so a retry still matches).
		assert.match(d.deliveryId, /^sha256-[0-9a-f]{64}$/);
		const form = Buffer.from(`payload=${encodeURIComponent(body.toString())}`);
		const f = parseDelivery(
			"github",
			{ "x-github-event": "push", "content-type": "application/x-www-form-urlencoded" },
			form,
		);
		assert.equal(f.changes[0]?.type, "branch-deleted");
	});

	test("GitLab push (documented sample): author and message of the head commit", () => {
		const d = parseDelivery(
			"gitlab",
			{ "x-gitlab-event": "Push Hook", "x-gitlab-event-uuid": "13792a34-cac6-4fda-95a8-c58e00a3954e" },
			fixture("gitlab-push.json"),
		);
		assert.equal(d.deliveryId, "13792a34-cac6-4fda-95a8-c58e00a3954e");
		assert.equal(d.changes.length, 1);
		assert.deepEqual(d.changes[0]!.vars, {
			"git.branch": "master",
			"git.repository": "mike/diaspora",
			"git.hash": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
			"git.hash.short": "da15608",
			"git.author": "GitLab dev user",
			"git.author.email": "gitlabdev@dv6700.(none)",
			"git.message": "fixed readme",
		});
	});

	test("Gitea and Forgejo push (documented sample)", () => {
		for (const [provider, headers] of [
			["gitea", { "x-gitea-event": "push", "x-gitea-delivery": "d1" }],
			["forgejo", { "x-forgejo-event": "push", "x-forgejo-delivery": "d1" }],
		] as const) {
			const d = parseDelivery(provider, headers, fixture("gitea-push.json"));
			assert.equal(d.deliveryId, "d1");
			assert.equal(d.changes[0]!.type, "push");
			assert.equal(d.changes[0]!.vars["git.branch"], "develop");
			assert.equal(d.changes[0]!.vars["git.author.email"], "someone@gitea.io");
			assert.equal(d.changes[0]!.vars["git.message"], "Webhooks Yay!");
			assert.equal(d.changes[0]!.vars["git.repository"], "gitea/webhooks");
		}
	});

	test("Bitbucket Server repo:refs_changed (documented shape): an update and a branch deletion", () => {
		const d = parseDelivery(
			"bitbucket",
			{ "x-event-key": "repo:refs_changed", "x-request-id": "fdbc6d8c-5c1b-4dab-a0a1-8e5b8ebd4a94" },
			fixture("bitbucket-refs-changed.json"),
		);
		assert.deepEqual(
			d.changes.map((c) => [c.type, c.branch, c.commit]),
			[
				["push", "master", "178864a7d521b6f5e720b386b2c2b0ef8563e0dc"],
				["branch-deleted", "old-feature", undefined],
			],
		);
		assert.equal(d.changes[0]!.vars["git.repository"], "PROJ/repository");
		assert.equal(d.changes[0]!.vars["git.author"], "Administrator");
	});

	test("tags, new branches, pings, other events and malformed bodies", () => {
		const tag = parseDelivery(
			"github",
			{ "x-github-event": "push" },
			Buffer.from(JSON.stringify({ ref: "refs/tags/v1.2", before: "0".repeat(40), after: "a".repeat(40) })),
		);
		assert.deepEqual(
			[tag.changes[0]!.type, tag.changes[0]!.tag, tag.changes[0]!.vars["git.tag"]],
			["tag", "v1.2", "v1.2"],
		);
		const created = parseDelivery(
			"gitlab",
			{ "x-gitlab-event": "Push Hook" },
			Buffer.from(
				JSON.stringify({ ref: "refs/heads/feature/x", before: "0".repeat(40), after: "b".repeat(40) }),
			),
		);
		assert.equal(created.changes[0]!.type, "branch-created");
		assert.equal(parseDelivery("github", { "x-github-event": "ping" }, Buffer.from("{}")).ping, true);
		assert.match(
			parseDelivery("github", { "x-github-event": "pull_request" }, Buffer.from("{}")).ignored ?? "",
			/pull_request/,
		);
		assert.throws(
			() => parseDelivery("github", { "x-github-event": "push" }, Buffer.from("not json")),
			HookPayloadError,
		);
		assert.throws(
			() => parseDelivery("github", { "x-github-event": "push" }, Buffer.from("[1]")),
			HookPayloadError,
		);
		assert.throws(
			() => parseDelivery("github", { "x-github-event": "push" }, Buffer.from("{}")),
			/without `ref`/,
		);
		const long = parseDelivery(
			"github",
			{ "x-github-event": "push" },
			Buffer.from(
				JSON.stringify({
					ref: "refs/heads/m",
					after: "c".repeat(40),
					head_commit: { message: "x".repeat(10_000) },
				}),
			),
		);
		assert.equal(long.changes[0]!.vars["git.message"]!.length, 4096);
	});
});
