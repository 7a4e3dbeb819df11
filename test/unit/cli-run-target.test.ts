// Which project/workflow/branch/commit track, logs, restart and status act on.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { UsageError } from "../../src/cli/errors.ts";
import { memoryIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import type { OptionValues } from "../../src/cli/registry.ts";
import { describeTarget, resolveRunTarget } from "../../src/cli/run-target.ts";

function ctx(values: OptionValues, env: Record<string, string | undefined> = {}) {
	return { values, io: memoryIo(env).io };
}

describe("resolveRunTarget", () => {
	test("flags win over the environment", async () => {
		const target = await resolveRunTarget(
			ctx(
				{ project: "FLAG", workflow: "wf", branch: "dev" },
				{ CDS_PROJECT: "ENV", CDS_WORKFLOW: "envwf", CDS_BRANCH: "main", CDS_COMMIT: "abc123" },
			),
		);
		assert.deepEqual(target, { project: "FLAG", workflow: "wf", branch: "dev", commit: "abc123" });
	});

	test("the environment fills what the flags leave out; empty values count as absent", async () => {
		const target = await resolveRunTarget(
			ctx({ project: "" }, { CDS_PROJECT: "ENV", CDS_WORKFLOW: "envwf", CDS_BRANCH: " ", CDS_COMMIT: "" }),
		);
		assert.deepEqual(target, { project: "ENV", workflow: "envwf" });
	});

	test("a missing project or workflow is a usage error naming the flag and the variable", async () => {
		await assert.rejects(
			resolveRunTarget(ctx({ workflow: "w" })),
			(e) => e instanceof UsageError && /--project \(or set CDS_PROJECT\)/.test(e.message),
		);
		await assert.rejects(
			resolveRunTarget(ctx({}, { CDS_PROJECT: "P" })),
			(e) => e instanceof UsageError && /--workflow \(or set CDS_WORKFLOW\)/.test(e.message),
		);
	});

	test("describeTarget names what was searched", () => {
		assert.equal(
			describeTarget({ project: "P", workflow: "w", branch: "dev", commit: "abc" }),
			"w on branch dev at commit abc",
		);
		assert.equal(describeTarget({ project: "P", workflow: "w" }), "w");
	});
});

describe("the roadmap commands without a target exit 2", () => {
	for (const argv of [["track"], ["logs", "build"], ["restart", "build"], ["status"]]) {
		test(`cds ${argv.join(" ")}`, async () => {
			const out = memoryIo({ CDS_CONFIG: "/nonexistent/config.json" }, "/");
			assert.equal(await main(argv, out.io), 2);
			assert.match(out.stderr, /^error: missing --project \(or set CDS_PROJECT\)/);
		});
	}

	test("a malformed --run is a usage error", async () => {
		for (const command of ["logs", "restart"]) {
			const out = memoryIo(
				{ CDS_PROJECT: "P", CDS_WORKFLOW: "w", CDS_API_URL: "http://127.0.0.1:9", CDS_TOKEN: "t" },
				"/",
			);
			// Checked before any request: the unreachable server would make it exit 1.
			assert.equal(await main([command, "--run", "x"], out.io), 2, out.stderr);
			assert.match(out.stderr, /invalid run number "x"/);
		}
	});
});
