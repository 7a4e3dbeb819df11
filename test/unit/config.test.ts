import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, test } from "node:test";
import { ALL_SERVICES, ConfigError, loadConfig } from "../../config/index.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

describe("configuration from the environment", () => {
	test("defaults: one process, every service, embedded store under ./data, API on 8081", () => {
		const c = loadConfig({}, "/srv/cds");
		assert.deepEqual(c.services, [...ALL_SERVICES]);
		assert.equal(c.runsAllServices, true);
		assert.equal(c.natsUrl, undefined);
		assert.equal(c.mongoUrl, undefined);
		assert.equal(c.dataDir, "/srv/cds/data");
		assert.equal(c.apiPort, 8081);
		assert.equal(c.publicUrl, "http://localhost:8081");
		assert.equal(c.logLevel, "info");
	});

	test("SERVICES selects service groups; later issues' names are accepted", () => {
		const c = loadConfig({
			SERVICES: "api, workflow,hatchery",
			NATS_URL: "nats://127.0.0.1:4222",
			MONGO_URL: "mongodb://h/db",
		});
		assert.deepEqual(c.services, ["api", "workflow", "hatchery"]);
		assert.equal(c.runsAllServices, false);
	});

	const bad: Array<[string, Record<string, string>, RegExp]> = [
		["an unknown service", { SERVICES: "api,wokflow" }, /unknown service 'wokflow'/],
		["a port out of range", { CDS_API_PORT: "70000" }, /CDS_API_PORT=70000 is not a TCP port/],
		["a non-numeric port", { CDS_API_PORT: "http" }, /not a TCP port/],
		[
			"a NATS URL of the wrong scheme",
			{ NATS_URL: "http://x:4222" },
			/NATS_URL=http:\/\/x:4222 must start with nats:/,
		],
		["a Mongo URL that is no URL", { MONGO_URL: "localhost" }, /MONGO_URL=localhost is not a URL/],
		["an unknown log level", { LOG_LEVEL: "loud" }, /LOG_LEVEL=loud is not one of/],
		["a short admin token", { CDS_ADMIN_TOKEN: "short" }, /at least 20 characters/],
		["a secret key of the wrong size", { CDS_SECRET_KEY: "c2hvcnQ=" }, /32 bytes/],
		[
			"a template URL prefix that is no URL",
			{ CDS_TEMPLATE_ALLOWED_URLS: "not a url" },
			/CDS_TEMPLATE_ALLOWED_URLS/,
		],
		[
			"a cluster node without a shared store",
			{ NATS_URL: "nats://127.0.0.1:4222", SERVICES: "hatchery" },
			/NATS_URL is set but MONGO_URL is not/,
		],
	];
	for (const [what, env, message] of bad) {
		test(`rejects ${what} with one clear line`, () => {
			assert.throws(
				() => loadConfig(env),
				(e: unknown) => e instanceof ConfigError && message.test(e.message),
			);
		});
	}

	test("a NATS node without Mongo may run when it runs every service", () => {
		const c = loadConfig({ NATS_URL: "nats://127.0.0.1:4222" });
		assert.equal(c.natsUrl, "nats://127.0.0.1:4222");
	});

	test("the server exits with code 2 and one line, no stack trace, on a bad value", () => {
		const r = spawnSync(process.execPath, [path.join(ROOT, "server.ts")], {
			env: { PATH: process.env.PATH, CDS_API_PORT: "99999", CDS_DATA_DIR: "/nonexistent-never-created" },
			encoding: "utf8",
			timeout: 30_000,
		});
		assert.equal(r.status, 2, r.stderr);
		const lines = r.stderr.trim().split("\n");
		assert.equal(lines.length, 1, r.stderr);
		assert.match(lines[0], /CDS_API_PORT=99999 is not a TCP port/);
		assert.doesNotMatch(r.stderr, /\bat .*\.ts:\d+/);
	});
});
