// Workflows through the Nova hatchery against the OpenStack stand-in, on a real cluster (NATS +
// FerretDB): a two-stage workflow runs end to end on servers that are all deleted afterwards;
// a build error and a quota refusal fail the job with Nova's reason; a job whose compute host
// died unheard (its server still ACTIVE) fails "worker lost" by the heartbeat timeout, since the
// hatchery does not vouch for ACTIVE servers; a hatchery killed with -9
// mid-run and restarted loses no job and leaves no orphan server — the server of a job stopped
// while it was down is deleted at its restart.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { hatcheryTag } from "../../src/hatchery/openstack/server-spec.ts";
import {
	type NodeProcess,
	spawnNode,
	stepWritableDir,
	tearDownCluster,
	testCluster,
} from "../helpers/cluster.ts";
import { apiClient, waitReady } from "../helpers/server.ts";
import { serverUrl } from "../helpers/servers.ts";
import type { OpenStackStandin } from "../standins/openstack/cloud.ts";
import { startStandin, until, WORKER_COMMAND } from "./nova-helpers.ts";

const nats = serverUrl("NATS_URL");
const mongo = serverUrl("MONGO_URL");
const WF = "/api/v1/projects/NOVA/workflows";
const FINAL = new Set(["Success", "Fail", "Stopped", "Skipped"]);

describe("workflows on the Nova hatchery (OpenStack stand-in)", { skip: nats.skip || mongo.skip }, () => {
	const nodes: NodeProcess[] = [];
	let cloud: OpenStackStandin;
	let shared: Record<string, string>;
	let dbUrl: string;
	let url: string;
	let work: string;
	let shareDir: string;
	let api: ReturnType<typeof apiClient>;

	const hatchery = (name: string) => {
		const n = spawnNode(name, {
			...shared,
			...cloud.env(),
			SERVICES: "hatchery",
			CDS_HATCHERY_DRIVER: "openstack",
			CDS_HATCHERY_NAME: name,
			CDS_HATCHERY_MODELS: `${name},${name}-broken`,
			CDS_HATCHERY_POLL_MS: "200",
			CDS_OPENSTACK_IMAGES: `${name}=cds-worker,${name}-broken=broken-image`,
			CDS_OPENSTACK_POLL_MS: "200",
			CDS_OPENSTACK_WORKER_COMMAND: WORKER_COMMAND,
			CDS_WORKER_BASEDIR: path.join(work, "workers", name),
			CDS_SANDBOX_SHARE: shareDir,
		});
		nodes.push(n);
		return n;
	};
	const serversOf = (name: string) => cloud.listServers().filter((s) => s.tags.includes(hatcheryTag(name)));

	async function importWorkflow(name: string, jobs: string) {
		const files = [
			{ path: `${name}.yml`, content: `name: ${name}\nversion: v1.0\npipeline: ${name}-p\n` },
			{ path: `${name}-p.pip.yml`, content: `version: v1.0\nname: ${name}-p\n${jobs}` },
		];
		const r = await api("POST", "/api/v1/projects/NOVA/import", { files });
		assert.equal(r.status, 200, JSON.stringify(r.body));
	}
	const job = (name: string, model: string, script: string, stage = "") =>
		`- job: ${name}\n${stage ? `  stage: ${stage}\n` : ""}  requirements:\n  - model: ${model}\n  steps:\n  - script: ${JSON.stringify(script)}\n`;
	const startRun = async (wf: string) => {
		const r = await api("POST", `${WF}/${wf}/runs`, {});
		assert.equal(r.status, 201, JSON.stringify(r.body));
		return r.body.number as number;
	};
	const getRun = async (wf: string, n: number) => (await api("GET", `${WF}/${wf}/runs/${n}`)).body;
	const waitRun = (wf: string, n: number, timeoutMs = 120_000) =>
		until(
			`run ${wf} #${n} to end`,
			async () => {
				const r = await getRun(wf, n);
				return FINAL.has(r?.status) ? r : undefined;
			},
			timeoutMs,
		);
	const logs = async (wf: string, n: number) =>
		((await api("GET", `${WF}/${wf}/runs/${n}/logs`)).body?.items ?? [])
			.map((l: { text: string }) => l.text)
			.join("");
	const jobsOf = (run: {
		nodes: Array<{ stages: Array<{ jobs: Array<{ status: string; reason?: string }> }> }>;
	}) => run.nodes.flatMap((n) => n.stages.flatMap((s) => s.jobs));

	before(async () => {
		work = mkdtempSync(path.join(tmpdir(), "nova-wf-"));
		shareDir = stepWritableDir(path.join(work, "shared"));
		cloud = await startStandin({ dir: path.join(work, "cloud") });
		const cluster = await testCluster(
			"cds_nova",
			{ natsUrl: nats.url!, mongoUrl: mongo.url! },
			{ CDS_WORKER_HEARTBEAT_SECONDS: "1", CDS_WORKER_HEARTBEAT_TIMEOUT_MS: "5000" },
		);
		({ dbUrl, url, env: shared } = cluster);
		const core = spawnNode("core", { ...shared, SERVICES: "api,auth,project,workflow,run" });
		nodes.push(core);
		await waitReady(url, 60_000).catch((e) => {
			throw new Error(`${e.message}\n${core.output.join("")}`);
		});
		api = apiClient(url, shared.CDS_ADMIN_TOKEN!);
		assert.equal((await api("POST", "/api/v1/projects", { key: "NOVA", name: "Nova" })).status, 201);
	});

	after(async () => {
		await tearDownCluster(nodes, [dbUrl], []);
		await cloud?.stop();
		rmSync(work, { recursive: true, force: true });
	});

	test("a two-stage workflow runs end to end on Nova servers, all deleted afterwards", async () => {
		const h = hatchery("nova-e2e");
		await importWorkflow(
			"E2E",
			`stages:\n- build\n- test\njobs:\n${job("compile", "nova-e2e", "echo compiled on $(hostname)", "build")}${job("check", "nova-e2e", "echo checked", "test")}`,
		);
		const n = await startRun("E2E");
		const run = await waitRun("E2E", n);
		assert.equal(run.status, "Success", JSON.stringify(run.nodes));
		const text = await logs("E2E", n);
		assert.match(text, /compiled on/);
		assert.match(text, /checked/);
		await until("every server to be deleted", () => serversOf("nova-e2e").length === 0);
		await h.stop();
	});

	test("a build error and a quota refusal fail the job with Nova's reason", async () => {
		const h = hatchery("nova-err");
		await importWorkflow("BROKEN", `jobs:\n${job("j", "nova-err-broken", "echo never")}`);
		const broken = await waitRun("BROKEN", await startRun("BROKEN"));
		assert.equal(broken.status, "Fail");
		assert.match(jobsOf(broken)[0]!.reason ?? "", /Build of instance .* aborted/);
		cloud.quota = { instances: 0, code: 413 };
		try {
			await importWorkflow("QUOTA", `jobs:\n${job("j", "nova-err", "echo never")}`);
			const quota = await waitRun("QUOTA", await startRun("QUOTA"));
			assert.equal(quota.status, "Fail");
			assert.match(jobsOf(quota)[0]!.reason ?? "", /Quota exceeded for instances/);
		} finally {
			cloud.quota = undefined;
		}
		await until("no server left", () => serversOf("nova-err").length === 0);
		await h.stop();
	});

	test("a compute host dead unheard (its server still ACTIVE): the job fails by the heartbeat timeout", async () => {
		const h = hatchery("nova-dead");
		await importWorkflow("HOSTDEAD", `jobs:\n${job("j", "nova-dead", "echo started; sleep 120")}`);
		const n = await startRun("HOSTDEAD");
		await until("the step to start", async () => (await logs("HOSTDEAD", n)).includes("started"), 60_000);
		const [server] = serversOf("nova-dead");
		assert.ok(server, "its server");
		cloud.hostDies(server.name);
		// Nova keeps the server ACTIVE for good: a hatchery vouching for ACTIVE servers would keep
		// the job Building; the heartbeat timeout here is 5 s.
		const run = await waitRun("HOSTDEAD", n, 60_000);
		assert.equal(run.status, "Fail");
		assert.equal(jobsOf(run)[0]!.reason, "worker lost");
		const status = cloud.serverByName(server.name)?.status;
		assert.ok(status === undefined || status === "ACTIVE", `Nova never said otherwise (${status})`);
		// The reconcile (every 30 s) deletes the server of a job that is over.
		await until("no server left", () => serversOf("nova-dead").length === 0, 60_000);
		await h.stop();
	});

	test("kill -9 of the hatchery mid-run, then a restart: no job lost, no orphan server", async () => {
		const name = "nova-restart";
		const gate = path.join(shareDir, "restart.gate");
		let h = hatchery(name);
		const wait = `echo started; for i in $(seq 1 600); do [ -e ${gate} ] && break; sleep 0.2; done; echo finished`;
		await importWorkflow("KEEP", `jobs:\n${job("j", name, wait)}`);
		await importWorkflow("DROP", `jobs:\n${job("j", name, "echo started; sleep 300")}`);
		const keep = await startRun("KEEP");
		const drop = await startRun("DROP");
		await until(
			"both steps to start",
			async () =>
				(await logs("KEEP", keep)).includes("started") && (await logs("DROP", drop)).includes("started"),
		);
		assert.equal(serversOf(name).length, 2);
		await h.kill9();
		// While no hatchery looks, one run is stopped: its server is an orphan now.
		assert.equal((await api("POST", `${WF}/DROP/runs/${drop}/stop`, {})).status, 200);
		assert.equal((await waitRun("DROP", drop)).status, "Stopped");
		h = hatchery(name);
		await until("the orphan server to be deleted", () => serversOf(name).length === 1, 60_000);
		writeFileSync(gate, "");
		const run = await waitRun("KEEP", keep);
		assert.equal(run.status, "Success", JSON.stringify(run.nodes));
		assert.match(await logs("KEEP", keep), /finished/);
		await until("no server left", () => serversOf(name).length === 0);
		await h.stop();
	});
});
