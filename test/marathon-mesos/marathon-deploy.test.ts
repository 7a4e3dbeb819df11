// Marathon as a deployment platform, against the Marathon stand-in: the built-in Marathon
// deployment plugin runs as the worker runs it (bin/cds-deploy-marathon.ts, the plugin query
// on stdin, in the workspace), through the outbound policy. An app definition (a file of the
// repository, interpolated with the job's variables) rolls out; a version whose tasks fail
// (stand-in fault) is rolled back to the previous version, which runs again; a first
// deployment that fails removes the app it created.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { pluginQuery } from "../../src/integrations/plugin-protocol.ts";
import { MarathonClient } from "../../src/marathon/client.ts";
import { type Marathon, startMarathon, until } from "./marathon-helpers.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const credentials = { username: "deployer", password: "d3ploy" };

const APP = `{
  "id": "/shop/{{.cds.application}}",
  "cmd": "echo serving {{.cds.version}}; sleep 3600",
  "cpus": 0.1,
  "mem": 32,
  "labels": { "version": "{{.cds.version}}" },
  "upgradeStrategy": { "minimumHealthCapacity": 0.5, "maximumOverCapacity": 0 }
}
`;

describe("Marathon deployment platform", { timeout: 120_000 }, () => {
	let m: Marathon;
	let ws: string;
	let client: MarathonClient;

	before(async () => {
		m = await startMarathon({ credentials });
		ws = mkdtempSync(path.join(tmpdir(), "mdeploy-ws-"));
		writeFileSync(path.join(ws, "marathon.json"), APP);
		client = new MarathonClient({ url: m.url, auth: credentials });
	});
	after(async () => {
		await client.close();
		await m.stop();
		rmSync(ws, { recursive: true, force: true });
	});

	async function deploy(application: string, version: string, settings: Record<string, string> = {}) {
		const vars: Record<string, string> = {
			"cds.application": application,
			"cds.version": version,
			"cds.integration.deployment": "my-marathon",
		};
		const all = { url: m.url, ...credentials, deployment_file: "marathon.json", timeout: "30", ...settings };
		for (const [k, v] of Object.entries(all)) vars[`cds.integration.deployment.${k}`] = v;
		const query = pluginQuery({
			plugin: { name: "deploy-marathon", type: "integration-deploy_application" },
			vars,
			secrets: [credentials.password],
			outboundAllow: [new URL(m.url).host],
		});
		const child = spawn(process.execPath, [path.join(ROOT, "bin/cds-deploy-marathon.ts")], {
			cwd: ws,
			stdio: ["pipe", "pipe", "inherit"],
		});
		child.stdin.end(JSON.stringify(query));
		let log = "";
		child.stdout.on("data", (c) => {
			log += c;
		});
		const code = await new Promise<number | null>((r) => child.on("close", r));
		return { code, log };
	}

	const running = async (id: string) => {
		const app = await client.getApp(id);
		return {
			app,
			versions: (app?.tasks ?? []).filter((t) => t.state === "TASK_RUNNING").map((t) => t.version),
		};
	};

	it("rolls an interpolated app definition out, then rolls a failing version back to the previous one", async () => {
		const first = await deploy("web", "1.0.0");
		assert.equal(first.code, 0, first.log);
		assert.match(first.log, /marathon app \/shop\/web: new/);
		assert.match(first.log, /task shop_web\.[\w-]+: TASK_RUNNING on 127\.0\.0\.1/);
		assert.match(first.log, /deployment [\w-]+: done: 1\/1 instances of .* running/);
		assert.match(first.log, /deployed \/shop\/web version /);
		const v1 = await running("/shop/web");
		assert.equal(v1.app?.labels?.version, "1.0.0");
		assert.equal(v1.app?.cmd, "echo serving 1.0.0; sleep 3600");
		assert.deepEqual(v1.versions, [v1.app!.version]);

		m.apps.failDeployment("/shop/web");
		const second = await deploy("web", "2.0.0");
		m.apps.failDeployment("/shop/web", false);
		assert.equal(second.code, 1, second.log);
		assert.match(second.log, /task shop_web\.[\w-]+: TASK_FAILED: Command exited with status 1/);
		assert.match(second.log, /rollback deployment [\w-]+: \/shop\/web back to version /);
		assert.match(
			second.log,
			new RegExp(
				`deployment failed: tasks of the new version fail: .*; rolled back /shop/web to version ${v1.app!.version}`,
			),
		);
		// The first version's definition runs again.
		const back = await until("the previous version to run again", async () => {
			const r = await running("/shop/web");
			return r.versions.length === 1 && r.app?.cmd === "echo serving 1.0.0; sleep 3600" ? r : undefined;
		});
		assert.equal(back.app?.labels?.version, "1.0.0");
		assert.equal((await client.listDeployments()).length, 0);
	});

	it("a deployment that times out is rolled back too; a failed first deployment removes its app", async () => {
		m.apps.failDeployment("/shop/api");
		const r = await deploy("api", "0.1.0", { timeout: "3s" });
		m.apps.failDeployment("/shop/api", false);
		assert.equal(r.code, 1, r.log);
		assert.match(r.log, /deployment failed: .*; rolled back \/shop\/api to nothing \(the app is removed\)/);
		assert.equal(await client.getApp("/shop/api"), null);
	});

	it("a definition that Marathon refuses fails the step with Marathon's details", async () => {
		writeFileSync(path.join(ws, "bad.json"), '{"id": "/shop/bad", "cmd": "true", "memory": 64}');
		const r = await deploy("bad", "1", { deployment_file: "bad.json" });
		assert.equal(r.code, 1, r.log);
		assert.match(
			r.log,
			/deployment failed: marathon: PUT \/v2\/apps\/shop\/bad: 422 Object is not valid \(\/memory: error\.unknown\.property\)/,
		);
	});
});
