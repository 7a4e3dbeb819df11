// CDS's integration formats: models, project integrations, plugin manifests and binary
// descriptors are classified and read with located errors; application `deployments:` and
// workflow `integrations:` round-trip; sealed passwords export exactly as imported.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { exportIntegrationModel, exportProjectIntegration } from "../../src/integrations/export.ts";
import { configFromInput, maskConfig, openConfig, sealConfig } from "../../src/integrations/stored.ts";
import { exportWorkflowFiles, formatDiagnostic, parseFileSet } from "../../src/workflow/index.ts";
import { cdsIntegrations, corpus, corpusPath } from "../helpers/corpus.ts";

const FIXTURES = path.join(import.meta.dirname, "..", "fixtures", "integrations", "deploy-set");

function filesOf(dir: string) {
	return readdirSync(dir)
		.filter((f) => /\.ya?ml$/.test(f))
		.sort()
		.map((f) => ({ path: f, content: readFileSync(path.join(dir, f), "utf8") }));
}

/** A reversible stand-in for the project key: enough to tell sealed text from clear. */
const seal = (plain: string) => `enc:v1:${Buffer.from(`k:${plain}`).toString("base64")}`;
const open = (sealed: string) => {
	const text = Buffer.from(sealed.slice("enc:v1:".length), "base64").toString();
	if (!text.startsWith("k:")) throw new Error("sealed with another key");
	return text.slice(2);
};

const errorsOf = (files: Array<{ path: string; content: string }>, ctx = {}) =>
	parseFileSet(files, ctx).errors.map(formatDiagnostic);

describe("integration files", () => {
	test("CDS's integration files are each classified as what they are and read without error", {
		skip: cdsIntegrations.skip,
	}, () => {
		const result = parseFileSet(filesOf(cdsIntegrations.root!), {});
		assert.deepEqual(result.errors, []);
		assert.deepEqual(
			result.files.map((f) => [f.path, f.kind, f.name]),
			[
				["arsenal-arsenal.yml", "integration-model", "Arsenal"],
				["hello-hello.yml", "integration-model", "Hello"],
				["hello-plugin.yml", "plugin", "hello-deployment-plugin"],
				["kubernetes-kubernetes.yml", "integration-model", "Kubernetes"],
				["kubernetes-plugin-kubernetes-deployment.yml", "plugin", "plugin-kubernetes-deployment"],
				["openstack-openstack.yml", "integration", "MyOpenstackTenant"],
			],
		);
		const arsenal = result.model.integrationModels!.find((m) => m.name === "Arsenal")!;
		assert.equal(arsenal.deployment, true);
		assert.equal(arsenal.storage, false);
		assert.deepEqual(arsenal.defaultConfig["gw.token"], { type: "password", value: "" });
		// `value: 10` in YAML is the text "10", as CDS reads it.
		assert.deepEqual(arsenal.additionalDefaultConfig!["retry.max"], { type: "string", value: "10" });
		const hello = result.model.integrationModels!.find((m) => m.name === "Hello")!;
		assert.equal(hello.public, true);
		assert.equal(hello.author, "Username Lastname");
		assert.equal(
			hello.publicConfigurations!["hello-integration-prod"]!.host!.value,
			"http://hello.your-deployment-platform.prod.local",
		);
		const kube = result.model.integrationModels!.find((m) => m.name === "Kubernetes")!;
		assert.equal(kube.defaultConfig.ca_certificate!.description, "Certificate Authority bundle (PEM format)");
		assert.deepEqual(result.model.plugins![0], {
			name: "hello-deployment-plugin",
			type: "integration-deploy_application",
			integration: "Hello",
			author: "OVH SAS",
			description: "Hello Example Deployment Plugin",
			parameters: {},
		});
		const tenant = result.model.integrations![0]!;
		assert.equal(tenant.model, "Openstack");
		assert.deepEqual(tenant.config.password, { type: "password", value: "your-password-here" });
		assert.ok(result.warnings.some((w) => w.code === "cleartext-secret" && w.line === 13));
	});

	test("a model exports in canonical form and reads back to the same value", {
		skip: cdsIntegrations.skip,
	}, () => {
		for (const file of filesOf(cdsIntegrations.root!)) {
			const first = parseFileSet([file], {}).model;
			for (const model of first.integrationModels ?? []) {
				const text = exportIntegrationModel(model);
				const again = parseFileSet([{ path: "m.yml", content: text }], {});
				assert.deepEqual(again.errors, []);
				assert.deepEqual(again.model.integrationModels, [model], file.path);
				assert.equal(exportIntegrationModel(again.model.integrationModels![0]!), text);
			}
		}
	});

	test("binary descriptors are their own kind; bad values are located", () => {
		const ok = parseFileSet(
			[
				{
					path: "plugin-linux-amd64.yml",
					content:
						"os: linux\narch: amd64\ncmd: ./plugin-simple\nrequirements:\n  - type: binary\n    value: git\n",
				},
			],
			{},
		);
		assert.deepEqual(ok.errors, []);
		assert.equal(ok.files[0]!.kind, "plugin-binary");
		assert.deepEqual(ok.model.pluginBinaries, [
			{
				os: "linux",
				arch: "amd64",
				cmd: "./plugin-simple",
				args: [],
				entrypoints: [],
				requirements: [{ name: "git", type: "binary", value: "git" }],
			},
		]);
		// CDS's own form: a requirement by its name only is a binary of that name.
		const byName = parseFileSet(
			[{ path: "p.yml", content: "os: linux\narch: amd64\ncmd: ./p\nrequirements:\n  - name: python\n" }],
			{},
		);
		assert.deepEqual(byName.errors, []);
		assert.deepEqual(byName.model.pluginBinaries![0]!.requirements, [
			{ name: "python", type: "binary", value: "python" },
		]);
		assert.deepEqual(
			errorsOf([
				{ path: "q.yml", content: "os: linux\narch: amd64\ncmd: ./p\nrequirements:\n  - type: binary\n" },
			]),
			["q.yml:5:5: error: a requirement of the plugin binary needs a 'name' or a 'value' [missing-key]"],
		);
		assert.deepEqual(errorsOf([{ path: "b.yml", content: "os: linuxx\narch: amd64\ncmd: x\n" }]), [
			"b.yml:1:5: error: os of the plugin binary 'linuxx' is not one of linux, darwin, windows, freebsd, openbsd, netbsd (did you mean 'linux'?) [invalid-value]",
		]);
	});

	test("errors are located and name what is wrong", () => {
		assert.deepEqual(
			errorsOf([
				{
					path: "m.yml",
					content:
						"name: M\ndefault_config:\n  port:\n    type: number\n    value: eighty\n  x:\n    type: secret\ndeployment: maybe\nhoook: true\n",
				},
			]),
			[
				"m.yml:5:12: error: setting 'port' of integration model 'M' is a number; 'eighty' is not a number [invalid-value]",
				"m.yml:7:11: error: type of setting 'x' of integration model 'M' 'secret' is not one of string, text, password, boolean, number [invalid-value]",
				"m.yml:8:13: error: deployment of integration model 'M' must be true or false [invalid-type]",
				"m.yml:9:1: error: unknown key 'hoook' in integration model (did you mean 'hook'?) [unknown-key]",
			],
		);
		assert.deepEqual(
			errorsOf([{ path: "p.yml", content: "name: p\ntype: integration-deploy_application\nauthor: me\n" }]),
			[
				"p.yml:1:1: error: plugin 'p' of type integration-deploy_application must name its integration model ('integration') [missing-key]",
				"p.yml:1:1: error: plugin manifest is missing required key 'description' [missing-key]",
			],
		);
		assert.deepEqual(errorsOf([{ path: "i.yml", content: "name: i\nmodel: Kubernets\nconfig: {}\n" }]), [
			"i.yml:2:8: error: integration model 'Kubernets' of integration 'i' is neither in the file set nor on the server (did you mean 'Kubernetes'?) [unknown-integration-model]",
		]);
	});

	test("references to integrations the project lacks: deployments, workflow integrations, nodes", () => {
		const files = filesOf(FIXTURES).filter((f) => !f.path.endsWith(".integration.yml"));
		assert.deepEqual(errorsOf(files), [
			"deploy-wf.yml:7:18: error: integration 'staging' used by node 'to-staging' is not an integration of the project [unknown-integration]",
			"deploy-wf.yml:13:18: error: integration 'prod' used by node 'to-prod' is not an integration of the project [unknown-integration]",
			"deploy-wf.yml:15:3: error: integration 'prod' used by the workflow's integrations is not an integration of the project [unknown-integration]",
			"deploy-wf.yml:17:3: error: integration 'staging' used by the workflow's integrations is not an integration of the project [unknown-integration]",
			"myapp.app.yml:11:3: error: integration 'prod' used by the deployments of application 'myapp' is not an integration of the project [unknown-integration]",
			"myapp.app.yml:18:3: error: integration 'staging' used by the deployments of application 'myapp' is not an integration of the project [unknown-integration]",
		]);
		// The project's own integrations back them.
		assert.deepEqual(errorsOf(files, { integrations: ["prod", "staging"] }), []);
	});

	test("ITSCWRKFLW18's Kafka hook and event notification lint once the set defines their integrations", {
		skip: corpus.skip,
	}, () => {
		const dir = corpusPath("ITSCWRKFLW18");
		const files = filesOf(dir);
		const kafka = (name: string) => ({
			path: `${name}.integration.yml`,
			content: `name: ${name}\nmodel:\n  name: Kafka\nconfig:\n  broker url:\n    value: kafka:9092\n    type: string\n`,
		});
		assert.equal(errorsOf(files).length, 2);
		assert.deepEqual(errorsOf([...files, kafka("myKafkaHookIntegration"), kafka("myKafkaIntegration")]), []);
	});

	test("the deploy set round-trips: the export equals the files, sealed passwords as imported", () => {
		const files = filesOf(FIXTURES);
		const first = parseFileSet(files, { openSecret: open });
		assert.deepEqual(first.errors, []);
		const app = first.model.applications[0]!;
		assert.deepEqual(Object.keys(app.deployments!), ["prod", "staging"]);
		assert.deepEqual(app.deployments!.prod!.retries, { type: "number", value: "5" });
		assert.deepEqual(first.model.workflows[0]!.integrations, {
			prod: { type: "deployment", config: {} },
			staging: { type: undefined, config: {} },
		});
		const exported = exportWorkflowFiles(first.model, { sealSecret: seal, openSecret: open });
		assert.deepEqual(exported.map((f) => f.path).sort(), files.map((f) => f.path).sort());
		for (const f of exported) {
			const original = files.find((o) => o.path === f.path)!.content;
			const clear = f.content.replace(/enc:v1:[A-Za-z0-9+/=]+/g, (s) => open(s));
			assert.equal(clear, original, f.path);
		}
		// Imported sealed values come back byte for byte, whatever a fresh sealing would write.
		const second = parseFileSet(exported, { openSecret: open });
		const again = exportWorkflowFiles(second.model, { sealSecret: () => "enc:v1:NEW", openSecret: open });
		assert.deepEqual(again, exported);
		// A password changed since the import is sealed afresh.
		second.model.integrations![0]!.config.token!.value = "rotated";
		const rotated = exportProjectIntegration(second.model.integrations![0]!, {
			sealSecret: () => "enc:v1:NEW",
			openSecret: open,
		});
		assert.match(rotated, /value: enc:v1:NEW/);
	});

	test("stored settings: passwords sealed, masked in answers, a mask keeps the stored value", () => {
		const masterSeal = (p: string) => `master(${p})`;
		const masterOpen = (s: string) => s.slice("master(".length, -1);
		const stored = sealConfig(
			{
				token: { type: "password", value: "t0ken", asImported: "enc:v1:abc" },
				url: { type: "string", value: "u" },
			},
			masterSeal,
		);
		assert.deepEqual(stored.token, { type: "password", value: "master(t0ken)", exported: "enc:v1:abc" });
		assert.deepEqual(maskConfig(stored), {
			token: { type: "password", value: "**********" },
			url: { type: "string", value: "u" },
		});
		assert.deepEqual(openConfig(stored, masterOpen).token, {
			type: "password",
			value: "t0ken",
			asImported: "enc:v1:abc",
		});
		const kept = sealConfig({ token: { type: "password", value: "**********" } }, masterSeal, stored);
		assert.deepEqual(kept.token, stored.token);
		const { errors } = configFromInput(
			{ n: { type: "number", value: "x" }, b: { type: "boolean", value: true }, t: { type: "nope" } },
			"config",
		);
		assert.deepEqual(
			errors.map((e) => e.field),
			["config.n.value", "config.t.type"],
		);
	});
});
