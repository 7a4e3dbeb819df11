// Template repositories, rendering, instances, project keys and `cds new` against a real
// CDS-TS node (embedded store, or the shared MongoDB when MONGO_URL is set). Templates are
// served by a local http server on 127.0.0.1 and from a temporary directory via file://,
// and exactly those two prefixes are allowed.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, test } from "node:test";
import TemplateService from "../../services/template.service.ts";
import { memoryIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { encryptWithPublicKey } from "../../src/crypto/pgp.ts";
import { parseFileSet } from "../../src/workflow/index.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { mongoUrlFor, uniqueDbName } from "../helpers/servers.ts";
import { corpus, corpusPath } from "../helpers/corpus.ts";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "templates");

let root: string;
let http: Server;
let httpBase: string;
let fileBase: string;
let srv: TestServer;

async function serveDirectory(dir: string): Promise<Server> {
	const server = createServer(async (req, res) => {
		const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
		if (!path.startsWith("/http/") || path.includes("..")) {
			res.writeHead(404);
			return res.end();
		}
		try {
			res.end(await readFile(join(dir, path.slice("/http/".length))));
		} catch {
			res.writeHead(404);
			res.end();
		}
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	return server;
}

async function waitForTemplateRoutes(s: TestServer) {
	const deadline = Date.now() + 15_000;
	for (;;) {
		const r = await s.api("GET", "/api/v1/templates/repos");
		if (r.status === 200) return;
		if (Date.now() > deadline) throw new Error(`template routes not ready: ${r.status}`);
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
}

before(async () => {
	if (corpus.skip) return; // every suite of this file renders the corpus' templates
	root = await mkdtemp(join(tmpdir(), "cds-templates-it-"));
	await cp(corpusPath("template", "simple"), join(root, "simple"), { recursive: true });
	await cp(
		corpusPath("workflow-templates", "demo-workflow-hello-world"),
		join(root, "demo-workflow-hello-world"),
		{
			recursive: true,
		},
	);
	for (const name of ["secret-app", "broken", "index"])
		await cp(join(FIXTURES, name), join(root, name), { recursive: true });
	await cp(join(root, "index", "index.yml"), join(root, "index.yml"));
	http = await serveDirectory(root);
	httpBase = `http://127.0.0.1:${(http.address() as { port: number }).port}/http/`;
	fileBase = `${pathToFileURL(root).href}/`;
	const allowed = `${httpBase},${fileBase}`;
	// The typed configuration may not carry the setting yet: the service then reads the environment.
	process.env.CDS_TEMPLATE_ALLOWED_URLS = allowed;
	const env: Record<string, string> = { CDS_TEMPLATE_ALLOWED_URLS: allowed };
	if (process.env.MONGO_URL) env.MONGO_URL = mongoUrlFor(process.env.MONGO_URL, uniqueDbName("templates_it"));
	srv = await startTestServer(env);
	const broker = srv.server.broker;
	if (!broker.getLocalService("template")) broker.createService(TemplateService(srv.server.config));
	await waitForTemplateRoutes(srv);
	const created = await srv.api("POST", "/api/v1/projects", { key: "TPL", name: "Templates" });
	assert.equal(created.status, 201, JSON.stringify(created.body));
});

after(async () => {
	await srv?.stop();
	http?.closeAllConnections();
	if (http) await new Promise((resolve) => http.close(resolve));
	if (root) await rm(root, { recursive: true, force: true });
});

describe("template repositories", { skip: corpus.skip }, () => {
	test("only a system administrator adds repositories; any token lists them", async () => {
		const token = await srv.api("POST", "/api/v1/auth/tokens", { project: "TPL", role: "admin" });
		assert.equal(token.status, 201, JSON.stringify(token.body));
		const projectToken = token.body.token as string;
		const refused = await srv.api(
			"POST",
			"/api/v1/templates/repos",
			{ name: "public", url: `${httpBase}index.yml` },
			projectToken,
		);
		assert.equal(refused.status, 403);

		const added = await srv.api("POST", "/api/v1/templates/repos", {
			name: "public",
			url: `${httpBase}index.yml`,
		});
		assert.equal(added.status, 201, JSON.stringify(added.body));
		assert.equal(added.body.templates, 3);

		const repos = await srv.api("GET", "/api/v1/templates/repos", undefined, projectToken);
		assert.equal(repos.status, 200);
		assert.deepEqual(
			repos.body.items.map((r: { name: string }) => r.name),
			["public"],
		);
		const templates = await srv.api("GET", "/api/v1/templates?repo=public", undefined, projectToken);
		assert.deepEqual(
			templates.body.items.map((t: { ref: string }) => t.ref),
			["public/example-simple", "public/hello-world", "public/secret-app"],
		);
		const dup = await srv.api("POST", "/api/v1/templates/repos", { name: "public" });
		assert.equal(dup.status, 409);
	});

	test("URLs outside the allowed prefixes are refused, internal addresses and local files included", async () => {
		for (const url of [
			"http://169.254.169.254/latest/meta-data",
			"file:///etc/passwd",
			`${fileBase}../../etc/passwd`,
			`${httpBase.replace("127.0.0.1", "localhost")}index.yml`,
		]) {
			const r = await srv.api("POST", "/api/v1/templates/repos", { name: "evil", url });
			assert.equal(r.status, 403, `${url}: ${JSON.stringify(r.body)}`);
			assert.equal(r.body.type, "URL_NOT_ALLOWED");
		}
		const repos = await srv.api("GET", "/api/v1/templates/repos");
		assert.ok(!repos.body.items.some((r: { name: string }) => r.name === "evil"));
	});

	test("templates added one by one from file URLs; remove", async () => {
		assert.equal((await srv.api("POST", "/api/v1/templates/repos", { name: "mine" })).status, 201);
		const added = await srv.api("POST", "/api/v1/templates/repos/mine/templates", {
			name: "simple",
			url: `${fileBase}simple/example-simple.yml`,
		});
		assert.equal(added.status, 201, JSON.stringify(added.body));
		assert.equal(added.body.ref, "mine/simple");
		const broken = await srv.api("POST", "/api/v1/templates/repos/mine/templates", {
			name: "missing",
			url: `${fileBase}nothing/here.yml`,
		});
		assert.equal(broken.status, 422);
		const shown = await srv.api("GET", "/api/v1/templates/mine/simple");
		assert.equal(shown.status, 200);
		assert.deepEqual(
			shown.body.parameters.map((p: { key: string }) => p.key),
			["withDeploy", "deployWhen", "data"],
		);
		assert.equal((await srv.api("DELETE", "/api/v1/templates/repos/mine/templates/simple")).status, 200);
		assert.equal((await srv.api("GET", "/api/v1/templates/mine/simple")).status, 404);
	});
});

describe("rendering for a project", { skip: corpus.skip }, () => {
	test("example-simple renders files equal to CDS's workflow-detached and records the instance", async () => {
		const r = await srv.api("POST", "/api/v1/projects/TPL/templates/render", {
			template: "public/example-simple",
			name: "ITCLIWKF",
			params: { withDeploy: "true", deployWhen: "success", data: '["one","two"]' },
		});
		assert.equal(r.status, 200, JSON.stringify(r.body));
		const dir = corpusPath("template", "simple", "workflow-detached");
		const expected = await Promise.all(
			(await readdir(dir)).map(async (path) => ({ path, content: await readFile(join(dir, path), "utf8") })),
		);
		const got = parseFileSet(
			r.body.files.map((f: { path: string; content: string }) => ({ path: f.path, content: f.content })),
		);
		assert.deepEqual(got.errors, []);
		assert.deepEqual(got.model, parseFileSet(expected).model);

		const instance = await srv.api("GET", "/api/v1/projects/TPL/templates/instances/ITCLIWKF");
		assert.equal(instance.status, 200);
		assert.equal(instance.body.template, "public/example-simple");
		assert.equal(instance.body.version, 1);
		assert.equal(instance.body.ref, "public/example-simple@1");
	});

	test("the hello world template renders and imports", async () => {
		const r = await srv.api("POST", "/api/v1/projects/TPL/templates/render", {
			template: "public/hello-world",
			name: "hello",
		});
		assert.equal(r.status, 200, JSON.stringify(r.body));
		const id = r.body.instance.id as number;
		assert.ok(r.body.files.some((f: { path: string }) => f.path === `build-${id}.pip.yml`));
		const imported = await srv.api("POST", "/api/v1/projects/TPL/import", {
			files: r.body.files.map((f: { path: string; content: string }) => ({
				path: f.path,
				content: f.content,
			})),
		});
		assert.equal(imported.status, 200, JSON.stringify(imported.body));
		assert.deepEqual(imported.body.workflows, ["hello"]);
		const wf = await srv.api("GET", "/api/v1/projects/TPL/workflows/hello");
		assert.equal(wf.status, 200);
		assert.equal(wf.body.model.nodes.length, 6);
	});

	test("a template that fails to parse: 422 naming file, line and column; no instance", async () => {
		assert.equal(
			(
				await srv.api("POST", "/api/v1/templates/repos/mine/templates", {
					name: "broken",
					url: `${fileBase}broken/broken.yml`,
				})
			).status,
			201,
		);
		const r = await srv.api("POST", "/api/v1/projects/TPL/templates/render", {
			template: "mine/broken",
			name: "brokenwf",
		});
		assert.equal(r.status, 422);
		const [error] = r.body.data.errors;
		assert.equal(error.file, "bad.pipeline.yml");
		assert.equal(error.line, 7);
		assert.equal(typeof error.column, "number");
		assert.equal((await srv.api("GET", "/api/v1/projects/TPL/templates/instances/brokenwf")).status, 404);
	});

	test("missing and invalid parameters are listed", async () => {
		const r = await srv.api("POST", "/api/v1/projects/TPL/templates/render", {
			template: "public/example-simple",
			name: "nodeploy",
			params: { data: "{not json" },
		});
		assert.equal(r.status, 422);
		assert.deepEqual(r.body.data.missing, ["withDeploy"]);
		assert.equal(r.body.data.errors.length, 2);
	});

	test("a changed template gets a new version; the old one stays addressable", async () => {
		const file = join(root, "simple", "1.pipeline.yml");
		await writeFile(
			file,
			(await readFile(file, "utf8")).replace('echo "Hello World!"', 'echo "Hello again!"'),
		);
		const latest = await srv.api("GET", "/api/v1/templates/public/example-simple");
		assert.equal(latest.body.version, 2);
		const again = await srv.api("GET", "/api/v1/templates/public/example-simple");
		assert.equal(again.body.version, 2);
		const v1 = await srv.api("POST", "/api/v1/projects/TPL/templates/render", {
			template: "public/example-simple@1",
			name: "pinned",
			params: { withDeploy: "false" },
		});
		assert.equal(v1.status, 200);
		assert.match(
			v1.body.files.find((f: { path: string }) => f.path === "First-pipeline.pip.yml").content,
			/Hello World!/,
		);
	});

	test("apply re-renders an instance with changed parameters and updates the imported workflow", async () => {
		const r = await srv.api("POST", "/api/v1/projects/TPL/templates/render", {
			template: "public/example-simple@1",
			name: "applied",
			params: { withDeploy: "true" },
		});
		assert.equal(r.status, 200, JSON.stringify(r.body));
		const files = r.body.files.map((f: { path: string; content: string }) => ({
			path: f.path,
			content: f.content,
		}));
		assert.equal((await srv.api("POST", "/api/v1/projects/TPL/import", { files, force: true })).status, 200);
		const applied = await srv.api("POST", "/api/v1/projects/TPL/templates/instances/applied/apply", {
			params: { withDeploy: "false" },
		});
		assert.equal(applied.status, 200, JSON.stringify(applied.body));
		assert.equal(applied.body.asCode, false);
		assert.equal(applied.body.instance.version, 2);
		assert.equal(applied.body.instance.id, r.body.instance.id);
		const wf = await srv.api("GET", "/api/v1/projects/TPL/workflows/applied");
		assert.deepEqual(
			wf.body.model.nodes.map((n: { name: string }) => n.name),
			["Node-1"],
		);
	});

	test("the project key: public part readable, secrets decrypted only inside the cluster", async () => {
		const key = await srv.api("GET", "/api/v1/projects/TPL/templates/key");
		assert.equal(key.status, 200);
		assert.match(key.body.publicKey, /^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
		assert.ok(!JSON.stringify(key.body).includes("PRIVATE KEY"));
		const again = await srv.api("GET", "/api/v1/projects/TPL/templates/key");
		assert.equal(again.body.fingerprint, key.body.fingerprint);
		const armored = await encryptWithPublicKey(key.body.publicKey, "hunter2");
		assert.equal(
			await srv.server.broker.call("template.decryptSecret", { project: "TPL", armored }),
			"hunter2",
		);
		assert.equal((await srv.api("GET", "/api/v1/projects/NOPE/templates/key")).status, 404);
	});
});

describe("cds new and cds template", { skip: corpus.skip }, () => {
	let work: string;
	let env: Record<string, string>;
	const cds = async (argv: string[], cwd = work) => {
		const out = memoryIo(env, cwd);
		const code = await main(argv, out.io);
		return { code, stdout: out.stdout, stderr: out.stderr };
	};

	before(async () => {
		work = await mkdtemp(join(tmpdir(), "cds-new-"));
		env = { CDS_API_URL: srv.url, CDS_TOKEN: srv.adminToken, CDS_CONFIG: join(work, "no-config.json") };
		await mkdir(join(work, "myapp"));
		execFileSync("git", ["init", "-q", join(work, "myapp")]);
	});

	after(async () => {
		await rm(work, { recursive: true, force: true });
	});

	test("template list and repo list", async () => {
		const list = await cds(["template", "list", "--repo", "public", "--json"]);
		assert.equal(list.code, 0, list.stderr);
		assert.deepEqual(
			JSON.parse(list.stdout).map((t: { ref: string }) => t.ref),
			["public/example-simple", "public/hello-world", "public/secret-app"],
		);
		const repos = await cds(["template", "repo", "list"]);
		assert.equal(repos.code, 0, repos.stderr);
		assert.match(repos.stdout, /^public\s+http:\/\/127\.0\.0\.1/m);
	});

	test("without a terminal, missing parameters fail with exit 2 and are listed", async () => {
		const r = await cds(["new", "--template", "public/secret-app", "--project", "TPL"], join(work, "myapp"));
		assert.equal(r.code, 2, r.stderr);
		assert.match(r.stderr, /missing required parameter.*token/);
		assert.deepEqual(await readdir(join(work, "myapp")), [".git"]);
	});

	test("a secret parameter is written as armored ciphertext; existing files are kept without --force", async () => {
		const dir = join(work, "myapp");
		const r = await cds(
			[
				"new",
				"--template",
				"public/secret-app",
				"--project",
				"TPL",
				"--no-import",
				"token=s3cr3t-value",
				"repo=github/ovh/cds",
			],
			dir,
		);
		assert.equal(r.code, 0, r.stderr);
		assert.match(r.stdout, /cds workflow import TPL /);
		const env = await readFile(join(dir, "myapp-prod.env.yml"), "utf8");
		assert.ok(!env.includes("s3cr3t-value"));
		assert.match(env, /-----BEGIN PGP MESSAGE-----/);
		const parsed = parseFileSet([{ path: "myapp-prod.env.yml", content: env }]);
		const armored = parsed.model.environments[0]!.variables.token!.value;
		assert.equal(
			await srv.server.broker.call("template.decryptSecret", { project: "TPL", armored }),
			"s3cr3t-value",
		);
		const pipeline = (await readdir(dir)).find((f) => f.endsWith(".pip.yml"))!;
		assert.match(await readFile(join(dir, pipeline), "utf8"), /building ovh\/cds from github x1/);

		await writeFile(join(dir, "myapp.yml"), "# edited by hand\n");
		const again = await cds(["new", "--template", "public/secret-app", "--project", "TPL", "token=x"], dir);
		assert.equal(again.code, 2);
		assert.match(again.stderr, /already exist/);
		assert.equal(await readFile(join(dir, "myapp.yml"), "utf8"), "# edited by hand\n");

		const forced = await cds(
			["new", "--template", "public/secret-app", "--project", "TPL", "--force", "--import", "token=x"],
			dir,
		);
		assert.equal(forced.code, 0, forced.stderr);
		assert.match(forced.stdout, /imported into TPL: 1 workflow/);
		assert.match(await readFile(join(dir, "myapp.yml"), "utf8"), /^name: myapp/);
	});

	test("a render error is reported with file:line:column and exit 2, nothing written", async () => {
		const dir = join(work, "brokenapp");
		const r = await cds(["new", "--template", "mine/broken", "--project", "TPL", "--dir", dir]);
		assert.equal(r.code, 2, r.stderr);
		assert.match(r.stderr, /bad\.pipeline\.yml:7:\d+: /);
		await assert.rejects(readdir(dir), { code: "ENOENT" });
	});
});
