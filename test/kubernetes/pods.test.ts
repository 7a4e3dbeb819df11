// Workflows whose jobs run as pods, end to end: API and run services in one node, a hatchery
// node with CDS_HATCHERY_DRIVER=kubernetes against the real API server (KUBECONFIG), its pods
// bound by the real scheduler to the process kubelet's node, each running a worker that talks
// to the API. Also what goes wrong in clusters: a hatchery killed mid-run and restarted (no
// orphan pod, no lost job), an image that cannot be pulled, an evicted pod.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { AppsV1Api, CoreV1Api } from "@kubernetes/client-node";
import { parse } from "yaml";
import { LABEL_HATCHERY } from "../../src/hatchery/kubernetes/pod-spec.ts";
import type { ProcessKubelet } from "../standins/process-kubelet/kubelet.ts";
import {
	type NodeProcess,
	spawnNode,
	stepWritableDir,
	tearDownCluster,
	testCluster,
} from "../helpers/cluster.ts";
import { apiClient, waitReady } from "../helpers/server.ts";
import { serverUrl } from "../helpers/servers.ts";
import { HELM, helmSkip, serveChart } from "./deploy-helm.ts";
import { kubeConfig, kubeconfigFile, onNode, startKubelet, WORKER_COMMAND } from "./helpers.ts";

const kube = kubeconfigFile();
const nats = serverUrl("NATS_URL");
const mongo = serverUrl("MONGO_URL");
const WF = "/api/v1/projects/KUBE/workflows";
const FINAL = new Set(["Success", "Fail", "Stopped", "Skipped"]);

describe("workflow jobs as Kubernetes pods", { skip: kube.skip || nats.skip || mongo.skip }, () => {
	const nodes: NodeProcess[] = [];
	let kubelet: ProcessKubelet;
	let chart: Awaited<ReturnType<typeof serveChart>>;
	let core: CoreV1Api;
	let shared: Record<string, string>;
	let dbUrl: string;
	let work: string;
	let shareDir: string;
	let api: ReturnType<typeof apiClient>;

	const hatchery = (name: string, models: string, extra: Record<string, string> = {}) => {
		const n = spawnNode(name, {
			...shared,
			SERVICES: "hatchery",
			KUBECONFIG: kube.file!,
			...onNode(kubelet),
			CDS_HATCHERY_DRIVER: "kubernetes",
			CDS_HATCHERY_NAME: name,
			CDS_HATCHERY_MODELS: models,
			CDS_HATCHERY_POLL_MS: "200",
			CDS_KUBERNETES_WORKER_COMMAND: WORKER_COMMAND,
			CDS_WORKER_BASEDIR: path.join(work, "workers", name),
			CDS_SANDBOX_SHARE: shareDir,
			...extra,
		});
		nodes.push(n);
		return n;
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

	/** Imports a workflow of one pipeline whose jobs (name → script) all require `model`. */
	async function workflow(name: string, model: string, jobs: Record<string, string>) {
		const body = Object.entries(jobs)
			.map(
				([job, script]) =>
					`- job: ${job}\n  requirements:\n  - model: ${model}\n  steps:\n  - script: |\n${script
						.split("\n")
						.map((l) => `      ${l}`)
						.join("\n")}\n`,
			)
			.join("");
		const files = [
			{ path: `${name}.yml`, content: `name: ${name}\nversion: v1.0\npipeline: ${name}-p\n` },
			{ path: `${name}-p.pip.yml`, content: `version: v1.0\nname: ${name}-p\njobs:\n${body}` },
		];
		const r = await api("POST", "/api/v1/projects/KUBE/import", { files });
		assert.equal(r.status, 200, JSON.stringify(r.body));
	}

	const startRun = async (wf: string): Promise<number> => {
		const r = await api("POST", `${WF}/${wf}/runs`, {});
		assert.equal(r.status, 201, JSON.stringify(r.body));
		return r.body.number;
	};
	const waitRun = (wf: string, n: number, timeoutMs = 120_000) =>
		until(
			`run ${wf} #${n} to end`,
			async () => {
				const r = (await api("GET", `${WF}/${wf}/runs/${n}`)).body;
				return FINAL.has(r?.status) ? r : undefined;
			},
			timeoutMs,
		);
	const logs = async (wf: string, n: number): Promise<string> =>
		((await api("GET", `${WF}/${wf}/runs/${n}/logs`)).body?.items ?? [])
			.map((l: { text: string }) => l.text)
			.join("");
	const jobsOf = (run: {
		nodes: Array<{ stages: Array<{ jobs: Array<{ name?: string; status: string; reason?: string }> }> }>;
	}) => run.nodes.flatMap((n) => n.stages.flatMap((s) => s.jobs));

	const podsOf = async (name: string) =>
		(await core.listNamespacedPod({ namespace: "default", labelSelector: `${LABEL_HATCHERY}=${name}` }))
			.items;
	const secretsOf = async (name: string) =>
		(await core.listNamespacedSecret({ namespace: "default", labelSelector: `${LABEL_HATCHERY}=${name}` }))
			.items;
	const nothingLeft = (name: string) =>
		until(`no pod nor secret of ${name} left`, async () => {
			const [pods, secrets] = [await podsOf(name), await secretsOf(name)];
			return pods.length === 0 && secrets.length === 0;
		});

	before(async () => {
		kubelet = await startKubelet(kube.file!);
		chart = await serveChart();
		core = kubeConfig(kube.file!).makeApiClient(CoreV1Api);
		work = mkdtempSync(path.join(tmpdir(), "cds-kube-pods-"));
		shareDir = stepWritableDir(path.join(work, "shared"));
		const cluster = await testCluster(
			"cds_kube_pods",
			{ natsUrl: nats.url!, mongoUrl: mongo.url! },
			{
				CDS_WORKER_HEARTBEAT_SECONDS: "1",
				CDS_WORKER_HEARTBEAT_TIMEOUT_MS: "5000",
				// The Helm deployment below reaches the API server and the chart's server on this host's loopback.
				CDS_OUTBOUND_ALLOW: `${new URL(parse(readFileSync(kube.file!, "utf8")).clusters[0].cluster.server).host},${chart.host}`,
			},
		);
		({ dbUrl, env: shared } = cluster);
		const n = spawnNode("core", { ...shared, SERVICES: "api,auth,project,workflow,run" });
		nodes.push(n);
		await waitReady(cluster.url, 60_000);
		api = apiClient(cluster.url, shared.CDS_ADMIN_TOKEN!);
		assert.equal((await api("POST", "/api/v1/projects", { key: "KUBE", name: "Kube" })).status, 201);
	});

	after(async () => {
		await tearDownCluster(nodes, [dbUrl]);
		await kubelet?.stop();
		chart?.close();
		rmSync(work, { recursive: true, force: true });
	});

	test("a workflow's jobs run as pods to Success, and their pods and secrets are deleted after", async () => {
		const h = hatchery("kube-e2e", "kube-e2e");
		await workflow("E2E", "kube-e2e", {
			build: 'echo "built by $CDS_WORKFLOW"',
			test: 'echo "tested by $CDS_WORKFLOW"',
			// The `worker` command reaches the worker's socket from the step container.
			lint: "echo linted; worker export color blue",
		});
		const n = await startRun("E2E");
		const seen = new Set<string>();
		const run = await until("the run to end", async () => {
			for (const p of await podsOf("kube-e2e")) {
				seen.add(p.metadata!.name!);
				// The pod says which job and hatchery it serves; the scheduler bound it to the kubelet's node.
				assert.match(p.metadata!.annotations!["cds-ts.ovh/job-id"]!, /^KUBE\/E2E\//);
				assert.equal(p.metadata!.annotations!["cds-ts.ovh/hatchery-name"], "kube-e2e");
				if (p.spec?.nodeName) assert.equal(p.spec.nodeName, kubelet.nodeName);
			}
			const r = (await api("GET", `${WF}/E2E/runs/${n}`)).body;
			return FINAL.has(r?.status) ? r : undefined;
		});
		assert.equal(run.status, "Success", JSON.stringify(run.nodes));
		assert.equal(jobsOf(run).length, 3);
		assert.ok(seen.size >= 1, "pods were seen");
		const text = await logs("E2E", n);
		assert.match(text, /built by E2E/);
		assert.match(text, /tested by E2E/);
		await nothingLeft("kube-e2e");
		await h.stop();
	});

	test("pods run where the restricted Pod Security Standard is enforced (non-root, fsGroup, no escalation)", async () => {
		const namespace = `restricted-${process.pid}`;
		await core.createNamespace({
			body: {
				metadata: {
					name: namespace,
					labels: {
						"pod-security.kubernetes.io/enforce": "restricted",
						"pod-security.kubernetes.io/enforce-version": "latest",
					},
				},
			},
		});
		const name = "kube-restricted";
		const h = hatchery(name, name, { CDS_KUBERNETES_NAMESPACE: namespace });
		try {
			// The admission plugin enforces it there: a pod running as root is refused.
			await assert.rejects(
				core.createNamespacedPod({
					namespace,
					dryRun: "All",
					body: { metadata: { name: "as-root" }, spec: { containers: [{ name: "c", image: "busybox" }] } },
				}),
				(e: { code?: number; body?: unknown }) =>
					e.code === 403 && /violates PodSecurity \W*restricted/.test(String(e.body)),
			);
			await workflow("RESTRICTED", name, { j: 'echo "restricted ok"' });
			const n = await startRun("RESTRICTED");
			const pod = await until("the job's pod", async () => {
				const pods = (await core.listNamespacedPod({ namespace, labelSelector: `${LABEL_HATCHERY}=${name}` }))
					.items;
				return pods[0];
			});
			assert.equal(pod.spec?.securityContext?.runAsNonRoot, true);
			assert.equal(pod.spec?.securityContext?.fsGroup, 1000);
			assert.equal(pod.spec?.volumes?.[0]?.secret?.defaultMode, 0o440);
			const run = await waitRun("RESTRICTED", n);
			assert.equal(run.status, "Success", JSON.stringify(run.nodes));
			assert.match(await logs("RESTRICTED", n), /restricted ok/);
			await until("no pod left in the restricted namespace", async () => {
				const pods = await core.listNamespacedPod({ namespace, labelSelector: `${LABEL_HATCHERY}=${name}` });
				return pods.items.length === 0;
			});
		} finally {
			await h.stop();
			await core.deleteNamespace({ name: namespace }).catch(() => {});
		}
	});

	test("a Helm deployment step in a pod renders its chart with the image's helm (CDS_KUBERNETES_HELM_BIN)", {
		skip: helmSkip,
	}, async () => {
		const namespace = `pod-helm-${process.pid}`;
		await core.createNamespace({ body: { metadata: { name: namespace } } });
		const config = parse(readFileSync(kube.file!, "utf8"));
		const ca = readFileSync(path.join(path.dirname(kube.file!), "certs/apiserver.crt"), "utf8");
		const name = "kube-helm";
		// The hatchery's own helm setting is not the pods' one: only CDS_KUBERNETES_HELM_BIN reaches them.
		const h = hatchery(name, name, { CDS_KUBERNETES_HELM_BIN: HELM });
		try {
			const files = [
				{
					path: "podchart.integration.yml",
					content: [
						"name: podchart",
						"model:",
						"  name: Kubernetes",
						"config:",
						`  api_url: {value: ${JSON.stringify(config.clusters[0].cluster.server)}, type: string}`,
						`  ca_certificate: {value: ${JSON.stringify(ca)}, type: text}`,
						`  token: {value: ${JSON.stringify(config.users[0].user.token)}, type: password}`,
						`  namespace: {value: ${namespace}, type: string}`,
						`  helm_chart: {value: ${JSON.stringify(chart.url)}, type: string}`,
						"  release_name: {value: podcart, type: string}",
						"  helm_values: {value: values.yaml, type: string}",
						"",
					].join("\n"),
				},
				{ path: "podcart.app.yml", content: "version: v1.0\nname: podcart\n" },
				{
					path: "pod-helm.pip.yml",
					content: [
						"version: v1.0",
						"name: pod-helm",
						"jobs:",
						"- job: deploy",
						"  requirements:",
						`  - model: ${name}`,
						"  steps:",
						`  - script: ["echo 'node: ${kubelet.nodeName}' > values.yaml"]`,
						"  - deploy: '{{.cds.application}}'",
						"",
					].join("\n"),
				},
				{
					path: "PODHELM.yml",
					content:
						"name: PODHELM\nversion: v2.0\nworkflow:\n  deploy:\n    pipeline: pod-helm\n    application: podcart\n    integration: podchart\nintegrations:\n  podchart: {}\n",
				},
			];
			const imported = await api("POST", "/api/v1/projects/KUBE/import", { files });
			assert.equal(imported.status, 200, JSON.stringify(imported.body));
			const n = await startRun("PODHELM");
			const run = await waitRun("PODHELM", n);
			const text = await logs("PODHELM", n);
			assert.equal(run.status, "Success", text);
			assert.match(text, /helm chart .*release podcart/);
			assert.match(text, /Deployment\/podcart-tiny: successfully rolled out \(1 available\)/);
			const apps = kubeConfig(kube.file!).makeApiClient(AppsV1Api);
			assert.equal(
				(await apps.readNamespacedDeployment({ name: "podcart-tiny", namespace })).status?.readyReplicas,
				1,
			);
		} finally {
			await h.stop();
			await core.deleteNamespace({ name: namespace }).catch(() => {});
		}
	});

	test("a hatchery killed mid-run and restarted under the same name: no orphan pod, no lost job", async () => {
		const name = "kube-restart";
		const gate = path.join(shareDir, "restart.gate");
		const wait = `echo started\nfor i in $(seq 1 600); do [ -e ${gate} ] && break; sleep 0.2; done\necho finished`;
		let h = hatchery(name, name, { CDS_HATCHERY_MAX_WORKERS: "2" });
		await workflow("RESTART", name, { a: wait, b: wait, c: wait });
		const n = await startRun("RESTART");
		await until("two pods running", async () => {
			const pods = await podsOf(name);
			return pods.filter((p) => p.status?.phase === "Running").length === 2;
		});
		await h.kill9();
		const before = new Set((await podsOf(name)).map((p) => p.metadata!.name!));
		h = hatchery(name, name, { CDS_HATCHERY_MAX_WORKERS: "2" });
		await new Promise((r) => setTimeout(r, 2000));
		// The running pods were adopted, not replaced: the third job waits for a slot.
		const after = (await podsOf(name)).map((p) => p.metadata!.name!);
		for (const pod of before) assert.ok(after.includes(pod), `pod ${pod} was kept`);
		writeFileSync(gate, "");
		const run = await waitRun("RESTART", n);
		assert.equal(run.status, "Success", JSON.stringify(run.nodes));
		assert.deepEqual(
			jobsOf(run).map((j) => j.status),
			["Success", "Success", "Success"],
		);
		await nothingLeft(name);
		await h.stop();
	});

	test("a job whose image cannot be pulled fails with ImagePullBackOff within the start timeout", async () => {
		const name = "kube-pull";
		const h = hatchery(name, "unpullable/nothing:1", { CDS_KUBERNETES_START_TIMEOUT_MS: "2000" });
		await workflow("PULL", "unpullable/nothing:1", { j: "echo never" });
		const n = await startRun("PULL");
		const run = await waitRun("PULL", n, 60_000);
		assert.equal(run.status, "Fail");
		assert.match(jobsOf(run)[0]!.reason ?? "", /worker could not start: pod (ImagePullBackOff|ErrImagePull)/);
		await nothingLeft(name);
		await h.stop();
	});

	test("a pod no node accepts fails its job with Unschedulable within the start timeout", async () => {
		const name = "kube-unsched";
		const h = hatchery(name, name, {
			CDS_KUBERNETES_START_TIMEOUT_MS: "2000",
			CDS_KUBERNETES_NODE_SELECTOR: "pool=does-not-exist",
		});
		await workflow("UNSCHED", name, { j: "echo never" });
		const n = await startRun("UNSCHED");
		const run = await waitRun("UNSCHED", n, 60_000);
		assert.equal(run.status, "Fail");
		assert.match(jobsOf(run)[0]!.reason ?? "", /worker could not start: pod Unschedulable: .*node/);
		await nothingLeft(name);
		await h.stop();
	});

	test("a pod deleted behind the hatchery's back fails its job at once", async () => {
		const name = "kube-vanish";
		const h = hatchery(name, name);
		await workflow("VANISH", name, { j: "echo started\nsleep 60" });
		const n = await startRun("VANISH");
		await until("the step to start", async () => (await logs("VANISH", n)).includes("started"));
		const [pod] = await podsOf(name);
		await core.deleteNamespacedPod({
			name: pod!.metadata!.name!,
			namespace: "default",
			gracePeriodSeconds: 0,
		});
		const run = await waitRun("VANISH", n, 60_000);
		assert.equal(run.status, "Fail");
		assert.match(jobsOf(run)[0]!.reason ?? "", /worker lost: pod cds-kube-vanish-\w+ was deleted/);
		await nothingLeft(name);
		await h.stop();
	});

	test("an evicted pod fails its job at once, with the eviction as reason", async () => {
		const name = "kube-evict";
		const h = hatchery(name, name);
		await workflow("EVICT", name, { j: "echo started\nsleep 60" });
		const n = await startRun("EVICT");
		await until("the step to start", async () => (await logs("EVICT", n)).includes("started"));
		const [pod] = await podsOf(name);
		await kubelet.evict(pod!.metadata!.name!);
		const run = await waitRun("EVICT", n, 60_000);
		assert.equal(run.status, "Fail");
		assert.match(jobsOf(run)[0]!.reason ?? "", /worker lost: pod Evicted: The node was low on resource/);
		await nothingLeft(name);
		await h.stop();
	});

	test("a node lost mid-job: its job fails, and its pod goes with it (pod GC of the controller manager)", async () => {
		const name = "kube-nodeloss";
		// A node of its own, so that the other tests keep theirs.
		const doomed = await startKubelet(kube.file!, /^unpullable\//, `process-node-${process.pid}-lost`);
		const h = hatchery(name, name, onNode(doomed));
		await workflow("NODELOSS", name, { j: "echo started\nsleep 60" });
		const n = await startRun("NODELOSS");
		await until("the step to start", async () => (await logs("NODELOSS", n)).includes("started"));
		await doomed.loseNode();
		const run = await waitRun("NODELOSS", n, 60_000);
		assert.equal(run.status, "Fail");
		assert.match(jobsOf(run)[0]!.reason ?? "", /^worker lost/);
		// The pod GC deletes pods bound to a node that no longer exists (after its quarantine, ~40 s).
		await until("the lost node's pod to be gone", async () => (await podsOf(name)).length === 0, 150_000);
		await nothingLeft(name);
		await h.stop();
	});
});
