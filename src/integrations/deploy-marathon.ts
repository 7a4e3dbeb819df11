// The built-in deployment plugin of the Marathon model. A deployment:
//  1. reads the app definition: `deployment_file` (JSON, relative to the workspace), its
//     `{{.variables}}` interpolated with the job's variables; `app_id` (when set) names the app,
//     else the file's `id`, else the application's name; `instances` applies when the file
//     gives none;
//  2. records the app's live version (null: the deployment creates it) — what a rollback
//     returns to;
//  3. `PUT /v2/apps/{id}` (retried while a deployment of the app is in progress: 409 AppLocked);
//  4. follows its deployment until it is done and the new version's instances run, logging its
//     steps and every task state change; a task of the new version failing twice, or `timeout`
//     (seconds) passing, is a failure;
//  5. on failure, cancels the deployment, which Marathon turns into a rollback deployment back
//     to the original version (for a creation: the app is removed), follows that one too
//     (bounded by `timeout` again), and fails the step with the reason. A deployment already
//     over when its new tasks fail is rolled back by putting the recorded version back.

import { readFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { MarathonClient } from "../marathon/client.ts";
import type { AppDefinition, MarathonApp } from "../marathon/types.ts";
import { interpolate } from "../run/interpolate.ts";
import {
	DEPLOYMENT_VARIABLE,
	type DeploymentIo,
	type DeploymentOutcome,
	type DeploymentPlugin,
} from "./deploy-plugin.ts";
import { parseTimeout } from "./deploy-kubernetes.ts";
import type { PluginQuery } from "./plugin-protocol.ts";

export const MARATHON_MODEL = "Marathon";

export interface MarathonDeploySettings {
	url: string;
	username: string;
	password: string;
	file: string;
	appId: string;
	instances: number | undefined;
	timeoutMs: number;
}

export function marathonSettings(query: PluginQuery): MarathonDeploySettings {
	const setting = (key: string) => (query.options[`${DEPLOYMENT_VARIABLE}.${key}`] ?? "").trim();
	const url = setting("url").replace(/\/+$/, "");
	if (!url) throw new Error(`the integration has no 'url' setting (${DEPLOYMENT_VARIABLE}.url)`);
	const file = setting("deployment_file");
	if (!file) throw new Error("the application's deployment names no 'deployment_file' (its Marathon JSON)");
	const instances = setting("instances");
	if (instances && !/^\d+$/.test(instances))
		throw new Error(`instances '${instances}' is not a whole number`);
	return {
		url,
		username: setting("username"),
		password: setting("password"),
		file,
		appId: setting("app_id"),
		instances: instances ? Number(instances) : undefined,
		timeoutMs: parseTimeout(setting("timeout") || "300"),
	};
}

/** The app definition of the deployment: the file, interpolated, with the settings applied. */
export async function appDefinition(
	query: PluginQuery,
	s: MarathonDeploySettings,
	workspace: string,
): Promise<AppDefinition> {
	const file = isAbsolute(s.file) ? s.file : join(workspace, s.file);
	const text = interpolate(await readFile(file, "utf8"), query.options);
	let def: AppDefinition;
	try {
		def = JSON.parse(text) as AppDefinition;
	} catch (e) {
		throw new Error(`${s.file} is not JSON after interpolation: ${(e as Error).message}`);
	}
	if (def === null || typeof def !== "object" || Array.isArray(def))
		throw new Error(`${s.file} holds no Marathon app definition (a JSON object)`);
	const id = s.appId || def.id || query.options["cds.application"];
	if (!id)
		throw new Error(`${s.file} has no 'id', and neither the integration's app_id nor cds.application is set`);
	def.id = id.startsWith("/") ? id : `/${id}`;
	if (def.instances === undefined && s.instances !== undefined) def.instances = s.instances;
	delete def.version;
	return def;
}

type Follow = { ok: true } | { ok: false; reason: string };

export const marathonDeploymentPlugin: DeploymentPlugin = {
	name: "deploy-marathon",
	models: [MARATHON_MODEL],
	deploy: (query, io) => deployToMarathon(query, io, { workspace: process.cwd() }),
};

export async function deployToMarathon(
	query: PluginQuery,
	io: DeploymentIo,
	options: { workspace: string; pollMs?: number },
): Promise<DeploymentOutcome> {
	const s = marathonSettings(query);
	const def = await appDefinition(query, s, options.workspace);
	const client = new MarathonClient({
		url: s.url,
		auth: s.username ? { username: s.username, password: s.password } : undefined,
		fetch: io.fetch,
		attempts: 8,
	});
	const poll = options.pollMs ?? 1000;
	try {
		const before = await client.getApp(def.id);
		io.log(
			before
				? `marathon app ${def.id}: live version ${before.version} (${before.instances ?? 1} instances)`
				: `marathon app ${def.id}: new`,
		);
		const started = Date.now();
		const change = await client.putApp(def);
		io.log(`deployment ${change.deploymentId}: ${def.id} to version ${change.version}`);
		const outcome = await follow(
			client,
			io,
			def.id,
			change.deploymentId,
			change.version,
			s.timeoutMs,
			poll,
			started,
		);
		if (outcome.ok) return { ok: true, details: `deployed ${def.id} version ${change.version}` };
		io.log(`deployment ${change.deploymentId} failed: ${outcome.reason}: rolling back`);
		const back = await rollback(client, io, def.id, change.deploymentId, before, s.timeoutMs, poll);
		return { ok: false, details: `deployment failed: ${outcome.reason}; ${back}` };
	} finally {
		await client.close();
	}
}

/**
 * Follows a deployment until its app runs `version` ("current": whatever version the app has
 * now, as after a rollback; null: until the app is gone), a task of it fails twice, or the timeout.
 */
async function follow(
	client: MarathonClient,
	io: DeploymentIo,
	appId: string,
	deploymentId: string,
	version: string | null,
	timeoutMs: number,
	pollMs: number,
	started = Date.now(),
): Promise<Follow> {
	const states = new Map<string, string>();
	const failed = new Set<string>();
	let lastStep = "";
	for (;;) {
		const deployments = await client.listDeployments();
		const d = deployments.find((x) => x.id === deploymentId);
		if (d) {
			const step = `step ${d.currentStep}/${d.totalSteps}: ${d.currentActions.map((a) => `${a.action} ${a.app}`).join(", ")}`;
			if (step !== lastStep) io.log(`deployment ${deploymentId}: ${step}`);
			lastStep = step;
		}
		const app: MarathonApp | null = await client.getApp(appId, ["app.tasks", "app.lastTaskFailure"]);
		for (const t of app?.tasks ?? [])
			if (states.get(t.id) !== t.state) {
				states.set(t.id, t.state);
				io.log(`task ${t.id}: ${t.state}${t.host ? ` on ${t.host}` : ""}`);
			}
		const wanted = version === "current" ? app?.version : version;
		const f = app?.lastTaskFailure;
		if (
			f &&
			wanted &&
			f.version === wanted &&
			Date.parse(f.timestamp) >= started - 1000 &&
			!failed.has(f.taskId)
		) {
			failed.add(f.taskId);
			io.log(`task ${f.taskId}: ${f.state}: ${f.message}`);
			if (failed.size >= 2)
				return { ok: false, reason: `tasks of the new version fail: ${f.state}: ${f.message}` };
		}
		if (!d) {
			if (version === null) return app ? { ok: false, reason: `${appId} is still there` } : { ok: true };
			const want = app?.instances ?? 1;
			const running = (app?.tasks ?? []).filter(
				(t) => t.state === "TASK_RUNNING" && t.version === wanted,
			).length;
			if (app && running >= want) {
				io.log(`deployment ${deploymentId}: done: ${running}/${want} instances of ${wanted} running`);
				return { ok: true };
			}
		}
		if (Date.now() - started > timeoutMs)
			return {
				ok: false,
				reason: `timed out after ${Math.round(timeoutMs / 1000)}s${d ? ` (${lastStep})` : ""}`,
			};
		await new Promise((r) => setTimeout(r, pollMs));
	}
}

async function rollback(
	client: MarathonClient,
	io: DeploymentIo,
	appId: string,
	deploymentId: string,
	before: MarathonApp | null,
	timeoutMs: number,
	pollMs: number,
): Promise<string> {
	const target = before ? `version ${before.version}` : "nothing (the app is removed)";
	try {
		let back = await client.deleteDeployment(deploymentId);
		if (!back) {
			// The deployment is over (its tasks fail after it): put the recorded version back.
			if (before) {
				const previous = await client.appVersion(appId, before.version);
				back = await client.putApp({ ...previous, id: appId, version: undefined }, { force: true });
			} else back = await client.deleteApp(appId, { force: true });
		}
		if (!back) return `nothing to roll back for ${appId}`;
		io.log(`rollback deployment ${back.deploymentId}: ${appId} back to ${target}`);
		const outcome = await follow(
			client,
			io,
			appId,
			back.deploymentId,
			before ? "current" : null,
			timeoutMs,
			pollMs,
		);
		if (!outcome.ok) return `rollback of ${appId} to ${target} failed: ${outcome.reason}`;
		return `rolled back ${appId} to ${target}`;
	} catch (e) {
		return `rollback of ${appId} failed: ${(e as Error).message}`;
	}
}
