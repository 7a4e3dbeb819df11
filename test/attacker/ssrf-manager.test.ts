// Attack: make the server connect, with a project's credentials, to addresses inside its own
// network. A project admin registers a repository manager at a loopback URL (where the store,
// NATS or an internal API listen) and links a repository, so the server POSTs there with the
// manager's token; or links a plain-git "repository" that is a path on the server host. A
// default server refuses all of it with 400 OUTBOUND_REFUSED naming the setting, and the small
// server standing in for the internal API receives nothing. With the allow-list set, the same
// manager is reached (the attack path is real), and a redirect from it is not followed.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { runtimeOf } from "../../services/support/runtime.ts";
import { git } from "../helpers/ascode-repo.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

interface Seen {
	method: string;
	url: string;
	auth: string | undefined;
}

/** A small HTTP server on 127.0.0.1 recording every request; `answer` decides the reply. */
async function listen(answer: (req: Seen) => { status: number; headers?: Record<string, string> }) {
	const seen: Seen[] = [];
	const server: Server = createServer((req, res) => {
		const request = { method: req.method ?? "", url: req.url ?? "", auth: req.headers.authorization };
		seen.push(request);
		req.resume();
		req.on("end", () => {
			const { status, headers } = answer(request);
			res.writeHead(status, { "content-type": "application/json", ...headers });
			res.end(JSON.stringify({ id: 1 }));
		});
	});
	await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
	const port = (server.address() as { port: number }).port;
	return {
		seen,
		port,
		async close() {
			server.closeAllConnections();
			await new Promise((r) => server.close(r));
		},
	};
}

describe("attack: repository managers and remotes pointing inside the server's network", () => {
	let srv: TestServer;
	let internal: Awaited<ReturnType<typeof listen>>;
	let work: string;

	before(async () => {
		internal = await listen(() => ({ status: 201 }));
		work = mkdtempSync(path.join(tmpdir(), "cds-ssrf-"));
		git(work, "init", "--quiet", "--bare", "--initial-branch=master", "remote.git");
		srv = await startTestServer({}); // the defaults: nothing allowed
		assert.equal((await srv.api("POST", "/api/v1/projects", { key: "EVE", name: "Eve" })).status, 201);
	});
	after(async () => {
		await srv?.stop();
		await internal?.close();
		if (work) rmSync(work, { recursive: true, force: true });
	});

	const addManager = (name: string, url: string, type = "github") =>
		srv.api("POST", "/api/v1/projects/EVE/repositories/managers", {
			name,
			type,
			url,
			token: "manager-token",
		});

	test("a manager at a loopback URL, in every spelling, is refused with 400 naming CDS_OUTBOUND_ALLOW", async () => {
		const p = internal.port;
		for (const url of [
			`http://127.0.0.1:${p}/internal-api`,
			`http://localhost:${p}/internal-api`,
			`http://2130706433:${p}/`,
			`http://0x7f.1:${p}/`,
			`http://0177.0.0.1:${p}/`,
			`http://[::1]:${p}/`,
			`http://[::ffff:127.0.0.1]:${p}/`,
			"http://169.254.169.254/latest/meta-data/",
			"http://10.0.0.1/",
			"http://100.64.0.1/",
			"http://[fd00::1]/",
			"http://0.0.0.0/",
		]) {
			const res = await addManager(`m${Math.abs(hash(url))}`, url);
			assert.equal(res.status, 400, `${url}: ${JSON.stringify(res.body)}`);
			assert.equal(res.body.type, "OUTBOUND_REFUSED", url);
			assert.match(res.body.message, /CDS_OUTBOUND_ALLOW=/, url);
		}
		assert.deepEqual(internal.seen, []);
	});

	test("a manager stored before the policy (or while allowed): linking is refused and no request leaves", async () => {
		// As an older server (or one that allowed loopback then) would have stored it.
		const managers = await srv.server.store.collection({ name: "repository_managers" });
		await managers.insert({
			_id: "EVE/legacy",
			project: "EVE",
			name: "legacy",
			type: "github",
			url: `http://127.0.0.1:${internal.port}/internal-api`,
			sealedToken: runtimeOf(srv.server.broker).secrets.seal("manager-token"),
			created: new Date().toISOString(),
		});
		const res = await srv.api("POST", "/api/v1/projects/EVE/repositories", {
			manager: "legacy",
			url: "https://git.invalid/org/app.git",
			defaultBranch: "main",
		});
		assert.equal(res.status, 400, JSON.stringify(res.body));
		assert.equal(res.body.type, "OUTBOUND_REFUSED");
		assert.match(res.body.message, /loopback.*CDS_OUTBOUND_ALLOW=127\.0\.0\.1\/32/);
		assert.deepEqual(internal.seen, [], "the internal server received no request");
	});

	test("a plain-git remote on loopback, a local path or file:// is refused by default", async () => {
		const added = await srv.api("POST", "/api/v1/projects/EVE/repositories/managers", {
			name: "plain",
			type: "git",
		});
		assert.equal(added.status, 201, JSON.stringify(added.body));
		const link = (url: string) =>
			srv.api("POST", "/api/v1/projects/EVE/repositories", { manager: "plain", url });
		const loop = await link(`http://127.0.0.1:${internal.port}/org/app.git`);
		assert.equal(loop.status, 400, JSON.stringify(loop.body));
		assert.equal(loop.body.type, "OUTBOUND_REFUSED");
		assert.match(loop.body.message, /CDS_OUTBOUND_ALLOW=127\.0\.0\.1\/32/);
		const scp = await link("git@2130706433:org/app.git");
		assert.equal(scp.status, 400, JSON.stringify(scp.body));
		assert.equal(scp.body.type, "OUTBOUND_REFUSED");
		for (const local of [path.join(work, "remote.git"), `file://${path.join(work, "remote.git")}`]) {
			const res = await link(local);
			assert.equal(res.status, 400, `${local}: ${JSON.stringify(res.body)}`);
			assert.equal(res.body.type, "OUTBOUND_REFUSED");
			assert.match(res.body.message, /CDS_REPOSITORY_ALLOW_LOCAL=true/);
		}
		const listed = await srv.api("GET", "/api/v1/projects/EVE/repositories");
		assert.deepEqual(listed.body.items, [], "nothing was linked");
		assert.deepEqual(internal.seen, []);
	});
});

describe("control: with the allow-list set, the manager is reached — and a redirect from it is not followed", () => {
	let srv: TestServer;
	let inner: Awaited<ReturnType<typeof listen>>;
	let forge: Awaited<ReturnType<typeof listen>>;

	before(async () => {
		inner = await listen(() => ({ status: 201 }));
		// The allowed forge bounces every request to the other internal server.
		forge = await listen(() => ({
			status: 307,
			headers: { location: `http://127.0.0.1:${inner.port}/internal-api` },
		}));
		// Only the forge's port is allowed, not the internal server's.
		srv = await startTestServer({ CDS_OUTBOUND_ALLOW: `127.0.0.1:${forge.port}` });
		assert.equal((await srv.api("POST", "/api/v1/projects", { key: "EVE", name: "Eve" })).status, 201);
	});
	after(async () => {
		await srv?.stop();
		await inner?.close();
		await forge?.close();
	});

	test("the allowed forge receives the webhook request with the token; its redirect is refused", async () => {
		const manager = await srv.api("POST", "/api/v1/projects/EVE/repositories/managers", {
			name: "forge",
			type: "github",
			url: `http://127.0.0.1:${forge.port}`,
			token: "manager-token",
		});
		assert.equal(manager.status, 201, JSON.stringify(manager.body));
		const other = await srv.api("POST", "/api/v1/projects/EVE/repositories/managers", {
			name: "inner",
			type: "github",
			url: `http://127.0.0.1:${inner.port}`,
			token: "manager-token",
		});
		assert.equal(other.status, 400, "another port of the same address is not allowed");
		const linked = await srv.api("POST", "/api/v1/projects/EVE/repositories", {
			manager: "forge",
			url: "https://git.invalid/org/app.git",
			defaultBranch: "main",
		});
		assert.equal(linked.status, 201, JSON.stringify(linked.body));
		assert.equal(forge.seen.length, 1, "the attack path is real: the allowed server was reached");
		assert.match(forge.seen[0]!.auth ?? "", /manager-token/);
		assert.match(JSON.stringify(linked.body.warnings), /redirect/);
		assert.deepEqual(inner.seen, [], "the redirect was not followed");
	});
});

function hash(s: string): number {
	let h = 0;
	for (const c of s) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
	return h;
}
