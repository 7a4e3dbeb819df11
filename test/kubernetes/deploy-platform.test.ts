// Kubernetes as a deployment platform, against the real API server (test/tools/start-kube.sh)
// and the process kubelet: the built-in Kubernetes deployment plugin runs as the worker runs it
// (bin/cds-deploy-kubernetes.ts, the plugin query on stdin, in the workspace), through the
// outbound policy, trusting the API server's CA. A Deployment rolls out (Ready); a version
// whose image cannot be pulled fails the step and is rolled back, the previous ReplicaSet
// serving again; a Helm chart rendered by `helm template` rolls out.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { AppsV1Api, CoreV1Api } from "@kubernetes/client-node";
import { parse } from "yaml";
import { pluginQuery } from "../../src/integrations/plugin-protocol.ts";
import type { ProcessKubelet } from "../standins/process-kubelet/kubelet.ts";
import { CHART, HELM, helmSkip, serveChart } from "./deploy-helm.ts";
import { kubeConfig, kubeconfigFile, startKubelet } from "./helpers.ts";

const kc = kubeconfigFile();
const ROOT = path.resolve(import.meta.dirname, "../..");

function deployment(name: string, node: string, image: string, message: string): string {
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: 2
  progressDeadlineSeconds: 600
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      nodeSelector: {kubernetes.io/hostname: ${node}}
      terminationGracePeriodSeconds: 1
      # The process kubelet models no projected service-account volume.
      automountServiceAccountToken: false
      containers:
        - name: main
          image: ${image}
          command: [sleep, "3600"]
          env: [{name: MESSAGE, value: "${message}"}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ${name}-settings}
data: {message: "${message}"}
`;
}

describe("Kubernetes deployment platform", { skip: kc.skip, timeout: 240_000 }, () => {
	let kubelet: ProcessKubelet;
	let server: string;
	let token: string;
	let ca: string;
	let namespace: string;
	const core = () => kubeConfig(kc.file!).makeApiClient(CoreV1Api);
	const apps = () => kubeConfig(kc.file!).makeApiClient(AppsV1Api);

	before(async () => {
		kubelet = await startKubelet(kc.file!);
		const config = parse(readFileSync(kc.file!, "utf8"));
		server = config.clusters[0].cluster.server;
		token = config.users[0].user.token;
		// The API server's self-signed certificate and its CA (kube-apiserver --cert-dir).
		ca = readFileSync(path.join(path.dirname(kc.file!), "certs/apiserver.crt"), "utf8");
		namespace = `deploy-${process.pid}`;
		await core().createNamespace({ body: { metadata: { name: namespace } } });
	});
	after(async () => {
		await core()
			.deleteNamespace({ name: namespace })
			.catch(() => {});
		await kubelet?.stop();
	});

	async function deploy(
		workspace: string,
		settings: Record<string, string>,
		helm = "",
		allow = true,
		alsoAllow: string[] = [],
	) {
		const vars: Record<string, string> = {
			"cds.application": "web",
			"cds.integration.deployment": "my-cluster",
		};
		const all = { api_url: server, ca_certificate: ca, token, namespace, timeout: "60", ...settings };
		for (const [k, v] of Object.entries(all)) vars[`cds.integration.deployment.${k}`] = v;
		const query = pluginQuery({
			plugin: { name: "deploy-kubernetes", type: "integration-deploy_application" },
			vars,
			secrets: [token],
			outboundAllow: allow ? [new URL(server).host, ...alsoAllow] : [],
			...(helm ? { helm } : {}),
		});
		const child = spawn(process.execPath, [path.join(ROOT, "bin/cds-deploy-kubernetes.ts")], {
			cwd: workspace,
			stdio: ["pipe", "pipe", "inherit"],
		});
		child.stdin.end(JSON.stringify(query));
		let log = "";
		child.stdout.on("data", (c) => {
			log += c;
		});
		const code = await new Promise<number | null>((r) => child.on("close", r));
		process.stderr.write(`--- step log (exit ${code}) ---\n${log}`);
		return { code, log };
	}

	const servingMessages = async (name: string) => {
		const pods = await core().listNamespacedPod({ namespace, labelSelector: `app=${name}` });
		return pods.items
			.filter((p) => p.status?.phase === "Running" && !p.metadata?.deletionTimestamp)
			.map((p) => p.spec!.containers[0]!.env!.find((e) => e.name === "MESSAGE")!.value);
	};

	it("rolls a Deployment out, then rolls a failing version back to the previous ReplicaSet", async () => {
		const ws = mkdtempSync(path.join(tmpdir(), "kdeploy-ws-"));
		writeFileSync(path.join(ws, "web.yaml"), deployment("web", kubelet.nodeName, "example/web:1", "v1"));
		const first = await deploy(ws, { deployment_files: "*.yaml" });
		assert.equal(first.code, 0, first.log);
		assert.match(first.log, /Deployment\/web created \(server-side apply\)/);
		assert.match(first.log, /Deployment\/web: successfully rolled out \(2 available\)/);
		assert.match(first.log, /event Normal Deployment\/web: ScalingReplicaSet/);
		const live = await apps().readNamespacedDeployment({ name: "web", namespace });
		assert.equal(live.status?.readyReplicas, 2);
		assert.ok(live.metadata?.managedFields?.some((f) => f.manager === "cds-ts" && f.operation === "Apply"));
		const v1Sets = await apps().listNamespacedReplicaSet({ namespace, labelSelector: "app=web" });
		assert.equal(v1Sets.items.length, 1);
		const v1Set = v1Sets.items[0]!.metadata!.name!;
		assert.deepEqual(await servingMessages("web"), ["v1", "v1"]);

		// v2: an image the process kubelet cannot pull; a short timeout.
		writeFileSync(path.join(ws, "web.yaml"), deployment("web", kubelet.nodeName, "unpullable/web:2", "v2"));
		const second = await deploy(ws, { deployment_files: "*.yaml", timeout: "15s" });
		assert.equal(second.code, 1, second.log);
		assert.match(second.log, /Deployment\/web configured/);
		assert.match(
			second.log,
			/deployment failed: timed out after 15s: Deployment\/web: .*; rolled back Deployment\/web to the previous revision/,
		);
		// The previous ReplicaSet serves again, with every replica; the failed one is scaled down.
		const after = await apps().listNamespacedReplicaSet({ namespace, labelSelector: "app=web" });
		const byName = new Map(after.items.map((rs) => [rs.metadata!.name!, rs]));
		assert.equal(byName.get(v1Set)?.status?.readyReplicas, 2);
		for (const [name, rs] of byName) if (name !== v1Set) assert.equal(rs.spec?.replicas, 0, name);
		assert.deepEqual(await servingMessages("web"), ["v1", "v1"]);
		// The ConfigMap, not a workload, keeps what was applied.
		const cm = await core().readNamespacedConfigMap({ name: "web-settings", namespace });
		assert.equal(cm.data?.message, "v2");

		// v3: a good image, but a later object the API server refuses: the Deployment, already
		// applied, goes back to v1 as well.
		writeFileSync(path.join(ws, "web.yaml"), deployment("web", kubelet.nodeName, "example/web:3", "v3"));
		writeFileSync(
			path.join(ws, "zz-bad.yaml"),
			"apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec: {ports: [{port: 99999}]}\n",
		);
		const third = await deploy(ws, { deployment_files: "*.yaml" });
		assert.equal(third.code, 1, third.log);
		assert.match(third.log, /Deployment\/web configured/);
		assert.match(
			third.log,
			/deployment failed: applying Service\/bad failed: HTTP 422.*; rolled back Deployment\/web to the previous revision/,
		);
		assert.deepEqual(await servingMessages("web"), ["v1", "v1"]);
		const template = (await apps().readNamespacedDeployment({ name: "web", namespace })).spec?.template;
		assert.equal(template?.spec?.containers[0]?.image, "example/web:1");
	});

	it("refuses an API server the outbound policy does not allow, and a wrong CA", async () => {
		const ws = mkdtempSync(path.join(tmpdir(), "kdeploy-ws-"));
		writeFileSync(path.join(ws, "web.yaml"), deployment("other", kubelet.nodeName, "example/web:1", "v1"));
		const wrongCa = await deploy(ws, { deployment_files: "web.yaml", ca_certificate: "" });
		assert.equal(wrongCa.code, 1, wrongCa.log);
		assert.match(wrongCa.log, /deployment failed: fetch failed \(.*certificate/i);
		const refused = await deploy(ws, { deployment_files: "web.yaml" }, "", false);
		assert.equal(refused.code, 1, refused.log);
		assert.match(refused.log, /deployment failed: .*127\.0\.0\.1.*CDS_OUTBOUND_ALLOW/);
		await assert.rejects(apps().readNamespacedDeployment({ name: "other", namespace }));
	});

	it("renders a Helm chart with helm template and rolls it out", {
		skip: helmSkip,
	}, async () => {
		const ws = mkdtempSync(path.join(tmpdir(), "kdeploy-ws-"));
		cpSync(CHART, path.join(ws, "charts/tiny"), { recursive: true });
		writeFileSync(
			path.join(ws, "values.yaml"),
			`node: ${kubelet.nodeName}\nreplicas: 2\nmessage: from-helm\n`,
		);
		const result = await deploy(
			ws,
			{
				helm_chart: "charts/tiny",
				helm_values: "values.yaml",
				release_name: "shop",
			},
			HELM,
		);
		assert.equal(result.code, 0, result.log);
		assert.match(result.log, /helm chart .*release shop/);
		assert.match(result.log, /Deployment\/shop-tiny: successfully rolled out \(2 available\)/);
		assert.deepEqual(await servingMessages("shop-tiny"), ["from-helm", "from-helm"]);
	});

	it("downloads helm_values given as a URL through the outbound policy; a host it does not allow fails the step", {
		skip: helmSkip,
	}, async () => {
		const values = createServer((req, res) => {
			if (req.url === "/values.yaml") res.end(`node: ${kubelet.nodeName}\nreplicas: 1\nmessage: from-url\n`);
			else res.writeHead(404).end();
		});
		await new Promise<void>((r) => values.listen(0, "127.0.0.1", r));
		const host = `127.0.0.1:${(values.address() as AddressInfo).port}`;
		try {
			const ws = mkdtempSync(path.join(tmpdir(), "kdeploy-ws-"));
			cpSync(CHART, path.join(ws, "tiny"), { recursive: true });
			const settings = {
				helm_chart: "tiny",
				helm_values: `http://${host}/values.yaml`,
				release_name: "fromurl",
			};
			const refused = await deploy(ws, settings, HELM);
			assert.equal(refused.code, 1, refused.log);
			assert.match(
				refused.log,
				new RegExp(`deployment failed: helm_values http://${host}/values.yaml: .*CDS_OUTBOUND_ALLOW`),
			);
			await assert.rejects(apps().readNamespacedDeployment({ name: "fromurl-tiny", namespace }));
			const allowed = await deploy(ws, settings, HELM, true, [host]);
			assert.equal(allowed.code, 0, allowed.log);
			assert.match(allowed.log, new RegExp(`helm values downloaded from http://${host}/values.yaml`));
			assert.match(allowed.log, /Deployment\/fromurl-tiny: successfully rolled out \(1 available\)/);
			assert.deepEqual(await servingMessages("fromurl-tiny"), ["from-url"]);
		} finally {
			values.close();
		}
	});
	it("downloads helm_chart given as a URL through the outbound policy, and never reads a file outside the workspace", {
		skip: helmSkip,
	}, async () => {
		const chart = await serveChart();
		try {
			const ws = mkdtempSync(path.join(tmpdir(), "kdeploy-ws-"));
			writeFileSync(
				path.join(ws, "values.yaml"),
				`node: ${kubelet.nodeName}\nreplicas: 1\nmessage: chart-url\n`,
			);
			const settings = { helm_chart: chart.url, helm_values: "values.yaml", release_name: "byurl" };
			// helm would fetch the chart itself, past the policy: the worker downloads it, or refuses.
			const refused = await deploy(ws, settings, HELM);
			assert.equal(refused.code, 1, refused.log);
			assert.match(
				refused.log,
				new RegExp(`deployment failed: helm_chart ${chart.url}: .*CDS_OUTBOUND_ALLOW`),
			);
			await assert.rejects(apps().readNamespacedDeployment({ name: "byurl-tiny", namespace }));
			const allowed = await deploy(ws, settings, HELM, true, [chart.host]);
			assert.equal(allowed.code, 0, allowed.log);
			assert.match(allowed.log, new RegExp(`helm chart downloaded from ${chart.url} \\(\\d+ bytes\\)`));
			assert.deepEqual(await servingMessages("byurl-tiny"), ["chart-url"]);
			// A chart registry helm would reach on its own is refused, not passed to helm.
			const oci = await deploy(ws, { ...settings, helm_chart: "oci://registry.example.com/tiny" }, HELM);
			assert.equal(oci.code, 1, oci.log);
			assert.match(
				oci.log,
				/helm_chart oci:\/\/registry\.example\.com\/tiny: only an http\(s\) URL or a file of the workspace/,
			);
			// The hatchery host's own files are not the project's: an absolute path or `..` is refused.
			cpSync(CHART, path.join(ws, "tiny"), { recursive: true });
			for (const [key, value] of [
				["helm_values", "/etc/hostname"],
				["helm_values", "../values.yaml"],
				["helm_chart", CHART],
			] as const) {
				const outside = await deploy(ws, { ...settings, helm_chart: "tiny", [key]: value }, HELM);
				assert.equal(outside.code, 1, outside.log);
				assert.match(
					outside.log,
					new RegExp(`${key} ${value.replace(/[./]/g, "\\$&")}: not a file of the workspace`),
				);
			}
			const files = await deploy(ws, { deployment_files: "/etc/*.conf" });
			assert.equal(files.code, 1, files.log);
			assert.match(files.log, /deployment_files \/etc\/\*\.conf: not a file of the workspace/);
		} finally {
			chart.close();
		}
	});
});
