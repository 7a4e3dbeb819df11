// A project integration's settings are checked against its model (keys the model declares,
// the model's types), a left-out setting takes the model's default, and model names are CDS's
// free text within sane limits — each error located at file:line:column.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { declaredSettings, missingDefaults, modelNameProblem } from "../../src/integrations/model-check.ts";
import { formatDiagnostic, parseFileSet } from "../../src/workflow/index.ts";

const MODEL = `name: MyDeploy
default_config:
  url:
    type: string
  retries:
    type: number
    value: "3"
  dry_run:
    type: boolean
    value: "false"
  token:
    type: password
additional_default_config:
  path:
    type: string
    value: /
deployment: true
`;

const integration = (config: string, model = "MyDeploy") =>
	`name: prod\nmodel:\n  name: ${model}\nconfig:\n${config}`;

function lint(files: Array<{ path: string; content: string }>, ctx = {}) {
	const result = parseFileSet(files, ctx);
	return { result, errors: result.errors.map(formatDiagnostic) };
}

describe("project integration settings against the model", () => {
	test("a key the model does not declare is an error naming the key, the integration and the model", () => {
		const { errors } = lint([
			// The integration's file comes first: the model is still known.
			{
				path: "prod.integration.yml",
				content: integration("  url:\n    value: https://x\n  urll:\n    value: https://y\n"),
			},
			{ path: "MyDeploy.model.yml", content: MODEL },
		]);
		assert.equal(errors.length, 1, errors.join("\n"));
		assert.match(
			errors[0]!,
			/^prod\.integration\.yml:7:3: error: setting 'urll' of integration 'prod' is not declared by its integration model 'MyDeploy' \(it declares 'dry_run', 'path', 'retries', 'token', 'url'\) \[unknown-key\]$/,
		);
	});

	test("a key of additional_default_config is a setting the integration may give", () => {
		const { errors, result } = lint([
			{ path: "prod.integration.yml", content: integration("  path:\n    value: /srv\n") },
			{ path: "MyDeploy.model.yml", content: MODEL },
		]);
		assert.deepEqual(errors, []);
		assert.deepEqual(result.model.integrations![0]!.config, { path: { type: "string", value: "/srv" } });
	});

	test("a type other than the model's is an error at the type; a value that does not fit the model's type at the value", () => {
		const { errors } = lint([
			{ path: "MyDeploy.model.yml", content: MODEL },
			{
				path: "prod.integration.yml",
				content: integration(
					[
						"  retries:",
						"    type: text", // line 6
						"    value: three",
						"  dry_run:",
						"    value: maybe", // line 9: no type, the model's boolean
						"  token:",
						"    type: string", // line 11: a password given as a string would be stored in clear
						"    value: abc",
						"",
					].join("\n"),
				),
			},
		]);
		assert.deepEqual(errors, [
			"prod.integration.yml:6:11: error: setting 'retries' of integration 'prod' is given type text, but integration model 'MyDeploy' declares it number [invalid-value]",
			"prod.integration.yml:9:12: error: setting 'dry_run' of integration 'prod' is a boolean; its value must be true or false [invalid-value]",
			"prod.integration.yml:11:11: error: setting 'token' of integration 'prod' is given type string, but integration model 'MyDeploy' declares it password [invalid-value]",
		]);
	});

	test("a setting without a type takes the model's (a password stays a secret)", () => {
		const { errors, result } = lint([
			{ path: "MyDeploy.model.yml", content: MODEL },
			{
				path: "prod.integration.yml",
				content: integration('  token:\n    value: s3cret\n  retries:\n    value: "7"\n'),
			},
		]);
		assert.deepEqual(errors, []);
		const config = result.model.integrations![0]!.config;
		assert.equal(config.token!.type, "password");
		assert.equal(config.retries!.type, "number");
		assert.ok(
			result.warnings.some((w) => w.code === "cleartext-secret"),
			"a clear password is warned about",
		);
	});

	test("a built-in model and a server's imported model (context) are checked too", () => {
		const builtin = lint([
			{
				path: "hook.integration.yml",
				content: integration("  uri:\n    value: amqp://h\n  vhost:\n    value: /\n", "RabbitMQ"),
			},
		]);
		assert.deepEqual(builtin.errors.length, 1);
		assert.match(builtin.errors[0]!, /^hook\.integration\.yml:7:3: .*'vhost' .*integration model 'RabbitMQ'/);
		const server = lint(
			[{ path: "prod.integration.yml", content: integration("  retries:\n    value: many\n", "Remote") }],
			{
				integrationModels: ["Remote"],
				integrationModelDefs: [
					{ name: "Remote", defaultConfig: { retries: { type: "number", value: "1" } } },
				],
			},
		);
		assert.deepEqual(server.errors, [
			"prod.integration.yml:6:12: error: setting 'retries' of integration 'prod' is a number; 'many' is not a number [invalid-value]",
		]);
	});

	test("a left-out setting of default_config takes the model's type and value", () => {
		const model = {
			name: "M",
			defaultConfig: {
				url: { type: "string" as const, value: "https://default" },
				retries: { type: "number" as const, value: "3" },
			},
			additionalDefaultConfig: { path: { type: "string" as const, value: "/" } },
		};
		assert.deepEqual(
			missingDefaults({ url: { type: "string", value: "https://mine" } }, model.defaultConfig),
			{
				retries: { type: "number", value: "3" },
			},
		);
		assert.deepEqual([...declaredSettings(model).types.keys()].sort(), ["path", "retries", "url"]);
	});
});

describe("integration model names", () => {
	test("CDS's free-text names are accepted; path separators, dot steps, control characters and overlong names are not", () => {
		for (const ok of ["Kafka", "My Platform", "Arsenal v2 (beta)", "deploy:eu", "a".repeat(128)])
			assert.equal(modelNameProblem(ok), undefined, ok);
		for (const bad of ["", ".", "..", "a/b", "a\\b", "tab\there", "new\nline", " padded", "a".repeat(129)])
			assert.ok(modelNameProblem(bad), JSON.stringify(bad));
	});

	test("a model file with a name CDS accepts imports; one with a path separator is a located error", () => {
		const spaced = lint([
			{ path: "m.yml", content: "name: My Platform\ndefault_config: {}\ndeployment: true\n" },
		]);
		assert.deepEqual(spaced.errors, []);
		assert.equal(spaced.result.model.integrationModels![0]!.name, "My Platform");
		const slashed = lint([
			{ path: "m.yml", content: "name: ops/deploy\ndefault_config: {}\ndeployment: true\n" },
		]);
		assert.deepEqual(slashed.errors, [
			`m.yml:1:7: error: integration-model name "ops/deploy" may not hold a path separator ('/' or '\\') [invalid-value]`,
		]);
		// An integration may name a model with a space.
		const used = lint([
			{
				path: "m.yml",
				content: "name: My Platform\ndefault_config:\n  url:\n    type: string\ndeployment: true\n",
			},
			{ path: "i.yml", content: 'name: prod\nmodel: "My Platform"\nconfig:\n  url:\n    value: https://x\n' },
		]);
		assert.deepEqual(used.errors, []);
	});
});
