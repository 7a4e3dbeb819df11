// The Mesos driver alone against the stand-in master (no CDS cluster): what it says to the
// master — declines with the refuse filter, SUPPRESS/REVIVE, KILL, ACKNOWLEDGE of every
// reliable update, TEARDOWN or not on close, basic auth — and how it treats a job no offer
// matches, and the one-time assignment URL.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { readHatcherySettings } from "../../config/hatchery.ts";
import type { WorkerAssignment, WorkerHandle } from "../../src/hatchery/contract.ts";
import { createMesosDriver, type MesosDriver } from "../../src/hatchery/drivers/mesos.ts";
import type { MesosMasterStandIn } from "../standins/mesos/master.ts";
import { startMaster } from "./mesos-helpers.ts";

describe("mesos driver against the stand-in master", () => {
	let master: MesosMasterStandIn;
	let dir: string;
	const drivers: MesosDriver[] = [];

	before(async () => {
		master = await startMaster();
		dir = mkdtempSync(path.join(tmpdir(), "mesos-driver-"));
	});
	after(async () => {
		for (const d of drivers) await d.close().catch(() => {});
		const left = master.runningProcesses();
		await master.stop();
		rmSync(dir, { recursive: true, force: true });
		assert.deepEqual(
			left.map((t) => t.taskId),
			[],
		);
		assert.deepEqual(master.violations, []);
	});

	async function driver(name: string, env: Record<string, string> = {}) {
		const d = await createMesosDriver(
			readHatcherySettings(
				{
					CDS_HATCHERY_NAME: name,
					CDS_HATCHERY_DRIVER: "mesos",
					CDS_HATCHERY_SANDBOX: "none",
					CDS_MESOS_MASTERS: master.urls.join(","),
					CDS_MESOS_CPUS: "0.5",
					CDS_MESOS_MEM_MB: "128",
					...env,
				},
				path.join(dir, name),
			),
			() => {},
		);
		drivers.push(d);
		const exits: Array<{ h: WorkerHandle; code: number | null }> = [];
		d.onExit((h, code) => exits.push({ h, code }));
		return { d, exits };
	}

	const assignment = (jobId: string): WorkerAssignment => ({
		jobId,
		runId: "r",
		token: `tok-${jobId}-${Math.random().toString(36).slice(2)}`,
		apiUrl: "http://127.0.0.1:1",
		timeoutSeconds: 60,
		requirements: { binaries: [], services: [] },
	});

	const until = async <T>(what: string, fn: () => T | undefined | false, ms = 15_000): Promise<T> => {
		const deadline = Date.now() + ms;
		for (;;) {
			const v = fn();
			if (v) return v;
			if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
			await new Promise((r) => setTimeout(r, 50));
		}
	};

	const callsOf = (fid: string) =>
		master.calls.filter(
			(c) => (c.framework_id as { value: string } | undefined)?.value === fid || c.type === "SUBSCRIBE",
		);

	test("a job no offer matches: offers declined with the refuse filter, then the job fails with the reason and offers are suppressed", async () => {
		const { d, exits } = await driver("nomatch", {
			CDS_MESOS_ATTRIBUTES: "rack=r9",
			CDS_MESOS_REFUSE_SECONDS: "7",
			CDS_MESOS_START_TIMEOUT_MS: "800",
		});
		await d.spawn(assignment("P/W/1/nomatch"));
		const fid = master.frameworkIds().at(-1)!;
		const decline = await until("a DECLINE", () => callsOf(fid).find((c) => c.type === "DECLINE"));
		assert.deepEqual((decline.decline as { filters: unknown }).filters, { refuse_seconds: 7 });
		await new Promise((r) => setTimeout(r, 900));
		await d.maintain();
		assert.equal(exits.length, 1);
		assert.match(
			exits[0]!.h.failure!.reason,
			/no Mesos offer matched its task \(cpus 0\.5, mem 128 MiB, rack=r9\) within 1 s/,
		);
		assert.equal(exits[0]!.h.failure!.started, false);
		await until("SUPPRESS once no job waits", () => callsOf(fid).at(-1)?.type === "SUPPRESS");
		const types = callsOf(fid).map((c) => c.type);
		assert.equal(types.includes("ACCEPT"), false);
		assert.deepEqual(await d.list(), []);
	});

	test("a job runs: REVIVE, ACCEPT on an offer, every reliable update acknowledged; the token is in no call and its URL serves once", async () => {
		const out = path.join(dir, "assign.txt");
		const { d, exits } = await driver("runs", {
			CDS_MESOS_WORKER_COMMAND: `sh -c cat>${out}`,
			CDS_MESOS_PRINCIPAL: "cds",
			CDS_MESOS_SECRET: "s3cret",
		});
		const a = assignment("P/W/1/runs");
		await d.spawn(a);
		const fid = master.frameworkIds().at(-1)!;
		await until("the task's end", () => exits.length === 1);
		assert.equal(exits[0]!.code, 0);
		assert.equal(exits[0]!.h.failure, undefined);
		assert.deepEqual(JSON.parse(readFileSync(out, "utf8")), {
			type: "assign",
			apiUrl: a.apiUrl,
			token: a.token,
			jobId: a.jobId,
		});
		const calls = callsOf(fid);
		const types = calls.map((c) => c.type);
		assert.ok(types.indexOf("REVIVE") < types.indexOf("ACCEPT"), types.join(" "));
		assert.equal(JSON.stringify(master.calls).includes(a.token), false, "the token went to the master");
		await until(
			"every update acknowledged",
			() => ![...master.tasks.values()].some((t) => t.frameworkId === fid && t.unacked.length > 0),
		);
		assert.ok(types.filter((t) => t === "ACKNOWLEDGE").length >= 3, "STARTING, RUNNING, FINISHED");
		assert.ok(master.authorizations.includes(`Basic ${Buffer.from("cds:s3cret").toString("base64")}`));
		// The task's URL is spent.
		const accept = calls.find((c) => c.type === "ACCEPT")!;
		const args = JSON.stringify(accept).match(/http:\/\/[^"]+\/assignments\/[0-9a-f]{64}/);
		assert.ok(args, "the assignment URL in the command");
		assert.equal((await fetch(args[0])).status, 404);
	});

	test("a SUPPRESS overtaken on the wire by the REVIVE sent after it: the master still ends revived, and the waiting job is launched", async () => {
		const { d, exits } = await driver("order", { CDS_MESOS_WORKER_COMMAND: "sh -c cat>/dev/null" });
		const fid = master.frameworkIds().at(-1)!;
		await until("the SUPPRESS of the subscription", () => callsOf(fid).some((c) => c.type === "SUPPRESS"));
		const from = callsOf(fid).length;
		const toggles = () =>
			callsOf(fid)
				.slice(from)
				.map((c) => c.type)
				.filter((t) => t === "SUPPRESS" || t === "REVIVE");
		// The SUPPRESS sent when the first job takes its offer travels on a slow connection; the
		// REVIVE of the next job is sent meanwhile. No offer round until both are handled, so the
		// master's last word decides whether the second job ever gets an offer.
		master.holdNextCall("SUPPRESS", 1000);
		await d.spawn(assignment("P/W/1/order-a"));
		await until("the first job's ACCEPT", () => callsOf(fid).some((c) => c.type === "ACCEPT"));
		master.pauseOffers(true);
		try {
			await d.spawn(assignment("P/W/1/order-b"));
			await until("REVIVE, SUPPRESS, REVIVE handled", () => toggles().length >= 3);
		} finally {
			master.pauseOffers(false);
		}
		await until("both tasks' ends", () => exits.length === 2);
		assert.deepEqual(exits.map((e) => [e.h.jobId, e.code]).sort(), [
			["P/W/1/order-a", 0],
			["P/W/1/order-b", 0],
		]);
		assert.deepEqual(toggles().slice(0, 3), ["REVIVE", "SUPPRESS", "REVIVE"]);
	});

	test("kill: KILL, TASK_KILLED, an exit without failure; close without leaveRunning tears the framework down", async () => {
		const sleeper = path.join(dir, "sleeper.sh");
		writeFileSync(sleeper, "cat > /dev/null\nsleep 60\n");
		const { d, exits } = await driver("kills", { CDS_MESOS_WORKER_COMMAND: `sh ${sleeper}` });
		await d.spawn(assignment("P/W/1/kill"));
		for (let i = 0; i < 200 && !(await d.list()).some((w) => w.state === "running"); i++)
			await new Promise((r) => setTimeout(r, 50));
		assert.equal((await d.capacity()).running, 1);
		const fid = master.frameworkIds().at(-1)!;
		await d.kill("P/W/1/kill");
		await until("the exit", () => exits.length === 1);
		assert.equal(exits[0]!.h.failure, undefined);
		assert.ok(callsOf(fid).some((c) => c.type === "KILL"));
		await d.close();
		assert.equal(callsOf(fid).at(-1)!.type, "TEARDOWN");
		assert.equal(master.frameworkIds().includes(fid), false);
	});

	test("reconcile both ways: explicit RECONCILE of its tasks, a task whose job is over killed, a live job without a task failed at the second round", async () => {
		const sleeper = path.join(dir, "sleeper2.sh");
		writeFileSync(sleeper, "cat > /dev/null\nsleep 60\n");
		const { d, exits } = await driver("reconciles", { CDS_MESOS_WORKER_COMMAND: `sh ${sleeper}` });
		const handle = await d.spawn(assignment("P/W/1/over"));
		for (let i = 0; i < 200 && !(await d.list()).some((w) => w.state === "running"); i++)
			await new Promise((r) => setTimeout(r, 50));
		const fid = master.frameworkIds().at(-1)!;
		assert.deepEqual(await d.reconcile(["P/W/1/over", "P/W/1/taskless"]), { adopted: 0, killed: 0 });
		const explicit = await until("an explicit RECONCILE", () =>
			callsOf(fid).find(
				(c) => c.type === "RECONCILE" && (c.reconcile as { tasks: unknown[] }).tasks.length > 0,
			),
		);
		assert.deepEqual(
			(explicit.reconcile as { tasks: Array<{ task_id: { value: string } }> }).tasks.map(
				(t) => t.task_id.value,
			),
			[handle.name],
		);
		assert.equal(exits.length, 0, "one round without a task is not enough");
		assert.deepEqual(await d.reconcile(["P/W/1/taskless"]), { adopted: 0, killed: 1 });
		await until("both exits", () => exits.length === 2);
		const byJob = Object.fromEntries(exits.map((e) => [e.h.jobId, e.h.failure]));
		assert.equal(byJob["P/W/1/over"], undefined, "a job over: killed, no failure");
		assert.match(byJob["P/W/1/taskless"]!.reason, /its Mesos task is gone/);
		assert.ok(callsOf(fid).some((c) => c.type === "KILL"));
	});

	test("a task that ended while no instance listened: its redelivered end fails its live job at the next instance's first reconcile", async () => {
		const gate = path.join(dir, "unheard.gate");
		const worker = path.join(dir, "unheard.sh");
		writeFileSync(worker, `cat > /dev/null\nwhile [ ! -e ${gate} ]; do sleep 0.05; done\nexit 3\n`);
		const env = { CDS_MESOS_WORKER_COMMAND: `sh ${worker}` };
		const first = await driver("unheard", env);
		const handle = await first.d.spawn(assignment("P/W/1/unheard"));
		await until("the task to run", () => master.tasks.get(handle.name)?.state === "TASK_RUNNING");
		await first.d.close({ leaveRunning: true });
		writeFileSync(gate, "");
		await until("the task to end unheard", () => master.tasks.get(handle.name)?.state === "TASK_FAILED");
		const again = await driver("unheard", env);
		// Acknowledged (so forgotten by the master): the new instance has handled the redelivered end.
		await until("the end acknowledged", () => !master.tasks.has(handle.name));
		assert.deepEqual(await again.d.reconcile(["P/W/1/unheard"]), { adopted: 0, killed: 0 });
		assert.equal(again.exits.length, 1, "failed at the first reconcile, on evidence");
		assert.equal(again.exits[0]!.h.jobId, "P/W/1/unheard");
		assert.match(
			again.exits[0]!.h.failure!.reason,
			/previous hatchery instance, ended \(failed\) before its job did/,
		);
		await again.d.close();
	});

	test("a framework the master removed (beyond its failover timeout): the next instance fails its live jobs at its first reconcile", async () => {
		const sleeper = path.join(dir, "sleeper3.sh");
		writeFileSync(sleeper, "cat > /dev/null\nsleep 60\n");
		const env = { CDS_MESOS_WORKER_COMMAND: `sh ${sleeper}`, CDS_MESOS_FAILOVER_TIMEOUT_SECONDS: "1" };
		const first = await driver("removed", env);
		const handle = await first.d.spawn(assignment("P/W/1/removed"));
		await until("the task to run", () => master.tasks.get(handle.name)?.state === "TASK_RUNNING");
		const fid = master.frameworkIds().at(-1)!;
		await first.d.close({ leaveRunning: true });
		await until("the framework to be removed", () => !master.frameworkIds().includes(fid));
		const again = await driver("removed", env);
		assert.notEqual(master.frameworkIds().at(-1), fid, "subscribed anew");
		assert.deepEqual(await again.d.reconcile(["P/W/1/removed"]), { adopted: 0, killed: 0 });
		assert.equal(again.exits.length, 1, "failed at the first reconcile, on evidence");
		assert.match(again.exits[0]!.h.failure!.reason, /the master removed its framework/);
		await again.d.close();
	});

	test("close with leaveRunning keeps the framework (no TEARDOWN) and its id for the next instance", async () => {
		const { d } = await driver("leave");
		const fid = master.frameworkIds().at(-1)!;
		await d.close({ leaveRunning: true });
		assert.equal(
			callsOf(fid).some((c) => c.type === "TEARDOWN"),
			false,
		);
		assert.ok(master.frameworkIds().includes(fid));
		const again = await driver("leave");
		const last = master.calls.filter((c) => c.type === "SUBSCRIBE").at(-1)!;
		assert.deepEqual(last.framework_id, { value: fid });
		await again.d.close();
	});

	test("a master failover while suppressed: the new subscription starts unsuppressed, is suppressed again, and a job booked after it is launched", async () => {
		const { d, exits } = await driver("failover", { CDS_MESOS_WORKER_COMMAND: "sh -c cat>/dev/null" });
		const fid = master.frameworkIds().at(-1)!;
		await until("the SUPPRESS of the subscription", () => callsOf(fid).some((c) => c.type === "SUPPRESS"));
		// Its own calls only (callsOf lists every framework's SUBSCRIBE; a re-subscription names its id).
		const own = () =>
			master.calls.filter((c) => (c.framework_id as { value: string } | undefined)?.value === fid);
		const subscribes = own().filter((c) => c.type === "SUBSCRIBE").length;
		await master.failover();
		await until("a SUPPRESS on the new leader's subscription", () => {
			const calls = own();
			const last = calls.findLastIndex((c) => c.type === "SUBSCRIBE");
			return (
				calls.filter((c) => c.type === "SUBSCRIBE").length > subscribes &&
				calls.slice(last).some((c) => c.type === "SUPPRESS")
			);
		});
		await d.spawn(assignment("P/W/1/after-failover"));
		await until("the job's task to end", () => exits.length === 1);
		assert.equal(exits[0]!.code, 0);
		assert.deepEqual(master.violations, []);
	});
});
