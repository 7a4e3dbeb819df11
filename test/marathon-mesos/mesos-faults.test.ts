// Workflows on the Mesos hatchery against the stand-in master, and its fault matrix: each fault
// ends every job in its true state, and no task's process is left running (no orphan).
//
// True states: a master failover, a rescinded offer, a missed heartbeat and a framework
// failover within its failover_timeout lose nothing — the job succeeds. A task lost or an agent
// lost mid-step (told by the master, or its machine dead before the master notices), and a
// framework failover beyond its failover_timeout (the master killed the task), fail the job:
// its step was cut off, and CDS does not re-run a started job by itself (a run is re-run by a
// user), so requeueing would run the step's side effects twice.

import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { jobOfTask } from "../../src/mesos/task-id.ts";
import { serverUrl } from "../helpers/servers.ts";
import type { MesosMasterStandIn, StandInTask } from "../standins/mesos/master.ts";
import { type MesosCluster, mesosCluster } from "./mesos-cluster.ts";
import { startMaster } from "./mesos-helpers.ts";

const nats = serverUrl("NATS_URL");
const mongo = serverUrl("MONGO_URL");

describe("mesos hatchery: workflows and faults", { skip: nats.skip || mongo.skip }, () => {
	let master: MesosMasterStandIn;
	let c: MesosCluster;
	/** One hatchery serves the cases that do not restart it (a node start is seconds here). */
	const SHARED = "mesos-faults";

	before(async () => {
		master = await startMaster();
		c = await mesosCluster("MESOS", { natsUrl: nats.url!, mongoUrl: mongo.url! }, master);
		c.hatchery(SHARED);
	});

	after(async () => {
		await c?.close();
		if (master) {
			const left = master.runningProcesses();
			await master.stop();
			assert.deepEqual(
				left.map((t) => t.taskId),
				[],
				"orphan task processes",
			);
			assert.deepEqual(master.violations, []);
		}
	});

	/** The live task of `hatchery` serving a job of workflow `wf`. */
	const taskOf = (hatchery: string, wf: string) =>
		c.until(`the task of ${wf}`, async () =>
			[...master.tasks.values()].find(
				(t: StandInTask) =>
					jobOfTask(hatchery, t.taskId)?.includes(`/${wf}/`) && t.state === "TASK_RUNNING" && !t.orphaned,
			),
		);

	const noProcessOf = (hatchery: string) =>
		c.until(`no process left of ${hatchery}`, async () =>
			master.runningProcesses().every((t) => jobOfTask(hatchery, t.taskId) === undefined),
		);

	const gated = (name: string) => {
		const gate = path.join(c.shared, `${name}.gate`);
		return {
			gate,
			/** Written by the step: its worker holds the job (its assignment fetched) and runs it. */
			started: `${gate}.started`,
			script: `echo started\ntouch ${gate}.started\nfor i in $(seq 1 600); do [ -e ${gate} ] && break; sleep 0.1; done\necho finished`,
		};
	};

	test("a workflow of two stages and parallel jobs runs to Success on Mesos", async () => {
		const jobs = [
			c.job(SHARED, 'echo "build on $CDS_WORKFLOW"', "build", "  stage: build\n"),
			c.job(SHARED, "echo lint", "lint", "  stage: build\n"),
			c.job(SHARED, "echo deployed", "deploy", "  stage: deploy\n"),
		].join("");
		await c.workflow("WF", jobs, "stages:\n- build\n- deploy\n");
		const n = await c.start("WF");
		const run = await c.wait("WF", n);
		assert.equal(run.status, "Success", JSON.stringify(run.nodes));
		const logs = await c.logs("WF", n);
		assert.match(logs, /build on WF/);
		assert.match(logs, /deployed/);
		// The framework asked for offers only while jobs waited, and acknowledged every update.
		const types = master.calls.map((x) => x.type);
		assert.ok(types.includes("SUPPRESS") && types.includes("REVIVE") && types.includes("ACKNOWLEDGE"));
		await noProcessOf(SHARED);
	});

	test("master failover mid-step: the hatchery follows the new leader and the job succeeds", async () => {
		const name = SHARED;
		const { gate, script } = gated("failover");
		await c.workflow("FAILOVER", c.job(name, script));
		const n = await c.start("FAILOVER");
		await taskOf(name, "FAILOVER");
		const subscribes = master.calls.filter((x) => x.type === "SUBSCRIBE").length;
		await master.failover();
		await c.until(
			"a re-subscription on the new leader",
			async () => master.calls.filter((x) => x.type === "SUBSCRIBE").length > subscribes,
		);
		(await import("node:fs")).writeFileSync(gate, "");
		const run = await c.wait("FAILOVER", n);
		assert.equal(run.status, "Success", JSON.stringify(run.nodes));
		assert.match(await c.logs("FAILOVER", n), /finished/);
		await noProcessOf(name);
	});

	test("an offer rescinded while the ACCEPT is on its way: the task is dropped, the job waits for the next offer and succeeds", async () => {
		const name = SHARED;
		await c.workflow("RESCIND", c.job(name, "echo ran once"));
		const accepts = master.calls.filter((x) => x.type === "ACCEPT").length;
		master.rescindNextAccept();
		const n = await c.start("RESCIND");
		const run = await c.wait("RESCIND", n);
		assert.equal(run.status, "Success", JSON.stringify(run.nodes));
		assert.ok(
			master.calls.filter((x) => x.type === "ACCEPT").length >= accepts + 2,
			"a second ACCEPT after the drop",
		);
		assert.equal((await c.logs("RESCIND", n)).match(/ran once/g)?.length, 1);
	});

	test("a task lost mid-step fails its job with the reason, and nothing is left running", async () => {
		const name = SHARED;
		await c.workflow("TASKLOST", c.job(name, "echo started\nsleep 60"));
		const n = await c.start("TASKLOST");
		const t = await taskOf(name, "TASKLOST");
		await c.until("the step to start", async () => (await c.logs("TASKLOST", n)).includes("started"));
		master.loseTask(t.taskId);
		const run = await c.wait("TASKLOST", n);
		assert.equal(run.status, "Fail");
		assert.match(
			String(run.nodes[0]!.stages[0]!.jobs[0]!.reason),
			/^worker lost: mesos task lost \(executor_terminated/,
		);
		await noProcessOf(name);
	});

	test("an agent lost mid-step fails its job (task unreachable), and the job of the next run goes to the other agent", async () => {
		const name = SHARED;
		await c.workflow("AGENTLOST", c.job(name, "echo started\nsleep 60"));
		const n = await c.start("AGENTLOST");
		const t = await taskOf(name, "AGENTLOST");
		await c.until("the step to start", async () => (await c.logs("AGENTLOST", n)).includes("started"));
		master.loseAgent(t.agentId);
		try {
			const run = await c.wait("AGENTLOST", n);
			assert.equal(run.status, "Fail");
			assert.match(
				String(run.nodes[0]!.stages[0]!.jobs[0]!.reason),
				/^worker lost: mesos task unreachable \(agent_removed/,
			);
			await noProcessOf(name);
			await c.workflow("AGENTLOST2", c.job(name, "echo fine"));
			const n2 = await c.start("AGENTLOST2");
			assert.equal((await c.wait("AGENTLOST2", n2)).status, "Success");
		} finally {
			master.restoreAgent(t.agentId);
		}
	});

	test("an agent's machine dead before the master notices (its task still TASK_RUNNING there) fails its job by the heartbeat timeout", async () => {
		const name = SHARED;
		await c.workflow("MACHINEDEAD", c.job(name, "echo started\nsleep 60"));
		const n = await c.start("MACHINEDEAD");
		const t = await taskOf(name, "MACHINEDEAD");
		await c.until("the step to start", async () => (await c.logs("MACHINEDEAD", n)).includes("started"));
		// The master removes an agent 75 s after its machine died (by default); the heartbeat
		// timeout here is 5 s. A hatchery that vouched for a TASK_RUNNING task would keep the job
		// Building until the removal — which this test never makes before the job's end.
		master.machineDies(t.agentId);
		try {
			const run = await c.wait("MACHINEDEAD", n, 60_000);
			assert.equal(run.status, "Fail");
			assert.equal(String(run.nodes[0]!.stages[0]!.jobs[0]!.reason), "worker lost");
			assert.equal(master.tasks.get(t.taskId)?.state, "TASK_RUNNING", "the master still says running");
			await noProcessOf(name);
		} finally {
			// The removal comes late: TASK_UNREACHABLE for a job already over.
			master.loseAgent(t.agentId);
			master.restoreAgent(t.agentId);
		}
	});

	test("missed heartbeats: the hatchery drops the silent stream, re-subscribes, and the job succeeds", async () => {
		const name = SHARED;
		const { gate, script } = gated("heartbeat");
		await c.workflow("HEARTBEAT", c.job(name, script));
		const n = await c.start("HEARTBEAT");
		await taskOf(name, "HEARTBEAT");
		const subscribes = master.calls.filter((x) => x.type === "SUBSCRIBE").length;
		master.silence();
		await c.until(
			"a re-subscription",
			async () => master.calls.filter((x) => x.type === "SUBSCRIBE").length > subscribes,
			20_000,
		);
		(await import("node:fs")).writeFileSync(gate, "");
		const run = await c.wait("HEARTBEAT", n);
		assert.equal(run.status, "Success", JSON.stringify(run.nodes));
		await noProcessOf(name);
	});

	test("framework failover within failover_timeout: the restarted hatchery re-subscribes with its framework id and the job succeeds", async () => {
		const name = "mesos-fw-within";
		let h = c.hatchery(name);
		const { gate, started, script } = gated("within");
		await c.workflow("WITHIN", c.job(name, script));
		const n = await c.start("WITHIN");
		const t = await taskOf(name, "WITHIN");
		// TASK_RUNNING is the task's shell: its worker fetches its one-time assignment from this
		// hatchery just after. Killed before that, the worker never gets its job (its task ends, and
		// the job fails on that evidence): "within failover_timeout" is about a job under way.
		const fs = await import("node:fs");
		await c.until("the step to run", async () => fs.existsSync(started));
		const accepts = master.calls.filter((x) => x.type === "ACCEPT").length;
		await h.kill9();
		h = c.hatchery(name);
		await c.until("the same framework to re-subscribe", async () =>
			master.calls.some(
				(x) =>
					x.type === "SUBSCRIBE" &&
					(x.framework_id as { value: string } | undefined)?.value === t.frameworkId,
			),
		);
		fs.writeFileSync(gate, "");
		const run = await c.wait("WITHIN", n);
		assert.equal(run.status, "Success", JSON.stringify(run.nodes));
		assert.equal(master.tasks.get(t.taskId)?.orphaned, undefined, "the task was kept");
		assert.equal(
			master.calls.filter((x) => x.type === "ACCEPT").length,
			accepts,
			"no second task for the job",
		);
		await noProcessOf(name);
		await h.stop();
	});

	test("framework failover beyond failover_timeout: the master killed the task, the restarted hatchery subscribes anew and the job fails 'worker lost'", async () => {
		const name = "mesos-fw-beyond";
		const extra = { CDS_MESOS_FAILOVER_TIMEOUT_SECONDS: "1" };
		let h = c.hatchery(name, extra);
		await c.workflow("BEYOND", c.job(name, "echo started\nsleep 60"));
		const n = await c.start("BEYOND");
		const t = await taskOf(name, "BEYOND");
		await h.kill9();
		await c.until(
			"the framework to be removed",
			async () => !master.frameworkIds().includes(t.frameworkId),
			15_000,
		);
		await noProcessOf(name);
		h = c.hatchery(name, extra);
		const run = await c.wait("BEYOND", n);
		assert.equal(run.status, "Fail");
		assert.match(String(run.nodes[0]!.stages[0]!.jobs[0]!.reason), /worker lost/);
		// The new instance is a new framework: the old id was refused (ERROR) and forgotten.
		await c.until("a new framework", async () => master.frameworkIds().some((id) => id !== t.frameworkId));
		await h.stop();
	});
});
