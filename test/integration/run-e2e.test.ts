// Workflows executed for real: a node with every service, its local hatchery spawning
// cds-worker processes that run bash steps and talk to the API over HTTP.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { corpus, corpusPath } from "../helpers/corpus.ts";

const WF = "/api/v1/projects/DEMO/workflows";
const FINAL = new Set(["Success", "Fail", "Stopped", "Skipped"]);

async function waitRun(srv: TestServer, wf: string, n: number, timeoutMs = 60_000) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const r = (await srv.api("GET", `${WF}/${wf}/runs/${n}`)).body;
		if (FINAL.has(r.status)) return r;
		if (Date.now() > deadline) throw new Error(`run ${wf} #${n} still ${r.status} after ${timeoutMs} ms`);
		await new Promise((res) => setTimeout(res, 100));
	}
}

async function allLogs(srv: TestServer, wf: string, n: number, query = "") {
	const items: Array<{ text: string; step: number; node: string }> = [];
	let cursor = "";
	for (;;) {
		const page = (
			await srv.api(
				"GET",
				`${WF}/${wf}/runs/${n}/logs?limit=5000${query}${cursor ? `&cursor=${cursor}` : ""}`,
			)
		).body;
		items.push(...page.items);
		if (!page.next || page.next === cursor) return items;
		cursor = page.next;
	}
}

/** ITSCWRKFLW3 with each job's steps replaced by a local script (its requirements kept). */
function localItscwrkflw3() {
	const dir = corpusPath("ITSCWRKFLW3");
	return readdirSync(dir).map((f) => {
		let content = readFileSync(path.join(dir, f), "utf8");
		if (f.endsWith(".pip.yml") && content.includes("steps:")) {
			content = content.replace(
				/ {2}steps:\n[\s\S]*?(?=\n {2}requirements:|\n*$)/g,
				"  steps:\n  - script:\n    - sleep 0.3\n    - echo done {{.cds.pipeline}}\n",
			);
		}
		return { path: f, content };
	});
}

let srv: TestServer;

describe("workflows run end to end on local workers", { skip: corpus.skip }, () => {
	before(async () => {
		srv = await startTestServer({
			CDS_HATCHERY_MODELS: "Node8.9.1",
			CDS_HATCHERY_BINARIES: "bash,git,go,node",
			CDS_HATCHERY_MEMORY_MB: "8192",
			CDS_HATCHERY_MAX_WORKERS: "4",
			CDS_WORKER_HEARTBEAT_SECONDS: "1",
			CDS_WORKER_HEARTBEAT_TIMEOUT_MS: "3000",
			CDS_HATCHERY_POLL_MS: "100",
		});
		assert.equal((await srv.api("POST", "/api/v1/projects", { key: "DEMO", name: "Demo" })).status, 201);
	});
	after(async () => srv?.stop());

	test("ITSCWRKFLW3 runs in graph order: builds in parallel, tests after both, deploy last", async () => {
		const imported = await srv.api("POST", "/api/v1/projects/DEMO/import", { files: localItscwrkflw3() });
		assert.equal(imported.status, 200, JSON.stringify(imported.body));
		const n = (
			await srv.api("POST", `${WF}/ITSCWRKFLW3-WORKFLOW/runs`, { params: { "git.branch": "master" } })
		).body.number;
		const run = await waitRun(srv, "ITSCWRKFLW3-WORKFLOW", n);
		assert.equal(run.status, "Success", JSON.stringify(run.nodes));
		const job = (node: string) => run.nodes.find((x: { name: string }) => x.name === node).stages[0].jobs[0];
		const start = (node: string) => Date.parse(job(node).startedAt);
		const end = (node: string) => Date.parse(job(node).endedAt);
		assert.ok(
			start("build_front") < end("build_api") && start("build_api") < end("build_front"),
			"the two builds overlap",
		);
		assert.ok(
			start("tests") >= end("build_front") && start("tests") >= end("build_api"),
			"the join waits for both",
		);
		assert.ok(start("deploy") >= end("tests"));
		const logs = await allLogs(srv, "ITSCWRKFLW3-WORKFLOW", n);
		assert.ok(logs.some((l) => l.text.includes("done deploy")));

		const other = (
			await srv.api("POST", `${WF}/ITSCWRKFLW3-WORKFLOW/runs`, { params: { "git.branch": "dev" } })
		).body;
		assert.equal(other.status, "Skipped", "the root's git.branch condition holds");
	});

	test("a job printing 100,000 numbered lines: every line stored once, in order", async () => {
		const files = [
			{ path: "w.yml", content: "name: LINES\nversion: v1.0\npipeline: lines\n" },
			{
				path: "lines.pip.yml",
				content: "version: v1.0\nname: lines\njobs:\n- job: count\n  steps:\n  - script: seq 1 100000\n",
			},
		];
		assert.equal((await srv.api("POST", "/api/v1/projects/DEMO/import", { files })).status, 200);
		const n = (await srv.api("POST", `${WF}/LINES/runs`, {})).body.number;
		assert.equal((await waitRun(srv, "LINES", n, 120_000)).status, "Success");
		const text = (await allLogs(srv, "LINES", n)).map((l) => l.text).join("");
		const numbers = text
			.split("\n")
			.filter((l) => /^\d+$/.test(l))
			.map(Number);
		assert.equal(numbers.length, 100_000);
		for (let i = 0; i < numbers.length; i++)
			if (numbers[i] !== i + 1) assert.fail(`line ${i + 1} is ${numbers[i]}`);
	});

	test("a password variable reaches its job's steps but never the stored logs", async () => {
		const secret = "pa55-w0rd-never-logged";
		await srv.api("POST", "/api/v1/projects/DEMO/variables", {
			name: "db.password",
			type: "password",
			value: secret,
		});
		const files = [
			{ path: "w.yml", content: "name: SECRET\nversion: v1.0\npipeline: leak\n" },
			{
				path: "leak.pip.yml",
				content:
					'version: v1.0\nname: leak\njobs:\n- job: try\n  steps:\n  - script:\n    - echo plain {{.cds.proj.db.password}}\n    - echo env $CDS_PROJ_DB_PASSWORD\n    - echo -n "$CDS_PROJ_DB_PASSWORD" | base64\n    - printf \'pa55-w0rd-\'; sleep 0.3; printf \'never-logged\\n\'\n    - test "$CDS_PROJ_DB_PASSWORD" = "pa55-w0rd-never-logged" && echo clear value received\n',
			},
		];
		assert.equal((await srv.api("POST", "/api/v1/projects/DEMO/import", { files })).status, 200);
		const n = (await srv.api("POST", `${WF}/SECRET/runs`, {})).body.number;
		assert.equal((await waitRun(srv, "SECRET", n)).status, "Success");
		const text = (await allLogs(srv, "SECRET", n)).map((l) => l.text).join("");
		assert.match(text, /clear value received/);
		assert.ok(!text.includes(secret), text);
		assert.ok(!text.includes(Buffer.from(secret).toString("base64")), text);
		assert.match(text, /\*{10}/);
	});

	test("kill -9 of a worker: its job ends Fail with 'worker lost', never stuck in Building", async () => {
		const files = [
			{ path: "w.yml", content: "name: KILLED\nversion: v1.0\npipeline: long\n" },
			{
				path: "long.pip.yml",
				content:
					"version: v1.0\nname: long\njobs:\n- job: sleeper\n  steps:\n  - script: echo started; sleep 60\n",
			},
		];
		assert.equal((await srv.api("POST", "/api/v1/projects/DEMO/import", { files })).status, 200);
		const n = (await srv.api("POST", `${WF}/KILLED/runs`, {})).body.number;
		let pid = "";
		for (let i = 0; i < 100 && !pid; i++) {
			const logs = await allLogs(srv, "KILLED", n);
			if (logs.some((l) => l.text.includes("started"))) {
				// The hatchery knows which process serves the job.
				const status = (await srv.server.broker.call("hatchery.status", {})) as {
					workers: Array<{ jobId: string | null; pid?: number }>;
				};
				const worker = status.workers.find((w) => w.jobId?.startsWith("DEMO/KILLED/"));
				pid = String(worker?.pid ?? "");
			} else await new Promise((r) => setTimeout(r, 100));
		}
		assert.ok(pid, "the worker started");
		process.kill(Number(pid), "SIGKILL");
		const run = await waitRun(srv, "KILLED", n, 30_000);
		assert.equal(run.status, "Fail");
		assert.equal(run.nodes[0].stages[0].jobs[0].reason, "worker lost");
	});
});

describe("artifacts and worker exports across jobs", () => {
	let s: TestServer;
	before(async () => {
		s = await startTestServer({ CDS_HATCHERY_POLL_MS: "100", CDS_HISTORY_LENGTH: "1" });
		assert.equal((await s.api("POST", "/api/v1/projects", { key: "ART", name: "a" })).status, 201);
	});
	after(async () => s?.stop());

	test("a file uploaded by one stage is downloaded by the next; exports reach later jobs", async () => {
		const files = [
			{ path: "w.yml", content: "name: art\nversion: v1.0\npipeline: pass\n" },
			{
				path: "pass.pip.yml",
				content: [
					"version: v1.0",
					"name: pass",
					"stages: [make, use]",
					"jobs:",
					"- job: make",
					"  stage: make",
					"  steps:",
					"  - script:",
					"    - mkdir -p out && echo payload-{{.cds.version}} > out/data.txt",
					"    - worker export color blue",
					"  - artifactUpload:",
					"      path: out/data.txt",
					"      tag: '{{.cds.version}}'",
					"- job: use",
					"  stage: use",
					"  steps:",
					"  - artifactDownload:",
					"      path: in",
					"      tag: '{{.cds.version}}'",
					"  - script:",
					"    - cat in/data.txt",
					"    - echo color={{.cds.build.color}}",
					"",
				].join("\n"),
			},
		];
		const imp = await s.api("POST", "/api/v1/projects/ART/import", { files });
		assert.equal(imp.status, 200, JSON.stringify(imp.body));
		const n = (await s.api("POST", "/api/v1/projects/ART/workflows/art/runs", {})).body.number;
		let run: any;
		for (let i = 0; i < 300; i++) {
			run = (await s.api("GET", `/api/v1/projects/ART/workflows/art/runs/${n}`)).body;
			if (FINAL.has(run.status)) break;
			await new Promise((r) => setTimeout(r, 100));
		}
		assert.equal(run.status, "Success", JSON.stringify(run.nodes));
		const logs = (await s.api("GET", `/api/v1/projects/ART/workflows/art/runs/${n}/logs`)).body.items;
		const text = logs.map((l: { text: string }) => l.text).join("");
		assert.match(text, new RegExp(`payload-${n}`));
		assert.match(text, /color=blue/);
	});

	test("retention: artifacts of runs beyond the history length are garbage-collected", async () => {
		const second = (await s.api("POST", "/api/v1/projects/ART/workflows/art/runs", {})).body.number;
		for (let i = 0; i < 300; i++) {
			const r = (await s.api("GET", `/api/v1/projects/ART/workflows/art/runs/${second}`)).body;
			if (FINAL.has(r.status)) break;
			await new Promise((res) => setTimeout(res, 100));
		}
		const refs = await s.server.store.collection<{ _id: string; scope: string; sha256: string }>({
			name: "artifact_refs",
		});
		assert.equal((await refs.find({})).length, 2, "both runs uploaded an artifact");
		const blobs = async () => {
			const out: string[] = [];
			for await (const sha of (await import("../../services/support/runtime.ts"))
				.runtimeOf(s.server.broker)
				.artifacts.list())
				out.push(sha.sha256);
			return out;
		};
		assert.equal((await blobs()).length, 2);
		const first = (await s.server.broker.call("run.collectGarbage", { graceMs: 0 })) as {
			expiredRefs: number;
		};
		assert.equal(first.expiredRefs, 1, "the older run's reference expires");
		// A blob is deleted only once seen unreferenced twice (an upload writes its blob first).
		const second2 = (await s.server.broker.call("run.collectGarbage", { graceMs: 0 })) as {
			deletedBlobs: number;
		};
		assert.equal(second2.deletedBlobs, 1);
		const left = await refs.find({});
		assert.equal(left.length, 1);
		assert.match(left[0]!.scope, new RegExp(`/${String(second).padStart(10, "0")}$`));
		assert.deepEqual(await blobs(), [left[0]!.sha256]);
	});
});
