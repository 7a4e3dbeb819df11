// The poller on FerretDB, with the real repository, workflow and run services: a commit pushed
// on a new branch of a local bare repository is seen by `git ls-remote` and starts a run.
// (The poller once kept refs as [ref, commit] pairs, a nested array FerretDB refuses: it then
// never started a run there.)

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { type AsCodeRepo, linkAsCodeRepo } from "../helpers/ascode-repo.ts";
import { ALLOW_LOCAL_REPOSITORIES, startTestServer, type TestServer } from "../helpers/server.ts";
import { mongoUrlFor, serverUrl, uniqueDbName } from "../helpers/servers.ts";

const mongo = serverUrl("MONGO_URL");

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const v = await probe();
		if (v !== undefined) return v;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 200));
	}
}

describe("hook poller on FerretDB", { skip: mongo.skip }, () => {
	let srv: TestServer;
	let repo: AsCodeRepo;

	before(async () => {
		const db = uniqueDbName("hooks_poller");
		srv = await startTestServer({
			...ALLOW_LOCAL_REPOSITORIES,
			MONGO_URL: mongoUrlFor(mongo.url!, db),
			CDS_SECRET_KEY: randomBytes(32).toString("base64"),
			// No hatchery: the run is created and waits for one; that is all this test needs.
			SERVICES: "api,auth,project,workflow,run,repository,hook-poller",
			CDS_HOOKS_POLL_LOOP_MS: "200",
			CDS_HOOKS_PROCESS_INTERVAL_MS: "100",
		});
		repo = await linkAsCodeRepo({
			apiUrl: srv.url,
			token: srv.adminToken,
			key: "POLL",
			broker: srv.server.broker,
			pollSeconds: 1,
		});
	});
	after(async () => {
		await srv?.stop();
		repo?.remove();
	});

	test("a commit on a new branch of a local bare repository is polled and runs", async () => {
		// The first poll records where the repository stands (stored on FerretDB).
		await until("the baseline", async () => {
			const states = await srv.server.store.collection<{ _id: string; value: any }>({
				name: "hook_source_state",
			});
			const doc = await states.findOne({ _id: `poller:${repo.id}` });
			return doc?.value?.refs?.length > 0 ? doc : undefined;
		});
		const commit = repo.pushBranch("feature/polled");
		const run = await until("a run of feature/polled", async () => {
			const r = await srv.api("GET", "/api/v1/projects/POLL/workflows/app/runs?branch=feature%2Fpolled");
			return (r.body.items ?? [])[0] as { branch: string; commit: string } | undefined;
		});
		assert.equal(run.branch, "feature/polled");
		assert.equal(run.commit, commit);
		const events = await srv.api("GET", "/api/v1/projects/POLL/hooks/events");
		const polled = events.body.items.find((e: { source: string }) => e.source === "poller");
		assert.ok(polled, JSON.stringify(events.body));
		assert.equal(polled.messages[0].type, "branch-created");
		assert.equal(polled.messages[0].branch, "feature/polled");
		// ls-remote gives only commits: the author and message are read from the commit, as a
		// webhook payload gives them (`{{.git.message}}` once stayed literal in polled runs).
		const runs = await srv.server.store.collection<{ _id: string; vars: Record<string, string> }>({
			name: "runs",
		});
		const stored = await runs.findOne({ project: "POLL", branch: "feature/polled" });
		assert.equal(stored?.vars["git.author"], "Dev");
		assert.equal(stored?.vars["git.author.email"], "dev@example.com");
		assert.equal(stored?.vars["git.message"], "on feature/polled");
	});
});
