// Every file set of the real CDS corpus must import (or fail naming what lies outside the set)
// and round-trip through export.
//
// Decision on CDS workflow *templates* (template/, workflow-templates/): files carrying Go
// template actions (`[[ .name ]]`, `[[if ...]]`) are template sources, not entities: they are
// listed as ignored with the line of the first action. Template manifests (`slug:`) and
// template instances (`from:`) are ignored with their own reason. Template files without
// actions (template/simple/2.pipeline.yml, 1.environment.yml) are plain entities and import.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
	exportWorkflowFiles,
	type FileSetResult,
	type ProjectContext,
	parseFileSet,
} from "../../src/workflow/index.ts";
import { type CorpusSet, corpusSets } from "../fixtures/workflow/corpus.ts";
import { corpus } from "../helpers/corpus.ts";

const sets = corpus.skip ? [] : corpusSets();

function roundTrip(result: FileSetResult, ctx: ProjectContext = {}): void {
	const exported = exportWorkflowFiles(result.model);
	assert.deepEqual(exportWorkflowFiles(result.model), exported, "export twice gives the same bytes");
	const again = parseFileSet(exported, ctx);
	assert.deepEqual(again.errors, [], "the exported files import without error");
	assert.deepEqual(again.model, result.model, "import → export → import gives an equal model");
	assert.deepEqual(exportWorkflowFiles(again.model), exported, "re-export is byte-identical");
}

function definesSomething(result: FileSetResult): number {
	const m = result.model;
	return m.workflows.length + m.pipelines.length + m.applications.length + m.environments.length;
}

describe("CDS corpus", { skip: corpus.skip }, () => {
	test("the corpus is found and has its file sets", () => {
		assert.ok(sets.length >= 14, `found ${sets.length} file sets`);
		assert.equal(
			sets.reduce((n, s) => n + s.files.length, 0),
			49,
		);
	});

	const bySet = new Map(sets.map((s) => [s.dir, s]));
	const get = (dir: string): CorpusSet => {
		const set = bySet.get(dir);
		assert.ok(set, `corpus set ${dir}`);
		return set;
	};

	for (const set of sets) {
		if (set.dir === "ITSCWRKFLW18" || set.dir === "ITSCWRKFLW2") continue;
		test(`${set.dir || "(root)"} imports and round-trips`, () => {
			const result = parseFileSet(set.files);
			assert.deepEqual(result.errors, []);
			for (const file of result.files) {
				assert.notEqual(file.status, "rejected", file.path);
				if (file.status === "ignored")
					assert.ok(file.reason && file.reason.length > 10, `${file.path} has a reason`);
			}
			roundTrip(result);
		});
	}

	test("ITSCWRKFLW18 fails naming both Kafka integrations, and imports once the project has them", () => {
		const set = get("ITSCWRKFLW18");
		const result = parseFileSet(set.files);
		assert.equal(result.ok, false);
		const missing = result.errors.filter((d) => d.code === "unknown-integration");
		assert.equal(missing.length, 2);
		const workflow = set.files.find((f) => f.path.endsWith("workflow.yml"))!;
		for (const name of ["myKafkaHookIntegration", "myKafkaIntegration"]) {
			const d = missing.find((e) => e.message.includes(`'${name}'`));
			assert.ok(d, `an error names ${name}`);
			assert.equal(d.file, workflow.path);
			const lines = workflow.content.split("\n");
			assert.equal(lines[d.line - 1]!.slice(d.column - 1, d.column - 1 + name.length), name);
		}
		const json = result.files.find((f) => f.path.endsWith(".json"))!;
		assert.equal(json.status, "ignored");
		const ctx = { integrations: ["myKafkaHookIntegration", "myKafkaIntegration"] };
		const withIntegrations = parseFileSet(set.files, ctx);
		assert.deepEqual(withIntegrations.errors, []);
		const workflowModel = withIntegrations.model.workflows[0]!;
		assert.equal(workflowModel.hooks[0]!.config["integration"], "myKafkaHookIntegration");
		assert.equal(workflowModel.notifications[0]!.integration, "myKafkaIntegration");
		roundTrip(withIntegrations, ctx);
	});

	test("ITSCWRKFLW2 holds two versions of one workflow: together a duplicate, each alone imports", () => {
		const set = get("ITSCWRKFLW2");
		const together = parseFileSet(set.files);
		const duplicate = together.errors.find((d) => d.code === "duplicate-name");
		assert.ok(duplicate);
		assert.ok(duplicate.message.includes("ITSCWRKFLW2-WORKFLOW"));
		const pipeline = set.files.filter((f) => f.path.endsWith("pipeline.yml"));
		for (const version of set.files.filter((f) => /workflow/.test(f.path))) {
			const result = parseFileSet([...pipeline, version]);
			assert.deepEqual(result.errors, [], version.path);
			assert.equal(result.model.missing.applications.length, 1);
			roundTrip(result);
		}
	});

	test("04SCWorkflowRunNotif/empty.yml is the empty pipeline its workflow uses", () => {
		const result = parseFileSet(get("04SCWorkflowRunNotif").files);
		const empty = result.files.find((f) => f.path.endsWith("/empty.yml"))!;
		assert.equal(empty.kind, "pipeline");
		assert.equal(empty.status, "accepted");
		const pipeline = result.model.pipelines.find((p) => p.name === "empty")!;
		assert.deepEqual(pipeline.jobs, []);
		assert.deepEqual(
			result.model.workflows.map((w) => w.name),
			["04SCWorkflowRunNotif-WORKFLOW", "04SCWorkflowRunNotif-WORKFLOW-EMPTY"],
		);
	});

	test("ITSCWRKFLW3 is a fork then a join, in topological order", () => {
		const result = parseFileSet(get("ITSCWRKFLW3").files);
		const workflow = result.model.workflows[0]!;
		assert.deepEqual(
			workflow.nodes.map((n) => n.name),
			["root", "fork", "build_api", "build_front", "tests", "deploy"],
		);
		assert.equal(workflow.nodes.find((n) => n.name === "fork")!.pipeline, undefined);
		assert.deepEqual(workflow.nodes.find((n) => n.name === "tests")!.dependsOn, ["build_api", "build_front"]);
		assert.deepEqual(result.model.missing, {
			applications: ["ITSCWRKFLW3-APP"],
			environments: ["ITSCWRKFLW3-ENV-PREPROD", "ITSCWRKFLW3-ENV-PROD"],
		});
		assert.deepEqual(workflow.nodes[0]!.conditions.checks, [
			{ variable: "git.branch", operator: "eq", value: "master" },
		]);
	});

	test("template sets: Go-template sources and manifests are ignored with reasons; the detached workflow imports", () => {
		const simple = parseFileSet(get("template/simple").files);
		const reasonOf = (suffix: string) => simple.files.find((f) => f.path.endsWith(suffix))!.reason ?? "";
		assert.match(reasonOf("/workflow.yml"), /Go-template.*line 1\b/);
		assert.match(reasonOf("/1.pipeline.yml"), /Go-template.*line 11\b/);
		assert.match(reasonOf("example-simple.yml"), /template manifest/);
		const instance = parseFileSet(get("template/simple/workflow").files);
		assert.match(instance.files[0]!.reason ?? "", /shared\.infra\/example-simple@1/);
		const detached = parseFileSet(get("template/simple/workflow-detached").files);
		assert.deepEqual(detached.errors, []);
		assert.deepEqual(
			detached.files.map((f) => f.kind),
			["environment", "pipeline", "workflow", "pipeline"],
		);
		const workflow = detached.model.workflows[0]!;
		assert.equal(workflow.version, "v2.0");
		assert.equal(workflow.nodes[1]!.environment, "First-environment");
		assert.deepEqual(detached.model.environments[0]!.variables, {
			"my-key": { type: "string", value: "my-value", sealed: false },
		});
	});

	test("every corpus file set defines something or ignores everything with a reason", () => {
		for (const set of sets) {
			const result = parseFileSet(set.files);
			const ignored = result.files.filter((f) => f.status === "ignored").length;
			assert.ok(definesSomething(result) > 0 || ignored === set.files.length, set.dir);
		}
	});
});
