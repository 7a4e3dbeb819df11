import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Diagnostic, MAX_FILE_BYTES, parseFileSet } from "../../src/workflow/index.ts";
import { lineColumn } from "../fixtures/workflow/corpus.ts";

const PIPELINE = "version: v1.0\nname: build\njobs:\n- job: compile\n  steps:\n  - script: make\n";

/** Where `needle` (the n-th occurrence) starts in `text`, as the parser should report it. */
function at(text: string, needle: string, nth = 1): { line: number; column: number } {
	let offset = -1;
	for (let i = 0; i < nth; i++) offset = text.indexOf(needle, offset + 1);
	assert.ok(offset >= 0, `${needle} in text`);
	return lineColumn(text, offset);
}

function only(errors: Diagnostic[], code: string): Diagnostic {
	const found = errors.filter((d) => d.code === code);
	assert.equal(found.length, 1, `one ${code} in ${JSON.stringify(errors)}`);
	return found[0]!;
}

function v2(body: string): string {
	return `name: wf\nversion: v2.0\nworkflow:\n${body}`;
}

describe("workflow validation", () => {
	test("a cycle is an error naming its nodes", () => {
		const text = v2(
			"  a:\n    pipeline: build\n  b:\n    pipeline: build\n    depends_on: [a, c]\n  c:\n    pipeline: build\n    depends_on: [b]\n",
		);
		const result = parseFileSet([
			{ path: "wf.yml", content: text },
			{ path: "build.pip.yml", content: PIPELINE },
		]);
		const d = only(result.errors, "cycle");
		assert.match(d.message, /b -> c -> b/);
		assert.deepEqual({ line: d.line, column: d.column }, at(text, "b:"));
	});

	test("an unknown depends_on target is reported at the value with a suggestion", () => {
		const text = v2(
			"  root:\n    pipeline: build\n  deploy:\n    pipeline: build\n    depends_on:\n    - rot\n",
		);
		const result = parseFileSet([
			{ path: "wf.yml", content: text },
			{ path: "build.pip.yml", content: PIPELINE },
		]);
		const d = only(result.errors, "unknown-node");
		assert.match(d.message, /'rot'.*did you mean 'root'/);
		assert.deepEqual({ line: d.line, column: d.column }, at(text, "rot\n"));
	});

	test("a missing pipeline is an error unless the project has it", () => {
		const text = "name: wf\nversion: v1.0\npipeline: deploy\n";
		const alone = parseFileSet([{ path: "wf.yml", content: text }]);
		const d = only(alone.errors, "unknown-pipeline");
		assert.deepEqual({ line: d.line, column: d.column }, at(text, "deploy"));
		assert.deepEqual(parseFileSet([{ path: "wf.yml", content: text }], { pipelines: ["deploy"] }).errors, []);
	});

	test("a job in an undeclared stage is an error at its stage value", () => {
		const text =
			"version: v1.0\nname: p\nstages:\n- Build\njobs:\n- job: j\n  stage: Biuld\n  steps:\n  - script: [make]\n";
		const d = only(parseFileSet([{ path: "p.pip.yml", content: text }]).errors, "unknown-stage");
		assert.match(d.message, /'Biuld'.*did you mean 'Build'/);
		assert.deepEqual({ line: d.line, column: d.column }, at(text, "Biuld"));
	});

	test("jobs without stages form one implicit stage", () => {
		const result = parseFileSet([{ path: "p.yml", content: PIPELINE }]);
		assert.deepEqual(result.errors, []);
		assert.equal(result.model.pipelines[0]!.jobs[0]!.stage, undefined);
	});

	test("text no store keeps is an error where it is written: a NUL or a lone surrogate", () => {
		const text =
			'version: v1.0\nname: p\njobs:\n- job: j\n  steps:\n  - script: "echo \\0"\n  - script: "cut \\ud83d"\n';
		const result = parseFileSet([{ path: "p.pip.yml", content: text }]);
		const found = result.errors.map((d) => ({ code: d.code, line: d.line, column: d.column }));
		assert.deepEqual(found, [
			{ code: "invalid-value", ...at(text, '"echo') },
			{ code: "invalid-value", ...at(text, '"cut') },
		]);
		assert.match(result.errors[0]!.message, /cannot be stored: .*"\\0"/);
		assert.match(result.errors[1]!.message, /cannot be stored: .*lone UTF-16 surrogate/);
	});

	test("a list directly inside a list (no store keeps one) is an error at the inner list", () => {
		const text =
			"version: v1.0\nname: p\njobs:\n- job: j\n  steps:\n  - checkout:\n      matrix: [[1, 2], [3]]\n      rows: [a, {b: [c]}]\n";
		const result = parseFileSet([{ path: "p.pip.yml", content: text }]);
		const found = result.errors.map((d) => ({ code: d.code, line: d.line, column: d.column }));
		assert.deepEqual(found, [
			{ code: "invalid-type", ...at(text, "[1, 2]") },
			{ code: "invalid-type", ...at(text, "[3]") },
		]);
		assert.match(result.errors[0]!.message, /list directly inside a list/);
	});

	test("malformed YAML is reported at the parser's position", () => {
		const text = "version: v1.0\nname: p\njobs:\n  - job: [unclosed\n";
		const result = parseFileSet([{ path: "p.pip.yml", content: text }]);
		assert.equal(result.files[0]!.status, "rejected");
		const d = result.errors[0]!;
		assert.equal(d.code, "yaml-syntax");
		assert.equal(d.file, "p.pip.yml");
		assert.ok(d.line >= 4, `line ${d.line}`);
	});

	test("unknown keys are errors with did-you-mean, at the key", () => {
		const text =
			"version: v1.0\nname: p\njobs:\n- job: j\n  requirments:\n  - binary: git\n  steps:\n  - script: make\n";
		const d = only(parseFileSet([{ path: "p.pip.yml", content: text }]).errors, "unknown-key");
		assert.equal(
			d.message,
			"unknown key 'requirments' in a job of pipeline 'p' (did you mean 'requirements'?)",
		);
		assert.deepEqual({ line: d.line, column: d.column }, at(text, "requirments"));
	});

	test("an unknown integration is an error naming it and where it is used", () => {
		const text = v2("  root:\n    pipeline: build\n    integration: my-openstack\n");
		const result = parseFileSet([
			{ path: "wf.yml", content: text },
			{ path: "build.pip.yml", content: PIPELINE },
		]);
		const d = only(result.errors, "unknown-integration");
		assert.match(d.message, /integration 'my-openstack' used by node 'root'/);
		assert.deepEqual({ line: d.line, column: d.column }, at(text, "my-openstack"));
		assert.equal(
			parseFileSet(
				[
					{ path: "wf.yml", content: text },
					{ path: "b.pip.yml", content: PIPELINE },
				],
				{ integrations: ["my-openstack"] },
			).ok,
			true,
		);
	});

	test("an unknown plugin is an error naming it", () => {
		const text =
			"version: v1.0\nname: p\njobs:\n- job: j\n  steps:\n  - plugin:\n      name: kafka-publish\n      topic: t\n";
		const d = only(parseFileSet([{ path: "p.pip.yml", content: text }]).errors, "unknown-plugin");
		assert.match(d.message, /'kafka-publish'/);
		const ok = parseFileSet([{ path: "p.pip.yml", content: text }], { plugins: ["kafka-publish"] });
		assert.deepEqual(ok.model.pipelines[0]!.jobs[0]!.steps[0]!.action, {
			kind: "plugin",
			name: "kafka-publish",
			params: { topic: "t" },
		});
	});

	test("missing applications and environments are warnings listed for creation", () => {
		const text = v2("  root:\n    pipeline: build\n    application: api\n    environment: prod\n");
		const result = parseFileSet([
			{ path: "wf.yml", content: text },
			{ path: "build.pip.yml", content: PIPELINE },
		]);
		assert.equal(result.ok, true);
		assert.deepEqual(result.model.missing, { applications: ["api"], environments: ["prod"] });
		assert.match(
			result.warnings.find((w) => w.code === "missing-application")!.message,
			/application 'api'.*created empty/,
		);
		const known = parseFileSet(
			[
				{ path: "wf.yml", content: text },
				{ path: "build.pip.yml", content: PIPELINE },
			],
			{ applications: ["api"], environments: ["prod"] },
		);
		assert.deepEqual(known.warnings, []);
	});

	test("requirements, operators and triggers are checked", () => {
		const pipe =
			"version: v1.0\nname: p\njobs:\n- job: j\n  requirements:\n  - memory: lots\n  - os-architecture: amd64\n  - binary: git\n    model: x\n";
		const codes = parseFileSet([{ path: "p.pip.yml", content: pipe }]).errors.map((d) => [d.line, d.code]);
		const lines = [at(pipe, "lots"), at(pipe, "amd64"), at(pipe, "binary")].map((p) => [
			p.line,
			"invalid-value",
		]);
		assert.deepEqual(codes, lines);
		const wf = v2(
			"  root:\n    pipeline: build\n    conditions:\n      check:\n      - variable: git.branch\n        operator: equals\n        value: main\n  next:\n    pipeline: build\n    depends_on: [root]\n    when: [sucess]\n",
		);
		const errors = parseFileSet([
			{ path: "wf.yml", content: wf },
			{ path: "b.pip.yml", content: PIPELINE },
		]).errors;
		const expected = [at(wf, "equals"), at(wf, "sucess")].map((p) => [p.line, p.column, "invalid-value"]);
		assert.deepEqual(
			errors.map((d) => [d.line, d.column, d.code]),
			expected,
		);
		assert.match(errors[1]!.message, /did you mean 'success'/);
	});

	test("files over 1 MiB are rejected without parsing", () => {
		const big = `version: v1.0\nname: p\n# ${"x".repeat(MAX_FILE_BYTES)}\n`;
		const result = parseFileSet([{ path: "big.pip.yml", content: big }]);
		const d = only(result.errors, "file-too-large");
		assert.deepEqual([d.line, d.column, d.file], [1, 1, "big.pip.yml"]);
		assert.match(d.message, /1 MiB/);
	});

	test("a YAML alias bomb is stopped, not expanded", () => {
		const levels = ["a: &a [x, x, x, x, x, x, x, x, x]"];
		for (let i = 1; i < 9; i++) {
			const prev = String.fromCharCode(96 + i);
			const cur = String.fromCharCode(97 + i);
			levels.push(
				`${cur}: &${cur} [*${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}]`,
			);
		}
		const text = `name: wf\nversion: v1.0\npipeline: p\npayload:\n${levels.map((l) => `  ${l}`).join("\n")}\n`;
		const result = parseFileSet([{ path: "wf.yml", content: text }], { pipelines: ["p"] });
		assert.equal(only(result.errors, "too-many-aliases").file, "wf.yml");
	});

	test("no input makes the parser throw", () => {
		const samples = [
			"",
			"---\n---\n",
			"[1, 2",
			"!!binary xyz",
			"version: v2.0\nworkflow: 3\n",
			"version: v2.0\nworkflow:\n  a: [1]\nhooks: x\nnotifications: {a: 1}\n",
			"version: v1.0\nname: p\njobs: {a: 1}\nstages: {x: 1}\n",
			"version: v1.0\nname: p\njobs:\n- 1\n- job:\n  steps: [1, {}, {script: []}, {gitClone: {}, script: x}]\n",
			"name: e\nvalues: [1]\nkeys: {k: {type: gpg}}\n",
			"? [a]\n: b\n",
			`${"[".repeat(5000)}${"]".repeat(5000)}`,
			"name: a\nvcs_password: secret\nvariables: {p: {type: password, value: enc:v1:zz}}\n",
		];
		for (const content of samples) {
			for (const path of ["x.yml", "x.pip.yml", "x.env.yml", "x.app.yml", "x.json"]) {
				const result = parseFileSet(
					[{ path, content }],
					{},
					{
						openSecret: () => {
							throw new Error("bad key");
						},
					},
				);
				assert.equal(result.files.length, 1);
				for (const d of [...result.errors, ...result.warnings]) {
					assert.ok(d.line >= 1 && d.column >= 1 && d.message.length > 0, JSON.stringify(d));
				}
			}
		}
	});

	test("non-entities are ignored with a reason, not errors", () => {
		const result = parseFileSet([
			{ path: "payload.json", content: '{"fookafka": "barkafka"}' },
			{ path: "README.md", content: "# Title\n\nSome *text*: `code`\n" },
			{ path: "empty.yml", content: "# nothing\n" },
			{ path: "list.yml", content: "- a\n- b\n" },
		]);
		assert.deepEqual(result.errors, []);
		for (const f of result.files) {
			assert.equal(f.status, "ignored", f.path);
			assert.ok(f.reason, f.path);
		}
	});
});
