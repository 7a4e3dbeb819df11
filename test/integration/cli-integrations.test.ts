// cds project integration … and cds admin integration-model … against a real node.

import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { memoryIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

let srv: TestServer;
let dir: string;

async function cds(argv: string[], token?: string) {
	const env = {
		CDS_API_URL: srv.url,
		CDS_TOKEN: token ?? srv.adminToken,
		CDS_CONFIG: path.join(dir, "none.json"),
	};
	const out = memoryIo(env, dir);
	const code = await main(argv, out.io);
	return { code, stdout: out.stdout, stderr: out.stderr };
}

const MODEL = `name: Ship
author: tests
default_config:
  endpoint:
    value: ""
    type: string
  key:
    value: ""
    type: password
deployment: true
`;
const INTEGRATION = `name: ship-prod
model:
  name: Ship
config:
  endpoint:
    value: https://ship.example.com
    type: string
  key:
    value: the-key-value
    type: password
`;

describe("cds integration commands", () => {
	before(async () => {
		srv = await startTestServer();
		dir = await mkdtemp(path.join(tmpdir(), "cds-cli-integrations-"));
		await writeFile(path.join(dir, "ship.yml"), MODEL);
		await writeFile(path.join(dir, "ship-prod.yml"), INTEGRATION);
		assert.equal((await srv.api("POST", "/api/v1/projects", { key: "SHIP", name: "Ship" })).status, 201);
	});
	after(async () => {
		await srv?.stop();
		await rm(dir, { recursive: true, force: true });
	});

	test("admin integration-model import needs a system administrator", async () => {
		const t = await srv.api("POST", "/api/v1/auth/tokens", { project: "SHIP", role: "admin" });
		const refused = await cds(["admin", "integration-model", "import", "ship.yml"], t.body.token);
		assert.equal(refused.code, 1);
		assert.match(
			refused.stderr,
			/ship\.yml: importing an integration model needs a system-administrator token/,
		);

		const ok = await cds(["admin", "integration-model", "import", "ship.yml"]);
		assert.equal(ok.code, 0, ok.stderr);
		assert.equal(ok.stdout, "created  integration model Ship\n");
		const list = await cds(["admin", "integration-model", "list"]);
		assert.match(list.stdout, /^Ship\s+deployment\s+no$/m);
		assert.match(list.stdout, /^Kubernetes\s+deployment,compute\s+yes$/m);
	});

	test("project integration import, list, show, export, delete", async () => {
		const imported = await cds(["project", "integration", "import", "SHIP", "ship-prod.yml"]);
		assert.equal(imported.code, 0, imported.stderr);
		assert.equal(imported.stdout, "created  integration ship-prod (Ship)\n");
		assert.match(imported.stderr, /^warning: ship-prod\.yml:9:12: password setting .key. .*stored in clear/);

		const list = await cds(["project", "integration", "list", "SHIP"]);
		assert.match(list.stdout, /^ship-prod\s+Ship$/m);
		const show = await cds(["project", "integration", "show", "SHIP", "ship-prod"]);
		assert.match(show.stdout, /^config\.key:\s+\*{10} \(password\)$/m);
		assert.ok(!show.stdout.includes("the-key-value"));
		const exported = await cds(["project", "integration", "export", "SHIP", "ship-prod"]);
		assert.match(exported.stdout, /value: enc:v1:/);
		assert.ok(!exported.stdout.includes("the-key-value"));

		const removed = await cds(["project", "integration", "delete", "SHIP", "ship-prod"]);
		assert.equal(removed.code, 0, removed.stderr);
		const missing = await cds(["project", "integration", "show", "SHIP", "ship-prod"]);
		assert.notEqual(missing.code, 0);
		assert.match(missing.stderr, /integration ship-prod not found/);
	});
});
