// The provider API clients, checked against a local HTTP server standing in for GitHub
// (Enterprise), GitLab, Gitea/Forgejo and Bitbucket Server: the requests they build
// (method, path, headers, body) follow each provider's published REST documentation.
// The real services cannot be reached from here.

import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { after, before, describe, test } from "node:test";
import { providerClient } from "../../src/vcs/providers/client.ts";
import { githubApiBase } from "../../src/vcs/providers/github.ts";
import { ProviderError } from "../../src/vcs/providers/http.ts";

interface Seen {
	method: string;
	url: string;
	headers: IncomingMessage["headers"];
	body: any;
}

let server: Server;
let base: string;
let seen: Seen[] = [];
let answer: { status: number; body: unknown; hang?: boolean } = { status: 201, body: { id: 42 } };

const SHA = "0123456789abcdef0123456789abcdef01234567";
const TOKEN = "tok-secret-123";
const hook = { repo: "org/app", url: "https://cds.example/api/v1/hooks/repository/u-1", secret: "s3cret" };
const status = {
	repo: "org/app",
	commit: SHA,
	state: "failure" as const,
	context: "cds/DEMO/demo",
	description: "run #3 failed",
	targetUrl: "https://cds.example/runs/3",
};

describe("provider API clients", () => {
	before(async () => {
		server = createServer((req, res) => {
			let raw = "";
			req.on("data", (c) => (raw += c));
			req.on("end", () => {
				seen.push({
					method: req.method!,
					url: req.url!,
					headers: req.headers,
					body: raw ? JSON.parse(raw) : null,
				});
				if (answer.hang) return;
				res.writeHead(answer.status, { "content-type": "application/json" });
				res.end(JSON.stringify(answer.body));
			});
		});
		await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
		base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
	});
	after(() => {
		server.closeAllConnections();
		server.close();
	});

	const fresh = () => {
		seen = [];
		answer = { status: 201, body: { id: 42 } };
	};

	test("GitHub: POST /repos/{owner}/{repo}/hooks (web, json, secret) and /statuses/{sha}", async () => {
		fresh();
		const client = providerClient("github", { baseUrl: base, token: TOKEN })!;
		assert.deepEqual(await client.createWebhook(hook), { id: "42" });
		await client.setCommitStatus(status);
		assert.equal(seen[0]!.method, "POST");
		assert.equal(seen[0]!.url, "/api/v3/repos/org/app/hooks");
		assert.equal(seen[0]!.headers.authorization, `Bearer ${TOKEN}`);
		assert.equal(seen[0]!.headers.accept, "application/vnd.github+json");
		assert.equal(seen[0]!.headers["x-github-api-version"], "2022-11-28");
		assert.deepEqual(seen[0]!.body, {
			name: "web",
			active: true,
			events: ["push", "create", "delete"],
			config: { url: hook.url, content_type: "json", secret: "s3cret", insecure_ssl: "0" },
		});
		assert.equal(seen[1]!.url, `/api/v3/repos/org/app/statuses/${SHA}`);
		assert.deepEqual(seen[1]!.body, {
			state: "failure",
			context: "cds/DEMO/demo",
			description: "run #3 failed",
			target_url: "https://cds.example/runs/3",
		});
		assert.equal(githubApiBase("https://github.com"), "https://api.github.com");
	});

	test("GitLab: PRIVATE-TOKEN, the URL-encoded project path, X-Gitlab-Token secret, 'failed'", async () => {
		fresh();
		const client = providerClient("gitlab", { baseUrl: `${base}/`, token: TOKEN })!;
		await client.createWebhook({ ...hook, repo: "group/sub/app" });
		await client.setCommitStatus({ ...status, repo: "group/sub/app" });
		assert.equal(seen[0]!.url, "/api/v4/projects/group%2Fsub%2Fapp/hooks");
		assert.equal(seen[0]!.headers["private-token"], TOKEN);
		assert.deepEqual(seen[0]!.body, {
			url: hook.url,
			token: "s3cret",
			push_events: true,
			tag_push_events: true,
			enable_ssl_verification: true,
		});
		assert.equal(seen[1]!.url, `/api/v4/projects/group%2Fsub%2Fapp/statuses/${SHA}`);
		assert.equal(seen[1]!.body.state, "failed");
		assert.equal(seen[1]!.body.name, "cds/DEMO/demo");
	});

	test("Gitea/Forgejo: token auth, a 'gitea' hook with push/create/delete, statuses", async () => {
		fresh();
		const client = providerClient("gitea", { baseUrl: base, token: TOKEN })!;
		await client.createWebhook(hook);
		await client.setCommitStatus({ ...status, state: "pending" });
		assert.equal(seen[0]!.url, "/api/v1/repos/org/app/hooks");
		assert.equal(seen[0]!.headers.authorization, `token ${TOKEN}`);
		assert.deepEqual(seen[0]!.body, {
			type: "gitea",
			active: true,
			events: ["push", "create", "delete"],
			config: { url: hook.url, content_type: "json", secret: "s3cret" },
		});
		assert.equal(seen[1]!.url, `/api/v1/repos/org/app/statuses/${SHA}`);
		assert.equal(seen[1]!.body.state, "pending");
	});

	test("Bitbucket Server: repo:refs_changed webhook with its secret, build status INPROGRESS/SUCCESSFUL/FAILED", async () => {
		fresh();
		const client = providerClient("bitbucket", { baseUrl: base, token: TOKEN })!;
		await client.createWebhook({ ...hook, repo: "scm/PRJ/app" });
		await client.setCommitStatus({ ...status, state: "success" });
		assert.equal(seen[0]!.url, "/rest/api/1.0/projects/PRJ/repos/app/webhooks");
		assert.equal(seen[0]!.headers.authorization, `Bearer ${TOKEN}`);
		assert.deepEqual(seen[0]!.body, {
			name: "cds",
			url: hook.url,
			active: true,
			events: ["repo:refs_changed"],
			configuration: { secret: "s3cret" },
		});
		assert.equal(seen[1]!.url, `/rest/build-status/1.0/commits/${SHA}`);
		assert.equal(seen[1]!.body.state, "SUCCESSFUL");
		assert.equal(seen[1]!.body.key, "cds/DEMO/demo");
	});

	test("plain git has no API client", () => {
		assert.equal(providerClient("git", { baseUrl: "", token: "" }), null);
	});

	test("a refusal names the provider and its message, never the token; a silent provider times out", async () => {
		fresh();
		answer = { status: 403, body: { message: "Resource not accessible by integration" } };
		const client = providerClient("github", { baseUrl: base, token: TOKEN, timeoutMs: 300 })!;
		await assert.rejects(client.createWebhook(hook), (e) => {
			assert.ok(e instanceof ProviderError);
			assert.equal(e.status, 403);
			assert.match(
				e.message,
				/^GitHub: POST \/api\/v3\/repos\/org\/app\/hooks answered 403: Resource not accessible/,
			);
			assert.ok(!e.message.includes(TOKEN));
			return true;
		});
		answer = { status: 200, body: {}, hang: true };
		const started = Date.now();
		await assert.rejects(client.setCommitStatus(status), /timed out/);
		assert.ok(Date.now() - started < 5000);
	});
});
