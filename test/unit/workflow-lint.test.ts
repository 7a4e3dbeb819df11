import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { lintPaths } from "../../src/workflow/index.ts";
import { corpusRoot } from "../fixtures/workflow/corpus.ts";
import { corpus } from "../helpers/corpus.ts";

describe("lintPaths", { skip: corpus.skip }, () => {
	test("a corpus directory is one accepted file set with its model", async () => {
		const report = await lintPaths([path.join(corpusRoot(), "ITSCWRKFLW3")]);
		assert.deepEqual(report.errors, []);
		assert.equal(report.files.length, 6);
		assert.ok(report.files.every((f) => f.status === "accepted"));
		assert.equal(report.model?.workflows[0]?.name, "ITSCWRKFLW3-WORKFLOW");
		assert.equal(report.warnings.length, 6);
	});

	test("the whole corpus: every file of every directory and subdirectory gets a verdict", async () => {
		const { readdir } = await import("node:fs/promises");
		const all = (await readdir(corpusRoot(), { recursive: true, withFileTypes: true })).filter((d) =>
			d.isFile(),
		);
		const report = await lintPaths([corpusRoot()]);
		assert.equal(report.files.length, all.length);
		const rejected = report.files
			.filter((f) => f.status === "rejected")
			.map((f) => path.basename(path.dirname(f.path)))
			.sort();
		// Only what refers outside its set: ITSCWRKFLW18's integrations, and one of ITSCWRKFLW2's
		// two definitions of the same workflow when both files are linted as one set.
		assert.deepEqual(rejected, ["ITSCWRKFLW18", "ITSCWRKFLW2"]);
		assert.ok(report.files.some((f) => f.path.includes(`ITSCWRKFLW16${path.sep}edit_a`)));
	});

	test("errors come back located; no model is given then", async () => {
		const report = await lintPaths([path.join(corpusRoot(), "ITSCWRKFLW18")]);
		assert.equal(report.model, undefined);
		assert.equal(report.errors.length, 2);
		assert.deepEqual(
			report.files.map((f) => [path.basename(f.path), f.kind, f.status]),
			[
				["input-kafka.json", "ignored", "ignored"],
				["pipeline.pip.yml", "pipeline", "accepted"],
				["workflow.yml", "workflow", "rejected"],
			],
		);
		const withCtx = await lintPaths([path.join(corpusRoot(), "ITSCWRKFLW18")], {
			integrations: ["myKafkaHookIntegration", "myKafkaIntegration"],
		});
		assert.deepEqual(withCtx.errors, []);
	});

	test("loose files form one set; missing paths are reported, not thrown", async () => {
		const dir = await mkdtemp(path.join(tmpdir(), "wf-lint-"));
		try {
			const wf = path.join(dir, "wf.yml");
			const pip = path.join(dir, "p.pip.yml");
			await writeFile(wf, "name: wf\nversion: v1.0\npipeline: p\n");
			await writeFile(pip, "version: v1.0\nname: p\njobs:\n- job: j\n  steps:\n  - scirpt: make\n");
			const missing = path.join(dir, "nope.yml");
			const report = await lintPaths([wf, pip, missing]);
			const messages = report.errors.map(
				(d) => `${path.basename(d.file)}:${d.line}:${d.column} ${d.message}`,
			);
			assert.deepEqual(messages, [
				"nope.yml:1:1 cannot read path: ENOENT",
				"p.pip.yml:6:5 unknown step action 'scirpt' (did you mean 'script'?)",
			]);
			assert.equal(report.files.find((f) => f.path === wf)?.status, "accepted");
		} finally {
			await rm(dir, { recursive: true, force: true });
		}
	});
});
