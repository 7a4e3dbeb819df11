// The project service's entity and variable rules, without a broker.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { EntityDoc, VariableDoc } from "../../schemas/project.ts";
import {
	entityChanges,
	jobVariables,
	mergeEntity,
	newEntity,
	presentEntity,
	presentVariable,
	projectContext,
	staleVariables,
	variableDocs,
} from "../../src/project/entities.ts";
import { MASK } from "../../src/project/variables.ts";

const seal = (plain: string) => `sealed(${plain})`;
const open = (sealed: string) => sealed.replace(/^sealed\((.*)\)$/, "$1");

const stored: EntityDoc = {
	_id: "P/application/api",
	project: "P",
	kind: "application",
	name: "api",
	description: "the API",
	repository: { vcsServer: "gh", repo: "acme/api" },
	created: "2026-01-01T00:00:00.000Z",
	updated: "2026-01-01T00:00:00.000Z",
};

describe("mergeEntity (imports)", () => {
	test("keeps the stored description, repository and creation time when the import leaves them out", () => {
		const doc = mergeEntity("P", { kind: "application", name: "api" }, stored, "T2");
		assert.equal(doc.description, "the API");
		assert.deepEqual(doc.repository, { vcsServer: "gh", repo: "acme/api" });
		assert.equal(doc.created, stored.created);
		assert.equal(doc.updated, "T2");
		assert.equal(doc.workflow, null);
	});

	test("the import's values win; an empty description is a value", () => {
		const doc = mergeEntity(
			"P",
			{ kind: "application", name: "api", description: "", repository: { vcsServer: "gl", repo: "a/b" } },
			stored,
			"T2",
		);
		assert.equal(doc.description, "");
		assert.deepEqual(doc.repository, { vcsServer: "gl", repo: "a/b" });
	});

	test("a new entity gets defaults; only applications carry a repository; the model only when given", () => {
		const env = mergeEntity("P", { kind: "environment", name: "prod" }, null, "T1");
		assert.deepEqual(env, {
			_id: "P/environment/prod",
			project: "P",
			kind: "environment",
			name: "prod",
			description: "",
			workflow: null,
			created: "T1",
			updated: "T1",
		});
		const app = mergeEntity("P", { kind: "application", name: "web" }, null, "T1");
		assert.equal(app.repository, null);
		const pip = mergeEntity(
			"P",
			{ kind: "pipeline", name: "build", model: { stages: [] }, workflow: "w" },
			null,
			"T1",
		);
		assert.deepEqual(pip.model, { stages: [] });
		assert.equal(pip.workflow, "w");
		assert.equal("repository" in pip, false);
	});
});

describe("API entity create and update", () => {
	test("newEntity: applications get a null repository, environments none", () => {
		assert.equal(newEntity("P", "application", { name: "a" }, "T").repository, null);
		assert.equal("repository" in newEntity("P", "environment", { name: "e" }, "T"), false);
		assert.equal(newEntity("P", "environment", { name: "e" }, "T")._id, "P/environment/e");
	});

	test("entityChanges sets only what was given, and a repository only on applications", () => {
		assert.deepEqual(entityChanges("application", {}, "T"), { updated: "T" });
		assert.deepEqual(entityChanges("application", { description: "d", repository: null }, "T"), {
			updated: "T",
			description: "d",
			repository: null,
		});
		assert.deepEqual(entityChanges("environment", { repository: { vcsServer: "x", repo: "a/b" } }, "T"), {
			updated: "T",
		});
	});
});

describe("variables", () => {
	test("passwords are sealed, other types stored normalised in clear", () => {
		const { docs, errors } = variableDocs(
			"P",
			"application:api",
			{ pw: { type: "password", value: "s3cret" }, flag: { type: "boolean", value: true } },
			seal,
			"T",
		);
		assert.deepEqual(errors, []);
		const byName = Object.fromEntries(docs.map((d) => [d.name, d]));
		assert.equal(byName.pw.value, "sealed(s3cret)");
		assert.equal(byName.flag.value, "true");
		assert.equal(byName.pw._id, "P/application:api/pw");
	});

	test("every bad value is reported under variables.<name>", () => {
		const { docs, errors } = variableDocs(
			"P",
			"project",
			{
				n: { type: "number", value: "x" },
				b: { type: "boolean", value: "maybe" },
				ok: { type: "text", value: "y" },
			},
			seal,
			"T",
		);
		assert.deepEqual(
			errors.map((e) => e.field),
			["variables.n", "variables.b"],
		);
		assert.deepEqual(
			docs.map((d) => d.name),
			["ok"],
		);
	});

	test("a replacing write drops the variables the new set does not name", () => {
		const v = (name: string): VariableDoc => ({
			_id: `P/project/${name}`,
			project: "P",
			owner: "project",
			name,
			type: "string",
			value: "",
			updated: "T",
		});
		assert.deepEqual(
			staleVariables([v("a"), v("b"), v("c")], [v("b")]).map((d) => d.name),
			["a", "c"],
		);
	});

	test("answers mask passwords; entity answers show each kind's own fields", () => {
		const pw: VariableDoc = {
			_id: "x",
			project: "P",
			owner: "project",
			name: "pw",
			type: "password",
			value: "sealed(s)",
			updated: "T",
		};
		assert.equal(presentVariable(pw).value, MASK);
		assert.equal(presentVariable({ ...pw, type: "text", value: "v" }).value, "v");
		const app = presentEntity(stored, [pw]) as Record<string, unknown>;
		assert.deepEqual(app.repository, stored.repository);
		assert.equal("model" in app, false);
		assert.deepEqual(app.variables, [presentVariable(pw)]);
		const env = presentEntity({ ...stored, kind: "environment", repository: undefined }) as Record<
			string,
			unknown
		>;
		assert.equal("repository" in env, false);
		assert.equal("variables" in env, false);
		const pip = presentEntity({ ...stored, kind: "pipeline", model: { a: 1 } }) as Record<string, unknown>;
		assert.deepEqual(pip.model, { a: 1 });
		assert.equal(pip.workflow, null);
	});
});

describe("project context and job variables", () => {
	const vars: VariableDoc[] = [
		{
			_id: "1",
			project: "P",
			owner: "project",
			name: "p",
			type: "password",
			value: "sealed(x)",
			updated: "T",
		},
		{ _id: "2", project: "P", owner: "application:api", name: "a", type: "text", value: "A", updated: "T" },
		{ _id: "3", project: "P", owner: "environment:prod", name: "e", type: "text", value: "E", updated: "T" },
		{ _id: "4", project: "P", owner: "application:web", name: "w", type: "text", value: "W", updated: "T" },
	];

	test("the context names each kind and gives each entity its own variables", () => {
		const ctx = projectContext(
			[stored, { ...stored, _id: "P/environment/prod", kind: "environment", name: "prod" }],
			vars,
		);
		assert.deepEqual(ctx.applications, ["api"]);
		assert.deepEqual(ctx.environments, ["prod"]);
		assert.deepEqual(ctx.pipelines, []);
		assert.deepEqual(
			ctx.entities.map((e) => e.variables.map((v) => v.name)),
			[["a"], ["e"]],
		);
	});

	test("a job sees the project's variables and its node's application and environment, passwords opened", () => {
		assert.deepEqual(jobVariables(vars, open, { application: "api", environment: "prod" }), {
			project: { p: { type: "password", value: "x" } },
			application: { a: { type: "text", value: "A" } },
			environment: { e: { type: "text", value: "E" } },
		});
		const bare = jobVariables(vars, open, {});
		assert.deepEqual(bare.application, {});
		assert.deepEqual(bare.environment, {});
	});
});
