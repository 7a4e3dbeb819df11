// The `persistent_workspace:` node key: parsed to the model, refused where it is wrong (at its
// line and column), exported back as written.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { exportWorkflowFiles, parseFileSet } from "../../src/workflow/index.ts";
import { parseWorkspaceSize } from "../../src/workflow/parse-workspace.ts";

const PIPELINE = "version: v1.0\nname: build\njobs:\n- job: compile\n  steps:\n  - script: make\n";

function parse(workflow: string) {
	return parseFileSet([
		{ path: "wf.yml", content: workflow },
		{ path: "build.pip.yml", content: PIPELINE },
	]);
}

const located = (r: ReturnType<typeof parse>) => r.errors.map((d) => `${d.line}:${d.column} ${d.message}`);

describe("persistent_workspace", () => {
	test("a v2.0 node declares one; it round-trips through export", () => {
		const r = parse(
			"name: wf\nversion: v2.0\nworkflow:\n  a:\n    pipeline: build\n    persistent_workspace:\n      name: cache\n      size: 2GB\n  b:\n    depends_on: [a]\n    pipeline: build\n",
		);
		assert.deepEqual(r.errors, []);
		const [a, b] = r.model.workflows[0]!.nodes;
		assert.deepEqual(a!.persistentWorkspace, { name: "cache", sizeBytes: 2_000_000_000, size: "2GB" });
		assert.equal(b!.persistentWorkspace, undefined);
		assert.ok(!("persistentWorkspace" in b!), "a node without one keeps the model as before");
		const files = exportWorkflowFiles(r.model);
		assert.match(
			files.find((f) => f.path === "wf.yml")!.content,
			/persistent_workspace:\n\s+name: cache\n\s+size: 2GB/,
		);
		assert.deepEqual(parseFileSet(files).model, r.model);
	});

	test("v1.0 accepts it at top level; the size defaults to 1GB and is not exported", () => {
		const r = parse("name: wf\nversion: v1.0\npipeline: build\npersistent_workspace: {name: w1}\n");
		assert.deepEqual(r.errors, []);
		assert.deepEqual(r.model.workflows[0]!.nodes[0]!.persistentWorkspace, {
			name: "w1",
			sizeBytes: 1_000_000_000,
			size: undefined,
		});
		const content = exportWorkflowFiles(r.model).find((f) => f.path === "wf.yml")!.content;
		assert.match(content, /persistent_workspace:\n\s+name: w1\n/);
		assert.doesNotMatch(content, /size:/);
	});

	test("errors are located at the offending value or key", () => {
		const r = parse(
			"name: wf\nversion: v2.0\nworkflow:\n  a:\n    pipeline: build\n    persistent_workspace:\n      name: Bad_Name\n      size: 2GB\n  b:\n    depends_on: [a]\n    pipeline: build\n    persistent_workspace: {name: ok, size: lots}\n  c:\n    depends_on: [a]\n    pipeline: build\n    persistent_workspace: {name: ok, sise: 1GB}\n  d:\n    depends_on: [a]\n    pipeline: build\n    persistent_workspace: cache\n  e:\n    depends_on: [a]\n    pipeline: build\n    persistent_workspace: {size: 1GB}\n",
		);
		assert.deepEqual(located(r), [
			"7:13 name 'Bad_Name' of persistent_workspace of node 'a' must be 1 to 40 lower-case letters, digits or '-', starting with a letter or digit",
			"12:44 size 'lots' of persistent_workspace of node 'b' is not a size (e.g. 2GB, 512MiB, or a number of bytes)",
			"16:38 unknown key 'sise' in persistent_workspace of node 'c' (did you mean 'size'?)",
			"20:27 persistent_workspace of node 'd' ({name, size}) must be a mapping",
			"24:27 persistent_workspace of node 'e' is missing required key 'name'",
		]);
	});

	test("sizes: decimal and binary units, bare bytes; nonsense refused", () => {
		assert.equal(parseWorkspaceSize("2GB"), 2e9);
		assert.equal(parseWorkspaceSize("512MiB"), 512 * 1024 ** 2);
		assert.equal(parseWorkspaceSize("1048576"), 1048576);
		assert.equal(parseWorkspaceSize("1.5 gb"), 1.5e9);
		for (const bad of ["", "0", "GB", "2XB", "-1GB", "1e9"])
			assert.equal(parseWorkspaceSize(bad), undefined, bad);
	});
});
