// `-p name=value` parameters, `--payload JSON|@file` and run numbers of the run commands.

import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { UsageError, ValidationError } from "../../src/cli/errors.ts";
import { memoryIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { parseParams, parsePayload, parseRunNumber } from "../../src/cli/run-params.ts";

describe("parseParams", () => {
	test("splits at the first = so values may contain = or be empty", () => {
		assert.deepEqual(parseParams(["git.branch=master", "query=a=b&c=d", "empty="]), {
			"git.branch": "master",
			query: "a=b&c=d",
			empty: "",
		});
		assert.deepEqual(parseParams([]), {});
	});

	test("a flag without name=value, an empty or spaced name, or a repeated name is a usage error", () => {
		for (const bad of [["master"], ["=x"], ["my name=x"], ["a=1", "a=2"]]) {
			assert.throws(() => parseParams(bad), UsageError, bad.join(" "));
		}
		assert.throws(() => parseParams(["oops"]), /invalid -p "oops": expected name=value/);
	});
});

describe("parsePayload", () => {
	test("inline JSON and @file (relative to cwd) are parsed; bad JSON or a missing file is a validation error", async () => {
		assert.deepEqual(await parsePayload('{"a":[1,2]}', "/"), { a: [1, 2] });
		const dir = await mkdtemp(join(tmpdir(), "cds-payload-"));
		try {
			await writeFile(join(dir, "p.json"), '{"git.branch":"dev"}');
			assert.deepEqual(await parsePayload("@p.json", dir), { "git.branch": "dev" });
			await writeFile(join(dir, "bad.json"), "{nope");
			await assert.rejects(
				parsePayload("@bad.json", dir),
				(e) => e instanceof ValidationError && /payload file bad\.json is not valid JSON/.test(e.message),
			);
			await assert.rejects(
				parsePayload("@missing.json", dir),
				(e) =>
					e instanceof ValidationError &&
					/cannot read payload file missing\.json: no such file/.test(e.message),
			);
		} finally {
			await rm(dir, { recursive: true, force: true });
		}
		await assert.rejects(parsePayload("{x", "/"), ValidationError);
	});
});

describe("parseRunNumber", () => {
	test("accepts run numbers and sub-runs (4.1), as the API takes them", () => {
		assert.equal(parseRunNumber("12"), "12");
		assert.equal(parseRunNumber(" 1.1 "), "1.1");
		assert.equal(parseRunNumber("3.0"), "3.0");
		assert.equal(parseRunNumber("3.010"), "3.10");
		for (const bad of ["0", "-1", "1.", ".5", "1.1.1", "abc", "", "99999999999999999999", "1e3"]) {
			assert.throws(() => parseRunNumber(bad), UsageError, bad);
		}
	});
});

describe("cds workflow run: command-line mistakes exit 2 before any request", () => {
	// No server and no login: reaching the network would fail with exit 1, not 2.
	const env = { CDS_CONFIG: "/nonexistent/cds/config.json" };
	async function cds(argv: string[]) {
		const out = memoryIo(env, "/");
		return { code: await main(argv, out.io), stderr: out.stderr };
	}

	test("malformed -p, invalid payload, misuse of --resume/--node", async () => {
		const cases: Array<[string[], RegExp]> = [
			[["workflow", "run", "K", "W", "-p", "branch"], /invalid -p "branch"/],
			[["workflow", "run", "K", "W", "--payload", "{not json"], /--payload is not valid JSON/],
			[["workflow", "run", "K", "W", "--resume", "3"], /--resume needs --node/],
			[["workflow", "run", "K", "W", "--resume", "x", "--node", "n"], /invalid --resume run number "x"/],
			[
				["workflow", "run", "K", "W", "--resume", "3", "--node", "n", "-p", "a=b"],
				/--param cannot be used with --resume/,
			],
			[["workflow", "run", "K", "W", "--node", "n"], /--node is only used with --resume/],
			[["workflow", "status", "K", "W", "latest"], /invalid run number "latest"/],
			[["workflow", "stop", "K", "W"], /missing argument/],
		];
		for (const [argv, message] of cases) {
			const r = await cds(argv);
			assert.equal(r.code, 2, `${argv.join(" ")}: ${r.stderr}`);
			assert.match(r.stderr, message);
			assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
		}
	});

	test("-p is repeatable and --help documents it", async () => {
		const out = memoryIo(env, "/");
		assert.equal(await main(["workflow", "run", "--help"], out.io), 0);
		assert.match(out.stdout, /-p, --param NAME=VALUE .*repeatable/);
		// Two valid -p reach the login check (exit 1), proving both parsed.
		const r = await cds(["workflow", "run", "K", "W", "-p", "a=1", "-p", "b=x=y"]);
		assert.equal(r.code, 1);
		assert.match(r.stderr, /not logged in/);
	});
});
