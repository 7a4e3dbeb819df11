// The server's credentials as another process of the same user would look for them: the admin
// token and the master key never sit in /proc/<pid>/environ (given as variables they are
// overwritten at start; the *_FILE variants keep them out of every environment), and the
// master key in the data directory is readable by its owner only.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { spawnNode, type NodeProcess } from "../helpers/cluster.ts";
import { apiClient, freePort, waitReady } from "../helpers/server.ts";

const nodes: NodeProcess[] = [];
after(async () => {
	for (const n of nodes) await n.stop();
});

async function start(name: string, env: Record<string, string>) {
	const port = await freePort();
	const node = spawnNode(name, { CDS_API_PORT: String(port), CDS_API_HOST: "127.0.0.1", ...env });
	nodes.push(node);
	const url = `http://127.0.0.1:${port}`;
	await waitReady(url, 60_000).catch((e) => {
		throw new Error(`${e.message}\n${node.output.join("")}`);
	});
	return { node, url };
}

const environOf = (node: NodeProcess) => readFileSync(`/proc/${node.child.pid}/environ`, "latin1");

describe("server credentials", { skip: process.platform !== "linux" ? "reads /proc" : false }, () => {
	test("CDS_ADMIN_TOKEN and CDS_SECRET_KEY given as variables leave /proc/<pid>/environ; the token still works", async () => {
		const token = `env-admin-${randomBytes(16).toString("hex")}`;
		const key = randomBytes(32).toString("base64");
		const { node, url } = await start("environ", { CDS_ADMIN_TOKEN: token, CDS_SECRET_KEY: key });
		const environ = environOf(node);
		assert.ok(environ.includes("NODE_ID=environ"), "the read sees the node's environment");
		assert.ok(!environ.includes(token), "the admin token is in /proc/<pid>/environ");
		assert.ok(!environ.includes(key), "the master key is in /proc/<pid>/environ");
		assert.match(environ, /(^|\0)CDS_ADMIN_TOKEN=\*+\0/);
		const me = await apiClient(url, token)("GET", "/api/v1/auth/me");
		assert.equal(me.status, 200, JSON.stringify(me.body));
		assert.equal(me.body.admin, true);
		assert.ok(!node.output.join("").includes(token), "the token is in the node's log");
	});

	test("*_FILE variants: the values are read from files; master.key is 0600 in a 0700 data directory", async () => {
		const token = `file-admin-${randomBytes(16).toString("hex")}`;
		const secrets = mkdtempSync(path.join(tmpdir(), "cds-secrets-"));
		after(() => rmSync(secrets, { recursive: true, force: true }));
		writeFileSync(path.join(secrets, "token"), `${token}\n`, { mode: 0o600 });
		const { node, url } = await start("files", { CDS_ADMIN_TOKEN_FILE: path.join(secrets, "token") });
		assert.ok(!environOf(node).includes(token));
		const me = await apiClient(url, token)("GET", "/api/v1/auth/me");
		assert.equal(me.status, 200, JSON.stringify(me.body));
		assert.equal(me.body.admin, true);
		const dataDir = node.env.CDS_DATA_DIR!;
		assert.equal(statSync(path.join(dataDir, "master.key")).mode & 0o777, 0o600);
		assert.equal(statSync(dataDir).mode & 0o777, 0o700);
	});
});
