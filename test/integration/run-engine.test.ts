// The run engine through its real API, with the worker side played over HTTP by the test
// (book like a hatchery, report like a worker): order of nodes, conditions, job-scoped
// tokens, logs, stop, manual resume, lost workers and unservable jobs.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { bookAll, completeJob } from "../helpers/scripted-worker.ts";
import { apiClient, startTestServer, type TestServer } from "../helpers/server.ts";
import { corpus, corpusPath } from "../helpers/corpus.ts";

const WF = "/api/v1/projects/DEMO/workflows";

function corpusSet(dir: string) {
	const full = corpusPath(dir);
	return readdirSync(full).map((f) => ({ path: f, content: readFileSync(path.join(full, f), "utf8") }));
}

async function until<T>(
	what: string,
	fn: () => Promise<T | undefined | false>,
	timeoutMs = 10_000,
): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const v = await fn();
		if (v) return v;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

let srv: TestServer;

/** Completes whatever is still queued (earlier tests' runs), so each test starts clean. */
async function drain() {
	for (let i = 0; i < 10; i++) {
		const jobs = await bookAll(srv.server.broker, srv.url, { models: ["Node8.9.1"] });
		if (jobs.length === 0) return;
		for (const j of jobs) await completeJob(j);
	}
}

describe("run engine", { skip: corpus.skip }, () => {
	before(async () => {
		srv = await startTestServer({
			SERVICES: "api,auth,project,workflow,run",
			CDS_WORKER_HEARTBEAT_TIMEOUT_MS: "1000",
			CDS_NO_HATCHERY_TIMEOUT_MS: "1000",
		});
		assert.equal((await srv.api("POST", "/api/v1/projects", { key: "DEMO", name: "Demo" })).status, 201);
		assert.equal((await srv.api("POST", "/api/v1/projects", { key: "OTHER", name: "Other" })).status, 201);
		const imported = await srv.api("POST", "/api/v1/projects/DEMO/import", {
			files: corpusSet("ITSCWRKFLW3"),
		});
		assert.equal(imported.status, 200, JSON.stringify(imported.body));
	});
	after(async () => srv?.stop());

	test("ITSCWRKFLW3 on master: fork, both builds in parallel, the join after both, deploy last", async () => {
		const created = await srv.api("POST", `${WF}/ITSCWRKFLW3-WORKFLOW/runs`, {
			params: { "git.branch": "master" },
		});
		assert.equal(created.status, 201, JSON.stringify(created.body));
		const n = created.body.number;
		const rounds: string[][] = [];
		for (let round = 0; round < 6; round++) {
			const jobs = await bookAll(srv.server.broker, srv.url, { models: ["Node8.9.1"] });
			if (jobs.length === 0) break;
			rounds.push(jobs.map((j) => j.jobId.split("/")[3]!).sort());
			for (const j of jobs) await completeJob(j);
		}
		assert.deepEqual(rounds, [["build_api", "build_front"], ["tests"], ["deploy"]]);
		const run = (await srv.api("GET", `${WF}/ITSCWRKFLW3-WORKFLOW/runs/${n}`)).body;
		assert.equal(run.status, "Success");
		const at = (name: string) => run.nodes.find((x: { name: string }) => x.name === name);
		const t = (name: string, f: "startedAt" | "doneAt") => Date.parse(at(name)[f]);
		assert.ok(t("root", "doneAt") <= t("fork", "startedAt"));
		assert.ok(t("build_front", "doneAt") <= t("tests", "startedAt"));
		assert.ok(t("build_api", "doneAt") <= t("tests", "startedAt"));
		assert.ok(t("tests", "doneAt") <= t("deploy", "startedAt"));
	});

	test("its root condition on git.branch skips the whole workflow on another branch", async () => {
		const created = await srv.api("POST", `${WF}/ITSCWRKFLW3-WORKFLOW/runs`, {
			params: { "git.branch": "feature/x" },
		});
		assert.equal(created.body.status, "Skipped");
		assert.ok(created.body.nodes.every((n: { status: string }) => n.status === "Skipped"));
		assert.match(created.body.nodes.find((n: { name: string }) => n.name === "root").reason, /git\.branch/);
		assert.deepEqual(await bookAll(srv.server.broker, srv.url, { models: ["Node8.9.1"] }), []);
	});

	test("a worker token reaches its own job and nothing else, and dies with the job", async () => {
		await srv.api("POST", `${WF}/ITSCWRKFLW3-WORKFLOW/runs`, { params: { "git.branch": "master" } });
		const [job, other] = await bookAll(srv.server.broker, srv.url, { models: ["Node8.9.1"] });
		assert.ok(job && other);
		const spec = await job.api("GET", "/api/v1/worker/job");
		assert.equal(spec.status, 200);
		assert.equal(spec.body.id, job.jobId);
		assert.equal(spec.body.variables["git.branch"], "master");
		assert.equal(spec.body.variables["cds.project"], "DEMO");
		for (const [m, url] of [
			["GET", "/api/v1/projects"],
			["GET", "/api/v1/projects/DEMO"],
			["GET", "/api/v1/projects/DEMO/variables"],
			["GET", "/api/v1/projects/OTHER"],
			["POST", `${WF}/ITSCWRKFLW3-WORKFLOW/runs`],
			["GET", `${WF}/ITSCWRKFLW3-WORKFLOW/runs/1/logs`],
			["GET", "/api/v1/auth/tokens"],
		]) {
			const r = await job.api(m!, url!, m === "POST" ? {} : undefined);
			assert.equal(r.status, 403, `${m} ${url} with a worker token → ${r.status}`);
		}
		// An ordinary token cannot use the worker routes.
		assert.equal((await srv.api("GET", "/api/v1/worker/job")).status, 403);
		// The token names its job and lives in the job's booking: no token document, and neither
		// another secret nor the other job's name opens anything.
		assert.match(job.token, /^cdsw_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
		const listed = (await srv.api("GET", "/api/v1/auth/tokens?limit=100")).body.items as Array<{
			name: string;
		}>;
		assert.ok(!listed.some((t) => t.name.startsWith("worker for")), JSON.stringify(listed));
		const [named, secret] = job.token.split(".");
		const forged = [
			`${named}.${other.token.split(".")[1]}`,
			`${other.token.split(".")[0]}.${secret}`,
			`cdsw_${Buffer.from("DEMO/nothing/1/build/j0/a0").toString("base64url")}.${secret}`,
		];
		for (const token of forged) {
			const r = await apiClient(srv.url, token)("GET", "/api/v1/worker/job");
			assert.equal(r.status, 401, `a forged token (${token.slice(0, 24)}…) → ${r.status}`);
		}
		await completeJob(job);
		assert.equal((await job.api("GET", "/api/v1/worker/job")).status, 401, "the token ends with its job");
		await completeJob(other);
		await drain();
	});

	test("log entries are stored once each, in order, even when a batch is sent twice", async () => {
		const created = await srv.api("POST", `${WF}/ITSCWRKFLW3-WORKFLOW/runs`, {
			params: { "git.branch": "master" },
		});
		const [job] = await bookAll(srv.server.broker, srv.url, { models: ["Node8.9.1"] });
		assert.ok(job);
		await job.api("GET", "/api/v1/worker/job");
		const batch = { entries: [0, 1, 2].map((seq) => ({ step: 0, seq, text: `line ${seq}\n` })) };
		assert.equal((await job.api("POST", "/api/v1/worker/job/logs", batch)).body.stored, 3);
		assert.equal((await job.api("POST", "/api/v1/worker/job/logs", batch)).body.stored, 0);
		await job.api("POST", "/api/v1/worker/job/logs", { entries: [{ step: 1, seq: 0, text: "step two\n" }] });
		const logs = await srv.api(
			"GET",
			`${WF}/ITSCWRKFLW3-WORKFLOW/runs/${created.body.number}/logs?job=${encodeURIComponent(job.jobId)}`,
		);
		assert.deepEqual(
			logs.body.items.map((l: { text: string }) => l.text),
			["line 0\n", "line 1\n", "line 2\n", "step two\n"],
		);
		await completeJob(job);
		await drain();
	});

	test("password variables are masked in stored logs even when a worker forgets to", async () => {
		const secret = "hunter2-very-secret";
		await srv.api("POST", "/api/v1/projects/DEMO/variables", {
			name: "deploy.password",
			type: "password",
			value: secret,
		});
		const created = await srv.api("POST", `${WF}/ITSCWRKFLW3-WORKFLOW/runs`, {
			params: { "git.branch": "master" },
		});
		const [job] = await bookAll(srv.server.broker, srv.url, { models: ["Node8.9.1"] });
		assert.ok(job);
		const spec = await job.api("GET", "/api/v1/worker/job");
		assert.equal(
			spec.body.variables["cds.proj.deploy.password"],
			secret,
			"the worker of the job gets the clear value",
		);
		assert.ok(spec.body.secrets.includes(secret));
		await job.api("POST", "/api/v1/worker/job/logs", {
			entries: [{ step: 0, seq: 0, text: `echo ${secret}\n${Buffer.from(secret).toString("base64")}\n` }],
		});
		const logs = await srv.api(
			"GET",
			`${WF}/ITSCWRKFLW3-WORKFLOW/runs/${created.body.number}/logs?job=${encodeURIComponent(job.jobId)}`,
		);
		const text = logs.body.items.map((l: { text: string }) => l.text).join("");
		assert.ok(!text.includes(secret));
		assert.ok(!text.includes(Buffer.from(secret).toString("base64")));
		assert.match(text, /\*{10}/);
		await completeJob(job);
		await drain();
	});

	test("stopping a run stops its jobs; the worker learns it from its heartbeat", async () => {
		const created = await srv.api("POST", `${WF}/ITSCWRKFLW3-WORKFLOW/runs`, {
			params: { "git.branch": "master" },
		});
		const [job] = await bookAll(srv.server.broker, srv.url, { models: ["Node8.9.1"] });
		assert.ok(job);
		await job.api("GET", "/api/v1/worker/job");
		assert.deepEqual((await job.api("POST", "/api/v1/worker/job/heartbeat", {})).body, { stop: false });
		const stopped = await srv.api("POST", `${WF}/ITSCWRKFLW3-WORKFLOW/runs/${created.body.number}/stop`, {});
		assert.equal(stopped.status, 200);
		assert.equal(stopped.body.status, "Stopped");
		const beat = await job.api("POST", "/api/v1/worker/job/heartbeat", {});
		assert.ok(
			beat.status === 401 || beat.body.stop === true,
			"the worker is told to stop (or its token is gone)",
		);
		assert.deepEqual(
			await bookAll(srv.server.broker, srv.url, { models: ["Node8.9.1"] }),
			[],
			"nothing left queued",
		);
	});

	test("a worker that stops heartbeating is lost; a job with retry runs again as attempt 2", async () => {
		const files = [
			{ path: "w.yml", content: "name: RETRY\nversion: v1.0\npipeline: flaky\n" },
			{
				path: "flaky.pip.yml",
				content:
					"version: v1.0\nname: flaky\njobs:\n- job: once\n  retry: 1\n  steps:\n  - script: echo hi\n",
			},
		];
		assert.equal((await srv.api("POST", "/api/v1/projects/DEMO/import", { files })).status, 200);
		const created = await srv.api("POST", `${WF}/RETRY/runs`, {});
		const [first] = await bookAll(srv.server.broker, srv.url);
		assert.ok(first?.jobId.endsWith("/a1"));
		await first.api("GET", "/api/v1/worker/job");
		// No heartbeat: the reaper declares the worker lost, and the retry queues attempt 2.
		const second = await until("attempt 2 queued", async () => {
			const jobs = await bookAll(srv.server.broker, srv.url);
			return jobs[0];
		});
		assert.ok(second.jobId.endsWith("/a2"));
		await completeJob(second);
		const run = (await srv.api("GET", `${WF}/RETRY/runs/${created.body.number}`)).body;
		assert.equal(run.status, "Success");
		const job = run.nodes[0].stages[0].jobs[0];
		assert.equal(job.attempt, 2);
	});

	test("a job no hatchery can serve fails with the reason, instead of waiting for ever", async () => {
		const files = [
			{ path: "w.yml", content: "name: NOMODEL\nversion: v1.0\npipeline: gpu\n" },
			{
				path: "gpu.pip.yml",
				content:
					"version: v1.0\nname: gpu\njobs:\n- job: train\n  requirements:\n  - model: cuda-12\n  steps:\n  - script: nvidia-smi\n",
			},
		];
		assert.equal((await srv.api("POST", "/api/v1/projects/DEMO/import", { files })).status, 200);
		const created = await srv.api("POST", `${WF}/NOMODEL/runs`, {});
		assert.deepEqual(await bookAll(srv.server.broker, srv.url, { models: ["Node8.9.1"] }), []);
		const run = await until("the run to fail", async () => {
			const r = (await srv.api("GET", `${WF}/NOMODEL/runs/${created.body.number}`)).body;
			return r.status === "Fail" ? r : undefined;
		});
		assert.equal(run.nodes[0].stages[0].jobs[0].reason, "no hatchery offers model cuda-12");
	});

	test("a manual node waits, and its resume records who", async () => {
		const files = [
			{
				path: "w.yml",
				content:
					"name: MANUAL\nversion: v2.0\nworkflow:\n  build:\n    pipeline: p\n  release:\n    pipeline: p\n    depends_on: [build]\n    when: [manual]\n",
			},
			{ path: "p.pip.yml", content: "version: v1.0\nname: p\njobs:\n- job: j\n  steps:\n  - script: echo\n" },
		];
		const imp = await srv.api("POST", "/api/v1/projects/DEMO/import", { files });
		assert.equal(imp.status, 200, JSON.stringify(imp.body));
		const created = await srv.api("POST", `${WF}/MANUAL/runs`, {});
		for (const j of await bookAll(srv.server.broker, srv.url)) await completeJob(j);
		const waiting = (await srv.api("GET", `${WF}/MANUAL/runs/${created.body.number}`)).body;
		assert.equal(waiting.status, "Manual");
		const resumed = await srv.api("POST", `${WF}/MANUAL/runs/${created.body.number}/resume`, {
			node: "release",
		});
		assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
		assert.equal(
			resumed.body.nodes.find((n: { name: string }) => n.name === "release").resumedBy,
			"admin-env",
		);
		for (const j of await bookAll(srv.server.broker, srv.url)) await completeJob(j);
		assert.equal((await srv.api("GET", `${WF}/MANUAL/runs/${created.body.number}`)).body.status, "Success");
	});
});

describe("run engine: restarts and one_at_a_time", () => {
	let s: TestServer;
	before(async () => {
		s = await startTestServer({ SERVICES: "api,auth,project,workflow,run" });
		await s.api("POST", "/api/v1/projects", { key: "DEMO", name: "Demo" });
		const files = [
			{
				path: "w.yml",
				content:
					"name: CHAIN\nversion: v2.0\nworkflow:\n  build:\n    pipeline: p\n  deploy:\n    pipeline: p\n    depends_on: [build]\n    one_at_a_time: true\n",
			},
			{ path: "p.pip.yml", content: "version: v1.0\nname: p\njobs:\n- job: j\n  steps:\n  - script: echo\n" },
		];
		assert.equal((await s.api("POST", "/api/v1/projects/DEMO/import", { files })).status, 200);
	});
	after(async () => s?.stop());

	test("one_at_a_time: a later run's node waits until the earlier run's one is done", async () => {
		const r1 = (await s.api("POST", `${WF}/CHAIN/runs`, {})).body.number;
		const r2 = (await s.api("POST", `${WF}/CHAIN/runs`, {})).body.number;
		for (const j of await bookAll(s.server.broker, s.url)) await completeJob(j); // both builds
		const first = await bookAll(s.server.broker, s.url);
		assert.deepEqual(
			first.map((j) => j.jobId.split("/")[2]),
			[String(r1).padStart(10, "0")],
			"only the earlier run's deploy may start",
		);
		assert.deepEqual(await bookAll(s.server.broker, s.url), []);
		await completeJob(first[0]!);
		const second = await bookAll(s.server.broker, s.url);
		assert.deepEqual(
			second.map((j) => j.jobId.split("/")[2]),
			[String(r2).padStart(10, "0")],
		);
		await completeJob(second[0]!);
	});

	test("restart re-runs a node and its subtree as a sub-run of the same number", async () => {
		const n = (await s.api("POST", `${WF}/CHAIN/runs`, {})).body.number;
		for (let i = 0; i < 2; i++) for (const j of await bookAll(s.server.broker, s.url)) await completeJob(j);
		assert.equal((await s.api("GET", `${WF}/CHAIN/runs/${n}`)).body.status, "Success");
		const restarted = await s.api("POST", `${WF}/CHAIN/runs/${n}/restart`, { node: "deploy" });
		assert.equal(restarted.status, 201, JSON.stringify(restarted.body));
		assert.equal(restarted.body.number, n);
		assert.equal(restarted.body.sub, 1);
		const nodes = Object.fromEntries(
			restarted.body.nodes.map((x: { name: string; status: string }) => [x.name, x.status]),
		);
		assert.deepEqual(nodes, { build: "Success", deploy: "Building" });
		const jobs = await bookAll(s.server.broker, s.url);
		assert.equal(jobs.length, 1);
		assert.match(jobs[0]!.jobId, /\.001\/deploy\//);
		await completeJob(jobs[0]!);
		const after = (await s.api("GET", `${WF}/CHAIN/runs/${n}`)).body;
		assert.equal(after.sub, 1);
		assert.equal(after.status, "Success");
	});
});
