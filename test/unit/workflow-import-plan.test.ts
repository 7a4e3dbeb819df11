// The workflow service's import and as-code decisions, without a broker.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ContextEntity } from "../../schemas/project.ts";
import type { WorkflowDoc } from "../../schemas/workflow.ts";
import {
	asCodeHead,
	asCodeOwnershipRefusal,
	asCodePipeline,
	definitionsToDrop,
	dropsDeletedBranch,
	importedHead,
	isFilesRejection,
	outcomeOf,
} from "../../src/workflow/as-code-plan.ts";
import {
	definitionHash,
	definitionId,
	nextVersion,
	pipelineSnapshot,
	usedPipelines,
} from "../../src/workflow/definitions.ts";
import { exportSet } from "../../src/workflow/export-set.ts";
import {
	createdEmptyWarnings,
	entityWrites,
	fileSetErrorMessage,
	importEntityWrites,
	importedEntityNames,
	importRefusal,
	isEmptySet,
} from "../../src/workflow/import-plan.ts";
import type { Diagnostic } from "../../src/workflow/diagnostics.ts";
import type { FileSetModel, Pipeline, Workflow } from "../../src/workflow/model.ts";

const pipeline = (name: string, jobs = 1): Pipeline =>
	({
		name,
		description: undefined,
		parameters: {},
		stages: [],
		jobs: Array(jobs).fill({ name: "j" }),
	}) as Pipeline;
const workflow = (
	name: string,
	nodes: Array<{ pipeline?: string; application?: string; environment?: string }>,
) => ({ name, nodes: nodes.map((n, i) => ({ name: `n${i}`, ...n })), hooks: [] }) as unknown as Workflow;
const model = (over: Partial<FileSetModel>): FileSetModel => ({
	workflows: [],
	pipelines: [],
	applications: [],
	environments: [],
	missing: { applications: [], environments: [] },
	...over,
});
const open = (s: string) => s.replace(/^enc:(.*)$/, "$1");

describe("definitions", () => {
	test("a version is added only when the content changed, numbered after the latest", () => {
		const w = workflow("w", [{ pipeline: "build" }]);
		const hash = definitionHash(w, [pipeline("build")]);
		assert.equal(nextVersion(null, hash), 1);
		assert.equal(nextVersion({ hash, version: 4 }, hash), null);
		assert.equal(nextVersion({ hash: definitionHash(w, [pipeline("build", 2)]), version: 4 }, hash), 5);
	});

	test("definition ids sort by version", () => {
		assert.ok(definitionId("P", "w", "main", 9) < definitionId("P", "w", "main", 10));
	});

	test("the pipelines used are each named once, sorted, and unknown ones are left out of the snapshot", () => {
		const w = workflow("w", [{ pipeline: "deploy" }, { pipeline: "build" }, { pipeline: "deploy" }, {}]);
		assert.deepEqual(usedPipelines(w), ["build", "deploy"]);
		const known = new Map([["deploy", pipeline("deploy")]]);
		assert.deepEqual(
			pipelineSnapshot(usedPipelines(w), (p) => known.get(p)).map((p) => p.name),
			["deploy"],
		);
	});
});

describe("import refusals", () => {
	const none = { pipelines: new Map(), asCodeHeads: [], workflows: new Map() };

	test("identical content is no conflict; different content is, unless forced", () => {
		const set = model({
			pipelines: [pipeline("build")],
			workflows: [workflow("w", [{ pipeline: "build" }])],
		});
		const same = {
			...none,
			pipelines: new Map<string, unknown>([["build", pipeline("build")]]),
			workflows: new Map([["w", { asCode: false, latest: workflow("w", [{ pipeline: "build" }]) }]]),
		};
		assert.equal(importRefusal(set, same, false), null);
		const other = {
			...none,
			pipelines: new Map<string, unknown>([["build", pipeline("build", 2)]]),
			workflows: new Map([["w", { asCode: false, latest: workflow("w", [{ pipeline: "other" }]) }]]),
		};
		assert.deepEqual(importRefusal(set, other, false), { conflicts: ["pipeline build", "workflow w"] });
		assert.equal(importRefusal(set, other, true), null);
	});

	test("anything defined as code is refused even when forced, pipelines first", () => {
		const set = model({ pipelines: [pipeline("build")], workflows: [workflow("w", [])] });
		const r = importRefusal(
			set,
			{
				...none,
				asCodeHeads: [{ name: "ac", repository: "acme/app", embeddedPipelines: ["build"] }],
				workflows: new Map([["w", { asCode: true, repository: "acme/w", latest: null }]]),
			},
			true,
		);
		assert.deepEqual(r, { asCode: { what: "pipeline build of workflow ac", repository: "acme/app" } });
		const r2 = importRefusal(
			model({ workflows: [workflow("w", [])] }),
			{ ...none, workflows: new Map([["w", { asCode: true, repository: "acme/w", latest: null }]]) },
			true,
		);
		assert.deepEqual(r2, { asCode: { what: "workflow w", repository: "acme/w" } });
	});

	test("a file set's error message: the one error with its place, or a count", () => {
		const d = (line: number): Diagnostic => ({
			file: "w.yml",
			line,
			column: 3,
			message: "bad",
			code: "schema" as Diagnostic["code"],
			severity: "error",
		});
		assert.equal(fileSetErrorMessage([d(2)], "", "the file set"), "w.yml:2:3: bad");
		assert.equal(
			fileSetErrorMessage([d(2), d(4)], "acme/app: ", "the as-code files"),
			"acme/app: 2 errors in the as-code files",
		);
		assert.equal(isEmptySet(model({})), true);
		assert.equal(isEmptySet(model({ environments: [{ name: "e" } as never] })), false);
	});
});

describe("entity writes", () => {
	const set = model({
		pipelines: [pipeline("build")],
		applications: [
			{
				name: "api",
				description: undefined,
				variables: {
					pw: { type: "password", value: "enc:s3cret", sealed: true },
					k: { type: "key", value: "x", sealed: false },
				},
				keys: {},
				vcsServer: "gh",
				repo: "acme/api",
				vcs: {},
				vcsPassword: undefined,
			},
		],
		environments: [{ name: "prod", description: "Production", variables: {}, keys: {} }],
		missing: { applications: ["web", "api2"], environments: ["staging"] },
	});
	const known = { applications: ["api", "api2"], environments: ["prod"] };

	test("an import writes its pipelines, entities with opened variables, and empty missing ones", () => {
		const writes = importEntityWrites(set, known, open);
		assert.deepEqual(
			writes.map((w) => `${w.kind}:${w.name}`),
			["pipeline:build", "application:api", "environment:prod", "application:web", "environment:staging"],
		);
		const api = writes[1];
		assert.deepEqual(api.variables, {
			// The file's sealed text goes along, for a byte-stable export.
			pw: { type: "password", value: "s3cret", exported: "enc:s3cret" },
			k: { type: "text", value: "x" },
		});
		assert.deepEqual(api.repository, { vcsServer: "gh", repo: "acme/api" });
		assert.equal(api.description, "");
		assert.deepEqual(writes[3], { kind: "application", name: "web" });
	});

	test("an as-code branch other than the default keeps existing entities and creates only missing ones", () => {
		const writes = entityWrites(set, known, open, { keepExisting: true });
		assert.deepEqual(
			writes.map((w) => `${w.kind}:${w.name}`),
			["application:web", "environment:staging"],
		);
		assert.equal(entityWrites(set, known, open, { keepExisting: false }).length, 4);
	});

	test("the import's counts include what it created empty, as its warnings say", () => {
		// Before: the summary said "0 applications" next to "application web … created empty".
		assert.deepEqual(importedEntityNames(set, known), {
			applications: ["api", "web"],
			environments: ["prod", "staging"],
		});
	});

	test("the import warns about what it created empty", () => {
		assert.deepEqual(
			createdEmptyWarnings(set, known).map((w) => w.message),
			["application web did not exist: created empty", "environment staging did not exist: created empty"],
		);
	});
});

describe("as-code", () => {
	const repo = { id: "r1", repo: "acme/app", defaultBranch: "main" };
	const head: WorkflowDoc = {
		_id: "P/w",
		project: "P",
		name: "w",
		defaultBranch: "main",
		asCode: true,
		repositoryId: "r1",
		repository: "acme/app",
		pipelines: ["shared"],
		embeddedPipelines: ["build"],
		latestVersion: 3,
		created: "T0",
		updated: "T1",
	};

	test("only the repository that defines a workflow may redefine it", () => {
		assert.equal(asCodeOwnershipRefusal("w", null, "r1"), null);
		assert.equal(asCodeOwnershipRefusal("w", head, "r1"), null);
		assert.match(asCodeOwnershipRefusal("w", { ...head, asCode: false }, "r1") ?? "", /not defined as code/);
		assert.match(asCodeOwnershipRefusal("w", head, "r2") ?? "", /defined as code in acme\/app/);
	});

	test("an embedded pipeline wins over a project pipeline of the same name", () => {
		const emb = new Map([["build", pipeline("build", 2)]]);
		const proj = new Map([
			["build", pipeline("build", 1)],
			["shared", pipeline("shared")],
		]);
		assert.equal(asCodePipeline("build", emb, proj)?.jobs.length, 2);
		assert.equal(asCodePipeline("shared", emb, proj)?.name, "shared");
	});

	test("the default branch sets the head's pipelines and version; another branch leaves them", () => {
		const base = {
			project: "P",
			name: "w",
			repo,
			used: ["build", "deploy"],
			embedded: new Set(["deploy"]),
			version: 7,
			changed: true,
			stamp: "T2",
		};
		const onDefault = asCodeHead({ ...base, branch: "main", head });
		assert.deepEqual(onDefault.pipelines, ["build"]);
		assert.deepEqual(onDefault.embeddedPipelines, ["deploy"]);
		assert.equal(onDefault.latestVersion, 7);
		assert.equal(onDefault.created, "T0");
		assert.equal(onDefault.updated, "T2");
		const onFeature = asCodeHead({ ...base, branch: "feature", head, changed: false });
		assert.deepEqual(onFeature.pipelines, ["shared"]);
		assert.deepEqual(onFeature.embeddedPipelines, ["build"]);
		assert.equal(onFeature.latestVersion, 3);
		assert.equal(onFeature.updated, "T1");
		// First seen on a branch: the head is made from that push, with no default version yet.
		const fresh = asCodeHead({ ...base, branch: "feature", head: null });
		assert.deepEqual(fresh.pipelines, ["build"]);
		assert.equal(fresh.latestVersion, 0);
		assert.equal(fresh.created, "T2");
	});

	test("an API import's head keeps its creation time and moves its update time only on change", () => {
		const base = { project: "P", name: "w", branch: "master", used: ["b"], version: 2, stamp: "T9" };
		const kept = importedHead({ ...base, changed: false, head: { ...head, asCode: false } });
		assert.equal(kept.updated, "T1");
		assert.equal(kept.created, "T0");
		assert.equal(kept.asCode, false);
		assert.equal(importedHead({ ...base, changed: true, head: null }).created, "T9");
		assert.equal(outcomeOf(false, true), "created");
		assert.equal(outcomeOf(true, true), "updated");
		assert.equal(outcomeOf(true, false), "unchanged");
	});

	test("a branch push drops the branch's definitions of workflows it no longer defines; never on the default branch", () => {
		assert.deepEqual(definitionsToDrop(["a", "b", "c"], ["b"], "feature", "main"), ["a", "c"]);
		assert.deepEqual(definitionsToDrop(["a", "b"], [], "main", "main"), []);
		assert.equal(dropsDeletedBranch("main", "main"), false);
		assert.equal(dropsDeletedBranch("feature", "main"), true);
	});

	test("bad files (422) or a taken name (409) reject the branch; other failures are retried", () => {
		assert.equal(isFilesRejection({ code: 422 }), true);
		assert.equal(isFilesRejection({ code: 409 }), true);
		assert.equal(isFilesRejection({ code: 500 }), false);
		assert.equal(isFilesRejection({}), false);
	});
});

describe("export set", () => {
	test("exports the applications and environments the nodes use, passwords opened", () => {
		const ent = (kind: "application" | "environment", name: string, extra = {}): ContextEntity => ({
			_id: `P/${kind}/${name}`,
			project: "P",
			kind,
			name,
			description: "",
			created: "T",
			updated: "T",
			variables: [],
			...extra,
		});
		const set = exportSet(
			{
				model: workflow("w", [{ pipeline: "b", application: "api", environment: "prod" }]),
				pipelines: [pipeline("b")],
			},
			[
				ent("application", "api", {
					repository: { vcsServer: "gh", repo: "acme/api" },
					variables: [
						{
							_id: "1",
							project: "P",
							owner: "application:api",
							name: "pw",
							type: "password",
							value: "enc:x",
							updated: "T",
						},
					],
				}),
				ent("application", "unused"),
				ent("environment", "prod"),
			],
			open,
		);
		assert.deepEqual(
			set.applications.map((a) => a.name),
			["api"],
		);
		assert.deepEqual(set.applications[0].variables.pw, { type: "password", value: "x", sealed: false });
		assert.equal(set.applications[0].repo, "acme/api");
		assert.equal(set.applications[0].description, undefined);
		assert.deepEqual(
			set.environments.map((e) => e.name),
			["prod"],
		);
		assert.deepEqual(
			set.pipelines.map((p) => p.name),
			["b"],
		);
	});
});
