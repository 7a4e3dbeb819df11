// CDS-TS's own Helm chart (deploy/helm/cds-ts) against the real API server of KUBECONFIG:
// rendered with `helm template` (test/tools/build-helm.sh), with the default values and with a
// scaled variant (more replicas, an external MongoDB, workers in a namespace of their own), and
// every rendered object sent to the API server with a server-side dry run (dryRun=All) — the
// API server's validation and admission accept it or the test fails.
//
// The hatchery's RBAC: its Role must grant exactly what src/hatchery/drivers/kubernetes.ts calls
// (read from its source), in the worker namespace only. The chart's ServiceAccount, Role and
// RoleBinding are then created for real, and the test authenticates as that ServiceAccount (a
// token from the TokenRequest API) and asks the API server itself (SelfSubjectAccessReview)
// what it may do: each verb the driver uses is allowed in the worker namespace, everything else
// — other verbs, other resources, other namespaces, cluster-wide resources — is denied.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import {
	AppsV1Api,
	AuthorizationV1Api,
	CoreV1Api,
	KubeConfig,
	type KubernetesObject,
	KubernetesObjectApi,
	loadYaml,
	PatchStrategy,
	type V1Container,
	type V1PodSpec,
	type V1PolicyRule,
} from "@kubernetes/client-node";
import { readHatcherySettings } from "../../config/hatchery.ts";
import { DECLARED } from "../../config/settings.ts";
import { workerPod } from "../../src/hatchery/kubernetes/pod-spec.ts";
import "../../config/index.ts";
import { kubeConfig, kubeconfigFile } from "./helpers.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const CHART = path.join(ROOT, "deploy/helm/cds-ts");
const DRIVER = path.join(ROOT, "src/hatchery/drivers/kubernetes.ts");
const kube = kubeconfigFile();
const RUN = `${process.pid}-${Date.now().toString(36)}`.slice(-12);
const NS = `chart-${RUN}`;
const WORKERS_NS = `chart-workers-${RUN}`;
const OTHER_NS = `chart-other-${RUN}`;
const RESTRICTED_NS = `chart-restricted-${RUN}`;
const INSTALL_NS = `chart-install-${RUN}`;

interface Obj extends KubernetesObject {
	spec?: any;
	data?: any;
	rules?: V1PolicyRule[];
}

let helmBin: string | undefined;
function helm(): string {
	// Returns at once when cached; builds helm from the Go module proxy otherwise (minutes).
	helmBin ??= execFileSync("bash", [path.join(ROOT, "test/tools/build-helm.sh")], {
		encoding: "utf8",
		stdio: ["ignore", "pipe", "inherit"],
		timeout: 900_000,
	}).trim();
	return helmBin;
}

function render(release: string, namespace: string, set: string[] = []): Obj[] {
	const args = ["template", release, CHART, "--namespace", namespace];
	for (const s of set) args.push("--set", s);
	const out = execFileSync(helm(), args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
	// Documents left empty by a condition (a disabled component) are skipped.
	return out
		.split(/^---\s*$/m)
		.filter((doc) => doc.replace(/^\s*#.*$/gm, "").trim() !== "")
		.map((doc) => loadYaml<Obj | null>(doc))
		.filter((o): o is Obj => o !== null && typeof o === "object");
}

const SCALED = [
	"api.replicas=2",
	"core.replicas=2",
	"hook.replicas=3",
	"hatchery.replicas=4",
	"hatchery.maxWorkers=25",
	`hatchery.kubernetes.namespace=${WORKERS_NS}`,
	"hatchery.kubernetes.images.node22=node:22-bookworm",
	"hatchery.kubernetes.nodeSelector.pool=ci",
	"hatchery.kubernetes.tolerations[0]=dedicated=ci:NoSchedule",
	"hatchery.models={node22}",
	"mongodb.enabled=false",
	"mongodb.externalUrl=mongodb://mongo.example:27017/cds?replicaSet=rs0",
	"secrets.existingSecret=cds-secrets",
	"publicUrl=https://cds.example.com",
];

const kindOf = (objs: Obj[], kind: string) => objs.filter((o) => o.kind === kind);
const named = (objs: Obj[], kind: string, suffix: string): Obj => {
	const found = objs.find((o) => o.kind === kind && o.metadata?.name?.endsWith(suffix));
	assert.ok(found, `no ${kind} *${suffix} rendered`);
	return found;
};
const podSpec = (o: Obj): V1PodSpec => o.spec.template.spec;
const cdsContainer = (o: Obj): V1Container => podSpec(o).containers.find((c) => c.name === "cds")!;
const envOf = (c: V1Container) => new Map((c.env ?? []).map((e) => [e.name, e]));

/** The verbs the driver uses, per resource, read from its sources: the client's methods and its informer. */
function driverVerbs(): Map<string, Set<string>> {
	const dir = path.join(ROOT, "src/hatchery/kubernetes");
	const source = [DRIVER, ...readdirSync(dir).map((f) => path.join(dir, f))]
		.filter((f) => f.endsWith(".ts"))
		.map((f) => readFileSync(f, "utf8"))
		.join("\n");
	const verbOf: Record<string, string> = {
		list: "list",
		create: "create",
		patch: "patch",
		delete: "delete",
		read: "get",
		replace: "update",
		deleteCollection: "deletecollection",
	};
	const resourceOf: Record<string, string> = {
		Pod: "pods",
		Secret: "secrets",
		PodLog: "pods/log",
		Event: "events",
	};
	const verbs = new Map<string, Set<string>>();
	const add = (resource: string, verb: string) =>
		verbs.set(resource, (verbs.get(resource) ?? new Set()).add(verb));
	// Every API call of the client: <verb>Namespaced<Kind>(…); an unknown one fails here, to be mapped.
	for (const m of source.matchAll(/\.([a-z]\w*?)Namespaced(\w+)\(/g)) {
		const verb = verbOf[m[1]];
		const resource = resourceOf[m[2]];
		assert.ok(verb && resource, `the driver calls ${m[0]}: map it to an RBAC verb and resource here`);
		add(resource, verb);
	}
	assert.doesNotMatch(
		source,
		/\.(list|read|create|patch|delete|replace)(\w+ForAllNamespaces|Node|Namespace|Cluster\w+)\(/,
		"the driver makes a cluster-wide call",
	);
	// makeInformer(kc, "/api/v1/namespaces/${ns}/pods", list…): a list, then a watch.
	for (const m of source.matchAll(
		/makeInformer<\w+>\(\s*[\w.]+,\s*`\/api\/v1\/namespaces\/\$\{\w+\}\/(\w+)`/g,
	)) {
		add(m[1], "list");
		add(m[1], "watch");
	}
	assert.ok(verbs.get("pods")?.has("watch"), "the driver's informer was not found in its source");
	return verbs;
}

describe("the Helm chart deploy/helm/cds-ts", { skip: kube.skip }, () => {
	let kc: KubeConfig;
	let objects: KubernetesObjectApi;
	let core: CoreV1Api;

	before(async () => {
		kc = kubeConfig(kube.file!);
		objects = KubernetesObjectApi.makeApiClient(kc);
		core = kc.makeApiClient(CoreV1Api);
		for (const name of [NS, WORKERS_NS, OTHER_NS, INSTALL_NS])
			await core.createNamespace({ body: { metadata: { name } } });
		// Pod Security admission enforces the "restricted" standard on the pods of this one.
		await core.createNamespace({
			body: {
				metadata: { name: RESTRICTED_NS, labels: { "pod-security.kubernetes.io/enforce": "restricted" } },
			},
		});
	});

	after(async () => {
		if (!core) return;
		for (const name of [NS, WORKERS_NS, OTHER_NS, RESTRICTED_NS, INSTALL_NS])
			await core.deleteNamespace({ name }).catch(() => {});
	});

	/** Every object through the API server twice, both dry runs: a create, and a server-side apply. */
	async function dryRun(objs: Obj[]): Promise<string[]> {
		const accepted: string[] = [];
		for (const o of objs) {
			const what = `${o.kind} ${o.metadata?.namespace ?? NS}/${o.metadata?.name}`;
			const body = { ...o, metadata: { ...o.metadata, namespace: o.metadata?.namespace ?? NS } };
			try {
				const created = await objects.create(body, undefined, "All", "cds-ts-chart-test");
				assert.equal(created.kind, o.kind);
				await objects.patch(body, undefined, "All", "cds-ts-chart-test", true, PatchStrategy.ServerSideApply);
			} catch (e) {
				const err = e as { code?: number; body?: string; message?: string };
				assert.fail(`${what} refused by the API server: ${err.code} ${err.body ?? err.message}`);
			}
			accepted.push(what);
		}
		return accepted;
	}

	test("the default values render the whole topology, which the API server accepts (dry run)", async () => {
		const objs = render("cds-ts", NS);
		const kinds = objs.map((o) => `${o.kind}/${o.metadata?.name}`).sort();
		for (const expected of [
			"ConfigMap/cds-ts-nats",
			"Deployment/cds-ts-api",
			"Deployment/cds-ts-core",
			"Deployment/cds-ts-hook",
			"Role/cds-ts-hatchery",
			"RoleBinding/cds-ts-hatchery",
			"Secret/cds-ts-secrets",
			"Service/cds-ts-api",
			"Service/cds-ts-mongodb",
			"Service/cds-ts-nats",
			"ServiceAccount/cds-ts-hatchery",
			"ServiceAccount/cds-ts-worker",
			"StatefulSet/cds-ts-hatchery",
			"StatefulSet/cds-ts-mongodb",
			"StatefulSet/cds-ts-nats",
		])
			assert.ok(kinds.includes(expected), `${expected} not rendered: ${kinds.join(", ")}`);
		// Nothing cluster-wide.
		assert.deepEqual(kindOf(objs, "ClusterRole").concat(kindOf(objs, "ClusterRoleBinding")), []);
		const accepted = await dryRun(objs);
		assert.equal(accepted.length, objs.length);
		process.stderr.write(`default values: ${objs.length} objects accepted by the dry run\n`);

		// The generated master key is 32 random bytes, base64; the other secrets are non-trivial.
		const secret = named(objs, "Secret", "-secrets");
		assert.equal(
			Buffer.from(Buffer.from(secret.data["secret-key"], "base64").toString(), "base64").length,
			32,
		);
		assert.ok(Buffer.from(secret.data["admin-token"], "base64").length >= 20);
		assert.ok(Buffer.from(secret.data["nats-password"], "base64").length >= 20);
		assert.equal(secret.metadata?.annotations?.["helm.sh/resource-policy"], "keep");
		// The in-cluster MongoDB and the API Service's name as the public URL.
		const env = envOf(cdsContainer(named(objs, "Deployment", "-api")));
		assert.equal(env.get("MONGO_URL")?.value, "mongodb://cds-ts-mongodb:27017/cds");
		assert.equal(env.get("CDS_PUBLIC_URL")?.value, `http://cds-ts-api.${NS}.svc:8081`);
		// Workers: the Dockerfile's `worker` image and its worker, in the release's namespace.
		const hatchery = envOf(cdsContainer(named(objs, "StatefulSet", "-hatchery")));
		assert.equal(hatchery.get("CDS_KUBERNETES_DEFAULT_IMAGE")?.value, "cds-ts-worker:latest");
		assert.equal(hatchery.get("CDS_KUBERNETES_WORKER_COMMAND")?.value, "node /app/bin/cds-worker.mjs");
		assert.equal(hatchery.get("CDS_KUBERNETES_NAMESPACE")?.value, NS);
		// Worker pods: restricted (non-root uid, fsGroup), steps in their own container, helm in the image.
		assert.equal(hatchery.get("CDS_KUBERNETES_RUN_AS_USER")?.value, "1000");
		assert.equal(hatchery.get("CDS_KUBERNETES_FS_GROUP")?.value, "1000");
		assert.equal(hatchery.get("CDS_KUBERNETES_STEP_CONTAINER")?.value, "true");
		assert.equal(hatchery.get("CDS_KUBERNETES_HELM_BIN")?.value, "helm");
	});

	test("a scaled variant (replicas, external MongoDB, workers in their own namespace) is accepted too", async () => {
		const objs = render("prod", NS, SCALED);
		assert.deepEqual(kindOf(objs, "ClusterRole").concat(kindOf(objs, "ClusterRoleBinding")), []);
		assert.equal(named(objs, "Deployment", "-api").spec.replicas, 2);
		assert.equal(named(objs, "Deployment", "-core").spec.replicas, 2);
		assert.equal(named(objs, "Deployment", "-hook").spec.replicas, 3);
		assert.equal(named(objs, "StatefulSet", "-hatchery").spec.replicas, 4);
		assert.equal(kindOf(objs, "StatefulSet").filter((o) => o.metadata?.name?.endsWith("-mongodb")).length, 0);
		assert.equal(kindOf(objs, "Secret").length, 0, "existingSecret: the chart creates no Secret");
		for (const d of [...kindOf(objs, "Deployment"), ...kindOf(objs, "StatefulSet")]) {
			const secretVolume = podSpec(d).volumes?.find((v) => v.secret);
			if (d.metadata?.name?.endsWith("-nats")) continue;
			assert.equal(secretVolume?.secret?.secretName, "cds-secrets", d.metadata?.name);
			assert.equal(
				envOf(cdsContainer(d)).get("MONGO_URL")?.value,
				"mongodb://mongo.example:27017/cds?replicaSet=rs0",
			);
		}
		const hatchery = envOf(cdsContainer(named(objs, "StatefulSet", "-hatchery")));
		assert.equal(hatchery.get("CDS_KUBERNETES_NAMESPACE")?.value, WORKERS_NS);
		assert.equal(hatchery.get("CDS_HATCHERY_MAX_WORKERS")?.value, "25");
		assert.equal(hatchery.get("CDS_KUBERNETES_IMAGES")?.value, "node22=node:22-bookworm");
		assert.equal(hatchery.get("CDS_KUBERNETES_NODE_SELECTOR")?.value, "pool=ci");
		assert.equal(hatchery.get("CDS_KUBERNETES_TOLERATIONS")?.value, "dedicated=ci:NoSchedule");
		assert.equal(hatchery.get("CDS_HATCHERY_MODELS")?.value, "node22");
		assert.equal(
			envOf(cdsContainer(named(objs, "Deployment", "-api"))).get("CDS_PUBLIC_URL")?.value,
			"https://cds.example.com",
		);
		// The Role and the workers' ServiceAccount live where the worker pods are.
		assert.equal(named(objs, "Role", "-hatchery").metadata?.namespace, WORKERS_NS);
		assert.equal(named(objs, "RoleBinding", "-hatchery").metadata?.namespace, WORKERS_NS);
		const accepted = await dryRun(objs);
		assert.equal(accepted.length, objs.length);
		process.stderr.write(`scaled variant: ${objs.length} objects accepted by the dry run\n`);
	});

	test("helm lint --strict passes; a disabled MongoDB without an external URL is refused at rendering", () => {
		execFileSync(helm(), ["lint", "--strict", CHART], {
			encoding: "utf8",
			stdio: ["ignore", "pipe", "pipe"],
		});
		assert.throws(
			() => render("cds-ts", NS, ["mongodb.enabled=false"]),
			(e: { stderr?: string }) => /mongodb\.externalUrl is required/.test(e.stderr ?? ""),
		);
	});

	test("every CDS-TS node: declared variables only, secrets as files, probes, resources, non-root read-only", () => {
		for (const objs of [render("cds-ts", NS), render("prod", NS, SCALED)]) {
			const workloads = [...kindOf(objs, "Deployment"), ...kindOf(objs, "StatefulSet")];
			for (const w of workloads) {
				const spec = podSpec(w);
				const name = w.metadata?.name;
				assert.equal(spec.securityContext?.runAsNonRoot, true, `${name}: runAsNonRoot`);
				for (const c of spec.containers) {
					assert.equal(c.securityContext?.readOnlyRootFilesystem, true, `${name}/${c.name}: read-only root`);
					assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${name}/${c.name}`);
					assert.deepEqual(c.securityContext?.capabilities?.drop, ["ALL"], `${name}/${c.name}`);
					assert.ok(
						c.resources?.requests?.memory && c.resources?.limits?.memory,
						`${name}/${c.name}: resources`,
					);
				}
				const cds = spec.containers.find((c) => c.name === "cds");
				if (!cds) continue;
				// No invented knob: every variable is one config/*.ts declares (HOME aside, for git).
				for (const e of cds.env ?? [])
					assert.ok(
						e.name === "HOME" || DECLARED.has(e.name),
						`${name}: ${e.name} is not declared in config/`,
					);
				const env = envOf(cds);
				for (const s of ["CDS_SECRET_KEY", "CDS_ADMIN_TOKEN", "NATS_PASSWORD"]) {
					assert.equal(env.has(s), false, `${name}: ${s} must come from a file`);
					assert.match(env.get(`${s}_FILE`)?.value ?? "", /^\/run\/secrets\/cds\//, `${name}: ${s}_FILE`);
				}
				assert.ok(env.get("SERVICES")?.value, `${name}: SERVICES`);
				// Only the hatchery talks to the API server.
				assert.equal(
					spec.automountServiceAccountToken,
					name?.endsWith("-hatchery"),
					`${name}: automountServiceAccountToken`,
				);
			}
			const api = cdsContainer(named(objs, "Deployment", "-api"));
			assert.equal(api.livenessProbe?.httpGet?.path, "/health/live");
			assert.equal(api.readinessProbe?.httpGet?.path, "/health/ready");
			assert.equal(api.startupProbe?.httpGet?.path, "/health/live");
			// The hatchery's identity is its StatefulSet pod name; its driver is Kubernetes.
			const hatchery = named(objs, "StatefulSet", "-hatchery");
			const henv = envOf(cdsContainer(hatchery));
			assert.equal(henv.get("CDS_HATCHERY_NAME")?.valueFrom?.fieldRef?.fieldPath, "metadata.name");
			assert.equal(henv.get("CDS_HATCHERY_DRIVER")?.value, "kubernetes");
			assert.equal(
				podSpec(hatchery).serviceAccountName,
				named(objs, "ServiceAccount", "-hatchery").metadata?.name,
			);
			assert.equal(
				henv.get("CDS_KUBERNETES_SERVICE_ACCOUNT")?.value,
				named(objs, "ServiceAccount", "-worker").metadata?.name,
			);
			// NATS: JetStream, and the password from the Secret.
			const nats = named(objs, "ConfigMap", "-nats").data["nats.conf"] as string;
			assert.match(nats, /jetstream \{/);
			assert.match(nats, /authorization \{ user: cds, password: \$NATS_PASSWORD \}/);
			const natsEnv = envOf(podSpec(named(objs, "StatefulSet", "-nats")).containers[0]);
			assert.ok(natsEnv.get("NATS_PASSWORD")?.valueFrom?.secretKeyRef?.key === "nats-password");
		}
	});

	test("every pod template meets the restricted Pod Security Standard (a Pod dry run where it is enforced)", async () => {
		for (const [release, set] of [
			["cds-ts", []],
			["prod", SCALED],
		] as const) {
			const objs = render(release, RESTRICTED_NS, [...set]);
			// The ServiceAccounts for real: a pod naming a missing one is refused before Pod Security.
			for (const sa of kindOf(objs, "ServiceAccount"))
				await core.createNamespacedServiceAccount({
					namespace: RESTRICTED_NS,
					body: { metadata: { name: sa.metadata!.name } },
				});
			const workloads = [...kindOf(objs, "Deployment"), ...kindOf(objs, "StatefulSet")];
			assert.ok(workloads.length >= 4);
			for (const w of workloads) {
				// A StatefulSet's claims become the PersistentVolumeClaim volumes of its pods.
				const claims = (w.spec.volumeClaimTemplates ?? []).map((c: Obj) => ({
					name: c.metadata!.name,
					persistentVolumeClaim: { claimName: `${c.metadata!.name}-${w.metadata!.name}-0` },
				}));
				const spec = { ...podSpec(w), volumes: [...(podSpec(w).volumes ?? []), ...claims] };
				const pod = {
					apiVersion: "v1",
					kind: "Pod",
					metadata: {
						name: `${w.metadata!.name}-0`,
						namespace: RESTRICTED_NS,
						labels: w.spec.template.metadata.labels,
					},
					spec,
				};
				try {
					await objects.create(pod, undefined, "All");
				} catch (e) {
					const err = e as { code?: number; body?: string; message?: string };
					assert.fail(
						`the pod of ${w.kind} ${w.metadata!.name} is refused: ${err.code} ${err.body ?? err.message}`,
					);
				}
			}
			// The worker pods the chart's hatchery makes (its CDS_KUBERNETES_* into the driver's pod spec).
			const henv = envOf(podSpec(named(objs, "StatefulSet", "-hatchery")).containers[0]);
			const plain: Record<string, string> = {};
			for (const [n, e] of henv) if (typeof e.value === "string") plain[n] = e.value;
			const k = readHatcherySettings(plain, "/var/lib/cds/node").kubernetes;
			const worker = workerPod({
				hatchery: `${release}-hatchery-0`,
				assignment: {
					jobId: "P/w/1/j",
					runId: "r",
					token: "t".repeat(32),
					apiUrl: "http://api:8081",
					timeoutSeconds: 60,
					requirements: { memoryMb: 256, binaries: [], services: [] },
				},
				settings: k,
				workerEnv: { CDS_WORKER_BASEDIR: "/var/lib/cds/node/workers" },
			});
			assert.equal(worker.spec.containers.length, 2, "the chart's worker pods have a step container");
			try {
				await objects.create(
					{ ...worker, metadata: { ...worker.metadata, namespace: RESTRICTED_NS } } as KubernetesObject,
					undefined,
					"All",
				);
			} catch (e) {
				const err = e as { code?: number; body?: string; message?: string };
				assert.fail(`the chart's worker pod is refused: ${err.code} ${err.body ?? err.message}`);
			}
		}
		// The check can fail: a pod that may run as root is refused here.
		await assert.rejects(
			objects.create(
				{
					apiVersion: "v1",
					kind: "Pod",
					metadata: { name: "root-pod", namespace: RESTRICTED_NS },
					spec: { containers: [{ name: "c", image: "busybox" }] },
				} as KubernetesObject,
				undefined,
				"All",
			),
			(e: { code?: number }) => e.code === 403,
		);
	});

	test("the hatchery's Role grants exactly what the driver calls, in its namespace, and nothing more", async () => {
		const wanted = driverVerbs();
		const objs = render("rbac", NS, [`hatchery.kubernetes.namespace=${WORKERS_NS}`]);
		const role = named(objs, "Role", "-hatchery");
		const granted = new Map<string, Set<string>>();
		for (const rule of role.rules ?? []) {
			assert.deepEqual(rule.apiGroups, [""], "core API group only");
			assert.equal(rule.resourceNames, undefined);
			for (const r of rule.resources ?? []) {
				assert.ok(!r.includes("*"), "no wildcard resource");
				for (const v of rule.verbs) {
					assert.notEqual(v, "*", "no wildcard verb");
					granted.set(r, (granted.get(r) ?? new Set()).add(v));
				}
			}
		}
		const show = (m: Map<string, Set<string>>) =>
			Object.fromEntries([...m].map(([r, vs]) => [r, [...vs].sort()]).sort());
		assert.deepEqual(show(granted), show(wanted));
		process.stderr.write(`driver verbs: ${JSON.stringify(show(wanted))}\n`);

		// For real: the ServiceAccount, the Role and the RoleBinding; then ask as that account.
		for (const o of [
			named(objs, "ServiceAccount", "-hatchery"),
			role,
			named(objs, "RoleBinding", "-hatchery"),
		])
			await objects.create({ ...o, metadata: { ...o.metadata, namespace: o.metadata?.namespace ?? NS } });
		const sa = named(objs, "ServiceAccount", "-hatchery").metadata!.name!;
		const token = (
			await core.createNamespacedServiceAccountToken({
				name: sa,
				namespace: NS,
				body: { spec: { audiences: ["https://kubernetes.default.svc"], expirationSeconds: 600 } },
			})
		).status?.token;
		assert.ok(token, "no token for the hatchery's ServiceAccount");
		const asHatchery = new KubeConfig();
		asHatchery.loadFromOptions({
			clusters: [{ name: "c", server: kc.getCurrentCluster()!.server, skipTLSVerify: true }],
			users: [{ name: "hatchery", token }],
			contexts: [{ name: "c", cluster: "c", user: "hatchery" }],
			currentContext: "c",
		});
		const authz = asHatchery.makeApiClient(AuthorizationV1Api);
		const may = async (verb: string, resource: string, namespace?: string) => {
			const [res, sub] = resource.split("/");
			const review = await authz.createSelfSubjectAccessReview({
				body: { spec: { resourceAttributes: { verb, resource: res, subresource: sub, namespace } } },
			});
			return review.status?.allowed === true;
		};
		const denied: string[] = [];
		for (const resource of ["pods", "secrets", "pods/log", "pods/exec", "configmaps", "serviceaccounts"]) {
			for (const verb of [
				"get",
				"list",
				"watch",
				"create",
				"update",
				"patch",
				"delete",
				"deletecollection",
			]) {
				const expected = wanted.get(resource)?.has(verb) === true;
				assert.equal(await may(verb, resource, WORKERS_NS), expected, `${verb} ${resource} in ${WORKERS_NS}`);
				if (!expected) denied.push(`${verb} ${resource}`);
				// Nowhere else: not in its own namespace, not in another, not cluster-wide.
				assert.equal(await may(verb, resource, OTHER_NS), false, `${verb} ${resource} in ${OTHER_NS}`);
				assert.equal(await may(verb, resource, NS), false, `${verb} ${resource} in ${NS}`);
				assert.equal(await may(verb, resource), false, `${verb} ${resource} cluster-wide`);
			}
		}
		for (const [verb, resource] of [
			["list", "nodes"],
			["list", "namespaces"],
			["create", "roles"],
		])
			assert.equal(await may(verb, resource), false, `${verb} ${resource}`);

		// And the requests themselves: listing its pods works, a Secret elsewhere is refused.
		const hatcheryCore = asHatchery.makeApiClient(CoreV1Api);
		await hatcheryCore.listNamespacedPod({ namespace: WORKERS_NS });
		await assert.rejects(
			hatcheryCore.listNamespacedSecret({ namespace: OTHER_NS }),
			(e: { code?: number }) => e.code === 403,
		);
		await assert.rejects(hatcheryCore.listNode(), (e: { code?: number }) => e.code === 403);
		process.stderr.write(
			`hatchery RBAC: ${denied.length} other verb/resource pairs denied in its namespace\n`,
		);
	});

	test("helm install, upgrade and uninstall for real: controllers make the pods; the Secret survives both", async () => {
		const apps = kc.makeApiClient(AppsV1Api);
		const run = (...args: string[]) =>
			execFileSync(helm(), [...args, "--namespace", INSTALL_NS], {
				encoding: "utf8",
				stdio: ["ignore", "pipe", "pipe"],
				env: { ...process.env, KUBECONFIG: kube.file },
			});
		// A node selector no node matches: the pods are made and stay Pending (no process kubelet runs them).
		run("install", "cds-ts", CHART, "--set", "nodeSelector.cds-ts-chart-test=nowhere");
		const secret = async () =>
			(await core.readNamespacedSecret({ name: "cds-ts-secrets", namespace: INSTALL_NS })).data;
		const first = await secret();
		// The key's file holds 32 bytes in base64 (CDS_SECRET_KEY's form).
		const key = Buffer.from(first?.["secret-key"] ?? "", "base64").toString();
		assert.equal(Buffer.from(key, "base64").length, 32);
		// The controllers act on the real objects: the ReplicaSets' pods and the StatefulSets' named ones.
		const want = ["cds-ts-hatchery-0", "cds-ts-hatchery-1", "cds-ts-nats-0", "cds-ts-mongodb-0"];
		let names: string[] = [];
		for (let i = 0; i < 120; i++) {
			names = (await core.listNamespacedPod({ namespace: INSTALL_NS })).items.map((p) => p.metadata!.name!);
			const byComponent = (c: string) => names.filter((n) => n.startsWith(`cds-ts-${c}-`)).length;
			if (want.every((n) => names.includes(n)) && byComponent("hook") === 2 && byComponent("api") === 1)
				break;
			await sleep(500);
		}
		for (const n of want) assert.ok(names.includes(n), `pod ${n} not made: ${names.join(", ")}`);
		run("upgrade", "cds-ts", CHART, "--reuse-values", "--set", "hook.replicas=3");
		assert.equal(
			(await apps.readNamespacedDeployment({ name: "cds-ts-hook", namespace: INSTALL_NS })).spec?.replicas,
			3,
		);
		assert.deepEqual(await secret(), first, "an upgrade keeps the generated secrets");
		run("uninstall", "cds-ts");
		await assert.rejects(
			apps.readNamespacedDeployment({ name: "cds-ts-api", namespace: INSTALL_NS }),
			(e: { code?: number }) => e.code === 404,
		);
		assert.deepEqual(await secret(), first, "an uninstall keeps the master key");
		process.stderr.write(`helm install: ${names.length} pods made by the controllers\n`);
	});
});
