// Plugins: the installed form, the process protocol's query, which plugin deploys to a model,
// and the deploy webhook's request — without a broker, a worker or a network.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, test } from "node:test";
import { BUILTIN_DEPLOYMENT_PLUGINS } from "../../src/integrations/deploy-builtins.ts";
import { chooseDeploymentPlugin } from "../../src/integrations/deploy-plugin.ts";
import { deployWebhook, webhookRequest } from "../../src/integrations/deploy-webhook.ts";
import { readPluginBinaryFile, readPluginManifestFile } from "../../src/integrations/plugin-file.ts";
import {
	binaryFileName,
	deploysApplication,
	pluginsNamedBy,
	pluginsRunnableOn,
	goPlatform,
	type InstalledPlugin,
	pluginInvocation,
} from "../../src/integrations/plugin-manifest.ts";
import { PLUGIN_PROTOCOL, pluginQuery, readPluginQuery } from "../../src/integrations/plugin-protocol.ts";

describe("plugin files", () => {
	test("CDS's plugin-simple manifest and its linux/amd64 descriptor", () => {
		const manifest = readPluginManifestFile({
			path: "plugin-simple.yml",
			content:
				"name: plugin-simple\ntype: action\nauthor: Steven GUIHEUX <foo.bar@foobar.com>>\ndescription: Stupid plugin\n",
		});
		assert.deepEqual(manifest.value, {
			name: "plugin-simple",
			type: "action",
			author: "Steven GUIHEUX <foo.bar@foobar.com>>",
			description: "Stupid plugin",
		});
		const binary = readPluginBinaryFile({
			path: "plugin-linux-amd64.yml",
			content: "os: linux\narch: amd64\ncmd: ./plugin-simple-linux-amd64\n",
		});
		assert.deepEqual(binary.value, {
			os: "linux",
			arch: "amd64",
			cmd: "./plugin-simple-linux-amd64",
			args: [],
			requirements: [],
		});
	});

	test("a manifest that is something else is refused with a location", () => {
		const read = readPluginBinaryFile({
			path: "x.yml",
			content: "name: plugin-simple\ntype: action\nauthor: a\ndescription: d\n",
		});
		assert.equal(read.value, undefined);
		assert.match(
			`${read.errors[0]!.file}:${read.errors[0]!.line}: ${read.errors[0]!.message}`,
			/^x\.yml:1: .*not a plugin binary descriptor/,
		);
	});

	test("the file a descriptor runs, and how it is invoked once placed", () => {
		assert.equal(
			binaryFileName({ cmd: "./plugin-simple-linux-amd64", args: [] }),
			"plugin-simple-linux-amd64",
		);
		assert.equal(binaryFileName({ cmd: "python", args: ["hello.py"] }), "hello.py");
		assert.equal(binaryFileName({ cmd: "/usr/bin/env", args: [] }), undefined);
		const file = { name: "hello.py", size: 3, sha256: "x" };
		assert.deepEqual(
			pluginInvocation(
				{ os: "linux", arch: "amd64", cmd: "python", args: ["hello.py"], requirements: [], file },
				"/p",
			),
			{ command: "python", args: ["/p/hello.py"] },
		);
		assert.deepEqual(
			pluginInvocation(
				{
					os: "linux",
					arch: "amd64",
					cmd: "./simple",
					args: ["-v"],
					requirements: [],
					file: { ...file, name: "simple" },
				},
				"/p",
			),
			{ command: "/p/simple", args: ["-v"] },
		);
		assert.deepEqual(goPlatform("linux", "x64"), { os: "linux", arch: "amd64" });
		assert.deepEqual(goPlatform("darwin", "arm64"), { os: "darwin", arch: "arm64" });
	});
});

describe("which plugins a job may fetch and a hatchery may serve", () => {
	test("the plugins its steps name, and whether it deploys", () => {
		const steps = [
			{ action: { kind: "script", script: ["echo"] } },
			{ action: { kind: "plugin", name: "plugin-simple", params: {} } },
			{ action: { kind: "plugin", name: "plugin-simple", params: {} } },
		];
		assert.deepEqual(pluginsNamedBy(steps), ["plugin-simple"]);
		assert.equal(deploysApplication(steps), false);
		assert.equal(
			deploysApplication([{ action: { kind: "builtin", name: "deploy", params: "{{.cds.application}}" } }]),
			true,
		);
	});

	test("a hatchery serves the plugins with a binary for its os/arch", () => {
		const bin = (os: string, arch: string) => ({ os, arch, cmd: "./x", args: [], requirements: [] });
		const installed = [
			{ name: "a", type: "action", binaries: [bin("linux", "amd64")] },
			{ name: "b", type: "action", binaries: [bin("darwin", "arm64")] },
			{ name: "c", type: "action", binaries: [] },
		];
		assert.deepEqual(pluginsRunnableOn(installed, "linux/amd64"), ["a"]);
		assert.deepEqual(pluginsRunnableOn(installed, "darwin/arm64"), ["b"]);
	});
});

describe("the plugin query", () => {
	test("the job's variables, then the step's parameters (as strings), which win", () => {
		const q = pluginQuery({
			plugin: { name: "p", type: "action" },
			vars: { "cds.project": "P", level: "1" },
			params: { level: 2, list: ["a"], flag: true, none: null },
			secrets: ["s3cret"],
			outboundAllow: ["10.0.0.0/8"],
		});
		assert.equal(q.protocol, PLUGIN_PROTOCOL);
		assert.deepEqual(q.options, { "cds.project": "P", level: "2", list: '["a"]', flag: "true" });
		assert.deepEqual(readPluginQuery(JSON.stringify(q)), q);
		assert.throws(() => readPluginQuery('{"protocol":"other"}'), /not cds-ts\.plugin\/v1/);
		assert.throws(() => readPluginQuery("nope"), /not JSON/);
	});
});

describe("deployment plugins", () => {
	const k8s: InstalledPlugin = {
		name: "plugin-kubernetes-deployment",
		type: "integration-deploy_application",
		integration: "Kubernetes",
		binaries: [],
	};
	test("an installed plugin for the model wins, then a built-in one; else the reason names the model", () => {
		assert.equal(chooseDeploymentPlugin("Kubernetes", [k8s], BUILTIN_DEPLOYMENT_PLUGINS).kind, "installed");
		const builtin = chooseDeploymentPlugin("DeployWebhook", [k8s], BUILTIN_DEPLOYMENT_PLUGINS);
		assert.equal(builtin.kind === "builtin" && builtin.plugin.entry, "bin/cds-deploy-webhook.ts");
		const webhookOverride = { ...k8s, name: "my-hook", integration: "DeployWebhook" };
		const chosen = chooseDeploymentPlugin("DeployWebhook", [webhookOverride], BUILTIN_DEPLOYMENT_PLUGINS);
		assert.equal(chosen.kind === "installed" && chosen.plugin.name, "my-hook");
		const marathon = chooseDeploymentPlugin("Marathon", [k8s], BUILTIN_DEPLOYMENT_PLUGINS);
		assert.equal(marathon.kind === "builtin" && marathon.plugin.entry, "bin/cds-deploy-marathon.ts");
		const none = chooseDeploymentPlugin("Nomad", [k8s], BUILTIN_DEPLOYMENT_PLUGINS);
		assert.equal(none.kind, "none");
		assert.match(none.kind === "none" ? none.reason : "", /integration model 'Nomad'/);
		const actionOnly = { ...k8s, type: "action" };
		assert.equal(chooseDeploymentPlugin("Kubernetes", [actionOnly], []).kind, "none");
	});

	const query = (options: Record<string, string>, secrets: string[] = []) =>
		pluginQuery({
			plugin: { name: "deploy-webhook", type: "integration-deploy_application" },
			vars: {
				"cds.project": "P",
				"cds.application": "api",
				"cds.version": "7",
				"git.branch": "main",
				"cds.integration.deployment": "prod-hook",
				...options,
			},
			secrets,
		});

	test("the webhook request: bearer token, HMAC signature, no secret in the body", () => {
		const q = query(
			{
				"cds.integration.deployment.url": "https://deploy.example/hooks/cds",
				"cds.integration.deployment.token": "tok-123456",
				"cds.integration.deployment.secret": "hmac-key-0001",
				"cds.integration.deployment.region": "eu",
				"cds.integration.deployment.deployment.token": "other-secret-9",
			},
			["tok-123456", "hmac-key-0001", "other-secret-9"],
		);
		const r = webhookRequest(q);
		assert.equal(r.url, "https://deploy.example/hooks/cds");
		assert.equal(r.headers.authorization, "Bearer tok-123456");
		const expected = createHmac("sha256", "hmac-key-0001").update(r.body).digest("hex");
		assert.equal(r.headers["x-cds-signature"], `sha256=${expected}`);
		const body = JSON.parse(r.body);
		assert.equal(body.application, "api");
		assert.equal(body.integration, "prod-hook");
		assert.deepEqual(body.settings, { region: "eu" });
		assert.ok(!r.body.includes("tok-123456") && !r.body.includes("other-secret-9"));
		assert.equal(r.timeoutMs, 30_000);
	});

	test("the model's payload setting is the body; no url is an error", () => {
		const r = webhookRequest(
			query({
				"cds.integration.deployment.url": "https://d.example",
				"cds.integration.deployment.payload": '{"v":"7"}',
			}),
		);
		assert.equal(r.body, '{"v":"7"}');
		assert.throws(() => webhookRequest(query({})), /no 'url' setting/);
	});

	test("deploy: a 2xx is a success, anything else a failure naming the status", async () => {
		const q = query({ "cds.integration.deployment.url": "https://d.example/x" });
		const lines: string[] = [];
		const seen: Array<{ url: string; method?: string }> = [];
		const answer = (status: number) => async (url: string, init: RequestInit) => {
			seen.push({ url, method: init.method });
			return new Response("done", { status });
		};
		const ok = await deployWebhook.deploy(q, { log: (l) => lines.push(l), fetch: answer(202) });
		assert.deepEqual(ok, { ok: true, details: "the webhook accepted the deployment (HTTP 202): done" });
		assert.deepEqual(seen[0], { url: "https://d.example/x", method: "POST" });
		assert.match(lines[0]!, /deploying api to prod-hook: POST https:\/\/d\.example\/x/);
		const refused = await deployWebhook.deploy(q, { log: () => {}, fetch: answer(500) });
		assert.equal(refused.ok, false);
		assert.match(refused.details, /HTTP 500/);
	});
});
