// The built-in deployment plugin of CDS's Kubernetes model. A deployment:
//  1. reads the objects to apply: the files of `deployment_files` (a glob relative to the
//     workspace), or the output of `helm template <release_name> <helm_chart> -f <helm_values>`
//     (rendered locally: helm never connects to the cluster, so every call to the API server goes
//     through the outbound policy, and apply/rollout/rollback are one code path for both);
//  2. records the live pod template of every workload it will change (Deployment, StatefulSet,
//     DaemonSet) — the revision a rollback returns to;
//  3. applies every object with server-side apply (field manager `cds-ts`, forced: CDS-TS owns
//     what the application's manifests declare) to `api_url` with `token`, trusting
//     `ca_certificate`, in `namespace` unless an object names its own;
//  4. waits until every workload is rolled out (rollout.ts) or `timeout` passes, logging its
//     progress and the namespace's new events about the workloads and their pods/ReplicaSets;
//  5. on failure or timeout (or an object refused after workloads were applied), puts each changed workload's previous pod template back (a JSON
//     patch of spec.template — what `kubectl rollout undo` does for a Deployment: its previous
//     ReplicaSet, whose template hash matches, scales up again), waits for that rollout
//     (bounded by `timeout` again) and fails the step with the reason. A workload the failed
//     deployment created has no previous revision and is left as it is (named in the log).

import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve, sep } from "node:path";
import { expandGlob } from "../worker/glob.ts";
import {
	DEPLOYMENT_VARIABLE,
	type DeploymentIo,
	type DeploymentOutcome,
	type DeploymentPlugin,
} from "./deploy-plugin.ts";
import {
	apiPrefix,
	type KubeObject,
	objectPath,
	objectRef,
	readManifests,
	WORKLOAD_KINDS,
} from "./kubernetes/manifests.ts";
import { rolloutState } from "./kubernetes/rollout.ts";
import type { PluginQuery } from "./plugin-protocol.ts";

export const KUBERNETES_MODEL = "Kubernetes";
export const FIELD_MANAGER = "cds-ts";
const DEFAULT_TIMEOUT_SECONDS = 180;
const POLL_MS = 1000;

export interface KubernetesDeploySettings {
	apiUrl: string;
	ca: string;
	token: string;
	namespace: string;
	files: string;
	chart: string;
	values: string;
	release: string;
	timeoutMs: number;
}

/** A duration setting: seconds (`180`) or a number with a unit (`90s`, `3m`, `1h`). */
export function parseTimeout(text: string): number {
	const t = text.trim();
	if (!t) return DEFAULT_TIMEOUT_SECONDS * 1000;
	const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(t);
	if (!m) throw new Error(`timeout '${text}' is neither seconds nor a duration like 3m`);
	const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? "s"]!;
	const ms = Number(m[1]) * unit;
	if (ms <= 0) throw new Error(`timeout '${text}' must be positive`);
	return ms;
}

export function kubernetesSettings(query: PluginQuery): KubernetesDeploySettings {
	const o = query.options;
	const setting = (key: string) => (o[`${DEPLOYMENT_VARIABLE}.${key}`] ?? "").trim();
	const apiUrl = setting("api_url").replace(/\/+$/, "");
	if (!apiUrl) throw new Error(`the integration has no 'api_url' setting (${DEPLOYMENT_VARIABLE}.api_url)`);
	const files = setting("deployment_files");
	const chart = setting("helm_chart");
	if (!files && !chart) throw new Error("the integration names neither 'deployment_files' nor 'helm_chart'");
	if (files && chart)
		throw new Error("the integration names both 'deployment_files' and 'helm_chart': choose one");
	return {
		apiUrl,
		ca: o[`${DEPLOYMENT_VARIABLE}.ca_certificate`] ?? "",
		token: setting("token"),
		namespace: setting("namespace") || "default",
		files,
		chart,
		values: setting("helm_values"),
		release: setting("release_name") || o["cds.application"] || "release",
		timeoutMs: parseTimeout(setting("timeout")),
	};
}

/** The objects of the `deployment_files` glob, relative to `workspace`, files in name order. */
export async function manifestObjects(glob: string, workspace: string): Promise<KubeObject[]> {
	const patterns = glob
		.split(",")
		.map((p) => p.trim())
		.filter(Boolean);
	const files: string[] = [];
	// Like helm_chart, a pattern never reaches the hatchery host's own files.
	for (const p of patterns)
		files.push(...(await expandGlob(workspacePath("deployment_files", p, workspace))).sort());
	if (files.length === 0) throw new Error(`deployment_files '${glob}' matches no file in the workspace`);
	const objects: KubeObject[] = [];
	for (const f of files)
		objects.push(...readManifests(await readFile(f, "utf8"), f.slice(workspace.length + 1) || f));
	return objects;
}

/** A values file given by URL: at most this big… */
export const VALUES_MAX_BYTES = 1024 * 1024;
/** …a packaged chart (.tgz) given by URL at most this big… */
export const CHART_MAX_BYTES = 20 * 1024 * 1024;
/** …and either answered within this long. */
export const VALUES_TIMEOUT_MS = 30_000;

const URL_SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/**
 * A `helm_chart` or `helm_values` given as an http(s) URL: downloaded here, through the outbound
 * policy (`download`: internal addresses refused unless CDS_OUTBOUND_ALLOW names them, no
 * redirect followed), bounded in size and time — never by helm, which would fetch it past the
 * policy. Any other scheme (oci://, file://…) is refused.
 */
export async function downloadSetting(
	setting: "helm_chart" | "helm_values",
	url: string,
	download: DeploymentIo["download"],
	options: { signal?: AbortSignal; timeoutMs?: number; maxBytes?: number } = {},
): Promise<Buffer> {
	const maxBytes = options.maxBytes ?? (setting === "helm_chart" ? CHART_MAX_BYTES : VALUES_MAX_BYTES);
	const timeoutMs = options.timeoutMs ?? VALUES_TIMEOUT_MS;
	const scheme = URL_SCHEME.exec(url)?.[1]?.toLowerCase();
	if (scheme !== "http" && scheme !== "https")
		throw new Error(`${setting} ${url}: only an http(s) URL or a file of the workspace is accepted`);
	if (!download) throw new Error(`${setting} ${url}: this worker cannot download files`);
	const timeout = AbortSignal.timeout(timeoutMs);
	const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
	try {
		const r = await download(url, { signal }, maxBytes);
		if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
		const body = Buffer.from(await r.arrayBuffer());
		if (body.length > maxBytes) throw new Error(`answer larger than ${maxBytes} bytes`);
		return body;
	} catch (e) {
		const reason = timeout.aborted
			? `no answer within ${timeoutMs / 1000} s`
			: e instanceof Error
				? `${e.message}${e.cause instanceof Error ? ` (${e.cause.message})` : ""}`
				: String(e);
		throw new Error(`${setting} ${url}: ${reason}`);
	}
}

/** `helm_values` given by URL, as text (see downloadSetting). */
export async function downloadValues(
	url: string,
	download: DeploymentIo["download"],
	options: { signal?: AbortSignal; timeoutMs?: number; maxBytes?: number } = {},
): Promise<string> {
	return (await downloadSetting("helm_values", url, download, options)).toString("utf8");
}

/**
 * A chart or values path of the settings, inside the workspace: a project's settings never
 * reach the hatchery host's own files (an absolute path or `..` leaving the workspace is refused).
 */
export function workspacePath(
	setting: "helm_chart" | "helm_values" | "deployment_files",
	path: string,
	workspace: string,
): string {
	const root = resolve(workspace);
	const full = resolve(root, path);
	if (full !== root && !full.startsWith(`${root}${sep}`))
		throw new Error(
			`${setting} ${path}: not a file of the workspace (an http(s) URL or a relative path is accepted)`,
		);
	return full;
}

/** `helm template`: the chart's objects, rendered locally by the helm binary `helm`. */
export async function helmObjects(
	helm: string,
	s: KubernetesDeploySettings,
	workspace: string,
	signal?: AbortSignal,
): Promise<KubeObject[]> {
	const values = s.values ? workspacePath("helm_values", s.values, workspace) : "";
	return helmTemplate(helm, s, workspacePath("helm_chart", s.chart, workspace), values, workspace, signal);
}

/** `helm template` of a chart and values already on this machine (paths checked or downloaded). */
async function helmTemplate(
	helm: string,
	s: KubernetesDeploySettings,
	chart: string,
	values: string,
	cwd: string,
	signal?: AbortSignal,
): Promise<KubeObject[]> {
	if (!helm) throw new Error("no helm binary: set CDS_HELM_BIN on the hatchery, or put helm on its PATH");
	const args = ["template", s.release, chart, "--namespace", s.namespace];
	if (values) args.push("--values", values);
	const out = await new Promise<string>((resolve, reject) => {
		execFile(helm, args, { cwd, maxBuffer: 32 * 1024 * 1024, signal }, (err, stdout, stderr) => {
			if (err) reject(new Error(`helm template failed: ${(stderr || err.message).trim().slice(0, 2000)}`));
			else resolve(stdout);
		});
	});
	return readManifests(out, `helm template ${s.release}`);
}

interface Resource {
	name: string;
	namespaced: boolean;
}

/** A tiny Kubernetes REST client over the outbound-checked fetch. */
class Kube {
	private readonly resources = new Map<string, Resource[]>();
	private readonly s: KubernetesDeploySettings;
	private readonly io: DeploymentIo;
	private readonly signal: AbortSignal;
	constructor(s: KubernetesDeploySettings, io: DeploymentIo, signal: AbortSignal) {
		this.s = s;
		this.io = io;
		this.signal = signal;
	}

	async call(
		method: string,
		path: string,
		body?: unknown,
		contentType?: string,
	): Promise<{ status: number; json: any }> {
		const headers: Record<string, string> = { accept: "application/json" };
		if (this.s.token) headers.authorization = `Bearer ${this.s.token}`;
		if (body !== undefined) headers["content-type"] = contentType ?? "application/json";
		const response = await this.io.fetch(`${this.s.apiUrl}${path}`, {
			method,
			headers,
			...(body !== undefined ? { body: JSON.stringify(body) } : {}),
			signal: this.signal,
		});
		const text = await response.text();
		let json: any = null;
		try {
			json = text ? JSON.parse(text) : null;
		} catch {
			json = { message: text.slice(0, 300) };
		}
		return { status: response.status, json };
	}

	async resource(o: KubeObject): Promise<Resource> {
		const prefix = apiPrefix(o.apiVersion);
		let list = this.resources.get(prefix);
		if (!list) {
			const r = await this.call("GET", prefix);
			if (r.status !== 200)
				throw new Error(`${o.apiVersion}: the API server does not serve it (HTTP ${r.status})`);
			list = (r.json.resources ?? []).filter((x: any) => !String(x.name).includes("/"));
			this.resources.set(prefix, list!);
		}
		const found = (list as any[]).find((x) => x.kind === o.kind);
		if (!found) throw new Error(`${o.apiVersion} has no kind ${o.kind}`);
		return { name: found.name, namespaced: found.namespaced === true };
	}

	async path(o: KubeObject): Promise<string> {
		return objectPath(o, await this.resource(o), this.s.namespace);
	}
}

function failure(r: { status: number; json: any }): string {
	return `HTTP ${r.status}${r.json?.message ? `: ${r.json.message}` : ""}`;
}

export interface KubernetesDeployOptions {
	/** The helm binary (`helm template`); empty when none is configured. */
	helm?: string;
	/** Where relative paths start (the plugin's working directory: the job's workspace). */
	workspace: string;
}

/**
 * `helm template`, with `helm_chart` and `helm_values` downloaded first when they are URLs (into
 * a private directory, removed after), so helm itself never connects anywhere.
 */
async function helmFromSettings(
	helm: string,
	s: KubernetesDeploySettings,
	workspace: string,
	io: DeploymentIo,
	signal: AbortSignal,
): Promise<KubeObject[]> {
	const chartIsUrl = URL_SCHEME.test(s.chart);
	const valuesIsUrl = URL_SCHEME.test(s.values);
	if (!chartIsUrl && !valuesIsUrl) return helmObjects(helm, s, workspace, signal);
	// Paths are checked before anything is downloaded.
	let chart = chartIsUrl ? "" : workspacePath("helm_chart", s.chart, workspace);
	let values = !s.values || valuesIsUrl ? "" : workspacePath("helm_values", s.values, workspace);
	const dir = await mkdtemp(join(tmpdir(), "cds-helm-"));
	try {
		if (chartIsUrl) {
			const body = await downloadSetting("helm_chart", s.chart, io.download, { signal });
			io.log(`helm chart downloaded from ${s.chart} (${body.length} bytes)`);
			chart = join(dir, "chart.tgz");
			await writeFile(chart, body, { mode: 0o600 });
		}
		if (valuesIsUrl) {
			const text = await downloadValues(s.values, io.download, { signal });
			io.log(`helm values downloaded from ${s.values} (${Buffer.byteLength(text)} bytes)`);
			values = join(dir, "values.yaml");
			await writeFile(values, text, { mode: 0o600 });
		}
		return await helmTemplate(helm, s, chart, values, workspace, signal);
	} finally {
		await rm(dir, { recursive: true, force: true });
	}
}

export async function deployToKubernetes(
	query: PluginQuery,
	io: DeploymentIo,
	opts: KubernetesDeployOptions,
): Promise<DeploymentOutcome> {
	const s = kubernetesSettings(query);
	const timeout = AbortSignal.timeout(s.timeoutMs * 2 + 30_000);
	const signal = io.signal ? AbortSignal.any([io.signal, timeout]) : timeout;
	const objects = s.chart
		? await helmFromSettings(opts.helm ?? "", s, opts.workspace, io, signal)
		: await manifestObjects(s.files, opts.workspace);
	io.log(
		`applying ${objects.length} object(s) to ${new URL(s.apiUrl).host}, namespace ${s.namespace}${s.chart ? ` (helm chart ${s.chart}, release ${s.release})` : ""}`,
	);
	const kube = new Kube(s, io, signal);
	const workloads = objects.filter((o) => WORKLOAD_KINDS.has(o.kind));
	// The revision to return to: each workload's live pod template before this deployment.
	const previous = new Map<string, unknown>();
	for (const w of workloads) {
		const r = await kube.call("GET", await kube.path(w));
		if (r.status === 200) previous.set(objectRef(w), r.json?.spec?.template);
		else if (r.status !== 404) throw new Error(`reading ${objectRef(w)}: ${failure(r)}`);
	}
	// Every object's path first: a kind the API server does not serve fails before anything is applied.
	const paths = new Map<KubeObject, string>();
	for (const o of objects) paths.set(o, await kube.path(o));
	const seenEvents = await eventKeys(kube, s.namespace);
	// The workloads applied so far: what a failure, even in the middle of applying, rolls back.
	const applied: KubeObject[] = [];
	let outcome: { ok: true } | { ok: false; reason: string } = { ok: true };
	for (const o of objects) {
		const r = await kube.call(
			"PATCH",
			`${paths.get(o)}?fieldManager=${FIELD_MANAGER}&force=true`,
			o,
			"application/apply-patch+yaml",
		);
		if (r.status !== 200 && r.status !== 201) {
			outcome = { ok: false, reason: `applying ${objectRef(o)} failed: ${failure(r)}` };
			break;
		}
		io.log(`${objectRef(o)} ${r.status === 201 ? "created" : "configured"} (server-side apply)`);
		if (WORKLOAD_KINDS.has(o.kind)) applied.push(o);
	}
	if (outcome.ok) {
		try {
			outcome = await waitRollout(kube, workloads, s, io, seenEvents);
		} catch (err) {
			// A stopped step stops here; anything else (the API server gone quiet…) rolls back.
			if (io.signal?.aborted) throw err;
			outcome = { ok: false, reason: `watching the rollout failed: ${(err as Error).message}` };
		}
	}
	if (outcome.ok) return { ok: true, details: `deployed: ${workloads.length} workload(s) rolled out` };
	if (applied.length === 0)
		return { ok: false, details: `deployment failed: ${outcome.reason}; nothing was rolled out` };
	io.log(`the deployment failed (${outcome.reason}): rolling back`);
	const rolledBack: KubeObject[] = [];
	for (const w of applied) {
		const template = previous.get(objectRef(w));
		if (template === undefined) {
			io.log(`${objectRef(w)}: created by this deployment, no previous revision to roll back to`);
			continue;
		}
		const r = await kube.call(
			"PATCH",
			`${paths.get(w)}?fieldManager=${FIELD_MANAGER}`,
			[{ op: "replace", path: "/spec/template", value: template }],
			"application/json-patch+json",
		);
		if (r.status !== 200) {
			io.log(`${objectRef(w)}: rollback failed: ${failure(r)}`);
			continue;
		}
		io.log(`${objectRef(w)}: previous pod template restored`);
		rolledBack.push(w);
	}
	const back = rolledBack.length > 0 ? await waitRollout(kube, rolledBack, s, io, seenEvents) : { ok: true };
	const rollback =
		rolledBack.length === 0
			? "nothing to roll back"
			: back.ok
				? `rolled back ${rolledBack.map(objectRef).join(", ")} to the previous revision`
				: `the rollback did not complete either (${(back as { reason: string }).reason})`;
	return { ok: false, details: `deployment failed: ${outcome.reason}; ${rollback}` };
}

async function eventKeys(kube: Kube, namespace: string): Promise<Set<string>> {
	const r = await kube.call("GET", `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`);
	const keys = new Set<string>();
	for (const e of r.json?.items ?? []) keys.add(`${e.metadata?.uid}/${e.count ?? 1}`);
	return keys;
}

/** Logs the namespace's events not seen yet about `names` or what they own (name prefixes). */
async function logEvents(
	kube: Kube,
	namespace: string,
	names: string[],
	seen: Set<string>,
	io: DeploymentIo,
) {
	const r = await kube.call("GET", `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`);
	if (r.status !== 200) return;
	const items = [...(r.json?.items ?? [])].sort((a: any, b: any) =>
		String(a.lastTimestamp ?? a.eventTime ?? "").localeCompare(String(b.lastTimestamp ?? b.eventTime ?? "")),
	);
	for (const e of items) {
		const key = `${e.metadata?.uid}/${e.count ?? 1}`;
		if (seen.has(key)) continue;
		seen.add(key);
		const about = String(e.involvedObject?.name ?? "");
		if (!names.some((n) => about === n || about.startsWith(`${n}-`))) continue;
		io.log(
			`event ${e.type ?? ""} ${e.involvedObject?.kind}/${about}: ${e.reason ?? ""} ${e.message ?? ""}`.trim(),
		);
	}
}

async function waitRollout(
	kube: Kube,
	workloads: KubeObject[],
	s: KubernetesDeploySettings,
	io: DeploymentIo,
	seen: Set<string>,
): Promise<{ ok: true } | { ok: false; reason: string }> {
	const deadline = Date.now() + s.timeoutMs;
	const last = new Map<string, string>();
	const pending = new Set(workloads.map(objectRef));
	const namespaces = [...new Set(workloads.map((w) => w.metadata.namespace ?? s.namespace))];
	const names = workloads.map((w) => w.metadata.name);
	for (;;) {
		for (const ns of namespaces) await logEvents(kube, ns, names, seen, io);
		for (const w of workloads) {
			if (!pending.has(objectRef(w))) continue;
			const r = await kube.call("GET", await kube.path(w));
			if (r.status !== 200) return { ok: false, reason: `reading ${objectRef(w)}: ${failure(r)}` };
			const state = rolloutState(r.json);
			if (last.get(objectRef(w)) !== state.message) io.log(state.message);
			last.set(objectRef(w), state.message);
			if (state.state === "failed") return { ok: false, reason: state.message };
			if (state.state === "done") pending.delete(objectRef(w));
		}
		if (pending.size === 0) return { ok: true };
		if (Date.now() >= deadline)
			return {
				ok: false,
				reason: `timed out after ${s.timeoutMs / 1000}s: ${[...pending].map((p) => last.get(p) ?? p).join("; ")}`,
			};
		await new Promise((r) => setTimeout(r, POLL_MS));
	}
}

export const deployKubernetes: DeploymentPlugin = {
	name: "deploy-kubernetes",
	models: [KUBERNETES_MODEL],
	deploy: (query, io) => deployToKubernetes(query, io, { workspace: process.cwd() }),
};
