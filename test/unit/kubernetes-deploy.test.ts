import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
	downloadSetting,
	downloadValues,
	kubernetesSettings,
	parseTimeout,
	workspacePath,
} from "../../src/integrations/deploy-kubernetes.ts";
import { outboundFetch, parseOutboundAllow } from "../../src/net/outbound-policy.ts";
import { objectPath, readManifests } from "../../src/integrations/kubernetes/manifests.ts";
import { rolloutState } from "../../src/integrations/kubernetes/rollout.ts";
import { pluginQuery } from "../../src/integrations/plugin-protocol.ts";

describe("Kubernetes manifests", () => {
	it("reads every document, flattens Lists and skips empty documents", () => {
		const objects = readManifests(
			`---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# nothing\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: apps/v1, kind: Deployment, metadata: {name: b, namespace: other}}\n`,
			"k8s/app.yaml",
		);
		assert.deepEqual(
			objects.map((o) => `${o.kind}/${o.metadata.name}`),
			["ConfigMap/a", "Deployment/b"],
		);
	});
	it("names the file and document of an object it cannot apply", () => {
		assert.throws(
			() => readManifests("kind: Pod\nmetadata: {name: x}\n", "a.yaml"),
			/a\.yaml: document 1: no apiVersion/,
		);
		assert.throws(
			() => readManifests("---\napiVersion: v1\nkind: Pod\nmetadata: {generateName: x-}\n", "a.yaml"),
			/document 1: Pod has no metadata.name/,
		);
		assert.throws(() => readManifests("a: [", "bad.yaml"), /bad\.yaml: document 1/);
	});
	it("builds object paths in the object's namespace, else the integration's", () => {
		const [d, ns] = readManifests(
			"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: n1}\n",
			"x",
		);
		assert.equal(
			objectPath(d!, { name: "deployments", namespaced: true }, "prod"),
			"/apis/apps/v1/namespaces/prod/deployments/web",
		);
		assert.equal(objectPath(ns!, { name: "namespaces", namespaced: false }, "prod"), "/api/v1/namespaces/n1");
	});
});

describe("rollout state", () => {
	const dep = (status: Record<string, unknown>, generation = 2, replicas = 3) => ({
		kind: "Deployment",
		metadata: { name: "web", generation },
		spec: { replicas },
		status: { observedGeneration: 2, ...status },
	});
	it("waits for the controller to observe the new generation", () => {
		assert.equal(
			rolloutState(dep({ observedGeneration: 1, updatedReplicas: 3, replicas: 3, availableReplicas: 3 }))
				.state,
			"progressing",
		);
	});
	it("follows a Deployment to done", () => {
		assert.match(rolloutState(dep({ updatedReplicas: 1, replicas: 4 })).message, /1 of 3 new replicas/);
		assert.match(
			rolloutState(dep({ updatedReplicas: 3, replicas: 4 })).message,
			/1 old replicas are pending termination/,
		);
		assert.match(
			rolloutState(dep({ updatedReplicas: 3, replicas: 3, availableReplicas: 2 })).message,
			/2 of 3 updated replicas are available/,
		);
		assert.equal(rolloutState(dep({ updatedReplicas: 3, replicas: 3, availableReplicas: 3 })).state, "done");
	});
	it("fails a Deployment past its progress deadline", () => {
		const s = rolloutState(
			dep({
				conditions: [
					{
						type: "Progressing",
						status: "False",
						reason: "ProgressDeadlineExceeded",
						message: "ReplicaSet web-1 has timed out progressing.",
					},
				],
			}),
		);
		assert.equal(s.state, "failed");
		assert.match(s.message, /timed out progressing/);
	});
	it("follows StatefulSets (revisions, partitions) and DaemonSets", () => {
		const sts = (status: Record<string, unknown>, spec: Record<string, unknown> = {}) =>
			rolloutState({
				kind: "StatefulSet",
				metadata: { name: "db", generation: 1 },
				spec: { replicas: 2, ...spec },
				status: { observedGeneration: 1, ...status },
			});
		assert.equal(sts({ readyReplicas: 1 }).state, "progressing");
		assert.equal(
			sts({ readyReplicas: 2, currentRevision: "a", updateRevision: "b", updatedReplicas: 1 }).state,
			"progressing",
		);
		assert.equal(sts({ readyReplicas: 2, currentRevision: "b", updateRevision: "b" }).state, "done");
		assert.equal(
			sts(
				{ readyReplicas: 2, updatedReplicas: 1 },
				{ updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 1 } } },
			).state,
			"done",
		);
		const ds = (status: Record<string, unknown>) =>
			rolloutState({
				kind: "DaemonSet",
				metadata: { name: "agent", generation: 1 },
				status: { observedGeneration: 1, ...status },
			});
		assert.equal(ds({ desiredNumberScheduled: 2, updatedNumberScheduled: 1 }).state, "progressing");
		assert.equal(
			ds({ desiredNumberScheduled: 2, updatedNumberScheduled: 2, numberAvailable: 1 }).state,
			"progressing",
		);
		assert.equal(
			ds({ desiredNumberScheduled: 2, updatedNumberScheduled: 2, numberAvailable: 2 }).state,
			"done",
		);
	});
});

describe("Kubernetes deployment settings", () => {
	const query = (settings: Record<string, string>) =>
		pluginQuery({
			plugin: { name: "deploy-kubernetes", type: "integration-deploy_application" },
			vars: Object.fromEntries(
				Object.entries(settings).map(([k, v]) => [`cds.integration.deployment.${k}`, v]),
			),
		});
	it("parses timeouts as seconds or durations", () => {
		assert.equal(parseTimeout(""), 180_000);
		assert.equal(parseTimeout("90"), 90_000);
		assert.equal(parseTimeout("3m"), 180_000);
		assert.throws(() => parseTimeout("soon"), /neither seconds nor a duration/);
	});
	it("needs api_url and exactly one of deployment_files and helm_chart", () => {
		assert.throws(() => kubernetesSettings(query({ deployment_files: "*.yaml" })), /no 'api_url'/);
		assert.throws(() => kubernetesSettings(query({ api_url: "https://k" })), /neither/);
		assert.throws(
			() => kubernetesSettings(query({ api_url: "https://k", deployment_files: "a", helm_chart: "c" })),
			/both/,
		);
		const s = kubernetesSettings(query({ api_url: "https://k/", helm_chart: "chart" }));
		assert.equal(s.apiUrl, "https://k");
		assert.equal(s.namespace, "default");
	});
});

describe("CDS_HELM_BIN", () => {
	it("must name an executable file when set (the node exits 2 otherwise)", async () => {
		const { readHatcherySettings } = await import("../../config/hatchery.ts");
		const { ConfigError } = await import("../../config/settings.ts");
		assert.throws(
			() => readHatcherySettings({ CDS_HELM_BIN: "/nonexistent/helm", PATH: "" }, "/tmp/data"),
			(e: unknown) =>
				e instanceof ConfigError && /CDS_HELM_BIN=\/nonexistent\/helm: no executable file/.test(e.message),
		);
		assert.equal(readHatcherySettings({ CDS_HELM_BIN: "/bin/sh", PATH: "" }, "/tmp/data").helm, "/bin/sh");
	});
	it("defaults to helm on PATH, else the CI cache's, else none", async () => {
		const { mkdtempSync, mkdirSync, writeFileSync } = await import("node:fs");
		const { tmpdir } = await import("node:os");
		const path = await import("node:path");
		const { readHatcherySettings } = await import("../../config/hatchery.ts");
		const dir = mkdtempSync(path.join(tmpdir(), "helm-lookup-"));
		const cache = path.join(dir, "cache");
		assert.equal(readHatcherySettings({ PATH: "", CDS_CI_CACHE: cache }, "/tmp/data").helm, "");
		mkdirSync(path.join(cache, "helm-v4.3.2"), { recursive: true });
		writeFileSync(path.join(cache, "helm-v4.3.2/helm"), "#!/bin/sh\n", { mode: 0o755 });
		assert.equal(
			readHatcherySettings({ PATH: "", CDS_CI_CACHE: cache }, "/tmp/data").helm,
			path.join(cache, "helm-v4.3.2/helm"),
		);
		mkdirSync(path.join(dir, "bin"));
		writeFileSync(path.join(dir, "bin/helm"), "#!/bin/sh\n", { mode: 0o755 });
		assert.equal(
			readHatcherySettings({ PATH: path.join(dir, "bin"), CDS_CI_CACHE: cache }, "/tmp/data").helm,
			path.join(dir, "bin/helm"),
		);
	});
});

describe("helm_values given as a URL", () => {
	const serve = async (): Promise<{ server: Server; base: string }> => {
		const server = createServer((req, res) => {
			if (req.url === "/values.yaml") res.end("replicas: 3\n");
			else if (req.url === "/big") res.end("x".repeat(300_000));
			else if (req.url === "/moved") res.writeHead(302, { location: "http://169.254.169.254/" }).end();
			else if (req.url === "/slow") setTimeout(() => res.end("late: true\n"), 5000).unref();
			else res.writeHead(404).end();
		});
		await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
		return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
	};
	const through = (allow: string[]) => {
		const policy = { allow: parseOutboundAllow(allow) };
		return (url: string, init: RequestInit, maxBytes: number) =>
			outboundFetch(url, init, { policy, maxBytes });
	};

	it("is downloaded through the outbound policy: an allowed host answers, others are refused", async () => {
		const { server, base } = await serve();
		try {
			const host = new URL(base).host;
			assert.equal(await downloadValues(`${base}/values.yaml`, through([host])), "replicas: 3\n");
			// 127.0.0.1 on another port, or no allow-list: an internal address, refused.
			await assert.rejects(
				downloadValues(`${base}/values.yaml`, through(["127.0.0.1:1"])),
				/^Error: helm_values http:\/\/127\.0\.0\.1:\d+\/values\.yaml: .*CDS_OUTBOUND_ALLOW/,
			);
			await assert.rejects(downloadValues(`${base}/values.yaml`, through([])), /CDS_OUTBOUND_ALLOW/);
			// No redirect followed (to the metadata service here), no error page taken for values.
			await assert.rejects(downloadValues(`${base}/moved`, through([host])), /redirect/);
			await assert.rejects(downloadValues(`${base}/missing`, through([host])), /HTTP 404/);
		} finally {
			server.close();
		}
	});

	it("is bounded in size and in time; other schemes are refused", async () => {
		const { server, base } = await serve();
		try {
			const host = new URL(base).host;
			await assert.rejects(
				downloadValues(`${base}/big`, through([host]), { maxBytes: 100_000 }),
				/helm_values .*\/big: .*larger than 100000 bytes/,
			);
			await assert.rejects(
				downloadValues(`${base}/slow`, through([host]), { timeoutMs: 300 }),
				/helm_values .*\/slow: no answer within 0\.3 s/,
			);
			await assert.rejects(
				downloadValues("oci://registry.example.com/values", through([host])),
				/only an http\(s\) URL or a file of the workspace/,
			);
			await assert.rejects(
				downloadValues("file:///etc/passwd", through([host])),
				/only an http\(s\) URL or a file of the workspace/,
			);
		} finally {
			server.close();
		}
	});
});

describe("helm_chart and helm_values settings", () => {
	it("a path stays inside the workspace: absolute paths and `..` leaving it are refused", () => {
		const ws = "/srv/jobs/space";
		assert.equal(workspacePath("helm_chart", "charts/shop", ws), "/srv/jobs/space/charts/shop");
		assert.equal(workspacePath("helm_values", "./a/../values.yaml", ws), "/srv/jobs/space/values.yaml");
		assert.equal(workspacePath("helm_chart", "/srv/jobs/space/chart", ws), "/srv/jobs/space/chart");
		for (const p of ["/etc/shadow", "../values.yaml", "a/../../x", "/srv/jobs/spaceship/chart"])
			assert.throws(() => workspacePath("helm_values", p, ws), /not a file of the workspace/, p);
		assert.throws(
			() => workspacePath("deployment_files", "/etc/*.conf", ws),
			/^Error: deployment_files \/etc/,
		);
	});

	it("a chart by URL is downloaded as bytes through the policy, bounded; a registry helm would reach is refused", async () => {
		const tgz = Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 255]);
		const server = createServer((req, res) => {
			if (req.url === "/shop-1.0.0.tgz") res.end(tgz);
			else if (req.url === "/huge.tgz") res.end(Buffer.alloc(300_000));
			else res.writeHead(404).end();
		});
		await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
		const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
		const through = (allow: string[]) => (url: string, init: RequestInit, maxBytes: number) =>
			outboundFetch(url, init, { policy: { allow: parseOutboundAllow(allow) }, maxBytes });
		try {
			assert.deepEqual(
				await downloadSetting("helm_chart", `http://${host}/shop-1.0.0.tgz`, through([host])),
				tgz,
			);
			await assert.rejects(
				downloadSetting("helm_chart", `http://${host}/shop-1.0.0.tgz`, through([])),
				/^Error: helm_chart http:\/\/127\.0\.0\.1:\d+\/shop-1\.0\.0\.tgz: .*CDS_OUTBOUND_ALLOW/,
			);
			await assert.rejects(
				downloadSetting("helm_chart", `http://${host}/huge.tgz`, through([host]), { maxBytes: 100_000 }),
				/larger than 100000 bytes/,
			);
			await assert.rejects(
				downloadSetting("helm_chart", "oci://registry.example.com/shop", through([host])),
				/^Error: helm_chart oci:\/\/registry\.example\.com\/shop: only an http\(s\) URL/,
			);
		} finally {
			server.close();
		}
	});
});
