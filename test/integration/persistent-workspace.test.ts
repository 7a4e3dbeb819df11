// Persistent workspaces end to end over NATS and FerretDB: a node's `persistent_workspace`
// survives between its runs on one branch (not another), is leased to one job at a time (the
// second waits, saying so), is recovered from a job whose worker was killed hard, is not seen by
// another job's steps, and goes with its workflow.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { mongoUrlFor, serverUrl, uniqueDbName } from "../helpers/servers.ts";

const nats = serverUrl("NATS_URL");
const mongo = serverUrl("MONGO_URL");
const WF = "/api/v1/projects/PWS/workflows";
const FINAL = new Set(["Success", "Fail", "Stopped", "Skipped"]);

let srv: TestServer;

async function waitRun(wf: string, n: number, timeoutMs = 90_000) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const r = (await srv.api("GET", `${WF}/${wf}/runs/${n}`)).body;
		if (FINAL.has(r.status)) return r;
		if (Date.now() > deadline) throw new Error(`run ${wf} #${n} still ${r.status} after ${timeoutMs} ms`);
		await new Promise((res) => setTimeout(res, 100));
	}
}

async function logText(wf: string, n: number): Promise<string> {
	const page = (await srv.api("GET", `${WF}/${wf}/runs/${n}/logs?limit=5000`)).body;
	return page.items.map((l: { text: string }) => l.text).join("");
}

type Job = { status: string; reason: string | null; startedAt: string | null; endedAt: string | null };
const jobOf = (run: any, node = "keep"): Job =>
	run.nodes.find((x: { name: string }) => x.name === node).stages[0].jobs[0];

async function start(wf: string, branch: string, params: Record<string, string> = {}): Promise<number> {
	const r = await srv.api("POST", `${WF}/${wf}/runs`, { params: { "git.branch": branch, ...params } });
	assert.equal(r.status, 201, JSON.stringify(r.body));
	return r.body.number;
}

function files(wf: string, workspacesRoot: string) {
	return [
		{
			path: `${wf}.yml`,
			content: `name: ${wf}\nversion: v2.0\nworkflow:\n  keep:\n    pipeline: keep\n    persistent_workspace:\n      name: cache\n      size: 2GB\n  other:\n    pipeline: peek\n    depends_on: [keep]\n`,
		},
		{
			path: "keep.pip.yml",
			content: [
				"version: v1.0",
				"name: keep",
				"jobs:",
				"- job: keep",
				"  steps:",
				"  - script: |",
				'      echo "path=$CDS_PERSISTENT_WORKSPACE"',
				'      if [ -f "$CDS_PERSISTENT_WORKSPACE/marker" ]; then echo "seen: $(cat "$CDS_PERSISTENT_WORKSPACE/marker")"; else echo "seen: nothing"; fi',
				'      echo "run $CDS_RUN_NUMBER" > "$CDS_PERSISTENT_WORKSPACE/marker"',
				'      sleep "$(printenv HOLD || echo 0)"',
				"",
			].join("\n"),
		},
		{
			path: "peek.pip.yml",
			content: [
				"version: v1.0",
				"name: peek",
				"jobs:",
				"- job: peek",
				"  steps:",
				"  - script: |",
				'      echo "other has: [$CDS_PERSISTENT_WORKSPACE]"',
				`      if ls ${workspacesRoot}/ws-* >/dev/null 2>&1; then echo "other sees: the workspaces"; else echo "other sees: nothing"; fi`,
				"",
			].join("\n"),
		},
	];
}

describe("persistent workspaces over NATS and FerretDB", { skip: nats.skip || mongo.skip }, () => {
	let root: string;
	before(async () => {
		// Outside every directory the sandbox hides anyway (/tmp, the data directory): the
		// workspaces' own directory must be hidden from steps too.
		root = mkdtempSync(path.join(existsSync("/var/tmp") ? "/var/tmp" : tmpdir(), "cds-pws-"));
		srv = await startTestServer({
			CDS_PERSISTENT_WORKSPACES_DIR: root,
			NATS_URL: nats.url!,
			MONGO_URL: mongoUrlFor(mongo.url!, uniqueDbName("cds_pws")),
			CDS_HATCHERY_MAX_WORKERS: "4",
			CDS_WORKER_HEARTBEAT_SECONDS: "1",
			CDS_WORKER_HEARTBEAT_TIMEOUT_MS: "3000",
			CDS_HATCHERY_POLL_MS: "100",
		});
		assert.equal((await srv.api("POST", "/api/v1/projects", { key: "PWS", name: "Workspaces" })).status, 201);
		const imported = await srv.api("POST", "/api/v1/projects/PWS/import", { files: files("PW", root) });
		assert.equal(imported.status, 200, JSON.stringify(imported.body));
	});
	after(async () => {
		await srv?.stop();
		rmSync(root, { recursive: true, force: true });
	});

	test("run 1 writes, run 2 on the same branch reads it, a run on another branch does not; other jobs never see it", async () => {
		const first = await waitRun("PW", await start("PW", "main"));
		assert.equal(first.status, "Success", JSON.stringify(first.nodes));
		const log1 = await logText("PW", first.number);
		assert.match(log1, /seen: nothing/);
		assert.match(log1, new RegExp(`path=${root}/ws-cache-[0-9a-f]{16}\\n`));
		assert.match(log1, /other has: \[\]/);
		assert.match(log1, /other sees: nothing/, "a step of another job cannot see the workspaces");

		const second = await waitRun("PW", await start("PW", "main"));
		assert.equal(second.status, "Success");
		assert.match(await logText("PW", second.number), new RegExp(`seen: run ${first.number}\\n`));

		const dev = await waitRun("PW", await start("PW", "dev"));
		assert.equal(dev.status, "Success");
		assert.match(await logText("PW", dev.number), /seen: nothing/, "another branch has its own");
		assert.equal(readdirSync(root).filter((d) => !d.endsWith(".json")).length, 2, "one per branch");
	});

	test("two runs at once never share it: the second waits, saying so, then runs", async () => {
		const a = await start("PW", "main", { hold: "3" });
		const b = await start("PW", "main", { hold: "0" });
		let sawWaiting = "";
		const deadline = Date.now() + 60_000;
		while (!sawWaiting && Date.now() < deadline) {
			const run = (await srv.api("GET", `${WF}/PW/runs/${b}`)).body;
			const job = jobOf(run);
			if (job?.status === "Waiting" && job.reason?.startsWith("waiting for persistent workspace"))
				sawWaiting = job.reason;
			if (FINAL.has(run.status)) break;
			await new Promise((res) => setTimeout(res, 50));
		}
		assert.equal(sawWaiting, `waiting for persistent workspace cache held by run #${a}`);
		const [ra, rb] = [await waitRun("PW", a), await waitRun("PW", b)];
		assert.equal(ra.status, "Success");
		assert.equal(rb.status, "Success");
		assert.ok(Date.parse(jobOf(rb).startedAt!) >= Date.parse(jobOf(ra).endedAt!), "b started after a ended");
		assert.equal(jobOf(rb).reason, null, "the waiting note is gone once it runs");
		assert.match(await logText("PW", b), new RegExp(`seen: run ${a}\\n`));
	});

	test("a job whose worker is killed hard releases its lease: the next run gets the workspace", async () => {
		const held = await start("PW", "main", { hold: "120" });
		const deadline = Date.now() + 60_000;
		let pid: number | undefined;
		while (pid === undefined && Date.now() < deadline) {
			const run = (await srv.api("GET", `${WF}/PW/runs/${held}`)).body;
			if (jobOf(run)?.status === "Building" && /seen:/.test(await logText("PW", held))) {
				const status = (await srv.server.broker.call("hatchery.status")) as {
					workers: Array<{ pid?: number; state: string }>;
				};
				pid = status.workers.find((w) => w.state === "running")?.pid;
			}
			if (pid === undefined) await new Promise((res) => setTimeout(res, 100));
		}
		assert.ok(pid, "the worker runs");
		process.kill(-pid, "SIGKILL");
		const next = await start("PW", "main");
		const lost = await waitRun("PW", held);
		assert.equal(lost.status, "Fail");
		assert.match(jobOf(lost).reason ?? "", /worker lost/);
		const ran = await waitRun("PW", next);
		assert.equal(ran.status, "Success", JSON.stringify(ran.nodes));
		assert.match(await logText("PW", next), new RegExp(`seen: run ${held}\\n`));
	});

	test("deleting the workflow deletes its workspaces' directories", async () => {
		assert.ok(readdirSync(root).some((d) => d.startsWith("ws-cache-")));
		assert.equal((await srv.api("DELETE", `${WF}/PW`)).status, 200);
		const deadline = Date.now() + 60_000;
		while (readdirSync(root).length > 0 && Date.now() < deadline)
			await new Promise((res) => setTimeout(res, 200));
		assert.deepEqual(readdirSync(root), []);
		assert.ok(existsSync(root));
	});
});
