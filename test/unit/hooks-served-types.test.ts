// Which workflow hooks the workflow service records for hook sources: the table's types with a
// source, and types the table does not know — a source loaded from CDS_HOOK_SOURCES may serve
// them (docs/hook-sdk.md) — never the types served elsewhere (webhooks, pollers, schedulers).

import assert from "node:assert/strict";
import { test } from "node:test";
import { servedHooks } from "../../src/hooks/binding-index.ts";
import { checkConfigAgainst, checkHookConfig, type HookConfigKey } from "../../src/hooks/hook-types.ts";
import type { WorkflowHook } from "../../src/workflow/model.ts";

const hook = (type: string, config: Record<string, string> = {}) =>
	({ node: "build", type, config }) as WorkflowHook;

test("hooks of served and of unknown types are recorded; those served elsewhere are not", () => {
	const hooks = [
		hook("Scheduler", { cron: "* * * * *" }),
		hook("RepositoryWebHook"),
		hook("Kafka hook", { integration: "k", topic: "t" }),
		hook("File hook", { directory: "/srv/drop" }),
	];
	assert.deepEqual(
		servedHooks(hooks).map((h) => h.type),
		["Kafka hook", "File hook"],
	);
});

test("a source checks its own type's config with the linter's rules", () => {
	const keys: Record<string, HookConfigKey> = {
		directory: { kind: "string", required: true, description: "d" },
		interval: { kind: "duration", description: "i" },
	};
	assert.deepEqual(checkConfigAgainst("File hook", keys, { directory: "/x", interval: "2s" }), []);
	assert.deepEqual(
		checkConfigAgainst("File hook", keys, { interval: "soon", colour: "blue" }).map((p) => p.message),
		[
			"unknown key 'colour' in the config of a 'File hook' hook (known: directory, interval)",
			"a 'File hook' hook needs 'directory' in its config",
			"'interval' of a 'File hook' hook: expected a duration such as 500ms, 30s, 5m or 1h, got 'soon'",
		],
	);
	// The linter has no rule for a type it does not know.
	assert.deepEqual(checkHookConfig("File hook", { colour: "blue" }), []);
});
