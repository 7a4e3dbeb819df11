// The README's first run, as written: the commands of its "First start" block run one after
// the other with the `cds` client against a fresh node (embedded store, sandboxed local
// hatchery), from the repository's folder, so `examples/hello` is what a newcomer imports.
// A README edit that breaks the first run breaks this test.

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { memoryIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { ROOT, readmeShellBlock } from "../helpers/readme.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

/** The `cds …` lines of the first shell block under "## First start". */
const firstRunCommands = () =>
	readmeShellBlock("## First start", { stripComments: true }).filter((l) => l.startsWith("cds "));

/** Splits a command line on blanks (the block uses no quotes). */
function argv(line: string, url: string, token: string): string[] {
	return line.replace("http://localhost:8081", url).replace("<the token>", token).split(/\s+/).slice(1);
}

describe("the README's first run", () => {
	let srv: TestServer;
	let home: string;
	const results: Array<{ line: string; code: number; stdout: string; stderr: string }> = [];

	before(async () => {
		srv = await startTestServer();
		home = await mkdtemp(path.join(tmpdir(), "cds-readme-home-"));
		const env = { HOME: home, PATH: process.env.PATH ?? "/usr/bin:/bin" };
		for (const line of firstRunCommands()) {
			const io = memoryIo(env, ROOT);
			const code = await main(argv(line, srv.url, srv.adminToken), io.io);
			results.push({ line, code, stdout: io.stdout, stderr: io.stderr });
		}
	});
	after(async () => {
		await srv?.stop();
		await rm(home, { recursive: true, force: true });
	});

	const result = (prefix: string) => {
		const r = results.find((x) => x.line.startsWith(prefix));
		assert.ok(r, `the README has no '${prefix}' command: ${JSON.stringify(results.map((x) => x.line))}`);
		return r;
	};

	test("every command of the block succeeds, in order", () => {
		assert.ok(results.length >= 8, JSON.stringify(results.map((r) => r.line)));
		for (const r of results) assert.equal(r.code, 0, `${r.line}\n${r.stdout}\n${r.stderr}`);
	});

	test("the run succeeds; logs, track and restart show it", async () => {
		assert.match(result("cds workflow run").stdout, /Success/);
		assert.match(result("cds logs build").stdout, /building hello, run 1, on branch main/);
		assert.match(result("cds track").stdout, /Success/);
		assert.match(result("cds restart").stdout, /#1\.1/);
		// The restarted node runs to its end.
		const deadline = Date.now() + 60_000;
		let status = "";
		while (Date.now() < deadline) {
			const r = await srv.api("GET", "/api/v1/projects/DEMO/workflows/hello/runs/1.1");
			status = (r.body as { status?: string }).status ?? "";
			if (status === "Success" || status === "Fail") break;
			await new Promise((res) => setTimeout(res, 200));
		}
		assert.equal(status, "Success");
	});
});
