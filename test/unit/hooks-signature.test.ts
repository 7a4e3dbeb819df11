import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { detectProvider, hmacSha256Hex, verifySignature } from "../../src/hooks/signature.ts";

// GitHub's documented test vector (docs.github.com, "Validating webhook deliveries").
const GITHUB_SECRET = "It's a Secret to Everybody";
const GITHUB_PAYLOAD = Buffer.from("Hello, World!");
const GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

describe("webhook signatures", () => {
	test("GitHub's published example verifies, and any change to body, secret or signature fails", () => {
		const headers = { "x-github-event": "push", "x-hub-signature-256": GITHUB_SIGNATURE };
		assert.deepEqual(verifySignature("github", headers, GITHUB_PAYLOAD, GITHUB_SECRET), {
			ok: true,
			provider: "github",
		});
		assert.equal(verifySignature("github", headers, Buffer.from("Hello, World?"), GITHUB_SECRET).ok, false);
		assert.equal(verifySignature("github", headers, GITHUB_PAYLOAD, "another secret").ok, false);
		const tampered = GITHUB_SIGNATURE.replace(/7$/, "8");
		assert.equal(
			verifySignature(
				"github",
				{ ...headers, "x-hub-signature-256": tampered },
				GITHUB_PAYLOAD,
				GITHUB_SECRET,
			).ok,
			false,
		);
		// Without the sha256= prefix, or truncated: refused, no crash.
		for (const bad of [GITHUB_SIGNATURE.slice(7), "sha256=abc", "sha256=", ""]) {
			assert.equal(
				verifySignature("github", { ...headers, "x-hub-signature-256": bad }, GITHUB_PAYLOAD, GITHUB_SECRET)
					.ok,
				false,
			);
		}
	});

	test("Gitea and Forgejo sign with a bare hex HMAC-SHA256 of the body", () => {
		const secret = "gitea-secret";
		const body = Buffer.from('{"ref":"refs/heads/main"}');
		const hex = hmacSha256Hex(secret, body);
		assert.equal(
			verifySignature("gitea", { "x-gitea-event": "push", "x-gitea-signature": hex }, body, secret).ok,
			true,
		);
		assert.equal(
			verifySignature("gitea", { "x-forgejo-event": "push", "x-forgejo-signature": hex }, body, secret).ok,
			true,
		);
		assert.equal(
			verifySignature(
				"gitea",
				{ "x-gitea-event": "push", "x-gitea-signature": `sha256=${hex}` },
				body,
				secret,
			).ok,
			false,
		);
		// Gitea also sends GitHub's headers: the Gitea signature is the one checked.
		const both = {
			"x-gitea-signature": "0".repeat(64),
			"x-hub-signature-256": `sha256=${hex}`,
			"x-github-event": "push",
		};
		assert.equal(detectProvider(both), "gitea");
		assert.equal(verifySignature("gitea", both, body, secret).ok, false);
	});

	test("GitLab compares X-Gitlab-Token with the secret", () => {
		const body = Buffer.from("{}");
		assert.equal(
			verifySignature("gitlab", { "x-gitlab-event": "Push Hook", "x-gitlab-token": "s3cret" }, body, "s3cret")
				.ok,
			true,
		);
		assert.equal(
			verifySignature("gitlab", { "x-gitlab-event": "Push Hook", "x-gitlab-token": "s3cre" }, body, "s3cret")
				.ok,
			false,
		);
		assert.equal(verifySignature("gitlab", { "x-gitlab-event": "Push Hook" }, body, "s3cret").ok, false);
	});

	test("Bitbucket Server signs with X-Hub-Signature: sha256=<hex>", () => {
		const secret = "bb";
		const body = Buffer.from('{"eventKey":"repo:refs_changed"}');
		const headers = {
			"x-event-key": "repo:refs_changed",
			"x-hub-signature": `sha256=${hmacSha256Hex(secret, body)}`,
		};
		assert.equal(verifySignature("bitbucket", headers, body, secret).ok, true);
		assert.equal(verifySignature("bitbucket", headers, body, "other").ok, false);
	});

	test("a repository accepts only its manager's formats; a plain git remote never accepts a bare token", () => {
		const body = Buffer.from("{}");
		const gitlab = { "x-gitlab-event": "Push Hook", "x-gitlab-token": "s" };
		assert.equal(verifySignature("git", gitlab, body, "s").ok, false);
		assert.equal(verifySignature("github", gitlab, body, "s").ok, false);
		const github = { "x-github-event": "push", "x-hub-signature-256": `sha256=${hmacSha256Hex("s", body)}` };
		assert.equal(verifySignature("git", github, body, "s").ok, true);
		assert.equal(verifySignature("gitlab", github, body, "s").ok, false);
		assert.equal(verifySignature("github", {}, body, "s").ok, false);
		assert.equal(verifySignature("github", github, body, "").ok, false);
	});
});
