// bin/cds-server.mjs, what `npm start` and the Docker image run: the same node as `node
// server.ts` (its configuration checks, its exit codes), and a clear message on an old Node.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, test } from "node:test";
import { oldNode } from "../helpers/old-node.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const LAUNCHER = path.join(ROOT, "bin", "cds-server.mjs");

const OLD_NODE = oldNode();

describe("bin/cds-server.mjs", () => {
	test("runs the server's own start: a bad value stops it with exit 2 and one line", () => {
		const r = spawnSync(process.execPath, [LAUNCHER], {
			env: { PATH: process.env.PATH, CDS_API_PORT: "99999", CDS_DATA_DIR: "/nonexistent-never-created" },
			encoding: "utf8",
			timeout: 30_000,
		});
		assert.equal(r.status, 2, r.stderr);
		assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
		assert.match(r.stderr, /CDS_API_PORT=99999 is not a TCP port/);
	});

	test("on an old Node it says what it needs and how to start, exit 2", {
		skip: OLD_NODE ? false : "no Node older than 22.18 installed here",
	}, () => {
		const r = spawnSync(OLD_NODE!, [LAUNCHER], { encoding: "utf8", timeout: 30_000 });
		assert.equal(r.status, 2, r.stderr);
		assert.match(
			r.stderr,
			/^CDS-TS needs Node\.js 22\.18 or newer \(this is 2\d\.\d+\.\d+\): start it with `npm start`/,
		);
		assert.doesNotMatch(r.stderr, /ERR_UNKNOWN_FILE_EXTENSION/);
	});
});
