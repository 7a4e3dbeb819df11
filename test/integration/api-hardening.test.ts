// Issue #11, API hardening: malformed input gets a 4xx, never a 500 (a `%25` blob name decoded
// twice, a forged log cursor), and `worker tag KEY=VALUE` tags the run end to end.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { memoryIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { type BookedJob, bookAll } from "../helpers/scripted-worker.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const FINAL = new Set(["Success", "Fail", "Stopped"]);
const WF = "/api/v1/projects/HARD/workflows";

function files(script: string) {
	return [
		{ path: "w.yml", content: "name: tagged\nversion: v1.0\npipeline: build\n" },
		{
			path: "build.pip.yml",
			content: `version: v1.0\nname: build\njobs:\n- job: j\n  steps:\n  - script:\n    - ${script}\n`,
		},
	];
}

async function setUp(srv: TestServer, script: string): Promise<number> {
	assert.equal((await srv.api("POST", "/api/v1/projects", { key: "HARD", name: "hard" })).status, 201);
	const imp = await srv.api("POST", "/api/v1/projects/HARD/import", { files: files(script) });
	assert.equal(imp.status, 200, JSON.stringify(imp.body));
	const created = await srv.api("POST", `${WF}/tagged/runs`, {});
	assert.equal(created.status, 201, JSON.stringify(created.body));
	return created.body.number;
}

async function cliStatus(srv: TestServer, n: number) {
	const io = memoryIo({ CDS_API_URL: srv.url, CDS_TOKEN: srv.adminToken }, "/");
	const code = await main(["workflow", "status", "HARD", "tagged", String(n)], io.io);
	return { code, stdout: io.stdout, stderr: io.stderr };
}

describe("malformed input and the worker tag route (worker played over HTTP)", () => {
	let srv: TestServer;
	let n: number;
	let job: BookedJob;
	before(async () => {
		srv = await startTestServer({ SERVICES: "api,auth,project,workflow,run" });
		n = await setUp(srv, "echo hi");
		let booked: BookedJob[] = [];
		for (let i = 0; i < 100 && booked.length === 0; i++) {
			booked = await bookAll(srv.server.broker, srv.url);
			if (booked.length === 0) await new Promise((r) => setTimeout(r, 50));
		}
		job = booked[0]!;
		assert.ok(job, "a job was queued");
	});
	after(async () => srv?.stop());

	test("a blob name `%25` (a percent sign) is decoded once: no 500", async () => {
		for (const area of ["artifacts", "cache"]) {
			const got = await job.api("GET", `/api/v1/worker/${area}/t/%25`);
			assert.ok(
				got.status >= 400 && got.status < 500,
				`GET ${area}: ${got.status} ${JSON.stringify(got.body)}`,
			);
		}
		const bad = await job.api("GET", "/api/v1/worker/artifacts/t/%E0%A4%A");
		assert.ok(bad.status >= 400 && bad.status < 500, `malformed escape: ${bad.status}`);
	});

	test("a log cursor that is not one the server handed out → 422, not 500", async () => {
		for (const raw of ["not json", '{"a":1}', "[1,2]", "[]", "null"]) {
			const cursor = Buffer.from(raw).toString("base64url");
			const r = await srv.api("GET", `${WF}/tagged/runs/${n}/logs?cursor=${cursor}`);
			assert.equal(r.status, 422, `${raw}: ${JSON.stringify(r.body)}`);
			assert.equal(r.body.data.errors[0].field, "cursor");
		}
		const good = await srv.api("GET", `${WF}/tagged/runs/${n}/logs`);
		assert.equal(good.status, 200);
	});

	test("POST /worker/job/tags merges tags into the run, shown by the API and `cds workflow status`", async () => {
		const first = await job.api("POST", "/api/v1/worker/job/tags", { tags: { env: "prod", owner: "me" } });
		assert.equal(first.status, 200, JSON.stringify(first.body));
		const second = await job.api("POST", "/api/v1/worker/job/tags", { tags: { env: "staging" } });
		assert.deepEqual(second.body.tags, { env: "staging", owner: "me" });
		const run = await srv.api("GET", `${WF}/tagged/runs/${n}`);
		assert.deepEqual(run.body.tags, { env: "staging", owner: "me" });
		const status = await cliStatus(srv, n);
		assert.equal(status.code, 0, status.stderr);
		assert.match(status.stdout, /tags env=staging owner=me/);
	});

	test("tag keys that would be store field names are refused (422); an admin token is no worker", async () => {
		for (const key of ["a.b", "$set", ""]) {
			const r = await job.api("POST", "/api/v1/worker/job/tags", { tags: { [key]: "x" } });
			assert.equal(r.status, 422, `${key}: ${JSON.stringify(r.body)}`);
		}
		const tooMany = Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`k${i}`, "v"]));
		assert.equal((await job.api("POST", "/api/v1/worker/job/tags", { tags: tooMany })).status, 422);
		const admin = await srv.api("POST", "/api/v1/worker/job/tags", { tags: { x: "y" } });
		assert.ok(admin.status === 401 || admin.status === 403, String(admin.status));
	});

	test("data no store keeps is converted (log text) or refused with 422 (payloads, step reports), never a 500", async () => {
		// A step's binary output: JSON carries "\0" and a cut emoji as \u0000 and \ud83d escapes.
		const logs = await job.api("POST", "/api/v1/worker/job/logs", {
			entries: [{ step: 0, seq: 900, text: "bin\u0000ary \ud83d" }],
		});
		assert.equal(logs.status, 200, JSON.stringify(logs.body));
		const page = await srv.api("GET", `${WF}/tagged/runs/${n}/logs`);
		assert.equal(page.status, 200);
		const line = (page.body.items as Array<{ seq: number; text: string }>).find((l) => l.seq === 900);
		assert.equal(line?.text, "bin\uFFFDary \uFFFD");

		const run = await srv.api("POST", `${WF}/tagged/runs`, { payload: { matrix: [[1, 2]] } });
		assert.equal(run.status, 422, JSON.stringify(run.body));
		assert.match(run.body.message, /payload: an array inside an array .* at matrix\[0\]/);
		const result = await job.api("POST", "/api/v1/worker/job/result", { status: "Success", steps: [[1]] });
		assert.equal(result.status, 422, JSON.stringify(result.body));
	});
});

describe("`worker tag` in a real job", () => {
	let srv: TestServer;
	before(async () => {
		srv = await startTestServer({ CDS_HATCHERY_POLL_MS: "100" });
	});
	after(async () => srv?.stop());

	test("a step's `worker tag release=1.2 team=core` tags its run", async () => {
		const n = await setUp(srv, "worker tag release=1.2 team=core");
		let run: any;
		for (let i = 0; i < 600; i++) {
			run = (await srv.api("GET", `${WF}/tagged/runs/${n}`)).body;
			if (FINAL.has(run.status)) break;
			await new Promise((r) => setTimeout(r, 100));
		}
		assert.equal(run.status, "Success", JSON.stringify(run.nodes));
		assert.deepEqual(run.tags, { release: "1.2", team: "core" });
		const status = await cliStatus(srv, n);
		assert.match(status.stdout, /tags release=1\.2 team=core/);
	});
});
