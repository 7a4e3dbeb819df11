// Template formats: manifests (both forms), parameters, repository indexes, references.

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseManifest, TemplateFormatError } from "../../src/templates/manifest.ts";
import { checkParameters, checkParameterValue, parseParamPairs } from "../../src/templates/parameters.ts";
import { parseTemplateReference } from "../../src/templates/reference.ts";
import { parseRepositoryIndex } from "../../src/templates/repository-index.ts";
import { corpus, corpusPath } from "../helpers/corpus.ts";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "templates");

describe("template manifests", { skip: corpus.skip }, () => {
	test("CDS's manifest: parameters and files by kind", async () => {
		const text = await readFile(corpusPath("template", "simple", "example-simple.yml"), "utf8");
		const m = parseManifest("example-simple.yml", text);
		assert.equal(m.slug, "example-simple");
		assert.equal(m.group, "shared.infra");
		assert.deepEqual(m.parameters, [
			{ key: "withDeploy", type: "boolean", required: true },
			{ key: "deployWhen", type: "string", required: false },
			{ key: "data", type: "json", required: false },
		]);
		assert.deepEqual(
			m.files.map((f) => [f.kind, f.path]),
			[
				["workflow", "workflow.yml"],
				["pipeline", "1.pipeline.yml"],
				["pipeline", "2.pipeline.yml"],
				["environment", "1.environment.yml"],
			],
		);
	});

	test("the single-file form carries its files inline", async () => {
		const m = parseManifest("single.yml", await readFile(join(FIXTURES, "single.yml"), "utf8"));
		assert.equal(m.slug, "single-file");
		assert.equal(m.files.length, 2);
		assert.equal(m.files[0]!.path, "workflow");
		assert.match(m.files[0]!.inline!, /^name: \[\[ \.name \]\]/);
		assert.equal(m.files[1]!.path, "pipelines[0]");
	});

	test("problems are located: unknown keys, bad parameter types, absolute paths, missing workflow", () => {
		const text = [
			"name: t",
			"colour: blue",
			"parameters:",
			"- key: a",
			"  type: colour",
			"- key: bad-key",
			"pipelines:",
			"- /etc/passwd",
			"",
		].join("\n");
		assert.throws(
			() => parseManifest("t.yml", text),
			(e: unknown) => {
				assert.ok(e instanceof TemplateFormatError);
				const messages = e.diagnostics.map((d) => `${d.line}:${d.message}`);
				assert.ok(
					messages.some((m) => /^2:unknown manifest key "colour"/.test(m)),
					messages.join("\n"),
				);
				assert.ok(
					messages.some((m) => /^4:parameter a: type "colour"/.test(m)),
					messages.join("\n"),
				);
				assert.ok(
					messages.some((m) => /^6:parameter key "bad-key"/.test(m)),
					messages.join("\n"),
				);
				assert.ok(messages.some((m) => /^8:pipelines\[0\]: "\/etc\/passwd" must be a path relative/.test(m)));
				assert.ok(messages.some((m) => /"workflow" is required/.test(m)));
				return true;
			},
		);
		assert.throws(() => parseManifest("t.yml", "name: [unclosed\n"), TemplateFormatError);
		assert.throws(() => parseManifest("t.yml", "- a list\n"), /must be a YAML map/);
	});
});

describe("template parameters", () => {
	const p = (type: string, required = false) =>
		({ key: "p", type, required }) as Parameters<typeof checkParameterValue>[0];

	test("each type converts what a user types", () => {
		assert.deepEqual(checkParameterValue(p("boolean"), "yes"), { value: true });
		assert.deepEqual(checkParameterValue(p("boolean"), "false"), { value: false });
		assert.ok("error" in checkParameterValue(p("boolean"), "maybe"));
		assert.deepEqual(checkParameterValue(p("number"), "3.5"), { value: 3.5 });
		assert.ok("error" in checkParameterValue(p("number"), "three"));
		assert.deepEqual(checkParameterValue(p("json"), '{"a":[1]}'), { value: { a: [1] } });
		assert.ok("error" in checkParameterValue(p("json"), "{nope"));
		// the instance keeps its parameters: what no store keeps is refused, as text or as JSON
		for (const raw of ['{"m":[[1]]}', { m: [[1]] }]) {
			const nested = checkParameterValue(p("json"), raw);
			assert.match("error" in nested ? nested.error : "", /cannot be kept: an array inside an array/);
		}
		assert.deepEqual(checkParameterValue(p("repository"), "github/ovh/cds"), {
			value: { vcs: "github", repository: "ovh/cds" },
		});
		assert.ok("error" in checkParameterValue(p("repository"), "ovh"));
		assert.deepEqual(checkParameterValue(p("ssh-key"), "proj-deploy"), { value: "proj-deploy" });
		assert.ok("error" in checkParameterValue(p("secret"), "clear text"));
		const armored = "-----BEGIN PGP MESSAGE-----\n\nwV4D\n-----END PGP MESSAGE-----\n";
		assert.deepEqual(checkParameterValue(p("secret"), armored), { value: armored.trim() });
	});

	test("checkParameters reports missing required and unknown parameters", () => {
		const params = [
			{ key: "a", type: "string" as const, required: true },
			{ key: "b", type: "boolean" as const, required: false },
		];
		const r = checkParameters(params, { b: "nope", c: "x" });
		assert.deepEqual(r.missing, ["a"]);
		assert.deepEqual(r.problems.map((x) => x.field).sort(), ["params.a", "params.b", "params.c"]);
		assert.deepEqual(checkParameters(params, { a: "x" }), { values: { a: "x" }, problems: [], missing: [] });
	});

	test("KEY=VALUE pairs keep = inside values", () => {
		assert.deepEqual(parseParamPairs(["a=1", 'json={"x":"="}']), { a: "1", json: '{"x":"="}' });
		assert.throws(() => parseParamPairs(["novalue"]), /expected KEY=VALUE/);
	});
});

describe("indexes and references", () => {
	test("an index resolves relative URLs against its own", () => {
		const entries = parseRepositoryIndex(
			"https://t.example.com/repo/index.yml",
			"- name: a\n  description: first\n  url: a/a.yml\n- name: b\n  url: https://other.example.com/b.yml\n",
		);
		assert.deepEqual(entries, [
			{ name: "a", description: "first", url: "https://t.example.com/repo/a/a.yml" },
			{ name: "b", description: "", url: "https://other.example.com/b.yml" },
		]);
	});

	test("bad indexes are refused with locations", () => {
		assert.throws(() => parseRepositoryIndex("i.yml", "name: x\n"), /must be a YAML list/);
		assert.throws(
			() => parseRepositoryIndex("file:///srv/i.yml", "- name: a\n  url: x.yml\n- name: a\n  url: y.yml\n"),
			(e: unknown) => e instanceof TemplateFormatError && e.diagnostics[0]!.line === 3,
		);
		assert.throws(
			() => parseRepositoryIndex("file:///srv/i.yml", "- name: ../x\n  url: a\n"),
			/must hold only/,
		);
	});

	test("NAMESPACE/NAME[@VERSION]", () => {
		assert.deepEqual(parseTemplateReference("shared.infra/example-simple@1"), {
			repo: "shared.infra",
			name: "example-simple",
			version: 1,
		});
		assert.deepEqual(parseTemplateReference("public/hello"), { repo: "public", name: "hello" });
		for (const bad of ["hello", "a/b/c", "a/b@0", "a/b@x", "../x"])
			assert.throws(() => parseTemplateReference(bad));
	});
});
