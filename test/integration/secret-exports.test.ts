// An exported value holding a secret, end to end on a real node with local workers: job 1
// exports it, the run stores it sealed (read from the store, no clear value anywhere), job 2
// receives the real value (it checks its sha256) and its logs show the mask.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const WF = "/api/v1/projects/SEX/workflows";
const FINAL = new Set(["Success", "Fail", "Stopped", "Skipped"]);
const SECRET = "tok-9f8e7d6c5b4a-secret";
const DSN = `https://ci:${SECRET}@db.example.org/app`;
const BASIC = Buffer.from(`ci:${SECRET}`).toString("base64");
const MASK = "**********";

async function waitRun(srv: TestServer, wf: string, n: number, timeoutMs = 60_000) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const r = (await srv.api("GET", `${WF}/${wf}/runs/${n}`)).body;
		if (FINAL.has(r.status)) return r;
		if (Date.now() > deadline) throw new Error(`run ${wf} #${n} still ${r.status} after ${timeoutMs} ms`);
		await new Promise((res) => setTimeout(res, 100));
	}
}

const pipeline = [
	"version: v1.0",
	"name: pass",
	"stages: [make, use]",
	"jobs:",
	"- job: make",
	"  stage: make",
	"  steps:",
	"  - script:",
	`    - worker export dsn "https://ci:$CDS_PROJ_API_TOKEN@db.example.org/app"`,
	`    - worker export basic "$(printf 'ci:%s' "$CDS_PROJ_API_TOKEN" | base64 -w0)"`,
	"    - worker export version 1.4.2",
	"    - echo exported",
	"- job: use",
	"  stage: use",
	"  steps:",
	"  - script:",
	'    - echo "dsn is $CDS_BUILD_DSN"',
	`    - test "$(printf %s "$CDS_BUILD_DSN" | sha256sum | cut -d' ' -f1)" = "${createHash("sha256").update(DSN).digest("hex")}" && echo dsn-sha-ok`,
	`    - test "$CDS_BUILD_BASIC" = "${BASIC}" && echo basic-ok`,
	"    - echo version={{.cds.build.version}}",
	"",
].join("\n");

describe("exported values holding a secret", () => {
	let srv: TestServer;
	before(async () => {
		srv = await startTestServer({ CDS_HATCHERY_POLL_MS: "100" });
		assert.equal(
			(await srv.api("POST", "/api/v1/projects", { key: "SEX", name: "sealed exports" })).status,
			201,
		);
		const v = await srv.api("POST", "/api/v1/projects/SEX/variables", {
			name: "api.token",
			type: "password",
			value: SECRET,
		});
		assert.equal(v.status, 201, JSON.stringify(v.body));
	});
	after(async () => srv?.stop());

	test("are stored sealed, reach the next job in clear and are masked in its logs", async () => {
		const files = [
			{ path: "w.yml", content: "name: sealed\nversion: v1.0\npipeline: pass\n" },
			{ path: "pass.pip.yml", content: pipeline },
		];
		const imp = await srv.api("POST", "/api/v1/projects/SEX/import", { files });
		assert.equal(imp.status, 200, JSON.stringify(imp.body));
		const n = (await srv.api("POST", `${WF}/sealed/runs`, {})).body.number;
		const view = await waitRun(srv, "sealed", n);
		assert.equal(view.status, "Success", JSON.stringify(view.nodes));

		// The stored run: sealed values, no clear one anywhere in the document.
		const runs = await srv.server.store.collection<{
			_id: string;
			number: number;
			workflow: string;
			build: Record<string, string>;
			sealedBuild?: string[];
		}>({ name: "runs" });
		const doc = (await runs.find({ workflow: "sealed", number: n }))[0];
		assert.ok(doc, "the run is stored");
		assert.deepEqual([...(doc.sealedBuild ?? [])].sort(), ["basic", "dsn"]);
		assert.match(doc.build.dsn!, /^enc:v1:/);
		assert.match(doc.build.basic!, /^enc:v1:/);
		assert.equal(doc.build.version, "1.4.2");
		const stored = JSON.stringify(doc);
		for (const clear of [SECRET, DSN, BASIC]) assert.ok(!stored.includes(clear), `stored run holds ${clear}`);

		// Job 2 got the real values; its logs show the mask, never the value.
		const logs = (await srv.api("GET", `${WF}/sealed/runs/${n}/logs?limit=5000`)).body.items as Array<{
			text: string;
		}>;
		const text = logs.map((l) => l.text).join("");
		assert.match(text, /dsn-sha-ok/);
		assert.match(text, /basic-ok/);
		assert.match(text, /version=1\.4\.2/);
		assert.ok(text.includes(`dsn is ${MASK}`), text);
		for (const clear of [SECRET, DSN, BASIC, "db.example.org"]) assert.ok(!text.includes(clear), text);
		const logDocs = await (
			await srv.server.store.collection<{ _id: string; text: string }>({ name: "logs" })
		).find({});
		const storedLogs = logDocs.map((l) => l.text).join("");
		assert.ok(storedLogs.includes("dsn-sha-ok"));
		for (const clear of [SECRET, DSN, BASIC]) assert.ok(!storedLogs.includes(clear));

		// No API answer about the run shows a clear value.
		for (const route of [`${WF}/sealed/runs/${n}`, `${WF}/sealed/runs`]) {
			const body = JSON.stringify((await srv.api("GET", route)).body);
			for (const clear of [SECRET, DSN, BASIC]) assert.ok(!body.includes(clear), route);
		}
	});
});
