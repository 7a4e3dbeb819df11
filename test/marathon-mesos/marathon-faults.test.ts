// The Marathon driver's fault matrix against the Marathon stand-in, on a real cluster (NATS +
// FerretDB): a workflow of two stages runs to Success on Marathon; a task lost with its agent,
// a task killed as unhealthy and a deployment whose task cannot start each end their job Fail
// with Marathon's reason, at once (no heartbeat timeout), and leave no app; an app no offer fits
// fails its job after the start timeout with the queue's reason; a task whose machine died
// unheard (still TASK_RUNNING in Marathon) fails its job by the heartbeat timeout, since the
// hatchery does not vouch for it; a hatchery killed
// with -9 while its job finishes, restarted under the same name, loses no job and deletes the
// finished job's app (no orphan).

import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import {
	type NodeProcess,
	spawnNode,
	stepWritableDir,
	tearDownCluster,
	testCluster,
} from "../helpers/cluster.ts";
import { apiClient, waitReady } from "../helpers/server.ts";
import { serverUrl } from "../helpers/servers.ts";
import { type Marathon, startMarathon, until, WORKER_COMMAND } from "./marathon-helpers.ts";

const nats = serverUrl("NATS_URL");
const mongo = serverUrl("MONGO_URL");
const WF = "/api/v1/projects/MFAULT/workflows";
const FINAL = new Set(["Success", "Fail", "Stopped", "Skipped"]);

describe("Marathon driver: workflows and the fault matrix", { skip: nats.skip || mongo.skip }, () => {
	let marathon: Marathon;
	let work: string;
	let dbUrl: string;
	let url: string;
	let shared: Record<string, string>;
	let api: ReturnType<typeof apiClient>;
	const nodes: NodeProcess[] = [];

	const hatchery = (name: string, extra: Record<string, string> = {}) => {
		const n = spawnNode(name, {
			...shared,
			SERVICES: "hatchery",
			CDS_HATCHERY_DRIVER: "marathon",
			CDS_HATCHERY_NAME: name,
			CDS_HATCHERY_MODELS: name,
			CDS_HATCHERY_POLL_MS: "200",
			CDS_MARATHON_URL: marathon.url,
			CDS_MARATHON_WORKER_COMMAND: WORKER_COMMAND,
			CDS_MARATHON_POLL_MS: "200",
			CDS_MARATHON_START_TIMEOUT_MS: "20000",
			CDS_MARATHON_ASSIGNMENT_LISTEN: "127.0.0.1:0",
			CDS_WORKER_BASEDIR: path.join(work, "workers", name),
			CDS_SANDBOX_SHARE: path.join(work, "shared"),
			...extra,
		});
		nodes.push(n);
		return n;
	};

	async function importWorkflow(name: string, model: string, jobs: string) {
		const files = [
			{ path: `${name}.yml`, content: `name: ${name}\nversion: v1.0\npipeline: ${name}-p\n` },
			{ path: `${name}-p.pip.yml`, content: `version: v1.0\nname: ${name}-p\njobs:\n${jobs}` },
		];
		const r = await api("POST", "/api/v1/projects/MFAULT/import", { files });
		assert.equal(r.status, 200, JSON.stringify(r.body));
		void model;
	}

	const job = (name: string, model: string, script: string, stage?: string) =>
		`- job: ${name}\n${stage ? `  stage: ${stage}\n` : ""}  requirements:\n  - model: ${model}\n  steps:\n  - script: ${JSON.stringify(script)}\n`;

	const startRun = async (wf: string) => {
		const r = await api("POST", `${WF}/${wf}/runs`, {});
		assert.equal(r.status, 201, JSON.stringify(r.body));
		return r.body.number as number;
	};
	const getRun = async (wf: string, n: number) => (await api("GET", `${WF}/${wf}/runs/${n}`)).body;
	const waitRun = (wf: string, n: number, timeoutMs = 90_000) =>
		until(
			`run ${wf} #${n} to end`,
			async () => {
				const r = await getRun(wf, n);
				return FINAL.has(r?.status) ? r : undefined;
			},
			timeoutMs,
		);
	const logs = async (wf: string, n: number): Promise<string> =>
		((await api("GET", `${WF}/${wf}/runs/${n}/logs`)).body?.items ?? [])
			.map((l: { text: string }) => l.text)
			.join("");
	const jobsOf = (run: {
		nodes: Array<{ stages: Array<{ jobs: Array<{ status: string; reason?: string }> }> }>;
	}) => run.nodes[0]!.stages.flatMap((s) => s.jobs);
	/** The apps of a hatchery in the stand-in. */
	const appsOf = (name: string) =>
		[...marathon.apps.apps.keys()].filter((id) => id.startsWith(`/cds-workers/${name}/`));
	const noApps = (name: string) => until(`no app of ${name} left`, () => appsOf(name).length === 0, 20_000);

	before(async () => {
		marathon = await startMarathon();
		work = mkdtempSync(path.join(tmpdir(), "cds-marathon-faults-"));
		stepWritableDir(path.join(work, "shared"));
		const cluster = await testCluster(
			"cds_marathon_faults",
			{ natsUrl: nats.url!, mongoUrl: mongo.url! },
			{
				CDS_WORKER_HEARTBEAT_SECONDS: "1",
				CDS_WORKER_HEARTBEAT_TIMEOUT_MS: "30000",
				CDS_BOOKING_TIMEOUT_MS: "60000",
			},
		);
		({ dbUrl, url, env: shared } = cluster);
		const core = spawnNode("core", { ...shared, SERVICES: "api,auth,project,workflow,run" });
		nodes.push(core);
		await waitReady(url, 60_000);
		api = apiClient(url, shared.CDS_ADMIN_TOKEN!);
		assert.equal(
			(await api("POST", "/api/v1/projects", { key: "MFAULT", name: "Marathon faults" })).status,
			201,
		);
	});

	after(async () => {
		await tearDownCluster(nodes, [dbUrl], [work]);
		await marathon?.stop();
	});

	test("a two-stage workflow runs to Success on Marathon, one app per job, none left after", async () => {
		const h = hatchery("mf-ok");
		const files = [
			{ path: "OK.yml", content: "name: OK\nversion: v1.0\npipeline: OK-p\n" },
			{
				path: "OK-p.pip.yml",
				content: `version: v1.0\nname: OK-p\nstages:\n- build\n- test\njobs:\n${job("build", "mf-ok", 'echo "built on $CDS_WORKFLOW"', "build")}${job("test-a", "mf-ok", "echo tested-a", "test")}${job("test-b", "mf-ok", "echo tested-b", "test")}`,
			},
		];
		assert.equal((await api("POST", "/api/v1/projects/MFAULT/import", { files })).status, 200);
		const n = await startRun("OK");
		const run = await waitRun("OK", n);
		assert.equal(run.status, "Success", JSON.stringify(run.nodes));
		assert.equal(jobsOf(run).length, 3);
		const text = await logs("OK", n);
		assert.match(text, /built on OK/);
		assert.match(text, /tested-a/);
		assert.match(text, /tested-b/);
		await noApps("mf-ok");
		await h.stop();
	});

	for (const fault of [
		{
			name: "task lost",
			hatchery: "mf-lost",
			inject: (m: Marathon) => m.apps.loseTask("/cds-workers/mf-lost"),
			reason: /^worker lost: marathon task TASK_LOST: Agent .* was removed/,
		},
		{
			name: "unhealthy task killed",
			hatchery: "mf-sick",
			inject: (m: Marathon) => m.apps.unhealthy("/cds-workers/mf-sick", "503 Service Unavailable"),
			reason: /^worker lost: marathon task TASK_KILLED: unhealthy: 503 Service Unavailable/,
		},
	])
		test(`${fault.name} mid-step: the job fails at once with Marathon's reason, and its app is deleted`, async () => {
			const h = hatchery(fault.hatchery);
			const wf = fault.hatchery.replace("-", "").toUpperCase();
			await importWorkflow(wf, fault.hatchery, job("j", fault.hatchery, "echo started; sleep 60"));
			const n = await startRun(wf);
			await until("the step to start", async () => (await logs(wf, n)).includes("started"), 60_000);
			assert.ok(fault.inject(marathon) >= 1, "a task was hit");
			// Well before the heartbeat timeout (30 s): the driver reported the reason.
			const run = await waitRun(wf, n, 25_000);
			assert.equal(run.status, "Fail");
			assert.match(jobsOf(run)[0]!.reason ?? "", fault.reason);
			await noApps(fault.hatchery);
			await h.stop();
		});

	test("a task's machine dead before Mesos notices (Marathon still shows TASK_RUNNING): the job fails by the heartbeat timeout", async () => {
		const name = "mf-dead";
		const h = hatchery(name);
		await importWorkflow("MFDEAD", name, job("j", name, "echo started; sleep 120"));
		const n = await startRun("MFDEAD");
		await until("the step to start", async () => (await logs("MFDEAD", n)).includes("started"), 60_000);
		assert.ok(marathon.apps.machineDies(`/cds-workers/${name}`) >= 1, "a task was hit");
		try {
			// The heartbeat timeout is 30 s; Mesos would remove the agent after 75 s, which this
			// test never does before the job's end: a hatchery vouching for TASK_RUNNING would
			// keep the job Building.
			const run = await waitRun("MFDEAD", n, 75_000);
			assert.equal(run.status, "Fail");
			assert.equal(jobsOf(run)[0]!.reason, "worker lost");
			const tasks = appsOf(name).flatMap((id) => marathon.apps.apps.get(id)!.tasks);
			assert.ok(
				tasks.length >= 1 && tasks.every((t) => t.state === "TASK_RUNNING"),
				"Marathon still says running",
			);
		} finally {
			marathon.apps.agentRemoved(`/cds-workers/${name}`);
		}
		await noApps(name);
		await h.stop();
	});

	test("a deployment whose task cannot start: the job fails with the reason, and its app is deleted", async () => {
		const name = "mf-deploy";
		marathon.apps.failDeployment(`/cds-workers/${name}`);
		const h = hatchery(name);
		await importWorkflow("DEPLOY", name, job("j", name, "echo never"));
		const n = await startRun("DEPLOY");
		const run = await waitRun("DEPLOY", n, 25_000);
		assert.equal(run.status, "Fail");
		assert.match(
			jobsOf(run)[0]!.reason ?? "",
			/^worker could not start: marathon task TASK_FAILED: .*deployment failure/,
		);
		await noApps(name);
		marathon.apps.failDeployment(`/cds-workers/${name}`, false);
		await h.stop();
	});

	test("no offer fits the app: the job fails after CDS_MARATHON_START_TIMEOUT_MS with the queue's reason", async () => {
		const name = "mf-starved";
		marathon.apps.noOffers(`/cds-workers/${name}`);
		const h = hatchery(name, { CDS_MARATHON_START_TIMEOUT_MS: "2000" });
		await importWorkflow("STARVED", name, job("j", name, "echo never"));
		const n = await startRun("STARVED");
		const run = await waitRun("STARVED", n, 25_000);
		assert.equal(run.status, "Fail");
		assert.match(
			jobsOf(run)[0]!.reason ?? "",
			/^worker could not start: marathon app not started in 2s: no Mesos offer fits: InsufficientCpus \(\d+\/\d+ offers\), InsufficientMemory/,
		);
		await noApps(name);
		marathon.apps.noOffers(`/cds-workers/${name}`, false);
		await h.stop();
	});

	test("a hatchery killed -9 while its job ends, restarted: the job is not lost and its app is not left behind", async () => {
		const name = "mf-restart";
		let h = hatchery(name);
		const gate = path.join(work, "shared", "restart.gate");
		await importWorkflow(
			"RESTART",
			name,
			job(
				"j",
				name,
				`echo started; for i in $(seq 1 300); do [ -e ${gate} ] && break; sleep 0.2; done; echo finished`,
			),
		);
		const n = await startRun("RESTART");
		await until("the step to start", async () => (await logs("RESTART", n)).includes("started"), 60_000);
		assert.equal(appsOf(name).length, 1);
		await h.kill9();
		// The job ends while no hatchery watches: its task finishes, its app stays (Marathon holds it).
		writeFileSync(gate, "");
		const run = await waitRun("RESTART", n, 60_000);
		assert.equal(run.status, "Success", JSON.stringify(run.nodes));
		assert.equal(appsOf(name).length, 1, "the finished job's app outlived the killed hatchery");
		h = hatchery(name);
		await noApps(name);
		await h.stop();
	});
});
