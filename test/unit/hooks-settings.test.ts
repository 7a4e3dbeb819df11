import assert from "node:assert/strict";
import { test } from "node:test";
import { readHookSettings } from "../../config/hooks.ts";

const settings = (env: Record<string, string>) => readHookSettings(env, undefined);

test("processed hook events are kept a week by default, and never less than the catch-up window", () => {
	assert.equal(settings({}).eventRetentionMs, 7 * 24 * 3600_000);
	assert.equal(settings({ CDS_HOOKS_EVENT_RETENTION_MS: "86400000" }).eventRetentionMs, 86_400_000);
	// A tick's event is what stops a second run of that tick: purging it inside the window would not.
	assert.equal(settings({ CDS_HOOKS_EVENT_RETENTION_MS: "1000" }).eventRetentionMs, 3600_000);
	assert.equal(
		settings({ CDS_HOOKS_EVENT_RETENTION_MS: "1000", CDS_HOOKS_CATCHUP_WINDOW_MS: "500" }).eventRetentionMs,
		1000,
	);
});

test("the intake-first knobs have their documented defaults", () => {
	const s = settings({});
	assert.equal(s.intakeQuietMs, 50);
	assert.equal(s.intakeDeferMs, 2000);
	assert.equal(settings({ CDS_HOOKS_INTAKE_DEFER_MS: "0" }).intakeDeferMs, 0);
});
