// The latest definition a node keeps (src/workflow/latest-definitions.ts): only under the stamp
// it was read with, as a copy, and never past its few seconds (a writer that died between its
// change and its stamp left the old stamp in place).

import assert from "node:assert/strict";
import { test } from "node:test";
import type { DefinitionDoc } from "../../schemas/workflow.ts";
import { LATEST_DEFINITION_TTL_MS, LatestDefinitions } from "../../src/workflow/latest-definitions.ts";

const doc = (version: number) =>
	({
		_id: `P/W/main/${version}`,
		project: "P",
		workflow: "W",
		branch: "main",
		version,
		hash: `h${version}`,
		model: { name: "W" },
		pipelines: [],
		created: "2026-12-04T00:00:00.000Z",
		author: null,
	}) as unknown as DefinitionDoc;

test("kept under its stamp only, as a copy, for a few seconds", () => {
	let now = 1_000;
	const latest = new LatestDefinitions(() => now);
	latest.set("s1", doc(1));
	assert.equal(latest.get("P", "W", "main", "s1")?.version, 1);
	assert.equal(latest.get("P", "W", "main", "s2"), undefined, "another stamp: changed since");
	assert.equal(latest.get("P", "W", "other", "s1"), undefined);
	assert.equal(latest.get("P", "W", "main", undefined), undefined, "an unstamped head keeps nothing");
	const copy = latest.get("P", "W", "main", "s1")!;
	copy.version = 99;
	assert.equal(latest.get("P", "W", "main", "s1")?.version, 1, "a caller's change stays its own");
	now += LATEST_DEFINITION_TTL_MS;
	assert.equal(latest.get("P", "W", "main", "s1"), undefined, "too old: read again");
});
