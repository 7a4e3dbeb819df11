import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { memoryIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { lintPaths } from "../../src/workflow/index.ts";
import { corpus, corpusPath } from "../helpers/corpus.ts";

// Lint is offline: a config that does not exist proves no login is needed.
const ENV = { CDS_CONFIG: "/nonexistent/cds-lint-test.json" };

async function lint(args: string[]) {
	const out = memoryIo({ ...ENV });
	const code = await main(["workflow", "lint", ...args], out.io);
	return { code, stdout: out.stdout, stderr: out.stderr };
}

let dir: string;
before(async () => {
	dir = await mkdtemp(join(tmpdir(), "cds-cli-lint-"));
});
after(async () => {
	await rm(dir, { recursive: true, force: true });
});

describe("cds workflow lint over the CDS corpus", { skip: corpus.skip }, async () => {
	const entries = await readdir(corpusPath(), { withFileTypes: true });
	const dirs = entries.filter((e) => e.isDirectory() && e.name.startsWith("ITSCWRKFLW")).map((e) => e.name);
	assert.ok(dirs.length >= 5, "the corpus is mounted");

	for (const name of dirs) {
		test(`${name}: table, diagnostics and exit code agree with lintPaths`, async () => {
			const path = corpusPath(name);
			const expected = await lintPaths([path]);
			const rejected = expected.files.some((f) => f.status === "rejected");
			const r = await lint([path]);
			assert.equal(r.code, rejected || expected.errors.length > 0 ? 2 : 0, r.stdout);
			const lines = r.stdout.split("\n");
			assert.match(lines[0]!, /^FILE\s+KIND\s+STATUS\s+REASON$/);
			for (const file of expected.files) {
				const row = lines.find((l) => l.startsWith(`${file.path} `));
				assert.ok(row, `row for ${file.path}`);
				assert.match(row, new RegExp(`\\s${file.kind}\\s+${file.status}\\b`));
			}
			for (const e of expected.errors) {
				assert.ok(
					lines.includes(`${e.file}:${e.line}:${e.column}: ${e.message}`),
					`error line for ${e.message}`,
				);
			}

			const json = await lint([path, "--json"]);
			assert.equal(json.code, r.code);
			const parsed = JSON.parse(json.stdout);
			assert.deepEqual(Object.keys(parsed).sort(), ["errors", "files", "model", "warnings"]);
			assert.deepEqual(
				parsed.files.map((f: { path: string }) => f.path),
				expected.files.map((f) => f.path),
			);
		});
	}

	test("ITSCWRKFLW3 (a workflow with five pipelines) is accepted", async () => {
		const r = await lint([corpusPath("ITSCWRKFLW3")]);
		assert.equal(r.code, 0, r.stdout);
		assert.match(r.stdout, /ITSCWRKFLW3\.yml\s+workflow\s+accepted/);
		assert.match(r.stdout, /deploy\.pip\.yml\s+pipeline\s+accepted/);
	});
});

describe("cds workflow lint on broken files", () => {
	test("a rejected file gives exit 2 and file:line:column: message", async () => {
		const broken = join(dir, "broken");
		await rm(broken, { recursive: true, force: true });
		await mkdir(broken);
		await writeFile(
			join(broken, "w.yml"),
			"name: w\nversion: v2.0\nworkflow:\n  build:\n    pipeline: build\n    bogus_key: 1\n",
		);
		await writeFile(
			join(broken, "build.pip.yml"),
			"version: v1.0\nname: build\njobs:\n- job: j\n  steps:\n  - script: [echo hi]\n",
		);
		const r = await lint([broken]);
		assert.equal(r.code, 2, r.stdout);
		assert.match(r.stdout, /w\.yml\s+workflow\s+rejected/);
		assert.match(r.stdout, /^\S*w\.yml:6:5: .*bogus_key/m);
	});

	test("a YAML syntax error is located too", async () => {
		const file = join(dir, "syntax.yml");
		await writeFile(file, "name: w\nversion: v2.0\nworkflow:\n  build: [unclosed\n");
		const r = await lint([file]);
		assert.equal(r.code, 2);
		assert.match(r.stdout, /^\S*syntax\.yml:\d+:\d+: /m);
	});

	test("--json still exits 2 when a file is rejected", async () => {
		const file = join(dir, "syntax.yml");
		const r = await lint(["--json", file]);
		assert.equal(r.code, 2);
		const parsed = JSON.parse(r.stdout);
		assert.ok(parsed.errors.length > 0);
		assert.equal(parsed.files[0].status, "rejected");
	});
});
