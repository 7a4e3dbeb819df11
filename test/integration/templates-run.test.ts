// The whole template flow with a secret: `cds new` in a git repository writes the secret as
// an OpenPGP message for the project key, the workflow is imported, and a run of it sees
// the clear value in its job while its stored logs show it masked.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, test } from "node:test";
import { memoryIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const SECRET = "tpl-s3cr3t-for-the-job";

const FILES: Record<string, string> = {
	"deploy-secret.yml": [
		"slug: deploy-secret",
		"name: Deploy with a secret",
		"description: one job that uses a secret token",
		"parameters:",
		"- key: token",
		"  type: secret",
		"  required: true",
		"workflow: workflow.yml",
		"pipelines:",
		"- deploy.pipeline.yml",
		"environments:",
		"- prod.environment.yml",
		"",
	].join("\n"),
	"workflow.yml": "name: [[.name]]\nversion: v1.0\npipeline: deploy-[[.id]]\nenvironment: [[.name]]-prod\n",
	"deploy.pipeline.yml": [
		"version: v1.0",
		"name: deploy-[[.id]]",
		"jobs:",
		"- job: deploy",
		"  steps:",
		"  - script:",
		"    - echo token is $CDS_ENV_TOKEN",
		`    - test "$CDS_ENV_TOKEN" = "${SECRET}" && echo the job has the clear value`,
		"",
	].join("\n"),
	"prod.environment.yml":
		"name: [[.name]]-prod\nvalues:\n  token:\n    type: password\n    value: [[ .params.token | quote ]]\n",
	// The secret rendered straight into a script line, not into a variable.
	"script-secret.yml": [
		"slug: script-secret",
		"name: A secret in a script",
		"description: one job whose script holds the secret",
		"parameters:",
		"- key: token",
		"  type: secret",
		"  required: true",
		"workflow: script-workflow.yml",
		"pipelines:",
		"- script.pipeline.yml",
		"",
	].join("\n"),
	"script-workflow.yml": "name: [[.name]]\nversion: v1.0\npipeline: script-[[.id]]\n",
	"script.pipeline.yml": [
		"version: v1.0",
		"name: script-[[.id]]",
		"jobs:",
		"- job: use",
		"  steps:",
		"  - script:",
		"    - TOKEN=[[ .params.token | quote ]]",
		"    - echo token is $TOKEN",
		// Compared in two halves: the generated file must not hold the secret itself.
		`    - test "$TOKEN" = "${SECRET.slice(0, 6)}""${SECRET.slice(6)}" && echo the script has the clear value`,
		"",
	].join("\n"),
};

let srv: TestServer;
let root: string;

describe("a template secret, from cds new to a run", () => {
	before(async () => {
		root = await mkdtemp(join(tmpdir(), "cds-tpl-run-"));
		await mkdir(join(root, "templates"));
		for (const [name, content] of Object.entries(FILES))
			await writeFile(join(root, "templates", name), content);
		const base = `${pathToFileURL(join(root, "templates")).href}/`;
		srv = await startTestServer({ CDS_TEMPLATE_ALLOWED_URLS: base, CDS_HATCHERY_POLL_MS: "100" });
		assert.equal((await srv.api("POST", "/api/v1/projects", { key: "TPLRUN", name: "t" })).status, 201);
		let repo = await srv.api("POST", "/api/v1/templates/repos", { name: "team" });
		for (let i = 0; i < 50 && repo.status === 404; i++) {
			await new Promise((r) => setTimeout(r, 100));
			repo = await srv.api("POST", "/api/v1/templates/repos", { name: "team" });
		}
		assert.equal(repo.status, 201, JSON.stringify(repo.body));
		for (const name of ["deploy-secret", "script-secret"]) {
			const added = await srv.api("POST", "/api/v1/templates/repos/team/templates", {
				name,
				url: `${base}${name}.yml`,
			});
			assert.equal(added.status, 201, JSON.stringify(added.body));
		}
	});
	after(async () => {
		await srv?.stop();
		await rm(root, { recursive: true, force: true });
	});

	/** `cds new` of a template in a fresh git repository named `name`, with the secret given. */
	async function cdsNew(name: string, template: string): Promise<string> {
		const dir = join(root, name);
		await mkdir(dir);
		execFileSync("git", ["init", "-q", dir]);
		const io = memoryIo(
			{ CDS_API_URL: srv.url, CDS_TOKEN: srv.adminToken, CDS_CONFIG: join(root, "none.json") },
			dir,
		);
		const code = await main(
			["new", "--template", template, "--project", "TPLRUN", "--import", `token=${SECRET}`],
			io.io,
		);
		assert.equal(code, 0, io.stderr);
		return dir;
	}

	/** Runs the workflow to its end: its status and its stored log text. */
	async function runToEnd(workflow: string): Promise<{ status: string; nodes: unknown; text: string }> {
		const route = `/api/v1/projects/TPLRUN/workflows/${workflow}/runs`;
		const run = await srv.api("POST", route, {});
		assert.equal(run.status, 201, JSON.stringify(run.body));
		let final: any;
		for (let i = 0; i < 300; i++) {
			final = (await srv.api("GET", `${route}/${run.body.number}`)).body;
			if (!["Waiting", "Building"].includes(final.status)) break;
			await new Promise((r) => setTimeout(r, 100));
		}
		const logs = await srv.api("GET", `${route}/${run.body.number}/logs`);
		const text = logs.body.items.map((l: { text: string }) => l.text).join("");
		return { status: final.status, nodes: final.nodes, text };
	}

	/** The file holds ciphertext, never the secret. */
	function sealedIn(content: string): void {
		assert.ok(!content.includes(SECRET), "the secret is not in the generated file");
		assert.match(content, /-----BEGIN PGP MESSAGE-----/);
	}

	test("the generated file holds ciphertext; the run sees the clear value; the logs mask it", async () => {
		const dir = await cdsNew("app", "team/deploy-secret");
		sealedIn(await readFile(join(dir, "app-prod.env.yml"), "utf8"));
		const { status, nodes, text } = await runToEnd("app");
		assert.equal(status, "Success", JSON.stringify(nodes));
		assert.match(text, /the job has the clear value/);
		assert.match(text, /token is \*{10}/);
		assert.ok(!text.includes(SECRET));
	});

	test("a secret rendered into a script is opened for the job too, and masked in its logs", async () => {
		const dir = await cdsNew("scripted", "team/script-secret");
		const [file] = (await readdir(dir)).filter((f) => f.endsWith(".pip.yml"));
		assert.ok(file, "a pipeline file was written");
		sealedIn(await readFile(join(dir, file), "utf8"));
		const { status, nodes, text } = await runToEnd("scripted");
		assert.equal(status, "Success", `${JSON.stringify(nodes)}\n${text}`);
		assert.match(text, /the script has the clear value/);
		assert.match(text, /token is \*{10}/);
		assert.ok(!text.includes(SECRET));
		assert.ok(!text.includes("PGP MESSAGE"));
	});
});
