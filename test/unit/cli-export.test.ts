import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { exportTargets, writeExportFiles } from "../../src/cli/export-files.ts";

let dir: string;
before(async () => {
	dir = await mkdtemp(join(tmpdir(), "cds-cli-export-"));
});
after(async () => {
	await rm(dir, { recursive: true, force: true });
});

describe("workflow export -o path safety", () => {
	test("writes files, including sub-directories, inside DIR", async () => {
		const out = join(dir, "ok");
		const written = await writeExportFiles(out, [
			{ path: "w.yml", content: "name: w\n" },
			{ path: "pipelines/build.pip.yml", content: "version: v1.0\n" },
			{ path: "./a/../env.env.yml", content: "name: env\n" },
		]);
		assert.deepEqual(written, [
			join(out, "w.yml"),
			join(out, "pipelines/build.pip.yml"),
			join(out, "env.env.yml"),
		]);
		assert.equal(await readFile(join(out, "pipelines", "build.pip.yml"), "utf8"), "version: v1.0\n");
		assert.deepEqual((await readdir(out)).sort(), ["env.env.yml", "pipelines", "w.yml"]);
	});

	for (const name of [
		"../evil.yml",
		"a/../../evil.yml",
		"/etc/evil.yml",
		"",
		".",
		"a/..",
		"x\0.yml",
		"C:evil.yml",
	]) {
		test(`refuses ${JSON.stringify(name)} and writes nothing at all`, async () => {
			const out = join(dir, `bad-${Math.random().toString(36).slice(2)}`);
			await assert.rejects(
				writeExportFiles(out, [
					{ path: "first.yml", content: "x" },
					{ path: name, content: "x" },
				]),
				/^CliFailure: refusing to write outside /,
			);
			// Checked before writing: not even the valid first file nor DIR exists.
			await assert.rejects(readdir(out), { code: "ENOENT" });
		});
	}

	test("refuses to follow a symlinked directory that leads outside DIR", async () => {
		const out = join(dir, "linked");
		const outside = join(dir, "outside");
		await mkdir(out, { recursive: true });
		await mkdir(outside, { recursive: true });
		await symlink(outside, join(out, "escape"));
		assert.deepEqual(exportTargets(out, [{ path: "escape/w.yml", content: "" }]), [
			join(out, "escape/w.yml"),
		]);
		await assert.rejects(
			writeExportFiles(out, [{ path: "escape/w.yml", content: "pwned" }]),
			/refusing to write outside/,
		);
		assert.deepEqual(await readdir(outside), []);
	});

	test("refuses to overwrite a symlink inside DIR", async () => {
		const out = join(dir, "filelink");
		await mkdir(out, { recursive: true });
		await symlink(join(dir, "target.yml"), join(out, "w.yml"));
		await assert.rejects(
			writeExportFiles(out, [{ path: "w.yml", content: "x" }]),
			/refusing to write outside/,
		);
		await assert.rejects(readFile(join(dir, "target.yml")), { code: "ENOENT" });
	});
});
