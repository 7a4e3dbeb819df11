// The `cds.integration.*` variables a job gets, named as CDS names them, and the passwords
// among them listed as secrets (so masked in logs).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { JobDoc } from "../../schemas/run.ts";
import type { Definition } from "../../src/engine/ports.ts";
import { integrationNamesFor, maskWhole, variablesOfJob } from "../../src/engine/worker-job.ts";
import { integrationPrefix, integrationVariables } from "../../src/integrations/job-vars.ts";
import type { IntegrationModel, JobIntegration } from "../../src/integrations/model.ts";

function model(name: string, flags: Partial<IntegrationModel> = {}): IntegrationModel {
	return {
		name,
		defaultConfig: {},
		storage: false,
		deployment: false,
		compute: false,
		hook: false,
		event: false,
		artifactManager: false,
		public: false,
		...flags,
	};
}

const hello: JobIntegration = {
	name: "hello-prod",
	model: "Hello",
	config: {
		host: { type: "string", value: "http://hello.example" },
		token: { type: "password", value: "s3cr3t-token-value" },
	},
	modelDef: model("Hello", {
		deployment: true,
		additionalDefaultConfig: {
			"retry.max": { type: "string", value: "30" },
			version: { type: "string", value: "{{.cds.version}}" },
			"deployment.token": { type: "password", value: "" },
		},
	}),
};
const store: JobIntegration = {
	name: "my-artifactory",
	model: "Artifactory",
	config: { url: { type: "string", value: "https://repo.example" } },
	modelDef: model("Artifactory", { artifactManager: true }),
};
const kafka: JobIntegration = {
	name: "my-kafka",
	model: "Kafka",
	config: { broker: { type: "string", value: "kafka:9092" } },
	modelDef: model("Kafka", { event: true }),
};

describe("cds.integration.* variables", () => {
	test("a deployment integration named by the node: CDS's prefixed and older names, deployments win", () => {
		const { vars, secrets } = integrationVariables({
			integrations: [hello],
			node: "hello-prod",
			deployments: {
				"hello-prod": {
					"retry.max": { type: "string", value: "5" },
					"deployment.token": { type: "password", value: "app-deploy-secret" },
				},
			},
			vars: { "cds.version": "42" },
		});
		assert.equal(vars["cds.integration.deployment"], "hello-prod");
		assert.equal(vars["cds.integration.deployment.host"], "http://hello.example");
		assert.equal(vars["cds.integration.deployment.token"], "s3cr3t-token-value");
		assert.equal(vars["cds.integration.deployment.retry.max"], "5", "the application's setting wins");
		assert.equal(vars["cds.integration.deployment.version"], "42", "model defaults are interpolated");
		assert.equal(vars["cds.integration.deployment.deployment.token"], "app-deploy-secret");
		assert.equal(vars["cds.integration"], "hello-prod");
		assert.equal(vars["cds.integration.token"], "s3cr3t-token-value");
		assert.deepEqual(secrets.sort(), ["app-deploy-secret", "s3cr3t-token-value"]);
	});

	test("workflow integrations: deployment and artifact managers only, under their prefix", () => {
		const { vars } = integrationVariables({
			integrations: [hello, store, kafka],
			workflow: ["hello-prod", "my-artifactory", "my-kafka"],
		});
		assert.equal(vars["cds.integration.deployment"], "hello-prod");
		assert.equal(vars["cds.integration.artifact_manager"], "my-artifactory");
		assert.equal(vars["cds.integration.artifact_manager.url"], "https://repo.example");
		assert.equal(vars["cds.integration.broker"], undefined, "an event integration is not a variable");
		assert.equal(vars["cds.integration"], undefined, "no node integration");
	});

	test("prefixes follow the model's flags", () => {
		assert.equal(integrationPrefix(hello.modelDef), "deployment");
		assert.equal(integrationPrefix(store.modelDef), "artifact_manager");
		assert.equal(integrationPrefix(kafka.modelDef), "");
	});

	test("variablesOfJob adds them, and a printed password is masked", () => {
		const def = {
			model: {
				nodes: [
					{
						name: "deploy",
						application: "app",
						environment: undefined,
						integration: "hello-prod",
						parameters: {},
					},
				],
				integrations: {
					"my-artifactory": {
						type: undefined,
						config: { url: { type: "string", value: "https://wf.example" } },
					},
				},
			},
			pipelines: [{ name: "pip", parameters: {} }],
		} as unknown as Definition;
		const job = {
			_id: "r/deploy/j0/a0",
			node: "deploy",
			pipeline: "pip",
			stage: "s",
			name: "j",
			project: "P",
			workflow: "W",
			runNumber: 3,
		} as unknown as JobDoc;
		assert.deepEqual(integrationNamesFor(def, job), ["hello-prod", "my-artifactory"]);
		const clear = { project: {}, application: {}, environment: {} };
		const { vars, secrets } = variablesOfJob(
			job,
			{ vars: { "cds.version": "3" }, build: {} },
			def,
			clear,
			"http://cds",
			undefined,
			{ integrations: [hello, store] },
		);
		assert.equal(vars["cds.integration.deployment.host"], "http://hello.example");
		assert.equal(vars["cds.integration.deployment.version"], "3");
		assert.equal(
			vars["cds.integration.artifact_manager.url"],
			"https://wf.example",
			"the workflow's setting wins",
		);
		assert.ok(secrets.includes("s3cr3t-token-value"));
		assert.equal(maskWhole(`token=${vars["cds.integration.token"]}`, secrets), "token=**********");
	});

	test("a job without integrations gets none", () => {
		const def = {
			model: { nodes: [{ name: "n", integration: undefined, parameters: {} }] },
			pipelines: [],
		} as unknown as Definition;
		assert.deepEqual(integrationNamesFor(def, { node: "n" }), []);
	});
});
