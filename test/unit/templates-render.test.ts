// Rendering templates: CDS's corpus templates against their expected output, the
// single-file form, and errors that name file, line and column.

import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { loadBundleFromFiles } from "../../src/templates/bundle.ts";
import { checkParameters } from "../../src/templates/parameters.ts";
import { renderBundle, TemplateRenderError } from "../../src/templates/render.ts";
import { parseFileSet } from "../../src/workflow/index.ts";
import { corpus, corpusPath } from "../helpers/corpus.ts";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "templates");

async function bundleAt(dir: string, manifest: string) {
	return loadBundleFromFiles(manifest, await readFile(join(dir, manifest), "utf8"), (p) =>
		readFile(join(dir, p), "utf8"),
	);
}

async function filesIn(dir: string) {
	const names = (await readdir(dir)).sort();
	return Promise.all(names.map(async (path) => ({ path, content: await readFile(join(dir, path), "utf8") })));
}

describe("template rendering", { skip: corpus.skip }, () => {
	test("template/simple renders to the files of workflow-detached (same parsed models)", async () => {
		const dir = corpusPath("template", "simple");
		const bundle = await bundleAt(dir, "example-simple.yml");
		const checked = checkParameters(bundle.manifest.parameters, {
			withDeploy: "true",
			deployWhen: "success",
			data: '["one","two"]',
		});
		assert.deepEqual(checked.problems, []);
		const rendered = renderBundle(bundle, { id: 1, name: "ITCLIWKF", params: checked.values });
		const expected = await filesIn(join(dir, "workflow-detached"));
		assert.deepEqual(
			rendered.map((f) => f.path).sort(),
			expected.map((f) => f.path),
		);
		const got = parseFileSet(rendered.map((f) => ({ path: f.path, content: f.content })));
		const want = parseFileSet(expected);
		assert.equal(want.ok, true);
		assert.deepEqual(got.errors, []);
		assert.deepEqual(got.model, want.model);
	});

	test("template/simple without withDeploy drops the deployment node", async () => {
		const bundle = await bundleAt(corpusPath("template", "simple"), "example-simple.yml");
		const checked = checkParameters(bundle.manifest.parameters, { withDeploy: "false" });
		const rendered = renderBundle(bundle, { id: 1, name: "NODEPLOY", params: checked.values });
		const result = parseFileSet(rendered.map((f) => ({ path: f.path, content: f.content })));
		assert.equal(result.ok, true, JSON.stringify(result.errors));
		assert.deepEqual(
			result.model.workflows[0]!.nodes.map((n) => n.name),
			["Node-1"],
		);
	});

	test("the hello world template uses .id and .name in every file", async () => {
		const bundle = await bundleAt(
			corpusPath("workflow-templates", "demo-workflow-hello-world"),
			"demo-workflow-hello-world.yml",
		);
		const rendered = renderBundle(bundle, { id: 42, name: "hello", params: {} });
		assert.deepEqual(rendered.map((f) => f.path).sort(), [
			"build-42.pip.yml",
			"deploy-42.pip.yml",
			"hello-dev.env.yml",
			"hello-preprod.env.yml",
			"hello-prod.env.yml",
			"hello.app.yml",
			"hello.yml",
			"it-42.pip.yml",
		]);
		const result = parseFileSet(rendered.map((f) => ({ path: f.path, content: f.content })));
		assert.equal(result.ok, true, JSON.stringify(result.errors));
		assert.equal(result.model.workflows[0]!.name, "hello");
	});

	test("the single-file form renders its inline files", async () => {
		const text = await readFile(join(FIXTURES, "single.yml"), "utf8");
		const bundle = await loadBundleFromFiles("single.yml", text, async () => {
			throw new Error("nothing to download");
		});
		const rendered = renderBundle(bundle, { id: 1, name: "greet", params: { greeting: "hi there" } });
		assert.deepEqual(
			rendered.map((f) => f.path),
			["greet.yml", "hello-greet.pip.yml"],
		);
		assert.match(rendered[1]!.content, /echo "HI THERE"/);
	});

	test("a template syntax error names the file, line and column, and nothing is rendered", async () => {
		const bundle = await bundleAt(join(FIXTURES, "broken"), "broken.yml");
		assert.throws(
			() => renderBundle(bundle, { id: 1, name: "w", params: {} }),
			(e: unknown) => {
				assert.ok(e instanceof TemplateRenderError);
				assert.equal(e.diagnostics.length, 1);
				const d = e.diagnostics[0]!;
				assert.equal(d.file, "bad.pipeline.yml");
				assert.equal(d.line, 7);
				assert.equal(typeof d.column, "number");
				assert.match(d.message, /template syntax/);
				assert.match(e.message, /^bad\.pipeline\.yml:7:\d+: /);
				return true;
			},
		);
	});

	test("an execution error is located too", () => {
		const bundle = {
			manifest: { slug: "x", name: "x", description: "", parameters: [], files: [] },
			sources: [
				{
					kind: "workflow" as const,
					path: "workflow.yml",
					content: "name: [[.name]]\nversion: v2.0\nx: [[ upper .params.n ]]\n",
				},
			],
		};
		assert.throws(
			() => renderBundle(bundle, { id: 1, name: "w", params: { n: 3 } }),
			(e: unknown) => {
				assert.ok(e instanceof TemplateRenderError);
				assert.equal(e.diagnostics[0]!.file, "workflow.yml");
				assert.equal(e.diagnostics[0]!.line, 3);
				const column = e.diagnostics[0]!.column!;
				assert.ok(column >= 4 && column <= "x: [[ upper .params.n ]]".length, `column ${column}`);
				assert.match(e.diagnostics[0]!.message, /template execution/);
				return true;
			},
		);
	});

	test("output that is not YAML or has no usable name is refused", () => {
		const bundle = (content: string) => ({
			manifest: { slug: "x", name: "x", description: "", parameters: [], files: [] },
			sources: [{ kind: "pipeline" as const, path: "p.yml", content }],
		});
		assert.throws(
			() => renderBundle(bundle("name: [[ .name ]]\n  bad: : :\n"), { id: 1, name: "a", params: {} }),
			/not valid YAML/,
		);
		assert.throws(
			() => renderBundle(bundle("name: ../x\n"), { id: 1, name: "a", params: {} }),
			/no usable name/,
		);
	});

	test("the extra helpers trimPrefix, trimSuffix and indent work in templates", () => {
		const bundle = {
			manifest: { slug: "x", name: "x", description: "", parameters: [], files: [] },
			sources: [
				{
					kind: "workflow" as const,
					path: "w.yml",
					content:
						'name: [[ .name | trimPrefix "app-" | trimSuffix "-svc" ]]\nscript: |\n[[ "a\\nb" | indent 2 ]]\n',
				},
			],
		};
		const [file] = renderBundle(bundle, { id: 1, name: "app-api-svc", params: {} });
		assert.equal(file!.path, "api.yml");
		assert.equal(file!.content, "name: api\nscript: |\n  a\n  b\n");
	});
});
