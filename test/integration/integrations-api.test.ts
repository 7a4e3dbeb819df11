// Integrations through the REST API of a real broker: a CDS file set with an integration model,
// two project integrations, an application deploying to both and a workflow naming them imports
// in one call and exports back to the same files; models need a system administrator; passwords
// are sealed, masked and handed opened only to `project.integrationsForJob`.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { IntegrationsForJobAnswer } from "../../src/integrations/model.ts";
import { cdsIntegrations } from "../helpers/corpus.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { mongoUrlFor, uniqueDbName } from "../helpers/servers.ts";

const FIXTURES = path.join(import.meta.dirname, "..", "fixtures", "integrations");

function filesOf(dir: string): Array<{ path: string; content: string }> {
	return readdirSync(dir)
		.filter((f) => /\.ya?ml$/.test(f))
		.sort()
		.map((f) => ({ path: f, content: readFileSync(path.join(dir, f), "utf8") }));
}

const SEALED = /enc:v1:[A-Za-z0-9+/=]+/g;

let srv: TestServer;
let projectToken: string;

describe("integrations through the API", () => {
	before(async () => {
		// On NATS and FerretDB when they are there (CI): setting names hold dots and spaces
		// (`retry.max`, `broker url`), which the store escapes.
		const env: Record<string, string> = { CDS_HATCHERY_POLL_MS: "100" };
		if (process.env.MONGO_URL)
			env.MONGO_URL = mongoUrlFor(process.env.MONGO_URL, uniqueDbName("integrations"));
		if (process.env.NATS_URL) env.NATS_URL = process.env.NATS_URL;
		srv = await startTestServer(env);
		for (const key of ["DEPLOY", "OTHER"])
			assert.equal((await srv.api("POST", "/api/v1/projects", { key, name: key })).status, 201);
		const t = await srv.api("POST", "/api/v1/auth/tokens", { project: "DEPLOY", role: "admin" });
		assert.equal(t.status, 201, JSON.stringify(t.body));
		projectToken = t.body.token;
	});
	after(async () => srv?.stop());

	test("a project token importing a set with a model gets 403 naming the file; nothing is written", async () => {
		const files = filesOf(path.join(FIXTURES, "deploy-set"));
		const r = await srv.api("POST", "/api/v1/projects/DEPLOY/import", { files }, projectToken);
		assert.equal(r.status, 403, JSON.stringify(r.body));
		assert.match(r.body.message, /MyDeploy\.model\.yml/);
		assert.match(r.body.message, /system-administrator/);
		const direct = await srv.api(
			"POST",
			"/api/v1/integration-models/import",
			{ path: "MyDeploy.model.yml", content: files.find((f) => f.path === "MyDeploy.model.yml")!.content },
			projectToken,
		);
		assert.equal(direct.status, 403);
		assert.match(direct.body.message, /MyDeploy\.model\.yml/);
		const models = await srv.api("GET", "/api/v1/integration-models");
		assert.ok(!models.body.items.some((m: { name: string }) => m.name === "MyDeploy"));
		assert.equal((await srv.api("GET", "/api/v1/projects/DEPLOY/integrations")).body.items.length, 0);
	});

	test("the set imports in one call and exports back to the same files, byte for byte", async () => {
		const files = filesOf(path.join(FIXTURES, "deploy-set"));
		const imported = await srv.api("POST", "/api/v1/projects/DEPLOY/import", { files });
		assert.equal(imported.status, 200, JSON.stringify(imported.body));
		assert.deepEqual(imported.body.integrationModels, ["MyDeploy"]);
		assert.deepEqual(imported.body.integrations, ["prod", "staging"]);
		assert.deepEqual(imported.body.workflows, ["deploy-wf"]);

		// Passwords are masked in every answer.
		const prod = await srv.api("GET", "/api/v1/projects/DEPLOY/integrations/prod");
		assert.equal(prod.status, 200);
		assert.deepEqual(prod.body.config.token, { type: "password", value: "**********" });
		assert.equal(prod.body.config.url.value, "https://prod.example.com");
		assert.equal(prod.body.modelDef.name, "MyDeploy");
		const deployments = await srv.api("GET", "/api/v1/projects/DEPLOY/applications/myapp/deployments");
		assert.equal(deployments.body.deployments.staging.secret.value, "**********");
		assert.equal(deployments.body.deployments.prod.path.value, "/srv/prod");
		assert.ok(!JSON.stringify(deployments.body).includes("staging-deploy-secret"));

		// First export: the clear passwords of the files come back sealed, the rest unchanged.
		const first = await srv.api("GET", "/api/v1/projects/DEPLOY/workflows/deploy-wf/export");
		assert.equal(first.status, 200, JSON.stringify(first.body));
		const exported: Array<{ path: string; content: string }> = first.body.files;
		assert.deepEqual(exported.map((f) => f.path).sort(), files.map((f) => f.path).sort());
		for (const f of exported) {
			assert.ok(
				!/prod-token-value|staging-token-value|staging-deploy-secret|app-api-key-value/.test(f.content),
				f.path,
			);
			const original = files.find((o) => o.path === f.path)!.content;
			const unseal = (text: string) =>
				text.replace(
					/value: (prod-token-value|staging-token-value|staging-deploy-secret|app-api-key-value)/g,
					"value: SECRET",
				);
			assert.equal(f.content.replace(SEALED, "SECRET"), unseal(original), f.path);
		}

		// Importing the exported (sealed) files changes nothing and exports exactly them again.
		const again = await srv.api("POST", "/api/v1/projects/DEPLOY/import", { files: exported });
		assert.equal(again.status, 200, JSON.stringify(again.body));
		assert.deepEqual(again.body.unchanged, ["deploy-wf"]);
		const second = await srv.api("GET", "/api/v1/projects/DEPLOY/workflows/deploy-wf/export");
		assert.deepEqual(second.body.files, exported);
		const single = await srv.api("GET", "/api/v1/projects/DEPLOY/integrations/prod/export");
		assert.equal(single.body.content, exported.find((f) => f.path === "prod.integration.yml")!.content);
	});

	test("the imported workflow runs: both nodes, each on its integration", async () => {
		const wf = "/api/v1/projects/DEPLOY/workflows/deploy-wf";
		const started = await srv.api("POST", `${wf}/runs`, {});
		assert.equal(started.status, 201, JSON.stringify(started.body));
		const deadline = Date.now() + 60_000;
		let run = started.body;
		while (!["Success", "Fail", "Stopped", "Skipped"].includes(run.status)) {
			if (Date.now() > deadline) assert.fail(`run still ${run.status}`);
			await new Promise((r) => setTimeout(r, 100));
			run = (await srv.api("GET", `${wf}/runs/${started.body.number}`)).body;
		}
		assert.equal(run.status, "Success", JSON.stringify(run.nodes));
		assert.deepEqual(run.nodes.map((n: { name: string }) => n.name).sort(), ["to-prod", "to-staging"]);
		const logs = (await srv.api("GET", `${wf}/runs/${started.body.number}/logs?limit=1000`)).body.items;
		assert.equal(logs.filter((l: { text: string }) => l.text.includes("deploying to")).length, 2);
	});

	test("a changed password is sealed afresh; a masked one keeps its value", async () => {
		const before = await srv.api("GET", "/api/v1/projects/DEPLOY/integrations/prod/export");
		const masked = before.body.content.replace(SEALED, "'**********'");
		const keep = await srv.api("POST", "/api/v1/projects/DEPLOY/integrations/import", {
			path: "prod.integration.yml",
			content: masked,
		});
		assert.equal(keep.status, 200, JSON.stringify(keep.body));
		const same = await srv.api("GET", "/api/v1/projects/DEPLOY/integrations/prod/export");
		assert.equal(same.body.content, before.body.content);

		const changed = before.body.content.replace(SEALED, "new-token-value");
		assert.equal(
			(
				await srv.api("POST", "/api/v1/projects/DEPLOY/integrations/import", {
					path: "prod.integration.yml",
					content: changed,
				})
			).status,
			200,
		);
		const after = await srv.api("GET", "/api/v1/projects/DEPLOY/integrations/prod/export");
		assert.notEqual(after.body.content, before.body.content);
		assert.match(after.body.content, /value: enc:v1:/);
		const job: IntegrationsForJobAnswer = await srv.server.broker.call("project.integrationsForJob", {
			projectKey: "DEPLOY",
			names: ["prod", "staging"],
		});
		assert.deepEqual(
			job.integrations.map((i) => i.name),
			["prod", "staging"],
		);
		assert.equal(job.integrations[0]!.config.token!.value, "new-token-value");
		assert.equal(job.integrations[0]!.modelDef.name, "MyDeploy");
		assert.equal(job.integrations[0]!.modelDef.deployment, true);
		assert.equal(job.integrations[1]!.config.token!.value, "staging-token-value");
		assert.equal(job.integrations[1]!.modelDef.name, "DeployWebhook");
	});

	test("integrationsForJob is not routed; bad input is a located 4xx", async () => {
		const routed = await srv.api("POST", "/api/v1/projects/DEPLOY/integrationsForJob", {
			projectKey: "DEPLOY",
			names: ["prod"],
		});
		assert.equal(routed.status, 404);
		const openapi = await srv.api("GET", "/api/v1/openapi.json");
		const paths = Object.keys(openapi.body.paths);
		assert.ok(paths.includes("/projects/{key}/integrations/import"), paths.join(" "));
		assert.ok(
			paths.some((p) => p === "/integration-models/import"),
			paths.join(" "),
		);
		assert.ok(!paths.some((p) => /integrationsForJob/.test(p)));

		const bad = await srv.api("POST", "/api/v1/projects/DEPLOY/integrations/import", {
			path: "bad.yml",
			content: "name: x\nmodel:\n  name: Nope\nconfig:\n  a:\n    type: wrong\n",
		});
		assert.equal(bad.status, 422, JSON.stringify(bad.body));
		assert.deepEqual(
			bad.body.data.errors.map((e: { line: number; column: number; code: string }) => [
				e.line,
				e.column,
				e.code,
			]),
			[
				[3, 9, "unknown-integration-model"],
				[6, 11, "invalid-value"],
			],
		);
		assert.match(bad.body.message, /2 errors in bad\.yml/);
		const wrongKind = await srv.api("POST", "/api/v1/projects/DEPLOY/integrations/import", {
			path: "m.yml",
			content: "name: M\ndefault_config: {}\ndeployment: true\n",
		});
		assert.equal(wrongKind.status, 422);
		assert.match(wrongKind.body.message, /m\.yml is an integration model, not a project integration/);
		const foreign = await srv.api("GET", "/api/v1/projects/OTHER/integrations", undefined, projectToken);
		assert.equal(foreign.status, 403);
		const inUse = await srv.api("DELETE", "/api/v1/projects/DEPLOY/integrations/prod");
		assert.equal(inUse.status, 409);
		assert.match(inUse.body.message, /myapp/);
	});

	test("deployments are editable through the API; an unknown integration is refused", async () => {
		const put = await srv.api("PUT", "/api/v1/projects/DEPLOY/applications/myapp/deployments/prod", {
			config: { path: { type: "string", value: "/srv/v2" }, retries: { type: "number", value: 7 } },
		});
		assert.equal(put.status, 200, JSON.stringify(put.body));
		assert.deepEqual(put.body.config.retries, { type: "number", value: "7" });
		const badType = await srv.api("PUT", "/api/v1/projects/DEPLOY/applications/myapp/deployments/prod", {
			config: { retries: { type: "number", value: "many" } },
		});
		assert.equal(badType.status, 422);
		assert.equal(badType.body.data.errors[0].field, "config.retries.value");
		const unknown = await srv.api("PUT", "/api/v1/projects/DEPLOY/applications/myapp/deployments/nope", {
			config: {},
		});
		assert.equal(unknown.status, 404);
		const exported = await srv.api("GET", "/api/v1/projects/DEPLOY/workflows/deploy-wf/export");
		const app = exported.body.files.find((f: { path: string }) => f.path === "myapp.app.yml").content;
		assert.match(app, /value: \/srv\/v2/);
		const removed = await srv.api("DELETE", "/api/v1/projects/DEPLOY/applications/myapp/deployments/prod");
		assert.equal(removed.status, 200);
		// A model in use stays; a project token may not delete one; a built-in one cannot be.
		const used = await srv.api("DELETE", "/api/v1/integration-models/MyDeploy");
		assert.equal(used.status, 409);
		assert.match(used.body.message, /DEPLOY\/prod/);
		assert.equal(
			(await srv.api("DELETE", "/api/v1/integration-models/MyDeploy", undefined, projectToken)).status,
			403,
		);
		assert.equal((await srv.api("DELETE", "/api/v1/integration-models/Kafka")).status, 409);
	});

	test("every file of CDS's integrations directory imports", { skip: cdsIntegrations.skip }, async () => {
		const files = filesOf(cdsIntegrations.root!);
		assert.equal(files.length, 6, `found ${files.length} files in ${cdsIntegrations.root}`);
		const r = await srv.api("POST", "/api/v1/projects/OTHER/import", { files });
		assert.equal(r.status, 200, JSON.stringify(r.body));
		assert.deepEqual(r.body.integrationModels, ["Arsenal", "Hello", "Kubernetes"]);
		assert.deepEqual(r.body.integrations, ["MyOpenstackTenant"]);
		assert.deepEqual(
			r.body.warnings
				.filter((w: { message: string }) => /not installed/.test(w.message))
				.map((w: { file: string }) => w.file),
			["hello-plugin.yml", "kubernetes-plugin-kubernetes-deployment.yml"],
		);
		const tenant = await srv.api("GET", "/api/v1/projects/OTHER/integrations/MyOpenstackTenant");
		assert.equal(tenant.body.config.password.value, "**********");
		assert.equal(tenant.body.model, "Openstack");
		const hello = await srv.api("GET", "/api/v1/integration-models/Hello");
		assert.equal(
			hello.body.publicConfigurations["hello-integration-dev"].host.value,
			"http://hello.your-deployment-platform.dev.local",
		);
		assert.equal(hello.body.additionalDefaultConfig["retry.max"].value, "30");
		assert.equal(hello.body.deployment, true);
		assert.equal(hello.body.public, true);

		// A public model's public configurations are integrations every project has.
		const wf = {
			path: "hello.yml",
			content:
				"name: hello-wf\nversion: v2.0\nworkflow:\n  go:\n    pipeline: p\n    integration: hello-integration-prod\n",
		};
		const pip = {
			path: "p.pip.yml",
			content:
				"version: v1.0\nname: p\njobs:\n  - job: j\n    steps:\n      - script:\n          - echo hi\n",
		};
		const used = await srv.api("POST", "/api/v1/projects/OTHER/import", { files: [wf, pip] });
		assert.equal(used.status, 200, JSON.stringify(used.body));
		const job: IntegrationsForJobAnswer = await srv.server.broker.call("project.integrationsForJob", {
			projectKey: "OTHER",
			names: ["hello-integration-prod", "MyOpenstackTenant"],
		});
		assert.deepEqual(
			job.integrations.map((i) => [i.name, i.model, i.config.host?.value ?? i.config.password?.value]),
			[
				["hello-integration-prod", "Hello", "http://hello.your-deployment-platform.prod.local"],
				["MyOpenstackTenant", "Openstack", "your-password-here"],
			],
		);
	});
});
