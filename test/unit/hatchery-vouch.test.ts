// What a hatchery vouches for: running workers on a job, never one its driver cannot confirm
// alive (a Kubernetes pod, whose Running phase outlives a lost node).

import assert from "node:assert/strict";
import { test } from "node:test";
import type { WorkerHandle } from "../../src/hatchery/contract.ts";
import { KubernetesDriver } from "../../src/hatchery/drivers/kubernetes.ts";
import { vouchedJobs } from "../../src/hatchery/vouch.ts";
import { KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { ANNOTATION_JOB } from "../../src/hatchery/kubernetes/pod-spec.ts";

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
