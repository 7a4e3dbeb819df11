// A Marathon REST client over undici: apps, their versions, deployments (DELETE rolls one
// back), tasks, the launch queue. Auth is HTTP basic (Marathon's --http_credentials) or a
// DC/OS-style token (`Authorization: token=<t>`). Every call has a timeout; a call that may
// pass by itself — a network error, a 5xx, a 409 "app is locked by a deployment" — is retried
// with capped jittered backoff; any other error is a MarathonError carrying Marathon's own
// message and validation details, so a refused app definition says which field is wrong.

import type { Agent } from "undici";
import { Backoff } from "../hooks/backoff.ts";
import type {
	AppDefinition,
	DeploymentRef,
	MarathonApp,
	MarathonDeployment,
	MarathonErrorBody,
	MarathonTask,
	QueueItem,
} from "./types.ts";

export interface MarathonClientOptions {
	/** Marathon's base URL, e.g. http://marathon.mesos:8080 */
	url: string;
	auth?: { username: string; password: string } | { token: string };
	/** Per request (headers and body), in ms. */
	timeoutMs?: number;
	/** Attempts of a retryable call, first included. */
	attempts?: number;
	backoff?: { baseMs: number; maxMs: number };
	/**
	 * A fetch to send the calls with instead of undici's own agent: a deployment plugin passes
	 * the outbound-checked fetch of its sandbox (src/net/outbound-policy.ts).
	 */
	fetch?: (url: string, init: RequestInit) => Promise<Response>;
}

export class MarathonError extends Error {
	readonly status: number;
	readonly body: MarathonErrorBody | undefined;
	constructor(what: string, status: number, body: MarathonErrorBody | undefined, raw = "") {
		const details = (body?.details ?? []).map((d) => `${d.path || "/"}: ${d.errors.join("; ")}`).join(", ");
		const text = body?.message ?? (raw.slice(0, 200) || `HTTP ${status}`);
		super(`marathon: ${what}: ${status} ${text}${details ? ` (${details})` : ""}`);
		this.name = "MarathonError";
		this.status = status;
		this.body = body;
	}
	/** 409 with a deployment holding the app: retrying later may pass. */
	get locked(): boolean {
		return this.status === 409 && /locked|deployment/i.test(this.body?.message ?? "");
	}
}

const enc = (appId: string) => appId.replace(/^\/+/, "").split("/").map(encodeURIComponent).join("/");

export class MarathonClient {
	readonly url: string;
	readonly #opts: Required<Pick<MarathonClientOptions, "timeoutMs" | "attempts" | "backoff">> &
		MarathonClientOptions;
	/** Made on the first call: undici is loaded then, not by every node that loads the drivers. */
	#agent: Promise<Agent> | undefined;
	#closed = false;

	constructor(options: MarathonClientOptions) {
		this.url = options.url.replace(/\/+$/, "");
		this.#opts = { timeoutMs: 10_000, attempts: 5, backoff: { baseMs: 100, maxMs: 5000 }, ...options };
	}

	async close(): Promise<void> {
		this.#closed = true;
		await (await this.#agent)?.close();
	}

	#undiciAgent(): Promise<Agent> {
		if (this.#closed && !this.#agent) return Promise.reject(new Error("the client is closed"));
		this.#agent ??= import("undici").then(
			({ Agent }) =>
				new Agent({
					headersTimeout: this.#opts.timeoutMs,
					bodyTimeout: this.#opts.timeoutMs,
					connectTimeout: this.#opts.timeoutMs,
				}),
		);
		return this.#agent;
	}

	#headers(body: boolean): Record<string, string> {
		const h: Record<string, string> = { accept: "application/json" };
		if (body) h["content-type"] = "application/json";
		const auth = this.#opts.auth;
		if (auth && "token" in auth) h.authorization = `token=${auth.token}`;
		else if (auth)
			h.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`;
		return h;
	}

	async #send(method: string, path: string, body: unknown): Promise<{ statusCode: number; text: string }> {
		const headers = this.#headers(body !== undefined);
		const payload = body === undefined ? undefined : JSON.stringify(body);
		const signal = AbortSignal.timeout(this.#opts.timeoutMs);
		if (this.#opts.fetch) {
			const r = await this.#opts.fetch(`${this.url}${path}`, { method, headers, body: payload, signal });
			return { statusCode: r.status, text: await r.text() };
		}
		const dispatcher = await this.#undiciAgent();
		const { request } = await import("undici");
		const r = await request(`${this.url}${path}`, {
			method: method as "GET",
			headers,
			body: payload,
			dispatcher,
			signal,
		});
		return { statusCode: r.statusCode, text: await r.body.text() };
	}

	/** One call, retried while the failure may pass; `notFound` answers a 404 instead of throwing. */
	async call<T>(method: string, path: string, body?: unknown, notFound?: T): Promise<T> {
		const backoff = new Backoff(this.#opts.backoff);
		const what = `${method} ${path.split("?")[0]}`;
		for (;;) {
			let err: Error;
			let retryable: boolean;
			try {
				const res = await this.#send(method, path, body);
				const text = res.text;
				if (res.statusCode < 300) return (text ? JSON.parse(text) : undefined) as T;
				if (res.statusCode === 404 && notFound !== undefined) return notFound;
				let parsed: MarathonErrorBody | undefined;
				try {
					parsed = JSON.parse(text) as MarathonErrorBody;
				} catch {
					parsed = undefined;
				}
				const e = new MarathonError(what, res.statusCode, parsed, text);
				err = e;
				retryable = res.statusCode >= 500 || e.locked;
			} catch (e) {
				if (e instanceof SyntaxError) throw new Error(`marathon: ${what}: not JSON: ${e.message}`);
				err = new Error(`marathon: ${what}: ${(e as Error).message}`);
				retryable = true;
			}
			if (!retryable || this.#closed || backoff.attempts + 1 >= this.#opts.attempts) throw err;
			await new Promise((r) => setTimeout(r, backoff.next()));
		}
	}

	// ---- apps ----

	/** Apps, optionally by label selector (`key==value`, `key`) and with embedded tasks etc. */
	async listApps(query: { label?: string; id?: string; embed?: string[] } = {}): Promise<MarathonApp[]> {
		const q = new URLSearchParams();
		if (query.label) q.set("label", query.label);
		if (query.id) q.set("id", query.id);
		for (const e of query.embed ?? []) q.append("embed", e);
		const qs = q.toString();
		return (await this.call<{ apps: MarathonApp[] }>("GET", `/v2/apps${qs ? `?${qs}` : ""}`)).apps;
	}

	async getApp(id: string, embed: string[] = []): Promise<MarathonApp | null> {
		const q = embed.map((e) => `embed=${encodeURIComponent(e)}`).join("&");
		const r = await this.call<{ app: MarathonApp } | null>(
			"GET",
			`/v2/apps/${enc(id)}${q ? `?${q}` : ""}`,
			undefined,
			null,
		);
		return r?.app ?? null;
	}

	/** Creates an app (`POST /v2/apps`): Marathon answers the app with its deployment. */
	async createApp(def: AppDefinition): Promise<MarathonApp & { deployments: Array<{ id: string }> }> {
		return this.call("POST", "/v2/apps", def);
	}

	/** Creates or replaces an app (`PUT /v2/apps/{id}`): the deployment doing it. */
	async putApp(def: AppDefinition, options: { force?: boolean } = {}): Promise<DeploymentRef> {
		return this.call("PUT", `/v2/apps/${enc(def.id)}${options.force ? "?force=true" : ""}`, def);
	}

	/** Deletes an app; null when it was not there. */
	async deleteApp(id: string, options: { force?: boolean } = {}): Promise<DeploymentRef | null> {
		return this.call("DELETE", `/v2/apps/${enc(id)}${options.force ? "?force=true" : ""}`, undefined, null);
	}

	/** Replaces every task of an app (`POST /v2/apps/{id}/restart`): the deployment doing it. */
	async restartApp(id: string, options: { force?: boolean } = {}): Promise<DeploymentRef> {
		return this.call("POST", `/v2/apps/${enc(id)}/restart${options.force ? "?force=true" : ""}`);
	}

	/** The versions of an app, newest first. */
	async appVersions(id: string): Promise<string[]> {
		return (await this.call<{ versions: string[] }>("GET", `/v2/apps/${enc(id)}/versions`)).versions;
	}

	async appVersion(id: string, version: string): Promise<AppDefinition> {
		return this.call("GET", `/v2/apps/${enc(id)}/versions/${encodeURIComponent(version)}`);
	}

	// ---- tasks ----

	async appTasks(id: string): Promise<MarathonTask[]> {
		return (
			await this.call<{ tasks: MarathonTask[] }>("GET", `/v2/apps/${enc(id)}/tasks`, undefined, { tasks: [] })
		).tasks;
	}

	async listTasks(): Promise<MarathonTask[]> {
		return (await this.call<{ tasks: MarathonTask[] }>("GET", "/v2/tasks")).tasks;
	}

	/** Kills tasks by id (`POST /v2/tasks/delete`); `wipe` forgets them (no relaunch of their instance). */
	async killTasks(ids: string[], options: { scale?: boolean; wipe?: boolean } = {}): Promise<void> {
		const q = new URLSearchParams();
		if (options.scale) q.set("scale", "true");
		if (options.wipe) q.set("wipe", "true");
		const qs = q.toString();
		await this.call("POST", `/v2/tasks/delete${qs ? `?${qs}` : ""}`, { ids });
	}

	// ---- deployments ----

	async listDeployments(): Promise<MarathonDeployment[]> {
		return this.call("GET", "/v2/deployments");
	}

	/**
	 * Cancels a deployment. Without `force` Marathon rolls it back — a new deployment bringing
	 * the apps back to their state before it — and answers that one; with `force` it just stops.
	 */
	async deleteDeployment(id: string, options: { force?: boolean } = {}): Promise<DeploymentRef | null> {
		return this.call(
			"DELETE",
			`/v2/deployments/${encodeURIComponent(id)}${options.force ? "?force=true" : ""}`,
			undefined,
			null,
		);
	}

	// ---- queue ----

	async queue(): Promise<QueueItem[]> {
		return (await this.call<{ queue: QueueItem[] }>("GET", "/v2/queue")).queue;
	}
}
