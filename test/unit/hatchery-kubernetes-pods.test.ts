// The Kubernetes driver's pure parts: the pod and Secret of a job (image, memory, scheduling,
// labels, where the token goes — and where it must not), what a pod's status means for its job,
// and the cluster configuration it requires.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { readHatcherySettings } from "../../config/hatchery.ts";
import { ConfigError } from "../../config/settings.ts";
import { kubeConfigFor } from "../../src/hatchery/drivers/kubernetes.ts";
import {
	ASSIGNMENT_FILE,
	imageFor,
	jobSecret,
	LABEL_HATCHERY,
	labelValue,
	parseToleration,
	podName,
	workerPod,
} from "../../src/hatchery/kubernetes/pod-spec.ts";
import { podState } from "../../src/hatchery/kubernetes/pod-state.ts";

const settings = (env: Record<string, string> = {}) => readHatcherySettings(env, "/tmp/cds-data").kubernetes;

const assignment = {
	jobId: "PROJ/wf/12/job-abc",
	runId: "run-1",
	token: "s3cr3t-token-value-0123456789",
	apiUrl: "http://api:8081",
	timeoutSeconds: 600,
	requirements: { model: "golang", memoryMb: 512, binaries: [], services: [] },
};

describe("kubernetes pod spec", () => {
	test("the model maps to an image, else is the image; no model: the default image", () => {
		const k = settings({ CDS_KUBERNETES_IMAGES: "golang=golang:1.23,node=node:22" });
		assert.equal(imageFor("golang", k), "golang:1.23");
		assert.equal(imageFor("debian:12", k), "debian:12");
		assert.equal(imageFor(undefined, k), k.defaultImage);
	});

	test("a bad pair or toleration is a ConfigError", () => {
		assert.throws(() => settings({ CDS_KUBERNETES_IMAGES: "golang" }), ConfigError);
		assert.throws(() => settings({ CDS_KUBERNETES_TOLERATIONS: "gpu=yes:Sometimes" }), ConfigError);
		assert.throws(() => settings({ CDS_KUBERNETES_NAMESPACE: "Not_A_Label" }), ConfigError);
	});

	test("the pod: image, memory as request and limit, scheduling, labels, and the token only in its Secret", () => {
		const k = settings({
			CDS_KUBERNETES_NODE_SELECTOR: "pool=ci",
			CDS_KUBERNETES_TOLERATIONS: "dedicated=ci:NoSchedule,spot:NoExecute",
			CDS_KUBERNETES_SERVICE_ACCOUNT: "cds-worker",
			CDS_KUBERNETES_WORKER_COMMAND: "node /w/cds-worker.mjs",
		});
		const input = { hatchery: "hatch-0", assignment, settings: k, workerEnv: { CDS_WORKER_BASEDIR: "/w" } };
		const pod = workerPod(input);
		const c = pod.spec.containers[0]!;
		assert.equal(c.image, "golang");
		assert.deepEqual(c.resources, { requests: { memory: "512Mi" }, limits: { memory: "512Mi" } });
		assert.deepEqual(pod.spec.nodeSelector, { pool: "ci" });
		assert.deepEqual(pod.spec.tolerations, [
			{ key: "dedicated", operator: "Equal", value: "ci", effect: "NoSchedule" },
			{ key: "spot", operator: "Exists", effect: "NoExecute" },
		]);
		assert.equal(pod.spec.serviceAccountName, "cds-worker");
		assert.equal(pod.spec.automountServiceAccountToken, false);
		assert.equal(pod.spec.restartPolicy, "Never");
		assert.equal(pod.metadata.labels[LABEL_HATCHERY], "hatch-0");
		assert.equal(pod.metadata.annotations["cds-ts.ovh/job-id"], assignment.jobId);
		assert.deepEqual(c.command.slice(-2), ["node", "/w/cds-worker.mjs"]);
		assert.match(c.command[2]!, new RegExp(`< ${ASSIGNMENT_FILE}$`));
		assert.equal(JSON.stringify(pod).includes(assignment.token), false, "the token is in the pod");
		const secret = jobSecret(input);
		assert.equal(secret.metadata.name, pod.metadata.name);
		assert.equal(pod.spec.volumes[0]!.secret?.secretName, secret.metadata.name);
		const line = JSON.parse(Buffer.from(secret.data.assignment, "base64").toString());
		assert.deepEqual(line, {
			type: "assign",
			apiUrl: assignment.apiUrl,
			token: assignment.token,
			jobId: assignment.jobId,
		});
	});

	test("restricted by default: non-root uid/fsGroup, no escalation, no capability, RuntimeDefault seccomp, Secret 0440", () => {
		const k = settings({ CDS_KUBERNETES_RUN_AS_USER: "2000", CDS_KUBERNETES_FS_GROUP: "3000" });
		const pod = workerPod({
			hatchery: "h",
			assignment,
			settings: k,
			workerEnv: { CDS_WORKER_BASEDIR: "/w" },
		});
		assert.deepEqual(pod.spec.securityContext, {
			runAsNonRoot: true,
			runAsUser: 2000,
			runAsGroup: 2000,
			fsGroup: 3000,
			seccompProfile: { type: "RuntimeDefault" },
		});
		assert.equal(pod.spec.containers.length, 2);
		for (const c of pod.spec.containers)
			assert.deepEqual(c.securityContext, {
				allowPrivilegeEscalation: false,
				capabilities: { drop: ["ALL"] },
			});
		assert.equal(pod.spec.volumes[0]!.secret?.defaultMode, 0o440);
		const defaults = settings();
		assert.equal(defaults.runAsUser, 1000);
		assert.equal(defaults.fsGroup, 1000);
		assert.throws(() => settings({ CDS_KUBERNETES_RUN_AS_USER: "0" }), ConfigError);
	});

	test("the step container: the workspace volume and the socket, never the job Secret nor the token", () => {
		const k = settings({ CDS_KUBERNETES_WORKER_COMMAND: "node /w/cds-worker.mjs" });
		const pod = workerPod({
			hatchery: "h",
			assignment,
			settings: k,
			workerEnv: { CDS_WORKER_BASEDIR: "/w" },
		});
		const [worker, steps] = pod.spec.containers;
		assert.equal(worker!.name, "worker");
		assert.equal(steps!.name, "steps");
		assert.deepEqual(steps!.command, ["node", "/w/cds-worker.mjs"]);
		assert.deepEqual(
			steps!.volumeMounts.map((m) => m.name),
			["work"],
		);
		assert.deepEqual(
			worker!.volumeMounts.map((m) => [m.name, m.mountPath]),
			[
				["job", "/run/cds-job"],
				["work", "/w"],
			],
		);
		const env = (c: typeof worker) => Object.fromEntries(c!.env.map((e) => [e.name, e.value]));
		assert.equal(env(steps).CDS_WORKER_ROLE, "steps");
		assert.equal(env(steps).CDS_WORKER_STEP_RUNNER, "/w/.cds-steps.sock");
		assert.equal(env(worker).CDS_WORKER_STEP_RUNNER, "/w/.cds-steps.sock");
		assert.equal(JSON.stringify(steps).includes("cds-job"), false);
		assert.equal(pod.spec.volumes[1]!.emptyDir !== undefined, true);
		// Off: one container, steps in the worker's container (and its sandbox).
		const single = workerPod({
			hatchery: "h",
			assignment,
			settings: settings({ CDS_KUBERNETES_STEP_CONTAINER: "false" }),
			workerEnv: { CDS_WORKER_BASEDIR: "/w" },
		});
		assert.equal(single.spec.containers.length, 1);
		assert.equal(env(single.spec.containers[0]).CDS_WORKER_STEP_RUNNER, undefined);
	});

	test("the deploy tools' location in the image reaches the worker as CDS_HELM_BIN (default: helm on PATH)", () => {
		const env = (k: ReturnType<typeof settings>) =>
			Object.fromEntries(
				workerPod({ hatchery: "h", assignment, settings: k, workerEnv: {} }).spec.containers[0]!.env.map(
					(e) => [e.name, e.value],
				),
			);
		assert.equal(env(settings()).CDS_HELM_BIN, "helm");
		assert.equal(
			env(settings({ CDS_KUBERNETES_HELM_BIN: "/opt/tools/helm" })).CDS_HELM_BIN,
			"/opt/tools/helm",
		);
	});

	test("no memory requirement: no resources", () => {
		const pod = workerPod({
			hatchery: "h",
			assignment: { ...assignment, requirements: { binaries: [], services: [] } },
			settings: settings(),
			workerEnv: {},
		});
		assert.equal(pod.spec.containers[0]!.resources, undefined);
		assert.equal(pod.spec.containers[0]!.image, settings().defaultImage);
	});

	test("names: pods are DNS labels unique per attempt, label values stay valid", () => {
		const a = podName("Hatchery_One", "P/w/1/j", "1");
		assert.match(a, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
		assert.ok(a.length <= 63);
		assert.notEqual(a, podName("Hatchery_One", "P/w/1/j", "2"));
		assert.equal(labelValue("hatch-0"), "hatch-0");
		const long = labelValue(`${"x".repeat(100)}/y`);
		assert.ok(long.length <= 63);
		assert.match(long, /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/);
		assert.notEqual(labelValue("a/b"), labelValue("a-b"));
		assert.deepEqual(parseToleration("k:NoSchedule"), { key: "k", operator: "Exists", effect: "NoSchedule" });
	});
});

describe("kubernetes pod state", () => {
	test("phases: pending → provisioning, running, over with the exit code", () => {
		assert.deepEqual(podState(undefined), { kind: "provisioning" });
		assert.deepEqual(podState({ phase: "Running" }), { kind: "running" });
		assert.deepEqual(
			podState({ phase: "Succeeded", containerStatuses: [{ state: { terminated: { exitCode: 0 } } }] }),
			{ kind: "over", exitCode: 0, failure: undefined },
		);
		assert.deepEqual(
			podState({ phase: "Failed", containerStatuses: [{ state: { terminated: { exitCode: 137 } } }] }),
			{ kind: "over", exitCode: 137, failure: undefined },
		);
	});

	test("the worker's exit code, whatever the order of the container statuses", () => {
		assert.deepEqual(
			podState({
				phase: "Failed",
				containerStatuses: [
					{ name: "steps", state: { terminated: { exitCode: 0 } } },
					{ name: "worker", state: { terminated: { exitCode: 1 } } },
				],
			}),
			{ kind: "over", exitCode: 1, failure: undefined },
		);
	});

	test("a pod failed by its node says why", () => {
		assert.deepEqual(podState({ phase: "Failed", reason: "Evicted", message: "low on memory" }), {
			kind: "over",
			exitCode: null,
			failure: "pod Evicted: low on memory",
		});
	});

	test("stuck: an image that cannot be pulled, a pod no node accepts; a pod merely waiting is not", () => {
		assert.deepEqual(
			podState({
				phase: "Pending",
				containerStatuses: [{ state: { waiting: { reason: "ImagePullBackOff", message: "not found" } } }],
			}),
			{ kind: "provisioning", stuck: "ImagePullBackOff: not found" },
		);
		assert.deepEqual(
			podState({
				phase: "Pending",
				conditions: [
					{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/1 nodes" },
				],
			}),
			{ kind: "provisioning", stuck: "Unschedulable: 0/1 nodes" },
		);
		assert.deepEqual(
			podState({
				phase: "Pending",
				containerStatuses: [{ state: { waiting: { reason: "ContainerCreating" } } }],
			}),
			{ kind: "provisioning" },
		);
	});
});

describe("kubernetes cluster configuration", () => {
	test("no KUBECONFIG and not in a pod: a ConfigError saying so", () => {
		assert.throws(
			() => kubeConfigFor(settings()),
			(e: Error) => e instanceof ConfigError && /KUBECONFIG/.test(e.message),
		);
	});
	test("a KUBECONFIG that does not exist: a ConfigError naming it", () => {
		assert.throws(
			() => kubeConfigFor(settings({ KUBECONFIG: "/nonexistent/kubeconfig" })),
			(e: Error) => e instanceof ConfigError && /\/nonexistent\/kubeconfig/.test(e.message),
		);
	});
});
