// Every action's and event's parameter schema compiles. Nodes compile a checker on the action's
// first call (a `cds run` node starts faster for it: mixins/permission.middleware.ts), so a
// schema the validator refuses would otherwise surface only when that action is first called.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { type ServiceSchema, Validators } from "moleculer";
import { loadConfig } from "../../config/index.ts";
import { COMPANION_MODULES, SERVICE_MODULES } from "../../services/support/service-modules.ts";

type Loader = () => Promise<{ default: (config: ReturnType<typeof loadConfig>) => ServiceSchema }>;

test("every service's action and event parameter schemas compile", async () => {
	const dataDir = mkdtempSync(path.join(tmpdir(), "cds-params-"));
	try {
		const config = loadConfig({ CDS_DATA_DIR: dataDir, CDS_ADMIN_TOKEN: "t".repeat(32) });
		// The validator the permission middleware runs (the broker's own is off), configured alike.
		const validator = new Validators.Fastest({ useNewCustomCheckerFunction: true });
		const loaders: Array<[string, Loader]> = [
			...(Object.entries(SERVICE_MODULES) as Array<[string, Loader]>),
			...Object.values(COMPANION_MODULES).flatMap((c) => Object.entries(c ?? {}) as Array<[string, Loader]>),
		];
		let compiled = 0;
		for (const [name, load] of loaders) {
			const schema = (await load()).default(config);
			for (const [kind, defs] of [
				["action", schema.actions ?? {}],
				["event", schema.events ?? {}],
			] as const)
				for (const [key, def] of Object.entries(defs as Record<string, unknown>)) {
					const params = (def as { params?: unknown } | undefined)?.params;
					if (!params || typeof params !== "object") continue;
					assert.doesNotThrow(() => validator.compile(params), `${name} ${kind} ${key}`);
					compiled++;
				}
		}
		assert.ok(compiled > 100, `only ${compiled} schemas found`);
	} finally {
		rmSync(dataDir, { recursive: true, force: true });
	}
});
