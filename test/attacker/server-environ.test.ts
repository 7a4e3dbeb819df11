// Attack: a process running as the server's user reads /proc/<server pid>/environ to take
// CDS_ADMIN_TOKEN and CDS_SECRET_KEY (the probe of issue #11 got the admin token this way).
// It must find neither; the same read finds the node's other variables, so the attack is real.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { after, describe, test } from "node:test";
import { spawnNode, type NodeProcess } from "../helpers/cluster.ts";
import { apiClient, freePort, waitReady } from "../helpers/server.ts";

describe("attack: read the server's /proc/<pid>/environ", {
	skip: process.platform !== "linux" ? "reads /proc" : false,
}, () => {
	let node: NodeProcess | undefined;
	after(async () => node?.stop());

	test("neither the admin token nor the master key is there; the token still opens the API", async () => {
		const token = `attack-admin-${randomBytes(16).toString("hex")}`;
		const key = randomBytes(32).toString("base64");
		const port = await freePort();
		node = spawnNode("victim", {
			CDS_API_PORT: String(port),
			CDS_API_HOST: "127.0.0.1",
			CDS_ADMIN_TOKEN: token,
			CDS_SECRET_KEY: key,
			VICTIM_MARKER: "visible-to-the-attacker",
		});
		const url = `http://127.0.0.1:${port}`;
		await waitReady(url, 60_000).catch((e) => {
			throw new Error(`${e.message}\n${node!.output.join("")}`);
		});
		// The attacker: another process, same user, reading the file.
		const stolen = execFileSync("cat", [`/proc/${node.child.pid}/environ`], { encoding: "latin1" });
		assert.ok(stolen.includes("VICTIM_MARKER=visible-to-the-attacker"), "the attacker's read works");
		assert.ok(!stolen.includes(token), "CDS_ADMIN_TOKEN read from /proc/<pid>/environ");
		assert.ok(!stolen.includes(key), "CDS_SECRET_KEY read from /proc/<pid>/environ");
		// What the attacker would have done with it, and what the server itself still does with it.
		const me = await apiClient(url, token)("GET", "/api/v1/auth/me");
		assert.equal(me.status, 200);
		assert.equal(me.body.admin, true);
		const starred = stolen
			.split("\0")
			.find((v) => v.startsWith("CDS_ADMIN_TOKEN="))!
			.slice(16);
		assert.equal((await apiClient(url, starred)("GET", "/api/v1/auth/me")).status, 401);
	});
});
