// What every hatchery driver must do, against a real cluster (NATS + a MongoDB-wire server):
// the API and run services in one node, hatcheries of the driver under test in nodes of
// their own (`SERVICES=hatchery`, `CDS_HATCHERY_DRIVER=<kind>`), each offering its own worker
// model so every case gets only its own jobs. A driver's suite calls
// `describeDriverConformance(kind, setup)` (see test/integration/hatchery-local-conformance.test.ts).
//
// Cases: a job runs to Success; a stopped run's worker is stopped; a job timeout ends the job;
// a worker killed hard fails its job "worker lost"; a hatchery killed with -9 mid-step and
// restarted under the same name adopts its worker and the job still succeeds; the worker
// count stays within CDS_HATCHERY_MAX_WORKERS; a step cannot read its job's token anywhere.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { ServiceBroker } from "moleculer";
import { readHatcherySettings } from "../../config/hatchery.ts";
import type { HatcheryDriver, WorkerHandle } from "../../src/hatchery/contract.ts";
import { createDriver } from "../../src/hatchery/drivers/index.ts";
import { jobRequirements } from "../../src/hatchery/requirements.ts";
import { MongoStore } from "../../src/store/index.ts";
import { type NodeProcess, spawnNode, stepWritableDir, testCluster } from "../helpers/cluster.ts";
import { apiClient, waitReady } from "../helpers/server.ts";
import { serverUrl } from "../helpers/servers.ts";

export interface DriverConformanceSetup {
	/**
	 * Environment of a hatchery of this driver besides the cluster's (NATS_URL, MONGO_URL…),
	 * CDS_HATCHERY_DRIVER, CDS_HATCHERY_NAME and CDS_HATCHERY_MODELS, which the suite sets.
	 * `work` is a fresh directory of the test.
	 */
	hatcheryEnv(name: string, work: string): Record<string, string>;
	/**
	 * A directory that the steps of this driver's workers and the test both see, at the same
	 * path (the local driver: any directory; a cluster driver: a mounted volume).
	 */
	sharedDir(work: string): string;
	/** Kills a worker the hard way (kill -9 of its process, deletion of its pod…). */
	killWorker(handle: WorkerHandle): Promise<void>;
	/** Where this driver puts a worker's assignment (a mounted Secret…): a step tries to read it. */
	tokenPaths?: string[];
}

const WF = "/api/v1/projects/CONF/workflows";
const FINAL = new Set(["Success", "Fail", "Stopped", "Skipped"]);

interface HatcheryStatus {
	name: string;
	driver: string;
	capacity: { max: number; running: number; provisioning: number; idle: number } | null;
	workers: WorkerHandle[];
}

export function describeDriverConformance(
	kind: string,
	setup: () => DriverConformanceSetup | Promise<DriverConformanceSetup>,
): void {
	const nats = serverUrl("NATS_URL");
	const mongo = serverUrl("MONGO_URL");

	describe(`hatchery driver conformance: ${kind}`, { skip: nats.skip || mongo.skip }, () => {
		const nodes: NodeProcess[] = [];
		let driverSetup: DriverConformanceSetup;
		let shared: Record<string, string>;
		let url: string;
		let api: ReturnType<typeof apiClient>;
		let dbUrl: string;
		let work: string;
		let shareDir: string;
		let broker: ServiceBroker;

		/** A hatchery node of the driver under test, serving only jobs that require model `name`. */
		const hatchery = (name: string, extra: Record<string, string> = {}) => {
			const n = spawnNode(name, {
				...shared,
				...driverSetup.hatcheryEnv(name, work),
				SERVICES: "hatchery",
				CDS_HATCHERY_DRIVER: kind,
				CDS_HATCHERY_NAME: name,
				CDS_HATCHERY_MODELS: name,
				CDS_HATCHERY_POLL_MS: "200",
				...extra,
			});
			nodes.push(n);
			return n;
		};

		const status = async (name: string): Promise<HatcheryStatus | undefined> => {
			try {
				return (await broker.call("hatchery.status", {}, { nodeID: name, timeout: 3000 })) as HatcheryStatus;
			} catch {
				return undefined; // not (yet, or no longer) reachable
			}
		};

		async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000) {
			const deadline = Date.now() + timeoutMs;
			for (;;) {
				const v = await fn();
				if (v) return v;
				if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
				await new Promise((r) => setTimeout(r, 200));
			}
		}

		/** Imports a one-job workflow whose job requires model `model` and runs `script`. */
		async function workflow(name: string, model: string, script: string, jobExtra = "") {
			const indented = script
				.split("\n")
				.map((l) => `      ${l}`)
				.join("\n");
			const files = [
				{ path: `${name}.yml`, content: `name: ${name}\nversion: v1.0\npipeline: ${name}-p\n` },
				{
					path: `${name}-p.pip.yml`,
					content: `version: v1.0\nname: ${name}-p\njobs:\n- job: j\n${jobExtra}  requirements:\n  - model: ${model}\n  steps:\n  - script: |\n${indented}\n`,
				},
			];
			const r = await api("POST", "/api/v1/projects/CONF/import", { files });
			assert.equal(r.status, 200, JSON.stringify(r.body));
		}

		const startRun = async (wf: string): Promise<number> => {
			const r = await api("POST", `${WF}/${wf}/runs`, {});
			assert.equal(r.status, 201, JSON.stringify(r.body));
			return r.body.number;
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

		const logs = async (wf: string, n: number): Promise<string> =>
			((await api("GET", `${WF}/${wf}/runs/${n}/logs`)).body?.items ?? [])
				.map((l: { text: string }) => l.text)
				.join("");

		const jobOf = (run: {
			nodes: Array<{ stages: Array<{ jobs: Array<{ status: string; reason?: string }> }> }>;
		}) => run.nodes[0]!.stages[0]!.jobs[0]!;

		/** The worker a hatchery reports for a job of `wf`. */
		const workerOf = (name: string, wf: string) =>
			until(`the worker of ${wf} on ${name}`, async () =>
				(await status(name))?.workers.find((w) => w.jobId?.startsWith(`CONF/${wf}/`)),
			);

		before(async () => {
			driverSetup = await setup();
			work = mkdtempSync(path.join(tmpdir(), `cds-conformance-${kind}-`));
			shareDir = stepWritableDir(driverSetup.sharedDir(work));
			const cluster = await testCluster(
				"cds_conformance",
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
			assert.equal((await api("POST", "/api/v1/projects", { key: "CONF", name: "Conformance" })).status, 201);
			broker = new ServiceBroker({
				namespace: shared.CDS_NAMESPACE,
				nodeID: `conformance-${process.pid}`,
				transporter: { type: "NATS", options: { url: nats.url! } },
				serializer: "JSON",
				logger: false,
				requestTimeout: 30_000,
			});
			await broker.start();
			await broker.waitForServices(["run"], 30_000);
		});

		after(async () => {
			for (const n of nodes) await n.stop().catch(() => {});
			await broker?.stop().catch(() => {});
			const store = await MongoStore.connect(dbUrl).catch(() => undefined);
			await store?.dropDatabase().catch(() => {});
			await store?.close();
			rmSync(work, { recursive: true, force: true });
		});

		test("a booked job gets a worker that runs it to Success", async () => {
			const h = hatchery("conf-basic");
			await workflow("BASIC", "conf-basic", 'echo "hello from $CDS_WORKFLOW"');
			const n = await startRun("BASIC");
			const run = await waitRun("BASIC", n);
			assert.equal(run.status, "Success", JSON.stringify(run.nodes));
			assert.match(await logs("BASIC", n), /hello from BASIC/);
			await h.stop();
		});

		test("stopping a run stops its worker", async () => {
			const h = hatchery("conf-stop");
			await workflow("STOP", "conf-stop", "echo started\nsleep 120");
			const n = await startRun("STOP");
			await until("the step to start", async () => (await logs("STOP", n)).includes("started"));
			assert.ok(await workerOf("conf-stop", "STOP"));
			assert.equal((await api("POST", `${WF}/STOP/runs/${n}/stop`, {})).status, 200);
			assert.equal((await waitRun("STOP", n)).status, "Stopped");
			await until(
				"the worker to be gone",
				async () => {
					const s = await status("conf-stop");
					return s !== undefined && !s.workers.some((w) => w.jobId?.startsWith("CONF/STOP/"));
				},
				30_000,
			);
			await h.stop();
		});

		test("a job that outlives its timeout ends in Fail, and its worker with it", async () => {
			const h = hatchery("conf-timeout");
			await workflow("TIMEOUT", "conf-timeout", "echo started\nsleep 120", "  timeout: 2s\n");
			const n = await startRun("TIMEOUT");
			const run = await waitRun("TIMEOUT", n, 90_000);
			assert.equal(run.status, "Fail");
			assert.match(JSON.stringify(jobOf(run)), /timed out/);
			await until(
				"the worker to be gone",
				async () => {
					const s = await status("conf-timeout");
					return s !== undefined && !s.workers.some((w) => w.jobId?.startsWith("CONF/TIMEOUT/"));
				},
				30_000,
			);
			await h.stop();
		});

		test("a worker killed hard fails its job with 'worker lost' (it stops heartbeating)", async () => {
			const h = hatchery("conf-death");
			await workflow("DEATH", "conf-death", "echo started\nsleep 30");
			const n = await startRun("DEATH");
			await until("the step to start", async () => (await logs("DEATH", n)).includes("started"));
			await driverSetup.killWorker(await workerOf("conf-death", "DEATH"));
			const run = await waitRun("DEATH", n, 60_000);
			assert.equal(run.status, "Fail");
			assert.equal(jobOf(run).reason, "worker lost");
			await h.stop();
		});

		test("kill -9 of the hatchery mid-step, then a restart under the same name: the worker is adopted and the job succeeds", async () => {
			const gate = path.join(shareDir, "adopt.gate");
			const name = "conf-adopt";
			let h = hatchery(name);
			await workflow(
				"ADOPT",
				name,
				`echo started\nfor i in $(seq 1 600); do [ -e ${gate} ] && break; sleep 0.2; done\necho finished`,
			);
			const n = await startRun("ADOPT");
			await until("the step to start", async () => (await logs("ADOPT", n)).includes("started"));
			const before = await workerOf(name, "ADOPT");
			await h.kill9();
			h = hatchery(name);
			const adopted = await until("the restarted hatchery to adopt the worker", async () =>
				(await status(name))?.workers.find((w) => w.jobId === before.jobId && w.adopted),
			);
			if (before.pid !== undefined) assert.equal(adopted.pid, before.pid, "the same worker, not a new one");
			const s = (await status(name))!;
			assert.equal(s.capacity!.running, 1, "the adopted worker counts against the capacity");
			writeFileSync(gate, "");
			const run = await waitRun("ADOPT", n);
			assert.equal(run.status, "Success", JSON.stringify(run.nodes));
			assert.match(await logs("ADOPT", n), /finished/);
			await until("the adopted worker's exit to be noticed", async () => {
				const now = await status(name);
				return now !== undefined && now.workers.length === 0;
			});
			await h.stop();
		});

		test("no more workers at once than CDS_HATCHERY_MAX_WORKERS", async () => {
			const ledger = path.join(shareDir, "capacity.log");
			const name = "conf-capacity";
			const h = hatchery(name, { CDS_HATCHERY_MAX_WORKERS: "2" });
			const jobs = Array.from(
				{ length: 5 },
				(_, i) =>
					`- job: j${i}\n  requirements:\n  - model: ${name}\n  steps:\n  - script: echo start >> ${ledger}; sleep 1; echo end >> ${ledger}\n`,
			).join("");
			const files = [
				{ path: "cap.yml", content: "name: CAP\nversion: v1.0\npipeline: cap-p\n" },
				{ path: "cap-p.pip.yml", content: `version: v1.0\nname: cap-p\njobs:\n${jobs}` },
			];
			assert.equal((await api("POST", "/api/v1/projects/CONF/import", { files })).status, 200);
			const n = await startRun("CAP");
			let most = 0;
			let run: { status: string } | undefined;
			while (!run) {
				const s = await status(name);
				if (s?.capacity) most = Math.max(most, s.capacity.running + s.capacity.provisioning);
				const r = await getRun("CAP", n);
				if (FINAL.has(r?.status)) run = r;
				else await new Promise((res) => setTimeout(res, 100));
			}
			assert.equal(run.status, "Success");
			assert.ok(most <= 2, `the hatchery reported ${most} workers at once`);
			let concurrent = 0;
			let peak = 0;
			const lines = readFileSync(ledger, "utf8").trim().split("\n");
			assert.equal(lines.length, 10);
			for (const line of lines) {
				concurrent += line === "start" ? 1 : -1;
				peak = Math.max(peak, concurrent);
			}
			assert.ok(peak <= 2, `${peak} steps ran at once`);
			await h.stop();
		});

		test("a step cannot read its job's token: not in its environment, its ancestors', its descriptors or its files", async () => {
			// The test plays the hatchery service here (queue, book, spawn), so it holds the token.
			const name = "conf-token";
			const dumpFile = path.join(shareDir, "token-dump.txt");
			const env: Record<string, string> = {
				...driverSetup.hatcheryEnv(name, work),
				CDS_HATCHERY_DRIVER: kind,
				CDS_HATCHERY_NAME: name,
				CDS_HATCHERY_MODELS: name,
			};
			const driver: HatcheryDriver = await createDriver(readHatcherySettings(env, path.join(work, name)));
			try {
				const script = [
					"{",
					'echo "== env"; env',
					"p=$$",
					'while [ "$p" -gt 1 ]; do',
					'  echo "== ancestor $p"',
					"  tr '\\0' '\\n' < /proc/$p/cmdline 2>/dev/null; echo",
					"  tr '\\0' '\\n' < /proc/$p/environ 2>/dev/null; echo",
					"  p=$(sed 's/.*) //' /proc/$p/stat | cut -d' ' -f2)",
					"done",
					'echo "== fds"',
					'for f in /proc/self/fd/*; do echo "$f -> $(readlink "$f")"; done',
					// Every process the step can see: its environment, arguments, and its stdin when
					// that is a file (a worker fed its assignment from a file).
					'echo "== processes"',
					"(set +e; for p in /proc/[0-9]*; do",
					"  echo \"-- $p\"; tr '\\0' '\\n' < \"$p/cmdline\" 2>/dev/null; tr '\\0' '\\n' < \"$p/environ\" 2>/dev/null",
					'  [ -f "$p/fd/0" ] && head -c 65536 "$p/fd/0" 2>/dev/null',
					"done; true)",
					'echo "== token paths"',
					...(driverSetup.tokenPaths ?? []).map((f) => `cat ${f} 2>&1 || true`),
					'echo "== files"',
					'find "$PWD" "$HOME" -type f 2>/dev/null | while read -r f; do echo "-- $f"; cat "$f" 2>/dev/null; echo; done',
					`} > ${dumpFile} 2>&1`,
					"echo dumped",
				].join("\n");
				await workflow("TOKEN", name, script);
				const n = await startRun("TOKEN");
				const capabilities = await driver.capabilities();
				const [jobId] = await until("the job to be queued", async () => {
					const ids = (await broker.call("run.queueFor", { capabilities, limit: 1 })) as string[];
					return ids.length > 0 ? ids : undefined;
				});
				const booking = (await broker.call("run.book", { jobId, hatchery: name, worker: name })) as {
					won: boolean;
					token: string;
					runId: string;
					timeoutSeconds: number;
					requirements: [];
				};
				assert.ok(booking.won && booking.token.length >= 16);
				await driver.spawn({
					jobId: jobId!,
					runId: booking.runId,
					token: booking.token,
					apiUrl: url,
					timeoutSeconds: booking.timeoutSeconds,
					requirements: jobRequirements(booking.requirements),
				});
				const run = await waitRun("TOKEN", n);
				assert.equal(run.status, "Success", JSON.stringify(run.nodes));
				const dump = readFileSync(dumpFile, "utf8");
				// The dump is real: it saw the step's environment, its ancestors — the worker among
				// them unless the step runs in a sandbox that hides it —, its fds.
				assert.match(dump, /CDS_WORKFLOW=TOKEN/);
				assert.match(dump, /== ancestor \d+\n/);
				assert.match(dump, /\/proc\/self\/fd\/1 -> /);
				assert.equal(dump.includes(booking.token), false, "the token is readable by a step");
			} finally {
				await driver.close();
			}
		});
	});
}
