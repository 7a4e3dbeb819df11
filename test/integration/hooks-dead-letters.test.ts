// Dead letters through the API and the CLI, on a real node: an event asking for a run of a
// workflow that does not exist fails for good (404) and becomes a dead letter at once; it is
// listed (read permission), replayed once the workflow exists (write permission) — the run then
// starts, and `cds hooks events` shows it — or deleted.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { memoryIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { eventDoc } from "../../src/hooks/events.ts";
import { HookIntake } from "../../src/hooks/intake.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const KEY = "DEADL";
const PIPELINE = "version: v1.0\nname: build\njobs:\n- job: compile\n  steps:\n  - script:\n    - echo hi\n";
const workflowFile = (name: string) => `name: ${name}\nversion: v1.0\npipeline: build\n`;

let srv: TestServer;
let intake: HookIntake;

async function cds(argv: string[], token = srv.adminToken) {
	const out = memoryIo({
		CDS_API_URL: srv.url,
		CDS_TOKEN: token,
		CDS_CONFIG: join(srv.dataDir, "none.json"),
	});
	const code = await main(argv, out.io);
	return { code, stdout: out.stdout, stderr: out.stderr };
}

/** An event whose one intent starts a run of `workflow`, stored and queued as a source would. */
async function emitRunOf(id: string, workflow: string) {
	const doc = eventDoc(
		`test:${id}`,
		"test",
		{ project: KEY, origin: { why: id }, intents: [{ kind: "start-run", type: "test", workflow, vars: {} }] },
		Date.now(),
	);
	assert.equal(await intake.accept(doc), "stored");
	await intake.queued();
	return doc._id;
}

const processAll = () => srv.server.broker.call("hook.runProcessor", {});

describe("hook dead letters through the API and the CLI", () => {
	before(async () => {
		// No hatchery: the run is created and waits, which is all this test looks at.
		srv = await startTestServer({
			SERVICES: "api,auth,project,workflow,run,hook",
			CDS_HOOKS_PROCESS_INTERVAL_MS: "60000",
		});
		intake = await HookIntake.open(srv.server.store);
		assert.equal((await srv.api("POST", "/api/v1/projects", { key: KEY, name: "Dead letters" })).status, 201);
		const files = [
			{ path: "build.pip.yml", content: PIPELINE },
			{ path: "present.yml", content: workflowFile("present") },
		];
		const imported = await srv.api("POST", `/api/v1/projects/${KEY}/import`, { files });
		assert.equal(imported.status, 200, JSON.stringify(imported.body));
	});
	after(async () => srv?.stop());

	test("a run of a missing workflow is a dead letter; replayed once it exists, it starts the run", async () => {
		const id = await emitRunOf("late", "late");
		const fine = await emitRunOf("fine", "present");
		await processAll();

		const listed = await srv.api("GET", `/api/v1/projects/${KEY}/hooks/dead-letters`);
		assert.equal(listed.status, 200);
		assert.deepEqual(
			listed.body.items.map((d: { id: string }) => d.id),
			[id],
		);
		const dead = listed.body.items[0];
		assert.equal(dead.state, "dead");
		assert.equal(dead.reason, "permanent");
		assert.equal(dead.attempts, 1);
		assert.match(dead.lastError, /not found/i);
		assert.equal(listed.body.next, null);

		// The CLI lists it; a read token sees it and may not replay it.
		const cli = await cds(["hooks", "dead-letters", KEY]);
		assert.equal(cli.code, 0, cli.stderr);
		assert.match(cli.stdout, new RegExp(`${id}\\s+test\\s+permanent\\s+1\\s`));
		const read = (await srv.api("POST", "/api/v1/auth/tokens", { project: KEY, role: "read" })).body.token;
		assert.equal((await cds(["hooks", "dead-letters", KEY], read)).code, 0);
		const refused = await srv.api(
			"POST",
			`/api/v1/projects/${KEY}/hooks/dead-letters/${id}/replay`,
			{},
			read,
		);
		assert.equal(refused.status, 403);
		assert.equal(
			(await srv.api("DELETE", `/api/v1/projects/${KEY}/hooks/dead-letters/${id}`, undefined, read)).status,
			403,
		);
		// Only dead letters are replayed: the event processed fine is not one.
		const notDead = await srv.api("POST", `/api/v1/projects/${KEY}/hooks/dead-letters/${fine}/replay`, {});
		assert.equal(notDead.status, 409);

		// The workflow arrives; the replay queues the event again, and the run starts.
		const files = [
			{ path: "build.pip.yml", content: PIPELINE },
			{ path: "late.yml", content: workflowFile("late") },
		];
		assert.equal((await srv.api("POST", `/api/v1/projects/${KEY}/import`, { files })).status, 200);
		const replay = await cds(["hooks", "replay", KEY, id]);
		assert.equal(replay.code, 0, replay.stderr);
		assert.match(replay.stdout, /queued again/);
		await processAll();
		const runs = await srv.api("GET", `/api/v1/projects/${KEY}/workflows/late/runs`);
		assert.equal(runs.status, 200);
		assert.deepEqual(
			runs.body.items.map((r: { number: number }) => r.number),
			[1],
		);
		assert.deepEqual((await srv.api("GET", `/api/v1/projects/${KEY}/hooks/dead-letters`)).body.items, []);
		const events = await cds(["hooks", "events", KEY]);
		assert.equal(events.code, 0, events.stderr);
		assert.match(events.stdout, new RegExp(`${id}\\s+test\\s+done\\s+0\\s+\\S+\\s+late#1`));
		assert.match(events.stdout, new RegExp(`${fine}\\s+test\\s+done\\s+0\\s+\\S+\\s+present#1`));
		// A second replay is refused: the event is done.
		const again = await cds(["hooks", "replay", KEY, id]);
		assert.notEqual(again.code, 0);
	});

	test("a dead letter is deleted with `cds hooks drop`", async () => {
		const id = await emitRunOf("never", "never");
		await processAll();
		assert.equal((await srv.api("GET", `/api/v1/projects/${KEY}/hooks/dead-letters`)).body.items.length, 1);
		const drop = await cds(["hooks", "drop", KEY, id]);
		assert.equal(drop.code, 0, drop.stderr);
		assert.deepEqual((await srv.api("GET", `/api/v1/projects/${KEY}/hooks/dead-letters`)).body.items, []);
		assert.equal(await intake.events(id).findOne({ _id: id }), null);
		const gone = await srv.api(
			"DELETE",
			`/api/v1/projects/${KEY}/hooks/dead-letters/${encodeURIComponent(id)}`,
		);
		assert.equal(gone.status, 404);
	});
});
