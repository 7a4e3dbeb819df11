// `cds new` in a git repository through a real node (issue #18, item 2): without a terminal
// it says what is missing; with --yes it links the project to the clone's remote, which
// creates the application linked to the repository, imports the workflow, and the workflow
// runs with both -p values; with --push the files become an as-code workflow of the branch.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, test } from "node:test";
import { memoryIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { ALLOW_LOCAL_REPOSITORIES, startTestServer, type TestServer } from "../helpers/server.ts";

const FILES: Record<string, string> = {
	"hello.yml": [
		"slug: hello",
		"name: Hello",
		"description: one job that greets",
		"parameters:",
		"- key: greeting",
		"  type: string",
		"  required: true",
		"- key: who",
		"  type: string",
		"  required: true",
		"workflow: workflow.yml",
		"pipelines:",
		"- build.pipeline.yml",
		"",
	].join("\n"),
	"workflow.yml": "name: [[.name]]\nversion: v1.0\npipeline: build-[[.id]]\napplication: [[.name]]\n",
	"build.pipeline.yml": [
		"version: v1.0",
		"name: build-[[.id]]",
		"jobs:",
		"- job: greet",
		"  steps:",
		"  - script:",
		"    - echo [[.params.greeting]], [[.params.who]]",
		"",
	].join("\n"),
};

let srv: TestServer;
let root: string;

function git(cwd: string, ...args: string[]): string {
	return execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], {
		cwd,
		encoding: "utf8",
	}).trim();
}

/** A clone named `name` of a new bare repository, with one commit pushed. */
async function cloneOf(name: string): Promise<string> {
	git(root, "init", "--quiet", "--bare", "--initial-branch=master", `${name}.git`);
	git(root, "clone", "--quiet", join(root, `${name}.git`), name);
	const dir = join(root, name);
	await writeFile(join(dir, "README"), "hi\n");
	git(dir, "add", "-A");
	git(dir, "commit", "--quiet", "-m", "first");
	git(dir, "push", "--quiet", "origin", "master");
	return dir;
}

async function cds(argv: string[], cwd: string) {
	const io = memoryIo(
		{ CDS_API_URL: srv.url, CDS_TOKEN: srv.adminToken, CDS_CONFIG: join(root, "none.json") },
		cwd,
	);
	const code = await main(argv, io.io);
	return { code, stdout: io.stdout, stderr: io.stderr };
}

describe("cds new in a git repository", () => {
	before(async () => {
		root = await mkdtemp(join(tmpdir(), "cds-tpl-new-"));
		await mkdir(join(root, "templates"));
		for (const [name, content] of Object.entries(FILES))
			await writeFile(join(root, "templates", name), content);
		const base = `${pathToFileURL(join(root, "templates")).href}/`;
		srv = await startTestServer({
			...ALLOW_LOCAL_REPOSITORIES,
			CDS_TEMPLATE_ALLOWED_URLS: base,
			CDS_HATCHERY_POLL_MS: "100",
		});
		assert.equal((await srv.api("POST", "/api/v1/projects", { key: "NEWP", name: "n" })).status, 201);
		let repo = await srv.api("POST", "/api/v1/templates/repos", { name: "team" });
		for (let i = 0; i < 50 && repo.status === 404; i++) {
			await new Promise((r) => setTimeout(r, 100));
			repo = await srv.api("POST", "/api/v1/templates/repos", { name: "team" });
		}
		assert.equal(repo.status, 201, JSON.stringify(repo.body));
		const added = await srv.api("POST", "/api/v1/templates/repos/team/templates", {
			name: "hello",
			url: `${base}hello.yml`,
		});
		assert.equal(added.status, 201, JSON.stringify(added.body));
	});
	after(async () => {
		await srv?.stop();
		await rm(root, { recursive: true, force: true });
	});

	test("links the repository, creates the linked application, imports, and the workflow runs", async () => {
		const dir = await cloneOf("greeter");
		const missing = await cds(
			["new", "--template", "team/hello", "--project", "NEWP", "-p", "greeting=Hello"],
			dir,
		);
		assert.equal(missing.code, 2);
		assert.match(missing.stderr, /--yes \(to link project NEWP to a plain git manager/);
		assert.match(missing.stderr, /--param who=<string>/);

		const made = await cds(
			[
				"new",
				"--template",
				"team/hello",
				"--project",
				"NEWP",
				"--yes",
				"-p",
				"greeting=Hello",
				"-p",
				"who=world",
			],
			dir,
		);
		assert.equal(made.code, 0, made.stderr);
		assert.match(made.stdout, /application greeter is linked to the repository/);
		assert.match(await readFile(join(dir, "greeter.yml"), "utf8"), /application: greeter/);

		const repos = (await srv.api("GET", "/api/v1/projects/NEWP/repositories")).body.items;
		assert.equal(repos.length, 1);
		assert.equal(repos[0].application, "greeter");
		const apps = (await srv.api("GET", "/api/v1/projects/NEWP/applications")).body.items;
		const app = apps.find((a: { name: string }) => a.name === "greeter");
		assert.ok(app, JSON.stringify(apps));
		assert.equal(app.repository?.cloneUrl, repos[0].url);

		const run = await srv.api("POST", "/api/v1/projects/NEWP/workflows/greeter/runs", {});
		assert.equal(run.status, 201, JSON.stringify(run.body));
		let final: any;
		for (let i = 0; i < 300; i++) {
			final = (await srv.api("GET", `/api/v1/projects/NEWP/workflows/greeter/runs/${run.body.number}`)).body;
			if (!["Waiting", "Building"].includes(final.status)) break;
			await new Promise((r) => setTimeout(r, 100));
		}
		const logs = await srv.api("GET", `/api/v1/projects/NEWP/workflows/greeter/runs/${run.body.number}/logs`);
		const text = logs.body.items.map((l: { text: string }) => l.text).join("");
		assert.equal(final.status, "Success", `${JSON.stringify(final.nodes)}\n${text}`);
		assert.match(text, /Hello, world/);

		// The files committed and pushed at the repository's root are not taken for as-code ones.
		git(dir, "add", "-A");
		git(dir, "commit", "--quiet", "-m", "workflow from the template");
		git(dir, "push", "--quiet", "origin", "master");
		const synced = (await srv.server.broker.call("workflow.syncBranch", {
			repositoryId: repos[0].id,
			branch: "master",
			commit: git(dir, "rev-parse", "HEAD"),
		})) as { workflows: string[] };
		assert.deepEqual(synced.workflows, []);
		assert.equal(repos[0].cdsDir, ".cds");
	});

	test("--push writes .cds and defines the workflow as code for the branch", async () => {
		const dir = await cloneOf("coded");
		const made = await cds(
			[
				"new",
				"--template",
				"team/hello",
				"--project",
				"NEWP",
				"--push",
				"--yes",
				"-p",
				"greeting=Hi",
				"-p",
				"who=you",
			],
			dir,
		);
		assert.equal(made.code, 0, made.stderr);
		assert.match(made.stdout, /workflow coded on branch master: created/);
		assert.match(await readFile(join(dir, ".cds", "coded.yml"), "utf8"), /application: coded/);
		const repos = (await srv.api("GET", "/api/v1/projects/NEWP/repositories")).body.items;
		const linked = repos.find((r: { application: string }) => r.application === "coded");
		assert.ok(linked, JSON.stringify(repos));
		assert.equal(linked.cdsDir, ".cds");
		const wf = await srv.api("GET", "/api/v1/projects/NEWP/workflows/coded", undefined);
		assert.equal(wf.status, 200, JSON.stringify(wf.body));
	});
});
