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
		assert.equal(c.publicUrl, undefined, "unset: the URL comes from the API nodes (src/net/public-url.ts)");
		assert.equal(
			loadConfig({ CDS_PUBLIC_URL: "https://cds.example.com/" }).publicUrl,
			"https://cds.example.com",
		);
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
		["an unknown log level", { LOG_LEVEL: "loud" }, /LOG_LEVEL=loud is invalid: expected one of/],
		[
			"a job timeout that is no duration",
			{ CDS_JOB_TIMEOUT_SECONDS: "an hour" },
			/CDS_JOB_TIMEOUT_SECONDS=an hour/,
		],
		[
			"a worker count in words",
			{ CDS_HATCHERY_MAX_WORKERS: "ten" },
			/CDS_HATCHERY_MAX_WORKERS=ten is invalid: expected a whole number/,
		],
		[
			"an artifact size that is no size",
			{ CDS_MAX_ARTIFACT_BYTES: "lots" },
			/CDS_MAX_ARTIFACT_BYTES=lots is invalid: expected a size/,
		],
		["a size in an unknown unit", { CDS_MAX_BODY_BYTES: "5 parsecs" }, /CDS_MAX_BODY_BYTES=5 parsecs/],
		[
			"a boolean that is neither",
			{ CDS_HOOKS_PROCESSOR: "maybe" },
			/CDS_HOOKS_PROCESSOR=maybe is invalid: expected true or false/,
		],
		[
			"a zero where at least one is needed",
			{ CDS_HATCHERY_JOBS_PER_WORKER: "0" },
			/CDS_HATCHERY_JOBS_PER_WORKER=0 is invalid: expected at least 1/,
		],
		["a hatchery name with a slash", { CDS_HATCHERY_NAME: "a/b" }, /CDS_HATCHERY_NAME=a\/b/],
		["a short admin token", { CDS_ADMIN_TOKEN: "short" }, /at least 20 characters/],
		["a secret key of the wrong size", { CDS_SECRET_KEY: "c2hvcnQ=" }, /32 bytes/],
		[
			"a template URL prefix that is no URL",
			{ CDS_TEMPLATE_ALLOWED_URLS: "not a url" },
			/CDS_TEMPLATE_ALLOWED_URLS/,
		],
		[
			"an unknown hatchery driver, listing the known ones",
			{ CDS_HATCHERY_DRIVER: "kubernetess" },
			/CDS_HATCHERY_DRIVER=kubernetess is invalid: expected one of local/,
		],
		[
			"an unknown artifact store, listing the known ones",
			{ CDS_ARTIFACT_STORE: "s3" },
			/CDS_ARTIFACT_STORE=s3 is invalid: expected one of filesystem, gridfs, swift/,
		],
		[
			"the GridFS artifact store without MongoDB",
			{ CDS_ARTIFACT_STORE: "gridfs" },
			/CDS_ARTIFACT_STORE=gridfs needs MONGO_URL/,
		],
		[
			"the Swift artifact store without its credentials, naming what is missing",
			{ CDS_ARTIFACT_STORE: "swift", CDS_SWIFT_AUTH_URL: "https://ks:5000/v3" },
			/CDS_ARTIFACT_STORE=swift \(auth keystone\) needs CDS_SWIFT_USER, CDS_SWIFT_PASSWORD \(or CDS_SWIFT_PASSWORD_FILE\), CDS_SWIFT_PROJECT/,
		],
		[
			"a Swift auth kind that is neither keystone nor tempauth",
			{ CDS_ARTIFACT_STORE: "swift", CDS_SWIFT_AUTH_KIND: "v1" },
			/CDS_SWIFT_AUTH_KIND=v1 is invalid: expected one of keystone, tempauth/,
		],
		[
			"a Swift segment size below 1 KiB",
			{ CDS_ARTIFACT_STORE: "swift", CDS_SWIFT_SEGMENT_BYTES: "100" },
			/CDS_SWIFT_SEGMENT_BYTES=100 is invalid: expected at least 1024/,
		],
		[
			"a Swift auth URL that is no http(s) URL",
			{ CDS_ARTIFACT_STORE: "swift", CDS_SWIFT_AUTH_URL: "ftp://ks" },
			/CDS_SWIFT_AUTH_URL=ftp:\/\/ks must start with http: or https:/,
		],
		[
			"a cluster node without a shared store",
			{ NATS_URL: "nats://127.0.0.1:4222", SERVICES: "hatchery" },
			/NATS_URL is set but MONGO_URL is not/,
		],
	];
	test("the Swift store's settings; its password is never in a message", () => {
		const c = loadConfig({
			CDS_ARTIFACT_STORE: "swift",
			CDS_SWIFT_AUTH_URL: "https://auth.cloud.ovh.net/v2.0",
			CDS_SWIFT_USER: "u",
			CDS_SWIFT_PASSWORD: "hunter2",
			CDS_SWIFT_PROJECT: "tenant",
			CDS_SWIFT_SEGMENT_BYTES: "1MiB",
		});
		assert.deepEqual(c.artifacts.swift, {
			authUrl: "https://auth.cloud.ovh.net/v2.0",
			authKind: "keystone",
			user: "u",
			password: "hunter2",
			project: "tenant",
			domain: "Default",
			region: undefined,
			containerPrefix: "cds-",
			segmentBytes: 1024 ** 2,
			tempUrls: true,
		});
		assert.throws(
			() => loadConfig({ CDS_ARTIFACT_STORE: "swift", CDS_SWIFT_PASSWORD: "hunter2" }),
			(e: unknown) => e instanceof ConfigError && !e.message.includes("hunter2"),
		);
	});

	for (const [what, env, message] of bad) {
		test(`rejects ${what} with one clear line`, () => {
			assert.throws(
				() => loadConfig(env),
				(e: unknown) => e instanceof ConfigError && message.test(e.message),
			);
		});
	}

	test("a bare number takes the unit of the variable's name; a suffix converts", () => {
		const c = loadConfig({
			CDS_MAX_ARTIFACT_BYTES: "1GiB",
			CDS_MAX_BODY_BYTES: "512KiB",
			CDS_JOB_TIMEOUT_SECONDS: "1h",
			CDS_WORKER_HEARTBEAT_TIMEOUT_MS: "30s",
			CDS_GC_INTERVAL_MS: "10m",
			CDS_HOOKS_EVENT_RETENTION_MS: "7d",
			CDS_HATCHERY_MEMORY_MB: "2GiB",
			CDS_REQUEST_TIMEOUT_MS: "45000",
		});
		assert.equal(c.artifacts.maxBytes, 1024 ** 3);
		assert.equal(c.maxBodyBytes, 512 * 1024);
		assert.equal(c.run.defaultJobTimeoutSeconds, 3600);
		assert.equal(c.run.heartbeatTimeoutMs, 30_000);
		assert.equal(c.run.gcIntervalMs, 600_000);
		assert.equal(c.hooks.eventRetentionMs, 7 * 86_400_000);
		assert.equal(c.hatchery.memoryMb, 2048);
		assert.equal(c.requestTimeoutMs, 45_000);
		assert.equal(loadConfig({ CDS_MAX_ARTIFACT_BYTES: "10MB" }).artifacts.maxBytes, 10_000_000);
		assert.equal(loadConfig({ CDS_JOB_TIMEOUT_SECONDS: "90" }).run.defaultJobTimeoutSeconds, 90);
	});

	test("the hatchery driver is local unless named; the artifact store follows MONGO_URL unless named", () => {
		assert.equal(loadConfig({}).hatchery.driver, "local");
		assert.equal(loadConfig({}).artifacts.store, "filesystem");
		assert.equal(loadConfig({ MONGO_URL: "mongodb://h/db" }).artifacts.store, "gridfs");
		assert.equal(
			loadConfig({ MONGO_URL: "mongodb://h/db", CDS_ARTIFACT_STORE: "filesystem" }).artifacts.store,
			"filesystem",
		);
	});

	test("a duration that does not fall on the variable's unit is refused, not rounded", () => {
		assert.throws(() => loadConfig({ CDS_JOB_TIMEOUT_SECONDS: "1500ms" }), /whole number of seconds/);
	});

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

	for (const [name, value] of [
		["CDS_MAX_ARTIFACT_BYTES", "lots"],
		["CDS_HATCHERY_MAX_WORKERS", "ten"],
		["CDS_HATCHERY_DRIVER", "nomad"],
	]) {
		test(`the server exits with code 2 naming ${name} when it is ${value}`, () => {
			const r = spawnSync(process.execPath, [path.join(ROOT, "server.ts")], {
				env: { PATH: process.env.PATH, [name]: value, CDS_DATA_DIR: "/nonexistent-never-created" },
				encoding: "utf8",
				timeout: 30_000,
			});
			assert.equal(r.status, 2, r.stderr);
			assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
			assert.match(r.stderr, new RegExp(`${name}=${value} is invalid`));
		});
	}
});
