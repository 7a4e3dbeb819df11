// The README's workflow-as-code block, as written: a local bare repository holding the shipped
// example, `cds push`, `git push`, `cds track` — run line by line against a fresh node (local
// repositories allowed, as the block's `npm start` line says). Two substitutions, both said
// here: /tmp/demo becomes a temporary directory, and `cds push` gets `--poll 1` (the default
// poller looks once a minute). git runs with `init.defaultBranch=trunk`, so the block must not
// assume a branch name. A README edit that breaks the block breaks this test.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { memoryIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { ROOT, readmeShellBlock } from "../helpers/readme.ts";
import { ALLOW_LOCAL_REPOSITORIES, startTestServer, type TestServer } from "../helpers/server.ts";

/** The lines of the shell block that follows "To try it with a local bare repository". */
const asCodeBlock = () => readmeShellBlock("To try it with a local bare repository", { stripComments: true });

describe("the README's workflow-as-code block", () => {
	let srv: TestServer;
	let work: string;
	let cliEnv: Record<string, string>;
	let shellEnv: Record<string, string>;
	let cwd = ROOT;
	const results: Array<{ line: string; code: number; stdout: string; stderr: string }> = [];

	async function cds(line: string) {
		const io = memoryIo(cliEnv, cwd);
		const code = await main(line.split(/\s+/).slice(1), io.io);
		return { line, code, stdout: io.stdout, stderr: io.stderr };
	}

	/** A shell line in the current directory; a `cd` in it moves the directory for the next lines. */
	function shell(line: string) {
		try {
			const out = execFileSync("bash", ["-c", `set -e; ${line}; printf '\\n%s' "$PWD"`], {
				cwd,
				env: shellEnv,
				encoding: "utf8",
				stdio: ["ignore", "pipe", "pipe"],
			});
			const lines = out.split("\n");
			cwd = lines.pop()!;
			return { line, code: 0, stdout: lines.join("\n"), stderr: "" };
		} catch (e) {
			const err = e as { status?: number; stdout?: string; stderr?: string };
			return { line, code: err.status ?? 1, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
		}
	}

	before(async () => {
		const lines = asCodeBlock();
		assert.match(lines[0] ?? "", /^CDS_REPOSITORY_ALLOW_LOCAL=true npm start$/);
		srv = await startTestServer({
			...ALLOW_LOCAL_REPOSITORIES,
			CDS_HATCHERY_POLL_MS: "100",
			CDS_HOOKS_POLL_LOOP_MS: "300",
			CDS_HOOKS_PROCESS_INTERVAL_MS: "100",
		});
		work = mkdtempSync(path.join(tmpdir(), "cds-readme-ascode-"));
		const gitconfig = path.join(work, "gitconfig");
		writeFileSync(
			gitconfig,
			"[init]\n\tdefaultBranch = trunk\n[user]\n\tname = Dev\n\temail = dev@example.com\n",
		);
		shellEnv = {
			PATH: process.env.PATH ?? "/usr/bin:/bin",
			HOME: work,
			GIT_CONFIG_GLOBAL: gitconfig,
			GIT_CONFIG_NOSYSTEM: "1",
		};
		cliEnv = {
			CDS_API_URL: srv.url,
			CDS_TOKEN: srv.adminToken,
			CDS_CONFIG: path.join(work, "cli.json"),
			HOME: work,
		};
		for (const raw of lines.slice(1)) {
			const line = raw.replaceAll("/tmp/demo", path.join(work, "demo"));
			if (line.startsWith("cds push "))
				results.push(await cds(line.replace("cds push ", "cds push --poll 1 ")));
			else if (line.startsWith("cds ")) results.push(await cds(line));
			else results.push(shell(line));
		}
	});
	after(async () => {
		await srv?.stop();
		if (work) rmSync(work, { recursive: true, force: true });
	});

	const result = (prefix: string) => {
		const r = results.find((x) => x.line.startsWith(prefix));
		assert.ok(r, `the block has no '${prefix}' line: ${JSON.stringify(results.map((x) => x.line))}`);
		return r;
	};

	test("every line succeeds, in order, and cds track follows the pushed commit's run to Success", () => {
		for (const r of results) assert.equal(r.code, 0, `${r.line}\n${r.stdout}\n${r.stderr}`);
		const tracked = result("cds track");
		assert.match(tracked.stdout, /Success/);
		const head = execFileSync("git", ["rev-parse", "HEAD"], { cwd, env: shellEnv, encoding: "utf8" }).trim();
		assert.match(tracked.stdout + tracked.stderr, new RegExp(head.slice(0, 12)));
	});

	test("cds push says what starts a run, and how to run the branch now", () => {
		const pushed = result("cds push");
		assert.match(pushed.stdout, /runs start when commits reach the remote \(the poller looks every 1s\)/);
		assert.match(pushed.stdout, /^ {2}cds workflow run APP hello -p git\.branch=trunk$/m);
	});

	test("what the block's last comment names works in the clone: logs, status, restart", async () => {
		const logs = await cds("cds logs build");
		assert.equal(logs.code, 0, logs.stderr);
		assert.match(logs.stdout, /building hello, run 1, on branch trunk/);
		const status = await cds("cds status");
		assert.equal(status.code, 0, status.stderr);
		assert.match(status.stdout, /last run on trunk .*#1 +Success/);
		const restarted = await cds("cds restart test");
		assert.equal(restarted.code, 0, restarted.stderr);
		assert.match(restarted.stdout, /#1\.1/);
	});
});
