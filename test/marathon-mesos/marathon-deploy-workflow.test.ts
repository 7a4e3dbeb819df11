// Marathon as a deployment platform through a whole workflow: a project's integration of the
// Marathon model (the Marathon stand-in, with basic auth), an application deploying to it with
// its app JSON in the workspace, a pipeline running `DeployApplication` (`deploy:`) in a real
// sandboxed worker. Version 1 rolls out; version 2's deployment fails (stand-in fault): its run
// fails with the reason and version 1 runs again.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { MarathonClient } from "../../src/marathon/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { type Marathon, startMarathon } from "./marathon-helpers.ts";

const WF = "/api/v1/projects/MDEPLOY/workflows";
const FINAL = new Set(["Success", "Fail", "Stopped", "Skipped"]);
const credentials = { username: "cds", password: "marathon-pass-1234" };

const appJson = (release: string) =>
	JSON.stringify({
		id: "/shop/{{.cds.application}}",
		cmd: `echo ${release}; sleep 3600`,
		cpus: 0.1,
		mem: 32,
		labels: { release, application: "{{.cds.application}}", project: "{{.cds.project}}" },
	});

describe("a workflow deploys to Marathon and rolls a failing version back", { timeout: 180_000 }, () => {
	let srv: TestServer;
	let m: Marathon;
	let client: MarathonClient;

	before(async () => {
		m = await startMarathon({ credentials });
		client = new MarathonClient({ url: m.url, auth: credentials });
		srv = await startTestServer({
			CDS_OUTBOUND_ALLOW: new URL(m.url).host,
			CDS_SANDBOX_NETWORK: "host",
			CDS_WORKER_HEARTBEAT_SECONDS: "1",
			CDS_HATCHERY_POLL_MS: "100",
		});
		assert.equal(
			(await srv.api("POST", "/api/v1/projects", { key: "MDEPLOY", name: "MDeploy" })).status,
			201,
		);
		const pipeline = (name: string, release: string) => ({
			path: `${name}.pip.yml`,
			content: [
				"version: v1.0",
				`name: ${name}`,
				"jobs:",
				"- job: deploy",
				"  steps:",
				"  - script:",
				"    - mkdir -p deploy",
				`    - echo ${Buffer.from(appJson(release)).toString("base64")} | base64 -d > deploy/marathon.json`,
				"  - deploy: '{{.cds.application}}'",
				"",
			].join("\n"),
		});
		const workflow = (name: string, pip: string) => ({
			path: `${name}.yml`,
			content: `name: ${name}\nversion: v2.0\nworkflow:\n  deploy:\n    pipeline: ${pip}\n    application: web\n    integration: mesos\nintegrations:\n  mesos: {}\n`,
		});
		const files = [
			{
				path: "mesos.integration.yml",
				content: [
					"name: mesos",
					"model:",
					"  name: Marathon",
					"config:",
					`  url: {value: ${JSON.stringify(m.url)}, type: string}`,
					`  username: {value: ${credentials.username}, type: string}`,
					`  password: {value: ${credentials.password}, type: password}`,
					"",
				].join("\n"),
			},
			{
				path: "web.app.yml",
				content:
					"version: v1.0\nname: web\ndeployments:\n  mesos:\n    deployment_file: {type: string, value: deploy/marathon.json}\n    timeout: {type: string, value: '20'}\n",
			},
			pipeline("deploy-v1", "r1"),
			pipeline("deploy-v2", "r2"),
			workflow("web-v1", "deploy-v1"),
			workflow("web-v2", "deploy-v2"),
		];
		const imported = await srv.api("POST", "/api/v1/projects/MDEPLOY/import", { files });
		assert.equal(imported.status, 200, JSON.stringify(imported.body));
	});
	after(async () => {
		await srv?.stop();
		await client?.close();
		await m?.stop();
	});

	async function run(wf: string): Promise<{ status: string; logs: string }> {
		const n = (await srv.api("POST", `${WF}/${wf}/runs`, {})).body.number;
		const deadline = Date.now() + 120_000;
		for (;;) {
			const r = (await srv.api("GET", `${WF}/${wf}/runs/${n}`)).body;
			if (FINAL.has(r.status)) {
				const page = (await srv.api("GET", `${WF}/${wf}/runs/${n}/logs?limit=5000`)).body;
				return { status: r.status, logs: page.items.map((l: { text: string }) => l.text).join("") };
			}
			if (Date.now() > deadline) throw new Error(`run ${wf} #${n} still ${r.status}`);
			await new Promise((res) => setTimeout(res, 200));
		}
	}

	test("release 1 rolls out; release 2's deployment fails and release 1 runs again", async () => {
		const v1 = await run("web-v1");
		assert.equal(v1.status, "Success", v1.logs);
		assert.match(v1.logs, /with plugin deploy-marathon/);
		assert.match(v1.logs, /deployed \/shop\/web version /);
		const app = await client.getApp("/shop/web");
		assert.deepEqual(app?.labels, { release: "r1", application: "web", project: "MDEPLOY" });
		assert.equal(app?.tasks?.filter((t) => t.state === "TASK_RUNNING").length, 1);
		assert.equal(v1.logs.includes(credentials.password), false, "the password is masked");

		m.apps.failDeployment("/shop/web");
		const v2 = await run("web-v2");
		assert.equal(v2.status, "Fail", v2.logs);
		assert.match(
			v2.logs,
			/deployment failed: tasks of the new version fail: TASK_FAILED: .*; rolled back \/shop\/web to version /,
		);
		const back = await client.getApp("/shop/web");
		assert.equal(back?.labels?.release, "r1");
		assert.equal(back?.cmd, "echo r1; sleep 3600");
	});
});
