// CDS_HOOK_SOURCES: modules of hook sources written outside CDS-TS (docs/hook-sdk.md). A path
// that is not a file is a ConfigError (exit 2); `hook-<name>` in SERVICES is taken for them only
// when some are configured, and is checked once the modules are loaded (a name nobody serves, a
// module that is no source, a name a built-in source has: ConfigError too).

import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ConfigError, loadConfig } from "../../config/index.ts";
import { userHookServices } from "../../services/support/user-hook-sources.ts";

let dir = "";
before(async () => {
	dir = await mkdtemp(join(tmpdir(), "cds-hook-sources-"));
	const source = (name: string) =>
		`{ name: "${name}", idPrefix: "${name}", settingsSchema: {}, async start() {}, async stop() {}, health() { return { ok: true, emitted: 0, lastEmitAt: null, lastError: null }; } }`;
	await writeFile(join(dir, "instance.mjs"), `export default ${source("mine")};\n`);
	await writeFile(join(dir, "factory.mjs"), `export default async () => (${source("made")});\n`);
	await writeFile(
		join(dir, "class.mjs"),
		`export default class { name = "classy"; idPrefix = "classy"; settingsSchema = {}; async start() {} async stop() {} health() { return {}; } }\n`,
	);
	await writeFile(join(dir, "webhook.mjs"), `export default ${source("webhook")};\n`);
	await writeFile(join(dir, "nothing.mjs"), "export const x = 1;\n");
	await writeFile(
		join(dir, "kafka-too.mjs"),
		`export default { ...${source("kafka2")}, hookTypes: ["Kafka hook"], async refresh() {}, bindings() { return []; } };\n`,
	);
	await writeFile(join(dir, "Bad.mjs"), `export default ${source("Bad Name")};\n`);
});
after(async () => {
	await rm(dir, { recursive: true, force: true });
});

const config = (env: Record<string, string>) => loadConfig({ CDS_DATA_DIR: dir, ...env }, dir);

describe("CDS_HOOK_SOURCES", () => {
	test("paths are resolved against the working directory; one that is not a file is a ConfigError", () => {
		assert.deepEqual(config({ CDS_HOOK_SOURCES: "instance.mjs, factory.mjs" }).hooks.sourceModules, [
			join(dir, "instance.mjs"),
			join(dir, "factory.mjs"),
		]);
		assert.deepEqual(config({}).hooks.sourceModules, []);
		assert.throws(
			() => config({ CDS_HOOK_SOURCES: "instance.mjs,missing.mjs" }),
			(e: unknown) =>
				e instanceof ConfigError && /CDS_HOOK_SOURCES: missing\.mjs is not a file/.test(e.message),
		);
		assert.throws(() => config({ CDS_HOOK_SOURCES: "." }), ConfigError, "a directory is not a module");
	});

	test("SERVICES takes hook-<name> only when modules are configured", () => {
		assert.throws(
			() => config({ SERVICES: "api,hook-mine" }),
			/SERVICES contains unknown service 'hook-mine'/,
		);
		const c = config({ SERVICES: "api,hook-mine", CDS_HOOK_SOURCES: "instance.mjs" });
		assert.deepEqual(c.services, ["api"]);
		assert.deepEqual(c.userHookServices, ["hook-mine"]);
		assert.equal(config({ CDS_HOOK_SOURCES: "instance.mjs" }).userHookServices, "all");
		assert.equal(config({ SERVICES: "hook", CDS_HOOK_SOURCES: "instance.mjs" }).userHookServices, "all");
		assert.deepEqual(config({ SERVICES: "api", CDS_HOOK_SOURCES: "instance.mjs" }).userHookServices, []);
		assert.throws(
			() => config({ SERVICES: "hook-Not_A_Name", CDS_HOOK_SOURCES: "instance.mjs" }),
			/unknown service 'hook-Not_A_Name'/,
		);
	});

	test("a module's default export may be a source, a class or a function making one", async () => {
		const c = config({ CDS_HOOK_SOURCES: "instance.mjs,factory.mjs,class.mjs" });
		const services = await userHookServices(c);
		assert.deepEqual(
			services.map((s) => s.name),
			["hook-mine", "hook-made", "hook-classy"],
		);
		const one = await userHookServices(
			config({ SERVICES: "hook-made", CDS_HOOK_SOURCES: "instance.mjs,factory.mjs" }),
		);
		assert.deepEqual(
			one.map((s) => s.name),
			["hook-made"],
		);
		assert.deepEqual(
			await userHookServices(config({ SERVICES: "api", CDS_HOOK_SOURCES: "instance.mjs" })),
			[],
		);
	});

	test("no source, a bad or taken name, or a SERVICES name nobody serves: ConfigError", async () => {
		const refused = async (env: Record<string, string>, message: RegExp) =>
			assert.rejects(
				userHookServices(config(env)),
				(e: unknown) => e instanceof ConfigError && message.test(e.message),
			);
		await refused({ CDS_HOOK_SOURCES: "nothing.mjs" }, /must export by default a hook source/);
		await refused({ CDS_HOOK_SOURCES: "Bad.mjs" }, /source name 'Bad Name' must be/);
		await refused({ CDS_HOOK_SOURCES: "webhook.mjs" }, /the service hook-webhook exists already/);
		await refused({ CDS_HOOK_SOURCES: "kafka-too.mjs" }, /hook type 'Kafka hook' is CDS-TS's own/);
		await refused({ CDS_HOOK_SOURCES: "instance.mjs,instance.mjs" }, /hook-mine exists already/);
		await refused(
			{ SERVICES: "hook-other", CDS_HOOK_SOURCES: "instance.mjs" },
			/SERVICES names hook-other, which neither CDS-TS nor CDS_HOOK_SOURCES serves \(loaded: hook-mine\)/,
		);
	});
});
