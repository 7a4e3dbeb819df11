import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
	configPath,
	DEFAULT_TIMEOUT_MS,
	normalizeApiUrl,
	readConfigFile,
	resolveConfig,
	timeoutMs,
	writeConfig,
} from "../../src/cli/config.ts";
import { memoryIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";

let dir: string;
before(async () => {
	dir = await mkdtemp(join(tmpdir(), "cds-cli-config-"));
});
after(async () => {
	await rm(dir, { recursive: true, force: true });
});

describe("config file location", () => {
	test("CDS_CONFIG wins, then XDG_CONFIG_HOME, then ~/.config", () => {
		assert.equal(configPath({ CDS_CONFIG: "/a/c.json", XDG_CONFIG_HOME: "/x", HOME: "/h" }), "/a/c.json");
		assert.equal(configPath({ XDG_CONFIG_HOME: "/x", HOME: "/h" }), "/x/cds/config.json");
		assert.equal(configPath({ HOME: "/h" }), "/h/.config/cds/config.json");
		assert.equal(configPath({ XDG_CONFIG_HOME: "", HOME: "/h" }), "/h/.config/cds/config.json");
	});
});

describe("writing the config", () => {
	test("creates the cds directory 0700 and the file 0600, readable back", async () => {
		const env = { XDG_CONFIG_HOME: join(dir, "xdg") };
		const path = await writeConfig(env, { apiUrl: "http://h:1", token: "secret" });
		assert.equal(path, join(dir, "xdg", "cds", "config.json"));
		assert.equal((await stat(path)).mode & 0o777, 0o600);
		assert.equal((await stat(join(dir, "xdg", "cds"))).mode & 0o777, 0o700);
		assert.deepEqual(JSON.parse(await readFile(path, "utf8")), { apiUrl: "http://h:1", token: "secret" });
		assert.deepEqual(await resolveConfig(env), { apiUrl: "http://h:1", token: "secret" });
	});

	test("tightens an existing, too open file and cds directory", async () => {
		const home = join(dir, "home");
		await mkdir(join(home, ".config", "cds"), { recursive: true, mode: 0o755 });
		await writeFile(join(home, ".config", "cds", "config.json"), "{}", { mode: 0o644 });
		const path = await writeConfig({ HOME: home }, { apiUrl: "http://h", token: "t" });
		assert.equal((await stat(path)).mode & 0o777, 0o600);
		assert.equal((await stat(join(home, ".config", "cds"))).mode & 0o777, 0o700);
	});
});

describe("resolving the config", () => {
	test("a missing file means not logged in (exit 1 from any server command)", async () => {
		const env = { CDS_CONFIG: join(dir, "missing.json") };
		await assert.rejects(
			resolveConfig(env),
			/^CliFailure: not logged in: run cds login --api-url URL --token T$/,
		);
		for (const argv of [
			["project", "list"],
			["token", "list"],
			["workflow", "list", "K"],
		]) {
			const out = memoryIo(env);
			assert.equal(await main(argv, out.io), 1);
			assert.equal(out.stderr, "error: not logged in: run cds login --api-url URL --token T\n");
		}
	});

	test("CDS_API_URL and CDS_TOKEN override the file one field at a time", async () => {
		const file = join(dir, "override.json");
		await writeFile(file, JSON.stringify({ apiUrl: "http://file:1/", token: "file-token" }));
		assert.deepEqual(await resolveConfig({ CDS_CONFIG: file }), {
			apiUrl: "http://file:1",
			token: "file-token",
		});
		assert.deepEqual(await resolveConfig({ CDS_CONFIG: file, CDS_TOKEN: "env-token" }), {
			apiUrl: "http://file:1",
			token: "env-token",
		});
		assert.deepEqual(await resolveConfig({ CDS_CONFIG: file, CDS_API_URL: "https://env/api/v1" }), {
			apiUrl: "https://env",
			token: "file-token",
		});
		// Both variables set: the file is not even needed.
		assert.deepEqual(
			await resolveConfig({ CDS_CONFIG: join(dir, "none.json"), CDS_API_URL: "http://e", CDS_TOKEN: "t" }),
			{ apiUrl: "http://e", token: "t" },
		);
	});

	test("a corrupt config file is a clear failure", async () => {
		const file = join(dir, "corrupt.json");
		await writeFile(file, "{not json");
		await assert.rejects(resolveConfig({ CDS_CONFIG: file }), /is not valid JSON/);
		await writeFile(file, "[1]");
		await assert.rejects(readConfigFile(file), /must hold a JSON object/);
		const out = memoryIo({ CDS_CONFIG: file });
		assert.equal(await main(["project", "list"], out.io), 1);
		assert.match(out.stderr, /^error: config file .* must hold a JSON object\n$/);
	});
});

describe("API URL and timeout settings", () => {
	test("API URLs are normalised and checked", () => {
		assert.equal(normalizeApiUrl("http://localhost:8080/"), "http://localhost:8080");
		assert.equal(normalizeApiUrl("https://cds.example/prefix/api/v1/"), "https://cds.example/prefix");
		assert.throws(() => normalizeApiUrl("localhost:8080"), /invalid API URL/);
		assert.throws(() => normalizeApiUrl("not a url"), /invalid API URL/);
		assert.throws(() => normalizeApiUrl("http://h/?x=1"), /no query/);
	});

	test("CDS_TIMEOUT is in seconds, 30 s by default, and must be positive", () => {
		assert.equal(timeoutMs({}), DEFAULT_TIMEOUT_MS);
		assert.equal(DEFAULT_TIMEOUT_MS, 30_000);
		assert.equal(timeoutMs({ CDS_TIMEOUT: "2.5" }), 2500);
		assert.throws(() => timeoutMs({ CDS_TIMEOUT: "0" }), /invalid CDS_TIMEOUT/);
		assert.throws(() => timeoutMs({ CDS_TIMEOUT: "soon" }), /invalid CDS_TIMEOUT/);
	});
});
