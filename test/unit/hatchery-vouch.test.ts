// What a hatchery vouches for: running workers on a job, never one its driver cannot confirm
// alive — a Kubernetes pod (its Running phase outlives a lost node), a Mesos task or a Marathon
// app's task (TASK_RUNNING outlives a dead agent until the master removes it), a Nova server
// (ACTIVE outlives a dead compute host).

import assert from "node:assert/strict";
import { test } from "node:test";
import type { WorkerHandle } from "../../src/hatchery/contract.ts";
import { KubernetesDriver } from "../../src/hatchery/drivers/kubernetes.ts";
import { vouchedJobs } from "../../src/hatchery/vouch.ts";
import { KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { ANNOTATION_JOB } from "../../src/hatchery/kubernetes/pod-spec.ts";
import { MesosDriver } from "../../src/hatchery/drivers/mesos.ts";
import { taskIdFor } from "../../src/mesos/task-id.ts";
import type { TaskStatus } from "../../src/mesos/scheduler-api.ts";
import { MarathonDriver } from "../../src/hatchery/drivers/marathon.ts";
import { hatcheryGroup, LABEL_HATCHERY, LABEL_JOB } from "../../src/hatchery/marathon/app-spec.ts";
import type { MarathonApp } from "../../src/marathon/types.ts";
import { OpenStackDriver } from "../../src/hatchery/drivers/openstack.ts";
import { META_JOB } from "../../src/hatchery/openstack/server-spec.ts";
import type { NovaServer } from "../../src/hatchery/openstack/nova.ts";

const remote = {
	name: "h",
	maxWorkers: 2,
	maxProvisioning: 2,
	models: [],
	binaries: [],
	memoryMb: 512,
	workerEnv: {},
};

const handle = (over: Partial<WorkerHandle>): WorkerHandle => ({
	name: "w",
	jobId: "j",
	startedAt: 0,
	state: "running",
	...over,
});

test("running workers on a job are vouched for; starting, idle, ended and unconfirmed ones are not", () => {
	assert.deepEqual(
		vouchedJobs([
			handle({ name: "a", jobId: "A" }),
			handle({ name: "b", jobId: "B", state: "provisioning" }),
			handle({ name: "c", jobId: null, state: "idle" }),
			handle({ name: "d", jobId: "D", state: "exited" }),
			handle({ name: "e", jobId: "E", unconfirmed: true }),
			handle({ name: "f", jobId: null }),
		]),
		["A"],
	);
});

test("the Kubernetes driver lists a Running pod unconfirmed: its phase outlives a lost node", async () => {
	const kubeConfig = new KubeConfig();
	kubeConfig.loadFromOptions({
		clusters: [{ name: "c", server: "https://127.0.0.1:1", skipTLSVerify: true }],
		users: [{ name: "u", token: "t" }],
		contexts: [{ name: "c", cluster: "c", user: "u" }],
		currentContext: "c",
	});
	const driver = new KubernetesDriver({
		name: "h",
		kubeConfig,
		settings: {} as never,
		maxWorkers: 2,
		maxProvisioning: 2,
		models: [],
		binaries: [],
		memoryMb: 512,
		workerEnv: {},
	});
	const pod: V1Pod = {
		metadata: { name: "cds-h-1", annotations: { [ANNOTATION_JOB]: "P/w/1/j" } },
		spec: { nodeName: "n", containers: [] },
		status: { phase: "Running" },
	};
	// What its pod informer calls on an added pod.
	(driver as unknown as { observe(p: V1Pod): void }).observe(pod);
	const listed = await driver.list();
	assert.equal(listed.length, 1);
	assert.equal(listed[0]!.state, "running");
	assert.equal(listed[0]!.jobId, "P/w/1/j");
	assert.deepEqual(vouchedJobs(listed), []);
});

test("the Mesos driver lists a TASK_RUNNING task unconfirmed: the master says so until it removes a dead agent", async () => {
	const driver = new MesosDriver({
		...remote,
		settings: { masters: ["http://127.0.0.1:1"] } as never,
		keeper: {} as never,
	});
	const status = {
		task_id: { value: taskIdFor("h", "P/w/1/j") },
		agent_id: { value: "agent-1" },
		state: "TASK_RUNNING",
		source: "SOURCE_MASTER",
		reason: "REASON_RECONCILIATION",
	} as TaskStatus;
	// What its subscription calls on an UPDATE (here a reconciliation's answer: an adopted task).
	(driver as unknown as { handleUpdate(s: TaskStatus): void }).handleUpdate(status);
	const listed = await driver.list();
	assert.equal(listed.length, 1);
	assert.equal(listed[0]!.state, "running");
	assert.equal(listed[0]!.jobId, "P/w/1/j");
	assert.deepEqual(vouchedJobs(listed), []);
});

test("the Marathon driver lists an app whose task runs unconfirmed: TASK_RUNNING outlives a dead agent", async () => {
	const driver = new MarathonDriver({
		...remote,
		settings: { url: "http://127.0.0.1:1", appPrefix: "/cds", startTimeoutMs: 60_000 } as never,
	});
	const app = {
		id: `${hatcheryGroup("/cds", "h")}/job-1`,
		instances: 1,
		version: new Date().toISOString(),
		labels: { [LABEL_HATCHERY]: "h", [LABEL_JOB]: "P/w/1/j" },
		tasks: [{ id: "t1", appId: "x", state: "TASK_RUNNING", host: "agent-1" }],
	} as unknown as MarathonApp;
	// What its poll calls on each app it reads.
	(driver as unknown as { observe(a: MarathonApp, q: undefined): void }).observe(app, undefined);
	const listed = await driver.list();
	assert.equal(listed.length, 1);
	assert.equal(listed[0]!.state, "running");
	assert.deepEqual(vouchedJobs(listed), []);
	await driver.client.close();
});

test("the Nova driver lists an ACTIVE server unconfirmed: ACTIVE outlives a dead compute host", async () => {
	const driver = new OpenStackDriver({
		...remote,
		settings: { pollMs: 1000, buildTimeoutMs: 60_000 } as never,
		keystone: {} as never,
	});
	const server = {
		id: "s1",
		name: "cds-h-1",
		status: "ACTIVE",
		metadata: { [META_JOB]: "P/w/1/j" },
		created: new Date().toISOString(),
	} as unknown as NovaServer;
	// What its poll calls on each server it lists.
	(driver as unknown as { observe(s: NovaServer): void }).observe(server);
	const listed = await driver.list();
	assert.equal(listed.length, 1);
	assert.equal(listed[0]!.state, "running");
	assert.deepEqual(vouchedJobs(listed), []);
});
