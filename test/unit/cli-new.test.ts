// `cds new` as the roadmap's template use case (issue #18, item 2), against a fake API that
// records what the CLI sends: repeatable -p, linking the project to the repository of the
// current git clone (asked, --yes, or missing without a terminal), the application linked
// to it, the import, --push as code, and nothing linked outside a git repository.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { memoryIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";

type Handler = (body: any) => unknown;

let server: Server;
let port = 0;
let routes = new Map<string, Handler>();
let calls: Array<{ key: string; body: any }> = [];
const temps: string[] = [];

const TEMPLATE = {
	repo: "team",
	name: "hello",
	ref: "team/hello",
	version: 1,
	description: "",
	parameters: [
		{ key: "a", type: "string", required: true },
		{ key: "b", type: "string", required: true },
	],
};
const FILES = [
	{
		path: "app.yml",
		kind: "workflow",
		content: "name: app\nversion: v1.0\npipeline: build\napplication: web\n",
	},
	{
		path: "build.pip.yml",
		kind: "pipeline",
		content: "version: v1.0\nname: build\njobs:\n- job: j\n  steps:\n  - script: [echo hi]\n",
	},
];
const IMPORTED = {
	workflows: ["app"],
	pipelines: ["build"],
	applications: [],
	environments: [],
	created: [],
	updated: [],
	ignored: [],
	warnings: [],
};

function linkedRepo(application: string) {
	return {
		id: "r1",
		manager: "github-github.com",
		type: "github",
		url: "https://github.com/acme/web-app.git",
		repo: "acme/web-app",
		defaultBranch: "master",
		cdsDir: ".",
		application,
		webhookUrl: null,
		poll: { intervalSeconds: 60 },
		created: true,
	};
}

/** The routes of a project P with no repository manager and no linked repository. */
function freshProject(): void {
	routes.set("GET /templates/team/hello", () => TEMPLATE);
	routes.set("POST /projects/P/templates/render", (body) => ({
		instance: { id: 7, workflow: body.name, template: "team/hello", version: 1, ref: "team/hello@1" },
		files: FILES,
	}));
	routes.set("GET /projects/P/repositories", () => ({ items: [], next: null }));
	routes.set("GET /projects/P/repositories/managers", () => ({ items: [], next: null }));
	routes.set("POST /projects/P/repositories/managers", (body) => ({
		...body,
		url: body.url ?? "",
		hasToken: false,
	}));
	routes.set("POST /projects/P/repositories", (body) => linkedRepo(body.application));
	routes.set("POST /projects/P/import", () => IMPORTED);
}

before(async () => {
	server = createServer((req, res) => {
		let raw = "";
		req.on("data", (c) => (raw += c));
		req.on("end", () => {
			const url = new URL(req.url ?? "/", "http://x");
			const key = `${req.method} ${url.pathname.replace(/^\/api\/v1/, "")}`;
			const body = raw ? JSON.parse(raw) : undefined;
			calls.push({ key, body });
			const handler = routes.get(key);
			res.writeHead(handler ? 200 : 404, { "content-type": "application/json" });
			res.end(
				JSON.stringify(
					handler ? handler(body) : { name: "NotFound", message: `no ${key}`, code: 404, type: "NOT_FOUND" },
				),
			);
		});
	});
	await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
	port = (server.address() as { port: number }).port;
});
after(() => {
	server.close();
	for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
	routes = new Map();
	calls = [];
	freshProject();
});

function git(cwd: string, ...args: string[]): string {
	return execFileSync("git", args, { cwd, encoding: "utf8" }).trim();
}

/** A clone named web-app whose origin is a GitHub repository (never contacted: the API is fake). */
function clone(): string {
	const root = mkdtempSync(join(tmpdir(), "cds-new-"));
	temps.push(root);
	const dir = join(root, "web-app");
	execFileSync("git", ["init", "-q", "--initial-branch=master", dir]);
	git(dir, "remote", "add", "origin", "https://github.com/acme/web-app.git");
	return dir;
}

async function cds(
	argv: string[],
	cwd: string,
	ask?: (question: string, secret: boolean) => Promise<string>,
) {
	const out = memoryIo(
		{
			CDS_CONFIG: "/nonexistent/cds-test/config.json",
			CDS_API_URL: `http://127.0.0.1:${port}`,
			CDS_TOKEN: "t",
		},
		cwd,
	);
	if (ask) out.io.ask = ask;
	const code = await main(argv, out.io);
	return { code, stdout: out.stdout, stderr: out.stderr };
}

const called = (key: string) => calls.filter((c) => c.key === key);

describe("cds new", () => {
	test("-p and --param repeat, with KEY=VALUE arguments too; a key given twice is refused", async () => {
		const dir = clone();
		const r = await cds(
			[
				"new",
				"--template",
				"team/hello",
				"--project",
				"P",
				"--yes",
				"-p",
				"a=1",
				"--param",
				"b=x=y",
				"--no-import",
			],
			dir,
		);
		assert.equal(r.code, 0, r.stderr);
		assert.deepEqual(called("POST /projects/P/templates/render")[0]!.body.params, { a: "1", b: "x=y" });

		calls = [];
		const twice = await cds(
			["new", "--template", "team/hello", "--project", "P", "-p", "a=1", "-p", "a=2"],
			dir,
		);
		assert.equal(twice.code, 2);
		assert.match(twice.stderr, /parameter a is given more than once/);
		assert.equal(called("POST /projects/P/templates/render").length, 0);
	});

	test("without a terminal, a missing --yes and missing parameters are listed at once (exit 2), nothing done", async () => {
		const dir = clone();
		const r = await cds(["new", "--template", "team/hello", "--project", "P", "-p", "a=1"], dir);
		assert.equal(r.code, 2);
		assert.match(r.stderr, /--yes \(to link project P to github at https:\/\/github\.com\)/);
		assert.match(r.stderr, /--param b=<string>/);
		assert.equal(called("POST /projects/P/templates/render").length, 0);
		assert.equal(called("POST /projects/P/repositories").length, 0);
		assert.throws(() => readFileSync(join(dir, "app.yml")));
	});

	test("with --yes it links the project to the repository, creates the linked application and imports", async () => {
		const dir = clone();
		const r = await cds(["new", "--template", "team/hello", "--project", "P", "--yes", "a=1", "b=2"], dir);
		assert.equal(r.code, 0, r.stderr);
		assert.equal(called("POST /projects/P/templates/render")[0]!.body.name, "web-app");
		const [manager] = called("POST /projects/P/repositories/managers");
		assert.equal(manager!.body.type, "github");
		assert.equal(manager!.body.url, "https://github.com");
		const [link] = called("POST /projects/P/repositories");
		assert.equal(link!.body.url, "https://github.com/acme/web-app.git");
		assert.equal(link!.body.manager, manager!.body.name);
		assert.equal(link!.body.application, "web", "the application the workflow names");
		assert.equal(link!.body.cdsDir, ".cds", "the imported files are not watched as code");
		const [imported] = called("POST /projects/P/import");
		assert.deepEqual(
			imported!.body.files.map((f: { path: string }) => f.path),
			["app.yml", "build.pip.yml"],
		);
		assert.equal(readFileSync(join(dir, "app.yml"), "utf8"), FILES[0]!.content);
		assert.match(r.stdout, /application web is linked to the repository/);
		assert.match(r.stdout, /imported into P: 1 workflow/);
		assert.equal(git(dir, "config", "--local", "cds.project"), "P");
		// The link is made after the files are written and before the import.
		const order = calls.map((c) => c.key);
		assert.ok(order.indexOf("POST /projects/P/repositories") < order.indexOf("POST /projects/P/import"));
	});

	test("on a terminal it asks for the project, the link and the parameters; a no to the link links nothing", async () => {
		const dir = clone();
		const questions: string[] = [];
		const answers = ["P", "x", "y", "", ""];
		const r = await cds(["new", "--template", "team/hello"], dir, async (q) => {
			questions.push(q);
			return answers.shift() ?? "";
		});
		assert.equal(r.code, 0, r.stderr);
		assert.equal(questions[0], "project key: ");
		assert.match(questions[1]!, /^a \(string, required\)/);
		assert.match(questions[2]!, /^b \(string, required\)/);
		assert.equal(
			questions[3],
			"Project P is not linked to github at https://github.com. Link it now? [Y/n] ",
		);
		assert.match(questions[4]!, /API token for github\.com/);
		assert.equal(questions.length, 5);
		assert.deepEqual(called("POST /projects/P/templates/render")[0]!.body.params, { a: "x", b: "y" });
		assert.equal(called("POST /projects/P/repositories").length, 1);
		assert.equal(called("POST /projects/P/import").length, 1);

		calls = [];
		const declined = await cds(
			["new", "--template", "team/hello", "--project", "P", "--force", "a=1", "b=2"],
			dir,
			async () => "n",
		);
		assert.equal(declined.code, 1);
		assert.match(
			declined.stderr,
			/project P was not linked to github at https:\/\/github\.com: nothing done/,
		);
		assert.equal(called("POST /projects/P/repositories").length, 0);
		assert.equal(called("POST /projects/P/import").length, 0);
	});

	test("--application names the application; an existing manager is reused without asking", async () => {
		const dir = clone();
		routes.set("GET /projects/P/repositories/managers", () => ({
			items: [{ name: "gh", type: "github", url: "https://github.com", hasToken: true }],
			next: null,
		}));
		const r = await cds(
			["new", "--template", "team/hello", "--project", "P", "--application", "front", "a=1", "b=2"],
			dir,
		);
		assert.equal(r.code, 0, r.stderr);
		assert.equal(called("POST /projects/P/repositories/managers").length, 0);
		const [link] = called("POST /projects/P/repositories");
		assert.equal(link!.body.manager, "gh");
		assert.equal(link!.body.application, "front");
	});

	test("a repository already linked is not linked again", async () => {
		const dir = clone();
		routes.set("GET /projects/P/repositories", () => ({ items: [linkedRepo("web")], next: null }));
		const r = await cds(["new", "--template", "team/hello", "--project", "P", "a=1", "b=2"], dir);
		assert.equal(r.code, 0, r.stderr);
		assert.equal(called("POST /projects/P/repositories").length, 0);
		assert.equal(called("POST /projects/P/repositories/managers").length, 0);
		assert.equal(called("POST /projects/P/import").length, 1);
	});

	test("outside a git repository it links nothing, says so, and still imports", async () => {
		const dir = mkdtempSync(join(tmpdir(), "cds-new-plain-"));
		temps.push(dir);
		const r = await cds(["new", "--template", "team/hello", "--project", "P", "a=1", "b=2"], dir);
		assert.equal(r.code, 0, r.stderr);
		assert.match(r.stderr, /not inside a git repository: no application is linked/);
		assert.equal(called("GET /projects/P/repositories").length, 0);
		assert.equal(called("POST /projects/P/import").length, 1);
	});

	test("--push writes the files into .cds and defines them as code at the current commit, without import", async () => {
		const dir = clone();
		git(dir, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "--allow-empty", "-m", "first");
		const commit = git(dir, "rev-parse", "HEAD");
		routes.set("POST /projects/P/workflows/as-code", () => ({
			workflows: ["app"],
			created: ["app"],
			updated: [],
			unchanged: [],
			changed: true,
			warnings: [],
		}));
		const r = await cds(
			["new", "--template", "team/hello", "--project", "P", "--push", "--yes", "a=1", "b=2"],
			dir,
		);
		assert.equal(r.code, 0, r.stderr);
		assert.equal(readFileSync(join(dir, ".cds", "build.pip.yml"), "utf8"), FILES[1]!.content);
		assert.equal(called("POST /projects/P/repositories")[0]!.body.cdsDir, ".cds");
		const [asCode] = called("POST /projects/P/workflows/as-code");
		assert.equal(asCode!.body.repositoryId, "r1");
		assert.equal(asCode!.body.branch, "master");
		assert.equal(asCode!.body.commit, commit);
		assert.deepEqual(asCode!.body.files.map((f: { path: string }) => f.path).sort(), [
			"app.yml",
			"build.pip.yml",
		]);
		assert.equal(called("POST /projects/P/import").length, 0);
		assert.match(r.stdout, /workflow app on branch master: created/);
	});

	test("--push refuses a repository without a commit or without a remote before rendering", async () => {
		const dir = clone();
		const r = await cds(["new", "--template", "team/hello", "--project", "P", "--push", "a=1", "b=2"], dir);
		assert.equal(r.code, 2);
		assert.match(r.stderr, /--push needs a first commit/);
		const bare = mkdtempSync(join(tmpdir(), "cds-new-noremote-"));
		temps.push(bare);
		execFileSync("git", ["init", "-q", bare]);
		const r2 = await cds(["new", "--template", "team/hello", "--project", "P", "--push", "a=1", "b=2"], bare);
		assert.equal(r2.code, 2);
		assert.match(
			r2.stderr,
			/--push needs a git repository with a remote: the repository has no remote "origin"/,
		);
		assert.equal(called("POST /projects/P/templates/render").length, 0);
	});
});
