import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { oldNode } from "../helpers/old-node.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const BIN = join(ROOT, "bin", "cds.mjs");
const ENV = { ...process.env, CDS_CONFIG: "/nonexistent/cds-bin-test.json" };

const OLD_NODE = oldNode();
const NO_OLD_NODE = OLD_NODE ? false : "no Node older than 22.18 installed here";

describe("bin/cds.mjs", () => {
	test("runs the CLI on the current Node and forwards its exit code", () => {
		const ok = spawnSync(process.execPath, [BIN, "version"], { encoding: "utf8", env: ENV });
		assert.equal(ok.status, 0);
		assert.match(ok.stdout, /^cds \d+\.\d+\.\d+ \(node 22\./);
		const usage = spawnSync(process.execPath, [BIN, "project", "--nope"], { encoding: "utf8", env: ENV });
		assert.equal(usage.status, 2);
		assert.match(usage.stderr, /^error: unknown option --nope/);
		const notLoggedIn = spawnSync(process.execPath, [BIN, "project", "list"], { encoding: "utf8", env: ENV });
		assert.equal(notLoggedIn.status, 1);
		assert.equal(notLoggedIn.stderr, "error: not logged in: run cds login --api-url URL --token T\n");
	});

	test("on an old Node it re-executes with the bundled Node 22, passing argv and exit code", {
		skip: NO_OLD_NODE,
	}, () => {
		const r = spawnSync(OLD_NODE!, [BIN, "version"], { encoding: "utf8", env: ENV });
		assert.equal(r.status, 0, r.stderr);
		assert.match(r.stdout, /\(node 22\.\d+\.\d+\)/);
		const usage = spawnSync(OLD_NODE!, [BIN, "token", "create", "--role", "x"], {
			encoding: "utf8",
			env: ENV,
		});
		assert.equal(usage.status, 2);
		assert.match(usage.stderr, /^error: invalid --role "x"/);
	});

	test("on an old Node without the bundled Node it says what it needs, exit 2", {
		skip: NO_OLD_NODE,
	}, async () => {
		const dir = await mkdtemp(join(tmpdir(), "cds-bin-"));
		try {
			await mkdir(join(dir, "bin"));
			await mkdir(join(dir, "config"));
			await copyFile(BIN, join(dir, "bin", "cds.mjs"));
			// The launcher's one local import (it reads the environment through config/).
			await copyFile(
				join(BIN, "..", "..", "config", "launcher-env.mjs"),
				join(dir, "config", "launcher-env.mjs"),
			);
			const r = spawnSync(OLD_NODE!, [join(dir, "bin", "cds.mjs"), "version"], {
				encoding: "utf8",
				env: ENV,
			});
			assert.equal(r.status, 2);
			assert.equal(r.stderr, "cds needs Node.js 22.18 or newer\n");
			assert.equal(r.stdout, "");
		} finally {
			await rm(dir, { recursive: true, force: true });
		}
	});
});
