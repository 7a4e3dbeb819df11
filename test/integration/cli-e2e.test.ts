// The cds CLI against a real CDS-TS node started in-process (embedded store, local
// transport, or the shared MongoDB when MONGO_URL is set).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { memoryIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { type RunningServer, startServer } from "../../server.ts";
import { mongoUrlFor, uniqueDbName } from "../helpers/servers.ts";
import { corpus, corpusPath } from "../helpers/corpus.ts";

const ADMIN_TOKEN = `cli-e2e-admin-${"x".repeat(24)}`;
const BIN = join(import.meta.dirname, "..", "..", "bin", "cds.mjs");

let server: RunningServer;
let dir: string;
let apiUrl: string;
let env: Record<string, string>;

async function freePort(): Promise<number> {
	const probe = createServer();
	await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
	const { port } = probe.address() as { port: number };
	await new Promise((resolve) => probe.close(resolve));
	return port;
}

/** startServer resolves before the gateway has built its auto-aliases: wait until the API routes answer. */
async function waitForApi(url: string): Promise<void> {
	const deadline = Date.now() + 15_000;
	for (;;) {
		const res = await fetch(`${url}/api/v1/auth/me`, {
			headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
		}).catch(() => undefined);
		await res?.body?.cancel();
		if (res?.ok) return;
		if (Date.now() > deadline)
			throw new Error(`the API at ${url} did not become ready (last status ${res?.status})`);
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
}

async function cds(argv: string[], extraEnv: Record<string, string> = {}) {
	const out = memoryIo({ ...env, ...extraEnv }, dir);
	const code = await main(argv, out.io);
	return { code, stdout: out.stdout, stderr: out.stderr };
}

before(async () => {
	dir = await mkdtemp(join(tmpdir(), "cds-cli-e2e-"));
	const port = await freePort();
	const serverEnv: Record<string, string> = {
		CDS_API_PORT: String(port),
		CDS_API_HOST: "127.0.0.1",
		CDS_ADMIN_TOKEN: ADMIN_TOKEN,
		CDS_DATA_DIR: join(dir, "data"),
		CDS_SECRET_KEY: Buffer.alloc(32, 7).toString("base64"),
		LOG_LEVEL: "error",
	};
	if (process.env.MONGO_URL)
		serverEnv.MONGO_URL = mongoUrlFor(process.env.MONGO_URL, uniqueDbName("cli_e2e"));
	server = await startServer(serverEnv);
	apiUrl = `http://127.0.0.1:${port}`;
	await waitForApi(apiUrl);
	env = { CDS_CONFIG: join(dir, "config", "config.json") };
});

after(async () => {
	await server?.stop();
	await rm(dir, { recursive: true, force: true });
});

describe("cds against a real server", { skip: corpus.skip }, () => {
	test("login refuses a bad token and saves nothing", async () => {
		const r = await cds(["login", "--api-url", apiUrl, "--token", "wrong-token-wrong-token"]);
		assert.equal(r.code, 1);
		assert.match(r.stderr, /^error: /);
		await assert.rejects(stat(env.CDS_CONFIG!), { code: "ENOENT" });
	});

	test("login validates the token and stores the config 0600", async () => {
		const r = await cds(["login", "--api-url", `${apiUrl}/`, "--token", ADMIN_TOKEN]);
		assert.equal(r.code, 0, r.stderr);
		assert.match(r.stdout, /^logged in to http:\/\/127\.0\.0\.1:\d+ \(token .*role admin/);
		assert.deepEqual(JSON.parse(await readFile(env.CDS_CONFIG!, "utf8")), { apiUrl, token: ADMIN_TOKEN });
		assert.equal((await stat(env.CDS_CONFIG!)).mode & 0o777, 0o600);
	});

	test("project create, list, show, duplicate and missing", async () => {
		const created = await cds(["project", "create", "CLIE2E", "CLI end to end"]);
		assert.equal(created.code, 0, created.stderr);
		assert.equal(created.stdout, "created project CLIE2E (CLI end to end)\n");

		const list = await cds(["project", "list"]);
		assert.equal(list.code, 0);
		assert.match(list.stdout, /^KEY\s+NAME\s+CREATED\n/);
		assert.match(list.stdout, /^CLIE2E\s+CLI end to end\s+\d{4}-\d\d-\d\dT/m);

		const json = await cds(["project", "list", "--json"]);
		const projects = JSON.parse(json.stdout) as Array<{ key: string }>;
		assert.ok(projects.some((p) => p.key === "CLIE2E"));

		const show = await cds(["project", "show", "CLIE2E"]);
		assert.equal(show.code, 0);
		assert.match(show.stdout, /^key:\s+CLIE2E\nname:\s+CLI end to end\n/);

		const dup = await cds(["project", "create", "CLIE2E", "again"]);
		assert.equal(dup.code, 1);
		assert.match(dup.stderr, /^error: .+\n$/);

		const missing = await cds(["project", "show", "NOSUCHPROJECT"]);
		assert.equal(missing.code, 1);
		assert.match(missing.stderr, /^error: .+\n$/);
	});

	test("workflow import, list, show, export and re-lint of the export", async () => {
		const source = corpusPath("ITSCWRKFLW3");
		const imported = await cds(["workflow", "import", "CLIE2E", source]);
		assert.equal(imported.code, 0, imported.stderr);
		assert.match(imported.stdout, /^imported 6 files into CLIE2E: 1 workflow, 5 pipelines/);
		assert.match(imported.stdout, /^created\s+/m);

		// A changed pipeline conflicts with the stored one unless --force is given.
		const changed = join(dir, "changed");
		await cp(source, changed, { recursive: true });
		const pipeline = join(changed, "tests.pip.yml");
		await writeFile(pipeline, (await readFile(pipeline, "utf8")).replace("- npm test", "- npm test -- --ci"));
		const conflict = await cds(["workflow", "import", "CLIE2E", changed]);
		assert.equal(conflict.code, 1, conflict.stderr);
		assert.match(conflict.stderr, /^error: .*tests/);
		const forced = await cds(["workflow", "import", "CLIE2E", changed, "--force"]);
		assert.equal(forced.code, 0, forced.stderr);
		assert.match(forced.stdout, /^updated\s+\S+/m);

		const list = await cds(["workflow", "list", "CLIE2E", "--json"]);
		assert.equal(list.code, 0);
		const workflows = JSON.parse(list.stdout) as Array<{ name: string }>;
		assert.equal(workflows.length, 1);
		const name = workflows[0]!.name;
		const table = await cds(["workflow", "list", "CLIE2E"]);
		assert.match(table.stdout, new RegExp(`^NAME\\s+BRANCH\\s+VERSION\\s+AS-CODE\\s+UPDATED\\n${name}\\s`));

		const show = await cds(["workflow", "show", "CLIE2E", name]);
		assert.equal(show.code, 0, show.stderr);
		assert.match(show.stdout, new RegExp(`^name:\\s+${name}$`, "m"));
		assert.match(show.stdout, /^NODE\s+PIPELINE\s+APPLICATION\s+ENVIRONMENT\s+DEPENDS-ON\n/m);
		assert.match(show.stdout, /^deploy\s+deploy\s+ITSCWRKFLW3-APP\s+ITSCWRKFLW3-ENV-PROD\s+\S+/m);

		const printed = await cds(["workflow", "export", "CLIE2E", name]);
		assert.equal(printed.code, 0, printed.stderr);
		assert.match(printed.stdout, /^# file: \S+\.yml\n/);

		const out = join(dir, "exported");
		const written = await cds(["workflow", "export", "CLIE2E", name, "-o", out]);
		assert.equal(written.code, 0, written.stderr);
		const files = await readdir(out, { recursive: true });
		assert.ok(files.length >= 6, `exported ${files.join(", ")}`);
		const headers = printed.stdout.match(/^# file: .+$/gm) ?? [];
		assert.equal(headers.length, files.filter((f) => /\.(ya?ml|json)$/.test(f)).length);

		const relint = await cds(["workflow", "lint", out]);
		assert.equal(relint.code, 0, relint.stdout);
	});

	test("importing a broken file is exit 2 with file:line:column lines", async () => {
		const broken = join(dir, "broken");
		await mkdir(broken, { recursive: true });
		await writeFile(
			join(broken, "w.yml"),
			"name: w\nversion: v2.0\nworkflow:\n  build:\n    pipeline: nope\n",
		);
		const r = await cds(["workflow", "import", "CLIE2E", broken]);
		assert.equal(r.code, 2, r.stderr);
		assert.match(r.stderr, /^error: .+\n/);
		assert.match(r.stderr, /^w\.yml:\d+:\d+: .+$/m);
	});

	test("token create, use, list and revoke", async () => {
		const created = await cds([
			"token",
			"create",
			"--role",
			"read",
			"--project",
			"CLIE2E",
			"--name",
			"ci",
			"--json",
		]);
		assert.equal(created.code, 0, created.stderr);
		const token = JSON.parse(created.stdout) as { id: string; token: string; role: string };
		assert.equal(token.role, "read");

		const human = await cds(["token", "create", "--role", "write", "--project", "CLIE2E", "--expires", "1d"]);
		assert.equal(human.code, 0, human.stderr);
		assert.match(
			human.stdout,
			/^token:\s+\S+\nid:\s+\S+\nrole:\s+write\nproject:\s+CLIE2E\nexpires:\s+\d{4}-/,
		);
		assert.match(human.stderr, /shown only once/);

		const asReader = { CDS_TOKEN: token.token };
		const read = await cds(["project", "show", "CLIE2E"], asReader);
		assert.equal(read.code, 0, read.stderr);
		const write = await cds(["project", "delete", "CLIE2E"], asReader);
		assert.equal(write.code, 1);
		assert.match(write.stderr, /^error: /);

		const list = await cds(["token", "list"]);
		assert.equal(list.code, 0);
		assert.match(list.stdout, /^ID\s+NAME\s+PROJECT\s+ROLE\s+EXPIRES\s+CREATED\n/);
		assert.match(list.stdout, new RegExp(`^${token.id}\\s+ci\\s+CLIE2E\\s+read\\s+never\\s`, "m"));

		const revoked = await cds(["token", "revoke", token.id]);
		assert.equal(revoked.code, 0, revoked.stderr);
		assert.equal(revoked.stdout, `revoked token ${token.id}\n`);
		const after = await cds(["project", "show", "CLIE2E"], asReader);
		assert.equal(after.code, 1);
	});

	test("the bin runs as a process against the server and exits promptly", async () => {
		// Asynchronous spawn: the server lives in this process and must keep serving.
		const started = Date.now();
		const child = spawn(process.execPath, [BIN, "project", "list", "--json"], {
			env: { ...process.env, ...env },
		});
		let stdout = "";
		let stderr = "";
		child.stdout.on("data", (chunk) => (stdout += chunk));
		child.stderr.on("data", (chunk) => (stderr += chunk));
		const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
		assert.equal(status, 0, stderr);
		assert.ok(Array.isArray(JSON.parse(stdout)));
		assert.ok(Date.now() - started < 10_000, "no lingering keep-alive connection holds the process");
	});

	test("project delete", async () => {
		const r = await cds(["project", "delete", "CLIE2E"]);
		assert.equal(r.code, 0, r.stderr);
		assert.equal(r.stdout, "deleted project CLIE2E\n");
		assert.equal((await cds(["project", "show", "CLIE2E"])).code, 1);
	});
});
