// Kubernetes as a deployment platform through a whole workflow: a project's integration of the
// Kubernetes model (the real API server of test/tools/start-kube.sh, its CA and a token), an
// application deploying to it, a pipeline whose job writes the manifests into its workspace and
// runs `DeployApplication` (`deploy:`), a real broker and a real sandboxed worker. Version 1 rolls
// out (the run succeeds, the Deployment is Ready on the process kubelet); version 2 cannot pull
// its image: its run fails with the reason and the previous ReplicaSet serves again.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { AppsV1Api, CoreV1Api } from "@kubernetes/client-node";
import { parse } from "yaml";
import type { ProcessKubelet } from "../standins/process-kubelet/kubelet.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { HELM, helmSkip, serveChart } from "./deploy-helm.ts";
import { kubeConfig, kubeconfigFile, startKubelet } from "./helpers.ts";

const kc = kubeconfigFile();
const WF = "/api/v1/projects/KDEPLOY/workflows";
const FINAL = new Set(["Success", "Fail", "Stopped", "Skipped"]);

function manifest(node: string, image: string, version: string): string {
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      nodeSelector: {kubernetes.io/hostname: ${node}}
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 1
      containers:
        - {name: main, image: "${image}", command: [sleep, "3600"], env: [{name: VERSION, value: "${version}"}]}
`;
}

describe("a workflow deploys to Kubernetes and rolls a failing version back", {
	skip: kc.skip,
	timeout: 300_000,
}, () => {
	let srv: TestServer;
	let kubelet: ProcessKubelet;
	let chart: Awaited<ReturnType<typeof serveChart>>;
	const namespace = `wf-deploy-${process.pid}`;
	const core = () => kubeConfig(kc.file!).makeApiClient(CoreV1Api);
	const apps = () => kubeConfig(kc.file!).makeApiClient(AppsV1Api);

	before(async () => {
		kubelet = await startKubelet(kc.file!);
		chart = await serveChart();
		await core().createNamespace({ body: { metadata: { name: namespace } } });
		const config = parse(readFileSync(kc.file!, "utf8"));
		const server: string = config.clusters[0].cluster.server;
		const token: string = config.users[0].user.token;
		const ca = readFileSync(path.join(path.dirname(kc.file!), "certs/apiserver.crt"), "utf8");
		srv = await startTestServer({
			// The API server and the chart's server listen on this host's loopback: allowed, and
			// reachable from the sandbox.
			CDS_OUTBOUND_ALLOW: `${new URL(server).host},${chart.host}`,
			CDS_SANDBOX_NETWORK: "host",
			CDS_WORKER_HEARTBEAT_SECONDS: "1",
			CDS_HATCHERY_POLL_MS: "100",
			...(helmSkip ? {} : { CDS_HELM_BIN: HELM }),
		});
		assert.equal(
			(await srv.api("POST", "/api/v1/projects", { key: "KDEPLOY", name: "KDeploy" })).status,
			201,
		);
		const pipeline = (name: string, image: string, version: string) => ({
			path: `${name}.pip.yml`,
			content: [
				"version: v1.0",
				`name: ${name}`,
				"jobs:",
				"- job: deploy",
				"  steps:",
				"  - script:",
				"    - mkdir -p k8s",
				`    - echo ${Buffer.from(manifest(kubelet.nodeName, image, version)).toString("base64")} | base64 -d > k8s/shop.yaml`,
				"  - deploy: '{{.cds.application}}'",
				"",
			].join("\n"),
		});
		const workflow = (name: string, pip: string) => ({
			path: `${name}.yml`,
			content: `name: ${name}\nversion: v2.0\nworkflow:\n  deploy:\n    pipeline: ${pip}\n    application: shop\n    integration: cluster\nintegrations:\n  cluster: {}\n`,
		});
		const files = [
			{
				path: "cluster.integration.yml",
				content: [
					"name: cluster",
					"model:",
					"  name: Kubernetes",
					"config:",
					`  api_url: {value: ${JSON.stringify(server)}, type: string}`,
					`  ca_certificate: {value: ${JSON.stringify(ca)}, type: text}`,
					`  token: {value: ${JSON.stringify(token)}, type: password}`,
					"",
				].join("\n"),
			},
			{
				path: "shop.app.yml",
				content: `version: v1.0\nname: shop\ndeployments:\n  cluster:\n    namespace: {type: string, value: ${namespace}}\n    deployment_files: {type: string, value: "k8s/*.yaml"}\n    timeout: {type: string, value: "20s"}\n`,
			},
			pipeline("deploy-v1", "example/shop:1", "v1"),
			pipeline("deploy-v2", "unpullable/shop:2", "v2"),
			{
				path: "deploy-helm.pip.yml",
				content: [
					"version: v1.0",
					"name: deploy-helm",
					"jobs:",
					"- job: deploy",
					"  steps:",
					`  - script: ["echo 'node: ${kubelet.nodeName}' > values.yaml"]`,
					"  - deploy: '{{.cds.application}}'",
					"",
				].join("\n"),
			},
			{
				path: "chart.integration.yml",
				content: [
					"name: chart",
					"model:",
					"  name: Kubernetes",
					"config:",
					`  api_url: {value: ${JSON.stringify(server)}, type: string}`,
					`  ca_certificate: {value: ${JSON.stringify(ca)}, type: text}`,
					`  token: {value: ${JSON.stringify(token)}, type: password}`,
					`  namespace: {value: ${namespace}, type: string}`,
					`  helm_chart: {value: ${JSON.stringify(chart.url)}, type: string}`,
					"  release_name: {value: cart, type: string}",
					"  helm_values: {value: values.yaml, type: string}",
					"",
				].join("\n"),
			},
			{
				path: "cart-values.app.yml",
				content: "version: v1.0\nname: cart\n",
			},
			{
				path: "cart.yml",
				content:
					"name: cart\nversion: v2.0\nworkflow:\n  deploy:\n    pipeline: deploy-helm\n    application: cart\n    integration: chart\nintegrations:\n  chart: {}\n",
			},
			workflow("shop-v1", "deploy-v1"),
			workflow("shop-v2", "deploy-v2"),
		];
		const imported = await srv.api("POST", "/api/v1/projects/KDEPLOY/import", { files });
		assert.equal(imported.status, 200, JSON.stringify(imported.body));
	});
	after(async () => {
		await srv?.stop();
		await core()
			.deleteNamespace({ name: namespace })
			.catch(() => {});
		await kubelet?.stop();
		chart?.close();
	});

	async function run(wf: string): Promise<{ status: string; logs: string }> {
		const n = (await srv.api("POST", `${WF}/${wf}/runs`, {})).body.number;
		const deadline = Date.now() + 120_000;
		for (;;) {
			const r = (await srv.api("GET", `${WF}/${wf}/runs/${n}`)).body;
			if (FINAL.has(r.status)) {
				const page = (await srv.api("GET", `${WF}/${wf}/runs/${n}/logs?limit=5000`)).body;
				return { status: r.status, logs: page.items.map((l: { text: string }) => l.text).join("") };
			}
			if (Date.now() > deadline) throw new Error(`run ${wf} #${n} still ${r.status}`);
			await new Promise((res) => setTimeout(res, 200));
		}
	}

	test("a Helm chart deploys through the hatchery's helm (CDS_HELM_BIN, visible in the sandbox)", {
		skip: helmSkip,
	}, async () => {
		const result = await run("cart");
		assert.equal(result.status, "Success", result.logs);
		assert.match(result.logs, /helm chart downloaded from http:\/\/127\.0\.0\.1:\d+\/tiny-0\.1\.0\.tgz/);
		assert.match(result.logs, /helm chart .*release cart/);
		assert.match(result.logs, /Deployment\/cart-tiny: successfully rolled out \(1 available\)/);
	});

	const serving = async () =>
		(await core().listNamespacedPod({ namespace, labelSelector: "app=shop" })).items
			.filter((p) => p.status?.phase === "Running" && !p.metadata?.deletionTimestamp)
			.map((p) => p.spec!.containers[0]!.env![0]!.value);

	test("version 1 rolls out; version 2 fails and is rolled back to version 1's ReplicaSet", async () => {
		const v1 = await run("shop-v1");
		assert.equal(v1.status, "Success", v1.logs);
		assert.match(v1.logs, /with plugin deploy-kubernetes/);
		assert.match(v1.logs, /Deployment\/shop created \(server-side apply\)/);
		assert.match(v1.logs, /Deployment\/shop: successfully rolled out \(2 available\)/);
		const ready = await apps().readNamespacedDeployment({ name: "shop", namespace });
		assert.equal(ready.status?.readyReplicas, 2);
		const sets = (await apps().listNamespacedReplicaSet({ namespace, labelSelector: "app=shop" })).items;
		assert.equal(sets.length, 1);
		const v1Set = sets[0]!.metadata!.name!;
		assert.ok(
			!v1.logs.includes(parse(readFileSync(kc.file!, "utf8")).users[0].user.token),
			"the token is masked",
		);

		const v2 = await run("shop-v2");
		assert.equal(v2.status, "Fail", v2.logs);
		assert.match(
			v2.logs,
			/deployment failed: timed out after 20s: Deployment\/shop: .*rolled back Deployment\/shop to the previous revision/,
		);
		const after = (await apps().listNamespacedReplicaSet({ namespace, labelSelector: "app=shop" })).items;
		const previous = after.find((rs) => rs.metadata?.name === v1Set);
		assert.equal(previous?.status?.readyReplicas, 2);
		for (const rs of after) if (rs.metadata?.name !== v1Set) assert.equal(rs.spec?.replicas, 0);
		assert.deepEqual(await serving(), ["v1", "v1"]);
	});
});
