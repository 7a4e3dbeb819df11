// The roadmap's use case 2, end to end with real git: a repository pushed with `cds push`,
// then commits on new branches trigger runs — once through a signed GitHub-format webhook,
// once through the poller — `cds track` in the clone follows the run, and a deleted branch
// loses its definition, and so does a branch whose commit removes .cds/.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { memoryIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { ALLOW_LOCAL_REPOSITORIES, startTestServer, type TestServer } from "../helpers/server.ts";

const WORKFLOW = "name: app\nversion: v1.0\npipeline: build\n";
const PIPELINE =
	"version: v1.0\nname: build\njobs:\n- job: compile\n  steps:\n  - script:\n    - echo building {{.git.branch}} at {{.git.hash.short}}\n";

function git(cwd: string, ...args: string[]): string {
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

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const v = await fn();
		if (v !== undefined) return v;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 200));
	}
}

let srv: TestServer;
let work: string;
let clone: string;
let cliEnv: Record<string, string>;

async function cds(argv: string[], cwd = clone) {
	const io = memoryIo(cliEnv, cwd);
	const code = await main(argv, io.io);
	return { code, stdout: io.stdout, stderr: io.stderr };
}

async function runsOf(branch: string) {
	const r = await srv.api(
		"GET",
		`/api/v1/projects/DEMO/workflows/app/runs?branch=${encodeURIComponent(branch)}`,
	);
	return (r.body.items ?? []) as Array<{ number: number; status: string; branch: string; commit: string }>;
}

describe("workflow as code: push, webhook, poller, track, branch deletion", () => {
	before(async () => {
		srv = await startTestServer({
			...ALLOW_LOCAL_REPOSITORIES,
			CDS_HATCHERY_POLL_MS: "100",
			CDS_DELETED_BRANCH_RETENTION_MS: "0",
			CDS_HOOKS_POLL_LOOP_MS: "300",
			CDS_HOOKS_PROCESS_INTERVAL_MS: "100",
		});
		assert.equal((await srv.api("POST", "/api/v1/projects", { key: "DEMO", name: "Demo" })).status, 201);
		work = mkdtempSync(path.join(tmpdir(), "cds-ascode-hooks-"));
		git(work, "init", "--quiet", "--bare", "--initial-branch=master", "remote.git");
		git(work, "clone", "--quiet", path.join(work, "remote.git"), "clone");
		clone = path.join(work, "clone");
		mkdirSync(path.join(clone, ".cds"));
		writeFileSync(path.join(clone, ".cds", "app.yml"), WORKFLOW);
		writeFileSync(path.join(clone, ".cds", "build.pip.yml"), PIPELINE);
		git(clone, "add", "-A");
		git(clone, "commit", "--quiet", "-m", "as code");
		git(clone, "push", "--quiet", "origin", "master");
		cliEnv = { CDS_API_URL: srv.url, CDS_TOKEN: srv.adminToken, CDS_CONFIG: path.join(work, "cli.json") };
		const pushed = await cds(["push", "--yes", "--poll", "1", "DEMO", "."]);
		assert.equal(pushed.code, 0, pushed.stderr);
	});
	after(async () => {
		await srv?.stop();
		if (work) rmSync(work, { recursive: true, force: true });
	});

	test("a commit on feature/x, announced by a signed GitHub webhook, runs at that commit; cds track exits 0", async () => {
		git(clone, "checkout", "--quiet", "-b", "feature/x");
		writeFileSync(path.join(clone, "x.txt"), "x\n");
		git(clone, "add", "-A");
		git(clone, "commit", "--quiet", "-m", "feature x");
		git(clone, "push", "--quiet", "origin", "feature/x");
		const hash = git(clone, "rev-parse", "HEAD");

		const [repo] = (await srv.api("GET", "/api/v1/projects/DEMO/repositories")).body.items;
		const internal = (await srv.server.broker.call("repository.get", { id: repo.id })) as {
			webhook: { uuid: string; secret: string };
		};
		const body = JSON.stringify({
			ref: "refs/heads/feature/x",
			before: "0000000000000000000000000000000000000000",
			after: hash,
			created: true,
			deleted: false,
			repository: { full_name: "demo/remote", clone_url: repo.url },
			head_commit: { id: hash, message: "feature x", author: { name: "Dev", email: "dev@example.com" } },
			pusher: { name: "dev" },
		});
		const headers = {
			"content-type": "application/json",
			"x-github-event": "push",
			"x-github-delivery": randomUUID(),
			"x-hub-signature-256": `sha256=${createHmac("sha256", internal.webhook.secret).update(body).digest("hex")}`,
		};
		const url = `${srv.url}/api/v1/hooks/repository/${internal.webhook.uuid}`;
		const bad = await fetch(url, {
			method: "POST",
			headers: { ...headers, "x-hub-signature-256": "sha256=00" },
			body,
		});
		assert.equal(bad.status, 401);
		// Accept latency is measured by `npm run bench:hooks`, not asserted on a shared machine.
		const accepted = await fetch(url, { method: "POST", headers, body });
		assert.equal(accepted.status, 202, await accepted.text());

		const run = await until("a run of feature/x", async () => (await runsOf("feature/x"))[0]);
		assert.equal(run.commit, hash);
		const tracked = await cds(["track"]);
		assert.equal(tracked.code, 0, `${tracked.stdout}\n${tracked.stderr}`);
		const done = (await srv.api("GET", `/api/v1/projects/DEMO/workflows/app/runs/${run.number}`)).body;
		assert.equal(done.status, "Success");
		const logs = (await srv.api("GET", `/api/v1/projects/DEMO/workflows/app/runs/${run.number}/logs`)).body
			.items;
		assert.match(
			logs.map((l: { text: string }) => l.text).join(""),
			new RegExp(`building feature/x at ${hash.slice(0, 7)}`),
		);
	});

	test("a commit on feature/y is noticed by the poller and runs; deleting the branch removes its definition", async () => {
		git(clone, "checkout", "--quiet", "-b", "feature/y");
		writeFileSync(path.join(clone, "y.txt"), "y\n");
		git(clone, "add", "-A");
		git(clone, "commit", "--quiet", "-m", "feature y");
		git(clone, "push", "--quiet", "origin", "feature/y");
		const hash = git(clone, "rev-parse", "HEAD");
		const run = await until("a run of feature/y from the poller", async () =>
			(await runsOf("feature/y")).find((r) => r.commit === hash),
		);
		assert.equal(run.branch, "feature/y");
		const defined = await srv.api("GET", "/api/v1/projects/DEMO/workflows/app?branch=feature%2Fy");
		assert.equal(defined.status, 200);

		git(clone, "push", "--quiet", "origin", "--delete", "feature/y");
		await until("the definition of feature/y to go", async () => {
			const r = await srv.api("GET", "/api/v1/projects/DEMO/workflows/app?branch=feature%2Fy");
			return r.status === 404 ? true : undefined;
		});
		const master = await srv.api("GET", "/api/v1/projects/DEMO/workflows/app?branch=master");
		assert.equal(master.status, 200, "the default branch keeps its definition");
		const store = srv.server.store;
		const stored = await (await store.collection<{ _id: string }>({ name: "runs" })).find({
			project: "DEMO",
			workflow: "app",
			branch: "feature/y",
		});
		const runIds = stored.map((r) => r._id);
		const jobs = await (await store.collection<{ _id: string }>({ name: "jobs" })).find({
			runId: { $in: runIds },
		});
		assert.ok(jobs.length >= 1);
		const claims = await store.collection<{ _id: string }>({ name: "_claims" });
		const claimsOfRun = async () =>
			(await claims.find({ key: { $in: [...runIds, ...jobs.map((j) => j._id)] } })).map((c) => c._id);
		assert.ok((await claimsOfRun()).length >= 1, "the run's job was booked through a claim");
		// After the retention delay (0 here), the deleted branch's runs are purged; master's stay.
		// The run service records the deletion on the `workflow.branchDeleted` event, a moment after
		// the definition goes: collect until that is seen.
		await until("the runs of feature/y to be purged", async () => {
			const gc = (await srv.server.broker.call("run.collectGarbage", { graceMs: 0 })) as {
				purgedRuns: number;
			};
			return gc.purgedRuns >= 1 ? true : undefined;
		});
		assert.deepEqual(await runsOf("feature/y"), []);
		assert.deepEqual(await claimsOfRun(), [], "their claims go with them");
		assert.ok((await runsOf("feature/x")).length >= 1, "other branches keep their runs");
	});

	test("a commit on feature/x that removes .cds/ takes feature/x's definition away (a node that read it too)", async () => {
		const branchDef = () => srv.api("GET", "/api/v1/projects/DEMO/workflows/app?branch=feature%2Fx");
		// Read, so this node keeps it (src/workflow/latest-definitions.ts): the drop must reach it.
		assert.equal((await branchDef()).status, 200);
		git(clone, "checkout", "--quiet", "feature/x");
		git(clone, "rm", "--quiet", "-r", ".cds");
		git(clone, "commit", "--quiet", "-m", "no longer as code");
		git(clone, "push", "--quiet", "origin", "feature/x");
		await until("the definition of feature/x to go", async () =>
			(await branchDef()).status === 404 ? true : undefined,
		);
		const master = await srv.api("GET", "/api/v1/projects/DEMO/workflows/app?branch=master");
		assert.equal(master.status, 200, "the default branch keeps its definition");
	});
});
