import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { collectImportFiles, MAX_IMPORT_FILE_BYTES } from "../../src/cli/import-files.ts";
import { memoryIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";

let dir: string;
before(async () => {
	dir = await mkdtemp(join(tmpdir(), "cds-cli-import-"));
	await mkdir(join(dir, "repo", ".cds", "pipelines"), { recursive: true });
	await mkdir(join(dir, "repo", ".cds", ".git"), { recursive: true });
	await writeFile(join(dir, "repo", ".cds", "w.yml"), "name: w\n");
	await writeFile(join(dir, "repo", ".cds", "pipelines", "build.pip.yaml"), "version: v1.0\n");
	await writeFile(join(dir, "repo", ".cds", "app.app.json"), "{}\n");
	await writeFile(join(dir, "repo", ".cds", "README.md"), "# not imported\n");
	await writeFile(join(dir, "repo", ".cds", ".git", "config.yml"), "not: imported\n");
	// A symlink cycle must not make the walk loop.
	await symlink(join(dir, "repo", ".cds"), join(dir, "repo", ".cds", "pipelines", "loop"));
});
after(async () => {
	await rm(dir, { recursive: true, force: true });
});

describe("workflow import file collection", () => {
	test("walks directories recursively, keeps yml/yaml/json, paths relative to the directory", async () => {
		const files = await collectImportFiles([".cds"], join(dir, "repo"));
		assert.deepEqual(files, [
			{ path: "app.app.json", content: "{}\n" },
			{ path: "pipelines/build.pip.yaml", content: "version: v1.0\n" },
			{ path: "w.yml", content: "name: w\n" },
		]);
	});

	test("a file argument is imported under its own name", async () => {
		const files = await collectImportFiles([join(dir, "repo", ".cds", "w.yml")], "/");
		assert.deepEqual(files, [{ path: "w.yml", content: "name: w\n" }]);
	});

	test("rejects missing paths, other extensions, duplicates, big and binary files", async () => {
		const cwd = join(dir, "repo");
		await assert.rejects(
			collectImportFiles(["nope"], cwd),
			/^ValidationError: nope: no such file or directory$/,
		);
		await assert.rejects(collectImportFiles([".cds/README.md"], cwd), /only \.yml, \.yaml and \.json/);
		await assert.rejects(
			collectImportFiles([".cds/w.yml", ".cds"], cwd),
			/would both be imported as "w.yml"/,
		);
		await writeFile(join(dir, "big.yml"), Buffer.alloc(MAX_IMPORT_FILE_BYTES + 1, 0x61));
		await assert.rejects(collectImportFiles(["big.yml"], dir), /big\.yml: file is larger than 1 MiB/);
		await writeFile(join(dir, "bin.yml"), Buffer.from([0xff, 0xfe, 0x00, 0xc3]));
		await assert.rejects(collectImportFiles(["bin.yml"], dir), /bin\.yml: not UTF-8 text/);
		await mkdir(join(dir, "empty"));
		await assert.rejects(collectImportFiles(["empty"], dir), /empty: no \.yml, \.yaml or \.json file found/);
	});

	test("bad files stop `cds workflow import` with exit 2 before any request", async () => {
		// CDS_API_URL points at a closed port: reaching the network would give exit 1, not 2.
		const out = memoryIo({ CDS_API_URL: "http://127.0.0.1:1", CDS_TOKEN: "t" }, dir);
		assert.equal(await main(["workflow", "import", "PROJ", "big.yml"], out.io), 2);
		assert.match(out.stderr, /^error: big\.yml: file is larger than 1 MiB/);
	});
});
