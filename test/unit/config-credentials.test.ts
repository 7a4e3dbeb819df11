// Secrets in the configuration: *_FILE variants, NATS credentials, and messages that never
// show a secret's value.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { ConfigError, loadConfig, secretVariables } from "../../config/index.ts";
import { brokerOptions } from "../../moleculer.config.ts";
import { type NatsClientOptions, natsClientOptions } from "../../src/ops/nats-options.ts";

const dir = mkdtempSync(path.join(tmpdir(), "cds-config-secrets-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string) => {
	const p = path.join(dir, name);
	writeFileSync(p, content, { mode: 0o600 });
	return p;
};
const KEY = Buffer.alloc(32, 7).toString("base64");
const TOKEN = "an-admin-token-of-enough-length";

describe("*_FILE variants of secrets", () => {
	test("CDS_ADMIN_TOKEN_FILE and CDS_SECRET_KEY_FILE are read, one trailing newline dropped", () => {
		const c = loadConfig({
			CDS_ADMIN_TOKEN_FILE: file("token", `${TOKEN}\n`),
			CDS_SECRET_KEY_FILE: file("key", `${KEY}\n`),
		});
		assert.equal(c.adminToken, TOKEN);
		assert.equal(c.secretKey, KEY);
	});

	test("the plain variables still work", () => {
		const c = loadConfig({ CDS_ADMIN_TOKEN: TOKEN, CDS_SECRET_KEY: KEY });
		assert.equal(c.adminToken, TOKEN);
		assert.equal(c.secretKey, KEY);
	});

	const bad: Array<[string, () => Record<string, string>, RegExp]> = [
		[
			"both forms at once",
			() => ({ CDS_ADMIN_TOKEN: TOKEN, CDS_ADMIN_TOKEN_FILE: file("t2", TOKEN) }),
			/CDS_ADMIN_TOKEN and CDS_ADMIN_TOKEN_FILE are both set/,
		],
		[
			"a missing file",
			() => ({ CDS_SECRET_KEY_FILE: path.join(dir, "nope") }),
			/CDS_SECRET_KEY_FILE=.*nope: cannot read the file \(ENOENT\)/,
		],
		["an empty file", () => ({ CDS_ADMIN_TOKEN_FILE: file("empty", "\n") }), /the file is empty/],
		[
			"a file with a short token",
			() => ({ CDS_ADMIN_TOKEN_FILE: file("short", "short-secret-value") }),
			/CDS_ADMIN_TOKEN_FILE=.* is invalid: expected at least 20 characters \(the value is not shown\)/,
		],
		[
			"a short token",
			() => ({ CDS_ADMIN_TOKEN: "short-secret-value" }),
			/CDS_ADMIN_TOKEN is invalid: expected at least 20 characters/,
		],
		[
			"a key file of the wrong size",
			() => ({ CDS_SECRET_KEY_FILE: file("k16", Buffer.alloc(16).toString("base64")) }),
			/CDS_SECRET_KEY must be 32 bytes/,
		],
	];
	for (const [what, env, message] of bad) {
		test(`${what} is refused, without showing the value`, () => {
			let error: unknown;
			try {
				loadConfig(env());
			} catch (e) {
				error = e;
			}
			assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
			assert.match(error.message, message);
			assert.doesNotMatch(error.message, /short-secret-value|an-admin-token/);
		});
	}
});

describe("NATS credentials", () => {
	const cluster = { MONGO_URL: "mongodb://h/db" };

	test("user and password in NATS_URL leave the URL, percent-decoded", () => {
		const c = loadConfig({ ...cluster, NATS_URL: "nats://cds:p%40ss%3Aword@127.0.0.1:4222" });
		assert.equal(c.natsUrl, "nats://127.0.0.1:4222");
		assert.deepEqual(c.natsCredentials, { user: "cds", pass: "p@ss:word" });
		assert.equal(c.hooks.natsUrl, "nats://127.0.0.1:4222");
		assert.deepEqual(c.hooks.natsCredentials, c.natsCredentials);
	});

	test("a user alone in the URL is a token", () => {
		const c = loadConfig({ ...cluster, NATS_URL: "nats://s3cr3t-token@nats:4222" });
		assert.deepEqual(c.natsCredentials, { token: "s3cr3t-token" });
		assert.equal(c.natsUrl, "nats://nats:4222");
	});

	test("NATS_USER with NATS_PASSWORD or NATS_PASSWORD_FILE", () => {
		const a = loadConfig({ ...cluster, NATS_URL: "nats://nats:4222", NATS_USER: "cds", NATS_PASSWORD: "pw" });
		assert.deepEqual(a.natsCredentials, { user: "cds", pass: "pw" });
		const b = loadConfig({
			...cluster,
			NATS_URL: "nats://nats:4222",
			NATS_USER: "cds",
			NATS_PASSWORD_FILE: file("nats", "from-file\n"),
		});
		assert.deepEqual(b.natsCredentials, { user: "cds", pass: "from-file" });
	});

	test("a CDS_HOOKS_NATS_URL without credentials uses NATS_USER / NATS_PASSWORD; its own win", () => {
		const env = { ...cluster, NATS_URL: "nats://nats:4222", NATS_USER: "cds", NATS_PASSWORD: "pw" };
		const a = loadConfig({ ...env, CDS_HOOKS_NATS_URL: "nats://other:4222" });
		assert.equal(a.hooks.natsUrl, "nats://other:4222");
		assert.deepEqual(a.hooks.natsCredentials, { user: "cds", pass: "pw" });
		const b = loadConfig({ ...env, CDS_HOOKS_NATS_URL: "nats://hooks:hpw@other:4222" });
		assert.equal(b.hooks.natsUrl, "nats://other:4222");
		assert.deepEqual(b.hooks.natsCredentials, { user: "hooks", pass: "hpw" });
		assert.equal(loadConfig({ ...env, CDS_HOOKS_NATS_URL: "off" }).hooks.natsUrl, undefined);
	});

	test("no credentials: none", () => {
		assert.equal(loadConfig({ ...cluster, NATS_URL: "nats://nats:4222" }).natsCredentials, undefined);
	});

	test("NATS_USER without a password, or the reverse, is refused", () => {
		assert.throws(() => loadConfig({ NATS_USER: "cds" }), /NATS_USER and NATS_PASSWORD .* go together/);
		assert.throws(() => loadConfig({ NATS_PASSWORD: "pw" }), /go together/);
	});

	test("a bad NATS_URL is reported without its password", () => {
		let message = "";
		try {
			loadConfig({ NATS_URL: "http://cds:hunter2-secret@x:4222" });
		} catch (e) {
			message = (e as Error).message;
		}
		assert.match(message, /NATS_URL=http:\/\/\*\*\*@x:4222 must start with nats:/);
		assert.doesNotMatch(message, /hunter2/);
	});
});

describe("secretVariables", () => {
	test("names the secrets present, and a NATS URL only when it carries credentials", () => {
		assert.deepEqual(
			secretVariables({ CDS_ADMIN_TOKEN: TOKEN, NATS_URL: "nats://h:4222", LOG_LEVEL: "info" }),
			["CDS_ADMIN_TOKEN"],
		);
		assert.deepEqual(
			secretVariables({
				CDS_SECRET_KEY: KEY,
				NATS_PASSWORD: "pw",
				NATS_URL: "nats://u:p@h:4222",
				CDS_HOOKS_NATS_URL: "nats://t@h:4222",
			}),
			["CDS_SECRET_KEY", "NATS_PASSWORD", "NATS_URL", "CDS_HOOKS_NATS_URL"],
		);
		assert.deepEqual(secretVariables({ CDS_ADMIN_TOKEN_FILE: "/run/secrets/t" }), []);
	});
});

describe("NATS credentials in the broker's options", () => {
	test("they travel as an authenticator: $node.options (JSON) and the URL never show them", () => {
		const config = loadConfig({ NATS_URL: "nats://cds:hunter2-secret@127.0.0.1:4222" });
		const options = brokerOptions(config);
		const transporter = options.transporter as { options: NatsClientOptions & { url?: string } };
		assert.deepEqual(transporter.options.servers, ["nats://127.0.0.1:4222"]);
		assert.equal(
			transporter.options.url,
			undefined,
			"Moleculer would turn a URL's userinfo into plain options",
		);
		assert.deepEqual(transporter.options.authenticator?.(), { user: "cds", pass: "hunter2-secret" });
		assert.doesNotMatch(JSON.stringify(options), /hunter2/);
	});

	test("a token, and no authenticator without credentials", () => {
		assert.deepEqual(natsClientOptions("nats://h:4222", { token: "tk" }).authenticator?.(), {
			auth_token: "tk",
		});
		assert.equal(natsClientOptions("nats://h:4222").authenticator, undefined);
	});
});
