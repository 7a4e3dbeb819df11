// The run engine as a cluster of separate processes over real NATS and MongoDB (FerretDB):
// three hatchery replicas racing for 500 jobs, and nodes killed with kill -9 mid-run.
// Counts are read from the store and from what the jobs themselves wrote.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { MongoStore } from "../../src/store/index.ts";
import {
	type NodeProcess,
	spawnNode,
	stepWritableDir,
	tearDownCluster,
	testCluster,
} from "../helpers/cluster.ts";
import { apiClient, waitReady } from "../helpers/server.ts";
import { serverUrl } from "../helpers/servers.ts";

const nats = serverUrl("NATS_URL");
const mongo = serverUrl("MONGO_URL");
const WF = "/api/v1/projects/DEMO/workflows";
const FINAL = new Set(["Success", "Fail", "Stopped", "Skipped"]);

describe("run engine cluster over NATS and MongoDB", { skip: nats.skip || mongo.skip }, () => {
	const nodes: NodeProcess[] = [];
	let shared: Record<string, string>;
	let core: NodeProcess;
	let url: string;
	let api: ReturnType<typeof apiClient>;
	let dbUrl: string;
	let work: string;

	const hatchery = (name: string, extra: Record<string, string> = {}) => {
		const n = spawnNode(name, {
			...shared,
			SERVICES: "hatchery",
			CDS_HATCHERY_NAME: name,
			CDS_WORKER_BASEDIR: path.join(work, name),
			// Steps write their ledger there: the only host directory their sandbox shows.
			CDS_SANDBOX_SHARE: path.join(work, "shared"),
			...extra,
		});
		nodes.push(n);
		return n;
	};

	const startCore = async () => {
		const n = spawnNode("core", { ...shared, SERVICES: "api,auth,project,workflow,run" });
		nodes.push(n);
		await waitReady(url, 30_000).catch((e) => {
			throw new Error(`${e.message}\n${n.output.join("")}`);
		});
		return n;
	};

	async function waitRun(wf: string, n: number, timeoutMs = 120_000) {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const r = await api("GET", `${WF}/${wf}/runs/${n}`);
			if (r.status === 200 && FINAL.has(r.body.status)) return r.body;
			if (Date.now() > deadline)
				throw new Error(`run ${wf} #${n} not finished: ${JSON.stringify(r.body).slice(0, 500)}`);
			await new Promise((res) => setTimeout(res, 1000));
		}
	}

	before(async () => {
		work = mkdtempSync(path.join(tmpdir(), "cds-cluster-"));
		stepWritableDir(path.join(work, "shared"));
		const cluster = await testCluster(
			"cds_cluster",
			{ natsUrl: nats.url!, mongoUrl: mongo.url! },
			{
				CDS_WORKER_HEARTBEAT_SECONDS: "2",
				CDS_WORKER_HEARTBEAT_TIMEOUT_MS: "5000",
				CDS_MAX_JOBS_PER_PROJECT: "1000",
				CDS_MAX_JOBS_PER_WORKFLOW: "1000",
			},
		);
		({ dbUrl, url, env: shared } = cluster);
		core = await startCore();
		api = apiClient(url, shared.CDS_ADMIN_TOKEN!);
		assert.equal((await api("POST", "/api/v1/projects", { key: "DEMO", name: "Demo" })).status, 201);
	});

	after(() => tearDownCluster(nodes, [dbUrl], [work]));

	test("three hatchery replicas race for 500 jobs: each job runs exactly once", async () => {
		const ledger = path.join(work, "shared", "executions.log");
		const jobs = Array.from(
			{ length: 10 },
			(_, i) => `- job: j${i}\n  steps:\n  - script: echo "$CDS_RUN_NUMBER/$CDS_JOB" >> ${ledger}\n`,
		).join("");
		const files = [
			{ path: "w.yml", content: "name: RACE\nversion: v1.0\npipeline: fan\n" },
			{ path: "fan.pip.yml", content: `version: v1.0\nname: fan\njobs:\n${jobs}` },
		];
		assert.equal((await api("POST", "/api/v1/projects/DEMO/import", { files })).status, 200);
		const racers = ["h1", "h2", "h3"].map((h) =>
			hatchery(h, {
				CDS_HATCHERY_MAX_WORKERS: "2",
				CDS_HATCHERY_WARM_POOL: "2",
				CDS_HATCHERY_JOBS_PER_WORKER: "100000",
			}),
		);
		const numbers: number[] = [];
		for (let i = 0; i < 50; i++) numbers.push((await api("POST", `${WF}/RACE/runs`, {})).body.number);
		for (const n of numbers) assert.equal((await waitRun("RACE", n, 300_000)).status, "Success");

		const lines = readFileSync(ledger, "utf8").trim().split("\n");
		assert.equal(lines.length, 500, "every job ran once: no more, no less");
		assert.equal(new Set(lines).size, 500);
		const store = await MongoStore.connect(dbUrl);
		try {
			const jobsCol = await store.collection<{ _id: string; hatchery: string; status: string }>({
				name: "jobs",
			});
			const all = (await jobsCol.find({})).filter((j) => j._id.includes("/RACE/"));
			assert.equal(all.length, 500);
			assert.ok(all.every((j) => j.status === "Success"));
			const byHatchery = new Map<string, number>();
			for (const j of all) byHatchery.set(j.hatchery, (byHatchery.get(j.hatchery) ?? 0) + 1);
			assert.ok(byHatchery.size >= 2, `the replicas shared the work: ${JSON.stringify([...byHatchery])}`);
			const results = await store.collection({ name: "job_results" });
			assert.equal((await results.find({})).filter((r) => r._id.includes("/RACE/")).length, 500);
		} finally {
			await store.close();
		}
		for (const r of racers) await r.stop();
	});

	test("kill -9 of a hatchery node: its running job still finishes, and a replica takes new work", async () => {
		const files = [
			{ path: "w.yml", content: "name: HKILL\nversion: v1.0\npipeline: slow\n" },
			{
				path: "slow.pip.yml",
				content: "version: v1.0\nname: slow\njobs:\n- job: s\n  steps:\n  - script: sleep 2; echo ok\n",
			},
		];
		assert.equal((await api("POST", "/api/v1/projects/DEMO/import", { files })).status, 200);
		const a = hatchery("ha");
		const first = (await api("POST", `${WF}/HKILL/runs`, {})).body.number;
		for (let i = 0; i < 100; i++) {
			const r = (await api("GET", `${WF}/HKILL/runs/${first}`)).body;
			if (r.nodes[0].stages[0].jobs[0].status === "Building") break;
			await new Promise((res) => setTimeout(res, 100));
		}
		await a.kill9();
		assert.equal(
			(await waitRun("HKILL", first)).status,
			"Success",
			"the worker outlives its hatchery and reports",
		);
		const b = hatchery("hb");
		const second = (await api("POST", `${WF}/HKILL/runs`, {})).body.number;
		assert.equal((await waitRun("HKILL", second)).status, "Success");
		await b.stop();
	});

	test("kill -9 of the run node mid-run: the run finishes once the node is back", async () => {
		const files = [
			{
				path: "w.yml",
				content:
					"name: RKILL\nversion: v2.0\nworkflow:\n  one:\n    pipeline: step\n  two:\n    pipeline: step\n    depends_on: [one]\n",
			},
			{
				path: "step.pip.yml",
				content:
					"version: v1.0\nname: step\njobs:\n- job: s\n  steps:\n  - script: sleep 3; echo {{.cds.node}} done\n",
			},
		];
		assert.equal((await api("POST", "/api/v1/projects/DEMO/import", { files })).status, 200);
		const h = hatchery("hr");
		const n = (await api("POST", `${WF}/RKILL/runs`, {})).body.number;
		for (let i = 0; i < 100; i++) {
			const r = (await api("GET", `${WF}/RKILL/runs/${n}`)).body;
			if (r.nodes.find((x: { name: string }) => x.name === "one").stages[0].jobs[0].status === "Building")
				break;
			await new Promise((res) => setTimeout(res, 100));
		}
		await core.kill9();
		await new Promise((res) => setTimeout(res, 1500));
		core = await startCore();
		const run = await waitRun("RKILL", n);
		assert.equal(run.status, "Success", JSON.stringify(run.nodes));
		const logs = (await api("GET", `${WF}/RKILL/runs/${n}/logs`)).body.items
			.map((l: { text: string }) => l.text)
			.join("");
		assert.match(logs, /one done/);
		assert.match(logs, /two done/);
		await h.stop();
	});
});
