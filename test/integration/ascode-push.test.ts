// Workflow as code end to end with real git: a bare repository as the remote, a clone with
// .cds/ files, `cds push --yes DEMO .`, a commit pushed on a new branch synced the way the
// hook service does (workflow.syncBranch), a run of that branch at that commit on the local
// hatchery, `cds track` finding everything from the clone, the branch deleted, and the API
// refusing to edit what lives in the YAML.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import RepositoryService from "../../services/repository.service.ts";
import { memoryIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { ALLOW_LOCAL_REPOSITORIES, startTestServer, type TestServer } from "../helpers/server.ts";

const WORKFLOW =
	"name: demo\nversion: v2.0\nworkflow:\n  build:\n    pipeline: build\n    application: demo-app\n";
const pipeline = (text: string) =>
	`version: v1.0\nname: build\njobs:\n- job: compile\n  steps:\n  - script:\n    - echo ${text} on {{.git.branch}}\n`;

function sh(cwd: string, ...args: string[]): string {
	return execFileSync("git", args, {
		cwd,
		encoding: "utf8",
		env: {
			...process.env,
			GIT_AUTHOR_NAME: "Dev",
			GIT_AUTHOR_EMAIL: "dev@example.com",
			GIT_COMMITTER_NAME: "Dev",
			GIT_COMMITTER_EMAIL: "dev@example.com",
		},
	}).trim();
}

let srv: TestServer;
let work: string;
let clone: string;
let cliEnv: Record<string, string>;

async function cds(argv: string[], cwd = clone) {
	const out = memoryIo(cliEnv, cwd);
	const code = await main(argv, out.io);
	return { code, stdout: out.stdout, stderr: out.stderr };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await probe().catch(() => undefined);
		if (value !== undefined) return value;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

describe("workflow as code: cds push, per-branch definitions, runs of a branch", () => {
	before(async () => {
		srv = await startTestServer({
			...ALLOW_LOCAL_REPOSITORIES,
			CDS_HATCHERY_MODELS: "Node8.9.1",
			CDS_HATCHERY_BINARIES: "bash,git",
			CDS_HATCHERY_MEMORY_MB: "4096",
			CDS_HATCHERY_MAX_WORKERS: "2",
			CDS_WORKER_HEARTBEAT_SECONDS: "1",
			CDS_HATCHERY_POLL_MS: "100",
		});
		// Until server.ts lists the repository service (and the gateway whitelists it), the test
		// hosts it on the node itself and re-adds the gateway's /api/v1 route with it whitelisted.
		if (!(srv.server.config.services as readonly string[]).includes("repository"))
			srv.server.broker.createService(RepositoryService(srv.server.config));
		const gateway = srv.server.broker.getLocalService("api") as unknown as {
			settings: { routes: Array<{ path: string; autoAliases?: boolean; whitelist?: string[] }> };
			addRoute(opts: unknown): void;
		};
		const apiRoute = gateway.settings.routes.find((r) => r.path === "/api/v1" && r.autoAliases);
		if (apiRoute && !apiRoute.whitelist?.includes("repository.*"))
			gateway.addRoute({ ...apiRoute, whitelist: [...(apiRoute.whitelist ?? []), "repository.*"] });
		await waitFor("the repository routes", async () => {
			await srv.server.broker.call("repository.listPollable", {});
			const r = await srv.api("GET", "/api/v1/projects/NOPE/repositories/managers");
			return r.status === 200 ? true : undefined;
		});
		assert.equal((await srv.api("POST", "/api/v1/projects", { key: "DEMO", name: "Demo" })).status, 201);

		work = mkdtempSync(path.join(tmpdir(), "cds-ascode-"));
		sh(work, "init", "--quiet", "--bare", "--initial-branch=master", "remote.git");
		sh(work, "clone", "--quiet", path.join(work, "remote.git"), "clone");
		clone = path.join(work, "clone");
		mkdirSync(path.join(clone, ".cds"));
		writeFileSync(path.join(clone, ".cds", "demo.yml"), WORKFLOW);
		writeFileSync(path.join(clone, ".cds", "build.pip.yml"), pipeline("built-on-master"));
		writeFileSync(path.join(clone, "README.md"), "demo\n");
		sh(clone, "add", "-A");
		sh(clone, "commit", "--quiet", "-m", "as code");
		sh(clone, "push", "--quiet", "origin", "master");
		cliEnv = { CDS_API_URL: srv.url, CDS_TOKEN: srv.adminToken, CDS_CONFIG: path.join(work, "cli.json") };
	});
	after(async () => {
		await srv?.stop();
		if (work) rmSync(work, { recursive: true, force: true });
	});

	let repositoryId: string;

	test("cds push --yes links the project, the application and a poller, and defines the workflow", async () => {
		// Not on a terminal and without --yes, linking is not assumed.
		const asked = await cds(["push", "DEMO", "."]);
		assert.equal(asked.code, 2, asked.stderr);
		assert.match(asked.stderr, /not linked to a repository manager .*run again with --yes/);
		assert.equal((await srv.api("GET", "/api/v1/projects/DEMO/repositories")).body.items.length, 0);

		const first = await cds(["push", "--yes", "DEMO", "."]);
		assert.equal(first.code, 0, first.stderr);
		assert.match(first.stdout, /linked repository .*remote to project DEMO \(manager git\)/);
		// The gateway's public URL: without CDS_PUBLIC_URL, the address this node's gateway listens on.
		const hook = / url: +(\S+)\n/.exec(first.stdout)?.[1] ?? "";
		assert.match(hook, /^https?:\/\/[^/]+\/api\/v1\/hooks\/repository\/[0-9a-f-]{36}$/);
		assert.ok(hook.startsWith(`${srv.url}/`), hook);
		// A plain-git remote's webhook is set up by hand: its secret is shown, this once only.
		assert.match(first.stdout, /webhook to set up on the git server \(the secret is shown this once only/);
		const printedSecret = / secret: +([0-9a-f]{64})\n/.exec(first.stdout)?.[1];
		assert.match(first.stdout, /poller: every 60s/);
		assert.match(first.stdout, /workflow demo on branch master: created/);

		const repos = (await srv.api("GET", "/api/v1/projects/DEMO/repositories")).body.items;
		assert.equal(repos.length, 1);
		repositoryId = repos[0].id;
		assert.equal(repos[0].defaultBranch, "master");
		assert.equal(repos[0].type, "git");
		assert.ok(!JSON.stringify(repos).includes("secret"), "no secret in the listing");

		const app = (await srv.api("GET", "/api/v1/projects/DEMO/applications/demo-app")).body;
		assert.equal(app.repository.vcsServer, "git");
		assert.match(app.repository.cloneUrl, /^file:\/\/.*remote\.git$/);

		const list = (await srv.api("GET", "/api/v1/projects/DEMO/workflows")).body.items;
		const demo = list.find((w: { name: string }) => w.name === "demo");
		assert.equal(demo.asCode, true);
		assert.equal(demo.repositoryId, repositoryId);
		const pipelines = (await srv.api("GET", "/api/v1/projects/DEMO/pipelines")).body.items;
		assert.deepEqual(pipelines, [], "embedded pipelines are not project pipelines");

		const internal = (await srv.server.broker.call("repository.get", { id: repositoryId })) as {
			webhook: { secret: string } | null;
			poll: { intervalSeconds: number } | null;
		};
		assert.match(internal.webhook!.secret, /^[0-9a-f]{64}$/);
		assert.equal(printedSecret, internal.webhook!.secret, "the secret cds push printed is the hook's");
		assert.equal(internal.poll!.intervalSeconds, 60);
		const pollable = (await srv.server.broker.call("repository.listPollable", {})) as Array<{ id: string }>;
		assert.ok(pollable.some((r) => r.id === repositoryId));
	});

	test("the project SSH key shows its public half only; every route checks the token's rights", async () => {
		const key = await srv.api("GET", "/api/v1/projects/DEMO/repositories/ssh-key");
		assert.equal(key.status, 200);
		assert.match(key.body.publicKey, /^ssh-ed25519 AAAA\S+ cds-DEMO$/);
		assert.equal(
			(await srv.api("GET", "/api/v1/projects/DEMO/repositories/ssh-key")).body.publicKey,
			key.body.publicKey,
		);
		assert.ok(!JSON.stringify(key.body).includes("PRIVATE"));
		const reader = (await srv.api("POST", "/api/v1/auth/tokens", { project: "DEMO", role: "read" })).body
			.token;
		assert.equal((await srv.api("GET", "/api/v1/projects/DEMO/repositories", undefined, reader)).status, 200);
		const denied = await srv.api(
			"POST",
			"/api/v1/projects/DEMO/repositories/managers",
			{ name: "gh", type: "github", url: "https://github.com", token: "x" },
			reader,
		);
		assert.equal(denied.status, 403);
		const link = await srv.api(
			"POST",
			"/api/v1/projects/DEMO/repositories",
			{ manager: "git", url: "/x" },
			reader,
		);
		assert.equal(link.status, 403);
	});

	test("pushing twice changes nothing", async () => {
		const before = (await srv.api("GET", "/api/v1/projects/DEMO/workflows/demo")).body;
		const second = await cds(["push", "--yes", "DEMO", "."]);
		assert.equal(second.code, 0, second.stderr);
		assert.match(second.stdout, /workflow demo on branch master: unchanged/);
		assert.match(second.stdout, /^unchanged$/m);
		assert.doesNotMatch(second.stdout, /linked repository|created|webhook:/);
		const afterPush = (await srv.api("GET", "/api/v1/projects/DEMO/workflows/demo")).body;
		assert.equal(afterPush.version, before.version);
		assert.equal((await srv.api("GET", "/api/v1/projects/DEMO/repositories")).body.items.length, 1);
	});

	test("the API refuses to edit the as-code workflow or its embedded pipeline: 409", async () => {
		const wf = await srv.api("POST", "/api/v1/projects/DEMO/import", {
			files: [
				{ path: "demo.yml", content: WORKFLOW.replace("pipeline: build", "pipeline: other") },
				{ path: "other.pip.yml", content: pipeline("x").replace("name: build", "name: other") },
			],
			force: true,
		});
		assert.equal(wf.status, 409, JSON.stringify(wf.body));
		assert.match(wf.body.message, /edit the YAML in .*remote and push/);
		const pip = await srv.api("POST", "/api/v1/projects/DEMO/import", {
			files: [{ path: "build.pip.yml", content: pipeline("hijacked") }],
			force: true,
		});
		assert.equal(pip.status, 409, JSON.stringify(pip.body));
		assert.match(pip.body.message, /pipeline build of workflow demo is defined as code: edit the YAML/);
	});

	test("a commit pushed on feature/x redefines the workflow for that branch only and runs there", async () => {
		sh(clone, "checkout", "--quiet", "-b", "feature/x");
		writeFileSync(path.join(clone, ".cds", "build.pip.yml"), pipeline("built-on-feature"));
		sh(clone, "commit", "--quiet", "-am", "feature change");
		sh(clone, "push", "--quiet", "origin", "feature/x");
		const commit = sh(clone, "rev-parse", "HEAD");

		const broker = srv.server.broker;
		const synced = (await broker.call("workflow.syncBranch", {
			repositoryId,
			branch: "feature/x",
			commit,
		})) as {
			workflows: string[];
			changed: boolean;
		};
		assert.deepEqual(synced, { workflows: ["demo"], changed: true });
		const again = (await broker.call("workflow.syncBranch", {
			repositoryId,
			branch: "feature/x",
			commit,
		})) as {
			changed: boolean;
		};
		assert.equal(again.changed, false, "syncing the same commit twice is idempotent");

		const feature = (await srv.api("GET", "/api/v1/projects/DEMO/workflows/demo?branch=feature%2Fx")).body;
		assert.equal(feature.branch, "feature/x");
		assert.match(JSON.stringify(feature.pipelines), /built-on-feature/);
		const main = (await srv.api("GET", "/api/v1/projects/DEMO/workflows/demo")).body;
		assert.equal(main.branch, "master", "plain reads show the default branch");
		assert.match(JSON.stringify(main.pipelines), /built-on-master/);

		const created = (await broker.call("run.create", {
			key: "DEMO",
			name: "demo",
			branch: "feature/x",
			commit,
			params: { "git.branch": "feature/x", "git.hash": commit, "git.hash.short": commit.slice(0, 7) },
		})) as { number: number };
		const run = await waitFor("the run to end", async () => {
			const r = (await srv.api("GET", `/api/v1/projects/DEMO/workflows/demo/runs/${created.number}`)).body;
			return ["Success", "Fail", "Stopped", "Skipped"].includes(r.status) ? r : undefined;
		});
		assert.equal(run.status, "Success", JSON.stringify(run.nodes));
		assert.equal(run.branch, "feature/x");
		assert.equal(run.commit, commit);
		assert.equal(run.definitionVersion, feature.version);
		const logs = (
			await srv.api("GET", `/api/v1/projects/DEMO/workflows/demo/runs/${created.number}/logs?limit=1000`)
		).body.items
			.map((l: { text: string }) => l.text)
			.join("");
		assert.match(logs, /built-on-feature on feature\/x/);

		// No flags: project and workflow from the clone (what push recorded), branch and commit from HEAD.
		// The poller starts a run of the new branch too (a branch pushed after the link does), maybe
		// after this one: the latest run at this commit is this one or that one, so track follows it
		// to its end rather than printing a snapshot that may still be Building.
		const tracked = await cds(["track"]);
		assert.equal(tracked.code, 0, tracked.stderr);
		assert.match(
			tracked.stdout,
			new RegExp(`^demo #\\d+ .*\\nbranch feature/x  commit ${commit.slice(0, 12)}`, "m"),
		);
		assert.match(tracked.stdout, /Success/);

		// A fresh clone knows nothing but its origin: the API tells which project links it.
		const other = path.join(work, "other");
		sh(work, "clone", "--quiet", "--branch", "feature/x", path.join(work, "remote.git"), "other");
		const fromApi = await cds(["track"], other);
		assert.equal(fromApi.code, 0, fromApi.stderr);
		assert.match(fromApi.stdout, /Success/);
	});

	test("deleting the branch removes its definition, never the default branch's", async () => {
		const broker = srv.server.broker;
		const removed = (await broker.call("workflow.deleteBranch", { repositoryId, branch: "feature/x" })) as {
			removed: string[];
		};
		assert.deepEqual(removed.removed, ["demo"]);
		const gone = await srv.api("GET", "/api/v1/projects/DEMO/workflows/demo?branch=feature%2Fx");
		assert.equal(gone.status, 404);
		assert.equal((await srv.api("GET", "/api/v1/projects/DEMO/workflows/demo")).status, 200);
		const kept = (await broker.call("workflow.deleteBranch", { repositoryId, branch: "master" })) as {
			removed: string[];
		};
		assert.deepEqual(kept.removed, []);
	});
	test("a push whose .cds/ holds an integration-model file is refused naming the file; nothing is written", async () => {
		sh(clone, "checkout", "--quiet", "master");
		const before = (await srv.api("GET", "/api/v1/projects/DEMO/workflows/demo")).body;
		writeFileSync(
			path.join(clone, ".cds", "platform.model.yml"),
			"name: RepoPlatform\ndefault_config:\n  url:\n    type: string\ndeployment: true\n",
		);
		writeFileSync(path.join(clone, ".cds", "build.pip.yml"), pipeline("built-with-a-model"));
		sh(clone, "add", "-A");
		sh(clone, "commit", "--quiet", "-m", "an integration model in the repository");
		sh(clone, "push", "--quiet", "origin", "master");
		const commit = sh(clone, "rev-parse", "HEAD");

		const pushed = await cds(["push", "--yes", "DEMO", "."]);
		assert.notEqual(pushed.code, 0, pushed.stdout);
		assert.match(pushed.stderr, /platform\.model\.yml/);
		assert.match(pushed.stderr, /integration models are imported by a system administrator/);

		// The hook's way (a synced commit) refuses it too, with the file in its errors.
		const synced = (await srv.server.broker.call("workflow.syncBranch", {
			repositoryId,
			branch: "master",
			commit,
		})) as { changed: boolean; errors?: Array<{ file?: string; message: string }> };
		assert.equal(synced.changed, false);
		assert.ok(
			synced.errors?.some((e) => /platform\.model\.yml/.test(`${e.file ?? ""} ${e.message}`)),
			JSON.stringify(synced.errors),
		);

		// Nothing written: no model, the workflow's definition and pipeline as they were.
		assert.equal((await srv.api("GET", "/api/v1/integration-models/RepoPlatform")).status, 404);
		const afterPush = (await srv.api("GET", "/api/v1/projects/DEMO/workflows/demo")).body;
		assert.equal(afterPush.version, before.version);
		assert.doesNotMatch(JSON.stringify(afterPush.pipelines), /built-with-a-model/);
	});
});
