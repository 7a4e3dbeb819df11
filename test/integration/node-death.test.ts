// Node death is not job death: nodes are separate processes killed with kill -9 mid-step and
// restarted, while the worker of a job (a child the dead node left behind) goes on. The run
// must end in its true state — Success, without `retry` — with every log line the step wrote;
// a worker that really dies still fails its job.

import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { type NodeProcess, spawnNode, tearDownCluster, testCluster } from "../helpers/cluster.ts";
import { apiClient, freePort, waitReady } from "../helpers/server.ts";
import { serverUrl } from "../helpers/servers.ts";

const nats = serverUrl("NATS_URL");
const mongo = serverUrl("MONGO_URL");
const WF = "/api/v1/projects/DEMO/workflows";
const FINAL = new Set(["Success", "Fail", "Stopped", "Skipped"]);
const LINES = 8;

/** One line a second, then a second step: the outage falls in the middle of the first. */
const FILES = [
	{ path: "w.yml", content: "name: SLOW\nversion: v1.0\npipeline: slow\n" },
	{
		path: "slow.pip.yml",
		content: `version: v1.0\nname: slow\njobs:\n- job: s\n  steps:\n  - script: for i in $(seq 1 ${LINES}); do echo line $i; sleep 1; done\n  - script: echo second step\n`,
	},
];

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

type Api = ReturnType<typeof apiClient>;

async function logsOf(api: Api, n: number): Promise<string> {
	const r = await api("GET", `${WF}/SLOW/runs/${n}/logs`);
	if (r.status !== 200) return "";
	return (r.body.items as { text: string }[]).map((l) => l.text).join("");
}

/** Starts a run and waits until its step has written a few lines. */
async function startMidStep(api: Api): Promise<number> {
	await waitRunRoutes(api);
	const created = await api("POST", `${WF}/SLOW/runs`, {});
	assert.equal(created.status, 201, JSON.stringify(created.body));
	const n = created.body.number as number;
	for (let i = 0; i < 300; i++) {
		if ((await logsOf(api, n)).includes("line 2\n")) return n;
		await sleep(100);
	}
	throw new Error(`run #${n} never reached its step`);
}

/** /health/ready speaks for the gateway's node; the run routes come with the run node. */
async function waitRunRoutes(api: Api): Promise<void> {
	for (let i = 0; i < 300; i++) {
		if ((await api("GET", `${WF}/SLOW/runs`).catch(() => ({ status: 0 }))).status === 200) return;
		await sleep(100);
	}
	throw new Error("the run routes never came");
}

/** Worker processes whose parent is `pid` (the node that started them). */
function childWorkers(pid: number): number[] {
	const found: number[] = [];
	for (const entry of readdirSync("/proc")) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
			const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
			if (ppid === pid && readFileSync(`/proc/${entry}/cmdline`, "utf8").includes("cds-worker"))
				found.push(Number(entry));
		} catch {
			// Gone meanwhile.
		}
	}
	return found;
}

async function waitRun(api: Api, n: number, timeoutMs = 90_000) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const r = await api("GET", `${WF}/SLOW/runs/${n}`).catch(() => ({ status: 0, body: undefined }));
		if (r.status === 200 && FINAL.has(r.body.status)) return r.body;
		if (Date.now() > deadline)
			throw new Error(`run #${n} not finished: ${JSON.stringify(r.body).slice(0, 500)}`);
		await sleep(500);
	}
}

/** Success, one attempt, and every line exactly once. */
async function assertTrueEnd(api: Api, n: number, nodes: NodeProcess[]) {
	const run = await waitRun(api, n);
	const job = run.nodes[0].stages[0].jobs[0];
	const context = () =>
		`${JSON.stringify(run.nodes)}\n${nodes
			.flatMap((x) => x.output)
			.join("")
			.slice(-4000)}`;
	assert.equal(run.status, "Success", context());
	assert.equal(job.status, "Success", context());
	const logs = await logsOf(api, n);
	for (let i = 1; i <= LINES; i++) {
		assert.equal(logs.split(`line ${i}\n`).length, 2, `"line ${i}" exactly once in:\n${logs}`);
	}
	assert.equal(logs.split("second step\n").length, 2, logs);
}

describe("node death is not job death", { skip: nats.skip || mongo.skip }, () => {
	const nodes: NodeProcess[] = [];
	const dirs: string[] = [];
	const dbs: string[] = [];
	let work: string;

	before(() => {
		work = mkdtempSync(path.join(tmpdir(), "cds-node-death-"));
		dirs.push(work);
	});

	after(() => tearDownCluster(nodes, dbs, dirs));

	test("single server: kill -9 mid-step and a restart 1 s later end in Success with every line", async () => {
		const port = await freePort();
		const url = `http://127.0.0.1:${port}`;
		const token = "admin-token-single-node-death";
		const env = {
			CDS_DATA_DIR: path.join(work, "single"),
			CDS_API_PORT: String(port),
			CDS_API_HOST: "127.0.0.1",
			CDS_PUBLIC_URL: url,
			CDS_ADMIN_TOKEN: token,
			CDS_HATCHERY_NAME: "single",
			CDS_WORKER_HEARTBEAT_TIMEOUT_MS: "5000",
		};
		const start = async () => {
			const n = spawnNode("single", env);
			nodes.push(n);
			await waitReady(url, 30_000);
			return n;
		};
		let server = await start();
		const api = apiClient(url, token);
		assert.equal((await api("POST", "/api/v1/projects", { key: "DEMO", name: "Demo" })).status, 201);
		assert.equal((await api("POST", "/api/v1/projects/DEMO/import", { files: FILES })).status, 200);
		const n = await startMidStep(api);
		await server.kill9();
		await sleep(1000);
		server = await start();
		await assertTrueEnd(api, n, [server]);
		await server.stop();
	});

	describe("a cluster of two nodes over NATS and FerretDB", () => {
		let front: NodeProcess;
		let core: NodeProcess;
		let shared: Record<string, string>;
		let url: string;
		let api: Api;

		const startFront = async () => {
			front = spawnNode("front", { ...shared, SERVICES: "api,auth,project,workflow" });
			nodes.push(front);
		};
		const startCore = async (extra: Record<string, string> = {}) => {
			core = spawnNode("core", {
				...shared,
				SERVICES: "run,hatchery,hook",
				// The same node after a restart: its data and its workers' directory and pid file.
				CDS_DATA_DIR: path.join(work, "core"),
				CDS_HATCHERY_NAME: "core",
				...extra,
			});
			nodes.push(core);
		};

		before(async () => {
			const cluster = await testCluster(
				"cds_node_death",
				{ natsUrl: nats.url!, mongoUrl: mongo.url! },
				{
					// Shorter than every outage below: a worker waiting for the API must not look lost.
					CDS_WORKER_HEARTBEAT_TIMEOUT_MS: "5000",
					// Calls the gateway had in flight to the killed node fail sooner (test time only).
					CDS_REQUEST_TIMEOUT_MS: "5000",
				},
			);
			({ url, env: shared } = cluster);
			dbs.push(cluster.dbUrl);
			await startFront();
			await startCore();
			await waitReady(url, 30_000);
			api = apiClient(url, shared.CDS_ADMIN_TOKEN!);
			assert.equal((await api("POST", "/api/v1/projects", { key: "DEMO", name: "Demo" })).status, 201);
			assert.equal((await api("POST", "/api/v1/projects/DEMO/import", { files: FILES })).status, 200);
		});

		test("kill -9 of the run+hatchery+hook node, back 1 s later: the new hatchery adopts the worker", async () => {
			const n = await startMidStep(api);
			await core.kill9();
			await sleep(1000);
			await startCore();
			await assertTrueEnd(api, n, [front, core]);
			const text = core.output.join("");
			assert.doesNotMatch(text, /killed \d+ worker/, text.slice(-3000));
		});

		test("kill -9 of the run+hatchery+hook node, back after the step ended: the result is delivered late", async () => {
			const n = await startMidStep(api);
			await core.kill9();
			// The step ends meanwhile; the worker keeps its lines and its result.
			await sleep(LINES * 1000 + 2000);
			await startCore();
			await assertTrueEnd(api, n, [front, core]);
			// The gateway answered 503 meanwhile: a node's loss is one warning line, not an error's stack.
			const gateway = front.output.join("");
			assert.doesNotMatch(gateway, /Request error!|ERROR +API/, gateway.slice(-3000));
		});

		test("kill -9 of the worker itself: its job fails 'worker lost' (its hatchery no longer vouches)", async () => {
			const n = await startMidStep(api);
			const workers = childWorkers(core.child.pid!);
			assert.equal(workers.length, 1, `one worker under the core node: ${workers}`);
			process.kill(workers[0]!, "SIGKILL");
			const run = await waitRun(api, n);
			assert.equal(run.status, "Fail");
			assert.equal(run.nodes[0].stages[0].jobs[0].reason, "worker lost");
		});

		test("kill -9 of the api node mid-step: the worker retries until a gateway is back", async () => {
			const n = await startMidStep(api);
			await front.kill9();
			await sleep(8000);
			await startFront();
			await waitReady(url, 30_000);
			await assertTrueEnd(api, n, [front, core]);
		});

		test("SIGTERM of the run+hatchery+hook node, no other run replica: its job ends during the drain, then it exits", async () => {
			// The README's cluster: this node holds the only run service. Drained as in production;
			// a job still running after the drain would be stopped (and its run end Stopped).
			await core.stop();
			await startCore({ CDS_HATCHERY_DRAIN_SECONDS: "40", CDS_HATCHERY_ON_STOP: "stop" });
			const n = await startMidStep(api);
			const t0 = Date.now();
			await core.stop(60_000);
			const took = Date.now() - t0;
			const text = core.output.join("");
			assert.doesNotMatch(text, /still running/, text.slice(-3000));
			// The step had at most 7 lines and a second step left: it ended well before the drain's 40 s.
			assert.ok(took < 25_000, `the node exited ${took} ms after SIGTERM:\n${text.slice(-3000)}`);
			// Read through the restarted node (this one held the run routes); with ON_STOP=stop, a job
			// the drain had not seen end would be Stopped.
			await startCore();
			await assertTrueEnd(api, n, [front, core]);
		});
	});
});
