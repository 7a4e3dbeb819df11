// Deploy on environment with an OpenStack integration: a node bound to an environment and an
// integration of the `Openstack` model gives its steps `cds.integration.*` and the `openstack`
// CLI's `OS_*` environment (Keystone v3, the v2.0 address of CDS's example moved to v3), the
// password masked in the stored log.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const WF = "/api/v1/projects/OSDEP/workflows";
const FINAL = new Set(["Success", "Fail", "Stopped", "Skipped"]);
const PASSWORD = "os-s3cret-passw0rd";

let srv: TestServer;

async function waitRun(wf: string, n: number, timeoutMs = 90_000) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const r = (await srv.api("GET", `${WF}/${wf}/runs/${n}`)).body;
		if (FINAL.has(r.status)) return r;
		if (Date.now() > deadline) throw new Error(`run ${wf} #${n} still ${r.status} after ${timeoutMs} ms`);
		await new Promise((res) => setTimeout(res, 100));
	}
}

const FILES = [
	{
		// CDS's own example (../shared/cds-integrations/openstack-openstack.yml), with a v2.0 address.
		path: "tenant.integration.yml",
		content: [
			"name: tenant",
			"model:",
			"  name: Openstack",
			"config:",
			"  address: {value: 'https://auth.cloud.example.net/v2.0/', type: string}",
			"  domain: {value: '', type: string}",
			`  password: {value: '${PASSWORD}', type: password}`,
			"  region: {value: GRA9, type: string}",
			"  storage_container_prefix: {value: cds-prefix-, type: string}",
			"  storage_temporary_url_supported: {value: 'true', type: string}",
			"  tenant_name: {value: my-tenant, type: string}",
			"  username: {value: deployer, type: string}",
			"",
		].join("\n"),
	},
	{ path: "prod.env.yml", content: "name: prod\nvalues:\n  stack:\n    type: string\n    value: web\n" },
	{
		path: "deploy.pip.yml",
		content: [
			"version: v1.0",
			"name: deploy",
			"jobs:",
			"- job: deploy",
			"  steps:",
			"  - script: |",
			'      for v in OS_AUTH_URL OS_IDENTITY_API_VERSION OS_USERNAME OS_PASSWORD OS_PROJECT_NAME OS_USER_DOMAIN_NAME OS_PROJECT_DOMAIN_NAME OS_REGION_NAME OS_INTERFACE; do echo "$v=$(printenv $v)"; done',
			'      echo "integration={{.cds.integration}} user={{.cds.integration.username}} password={{.cds.integration.password}} env={{.cds.environment}} stack={{.cds.env.stack}}"',
			"",
		].join("\n"),
	},
	{
		path: "deploy-wf.yml",
		content:
			"name: deploy-wf\nversion: v2.0\nworkflow:\n  deploy:\n    pipeline: deploy\n    environment: prod\n    integration: tenant\n",
	},
];

describe("deploy on environment with an OpenStack integration", () => {
	before(async () => {
		srv = await startTestServer({ CDS_HATCHERY_POLL_MS: "100" });
		assert.equal((await srv.api("POST", "/api/v1/projects", { key: "OSDEP", name: "Deploy" })).status, 201);
	});
	after(async () => srv?.stop());

	test("the deployment step gets cds.integration.* and the OS_* environment; the password is masked", async () => {
		const imported = await srv.api("POST", "/api/v1/projects/OSDEP/import", { files: FILES });
		assert.equal(imported.status, 200, JSON.stringify(imported.body));
		const n = (await srv.api("POST", `${WF}/deploy-wf/runs`, {})).body.number;
		const run = await waitRun("deploy-wf", n);
		assert.equal(run.status, "Success", JSON.stringify(run.nodes));
		const page = (await srv.api("GET", `${WF}/deploy-wf/runs/${n}/logs?limit=5000`)).body;
		const text = page.items.map((l: { text: string }) => l.text).join("");
		for (const line of [
			"OS_AUTH_URL=https://auth.cloud.example.net/v3",
			"OS_IDENTITY_API_VERSION=3",
			"OS_USERNAME=deployer",
			"OS_PASSWORD=**********",
			"OS_PROJECT_NAME=my-tenant",
			"OS_USER_DOMAIN_NAME=Default",
			"OS_PROJECT_DOMAIN_NAME=Default",
			"OS_REGION_NAME=GRA9",
			"OS_INTERFACE=public",
			"integration=tenant user=deployer password=********** env=prod stack=web",
		])
			assert.ok(text.includes(`${line}\n`), `${line} in:\n${text}`);
		assert.ok(!text.includes(PASSWORD), "the password never reaches the stored log");
	});
});
