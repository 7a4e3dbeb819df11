/**
 * The worker's side of the worker ↔ API HTTP contract: one method per endpoint of
 * `/api/v1/worker/...`, every call authenticated with the job's bearer token.
 */

import { createReadStream } from "node:fs";
import type { Agent, IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import type { PluginBinary } from "../integrations/plugin-manifest.ts";

export class ApiError extends Error {
	readonly status: number;
	/** The `message` of the API's error body, when it sent one. */
	readonly apiMessage: string | undefined;
	/** What the answer's Retry-After asked for, in milliseconds. */
	readonly retryAfterMs: number | undefined;
	constructor(status: number, message: string, details: { apiMessage?: string; retryAfterMs?: number } = {}) {
		super(message);
		this.name = "ApiError";
		this.status = status;
		this.apiMessage = details.apiMessage;
		this.retryAfterMs = details.retryAfterMs;
	}
}

/**
 * What the gateway answers for a path no service serves: while the node hosting the worker
 * routes restarts, the gateway does not know them yet (an action's own 404 names what it did
 * not find, "job not found").
 */
const NO_ROUTE = "Not found";

/**
 * Network failures, 5xx, 408, 429 and the gateway's "no such route" may go away: a node of the
 * cluster is restarting. Any other HTTP error will not.
 */
export function isTransient(err: unknown): boolean {
	if (err instanceof ApiError)
		return (
			err.status >= 500 ||
			err.status === 408 ||
			err.status === 429 ||
			(err.status === 404 && err.apiMessage === NO_ROUTE)
		);
	return true;
}

/**
 * 401: the token is no longer valid; 409: the job was given to someone else; 404 "job not
 * found": it was deleted. Reporting is pointless.
 */
export function isJobLost(err: unknown): boolean {
	return (
		err instanceof ApiError &&
		(err.status === 401 || err.status === 409 || (err.status === 404 && err.apiMessage === "job not found"))
	);
}

/** Retry-After as seconds or an HTTP date, in milliseconds from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
	if (!value) return undefined;
	const text = value.trim();
	if (/^\d+$/.test(text)) return Number(text) * 1000;
	const at = Date.parse(text);
	return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export type StepStatus = "Building" | "Success" | "Fail" | "Skipped" | "Disabled";
export type JobStatus = "Success" | "Fail" | "Stopped";

export interface LogEntry {
	/** Step index. */
	step: number;
	/** Per step, from 0, contiguous. */
	seq: number;
	/** One or more lines, each ending with \n, already masked. */
	text: string;
}

export interface StepReport {
	status: StepStatus;
	started?: string;
	ended?: string;
	exitCode?: number;
	reason?: string;
}

export interface JobResult {
	status: JobStatus;
	reason?: string;
	steps: { status: StepStatus; exitCode?: number; started?: string; ended?: string }[];
	exports: Record<string, string>;
	/** The last step's report, sent with the result rather than on its own (one request less a job). */
	lastStep?: StepReport & { index: number };
}

export interface ArtifactInfo {
	name: string;
	size: number;
	sha256: string;
}

export type ReportKind = "tests" | "coverage" | "analysis" | "security";

export interface ApiClient {
	getJob(): Promise<unknown>;
	heartbeat(): Promise<{ stop: boolean }>;
	postLogs(entries: LogEntry[]): Promise<void>;
	postStep(index: number, report: StepReport): Promise<void>;
	postVariable(name: string, value: string): Promise<void>;
	postTags(tags: Record<string, string>): Promise<void>;
	postResult(result: JobResult): Promise<void>;
	putFile(
		area: "artifacts" | "cache",
		tag: string,
		name: string,
		file: string,
		sha256: string,
	): Promise<{ sha256: string; size: number }>;
	putReport(
		kind: ReportKind,
		name: string,
		file: string,
		step: number,
	): Promise<{ gate?: { passed: boolean; failures: string[] } }>;
	/**
	 * A presigned URL to a per-upload object of the store, or `{direct: false}` (the store cannot
	 * sign one): then `putFile` streams through the API.
	 */
	directUpload?(
		area: "artifacts" | "cache",
		tag: string,
		name: string,
		size: number,
		sha256: string,
	): Promise<DirectUpload>;
	/** The store checks the direct upload (size, SHA-256) and the API records it; 400 when it does not match. */
	commitUpload?(
		area: "artifacts" | "cache",
		tag: string,
		name: string,
		upload: { uploadId: string; size: number; sha256: string },
	): Promise<{ sha256: string; size: number }>;
	/** A presigned URL to read the file from the store, `{direct: false}`, or undefined on 404. */
	directDownload?(
		area: "artifacts" | "cache",
		tag: string,
		name: string,
	): Promise<DirectDownload | undefined>;
	/** The raw bytes as a stream, or undefined on 404. */
	getFile(area: "artifacts" | "cache", tag: string, name: string): Promise<Readable | undefined>;
	listArtifacts(tag: string): Promise<ArtifactInfo[]>;
	/** An installed plugin the job uses and its binary for one platform. */
	getPlugin?(name: string, os: string, arch: string): Promise<WorkerPlugin>;
	/** The bytes of that binary. */
	getPluginBinary?(name: string, os: string, arch: string): Promise<Readable>;
	/** Which plugin deploys the job's application on its node's integration. */
	getDeployment?(): Promise<WorkerDeployment>;
}

export type DirectUpload =
	| { direct: false }
	| {
			direct: true;
			url: string;
			headers: Record<string, string>;
			uploadId: string;
			expiresAt: number;
			/** Above one store segment: the file's consecutive byte ranges, each PUT to its URL. */
			parts?: { url: string; size: number }[];
	  };
export type DirectDownload = { direct: false } | { direct: true; url: string; sha256: string; size: number };

/** `GET /worker/plugins/:name`: an installed plugin as a worker needs it. */
export interface WorkerPlugin {
	name: string;
	type: string;
	binary: PluginBinary;
}

/** `GET /worker/deployment`. */
export interface WorkerDeployment {
	integration: string;
	model: string;
	/** An installed plugin to run, or a built-in one (its entry under the repository root). */
	plugin:
		| { kind: "installed"; name: string; type: string }
		| { kind: "builtin"; name: string; entry: string };
}

const JSON_TIMEOUT_MS = 30_000;
/** Inactivity limit of a transfer (artifacts, cache, reports): no byte for this long is a failure. */
const TRANSFER_IDLE_MS = 120_000;

interface CallOptions {
	body?: string | Buffer | Readable;
	headers?: Record<string, string>;
	/** Socket inactivity timeout. */
	timeoutMs?: number;
}

/** A heartbeat that hangs (its node died mid-request) must not hold back the next one for long. */
const HEARTBEAT_TIMEOUT_MS = 5_000;

/**
 * One keep-alive agent per API address for the whole process: a warm worker's jobs (each with
 * its own client and token, sent per request) reuse its connections instead of opening one a job
 * and leaving the last job's idle until the server times it out. Idle sockets are unref'd by the
 * agent and closed before the server's announced keep-alive timeout.
 */
const agents = new Map<string, Agent>();

function sharedAgent(base: URL, make: () => Agent): Agent {
	const key = `${base.protocol}//${base.host}`;
	let agent = agents.get(key);
	if (!agent) {
		agent = make();
		agents.set(key, agent);
	}
	return agent;
}

/**
 * node:http rather than the global fetch: fetch loads undici on first use, which costs
 * about 40 ms of a worker's start-up; node:http is already there.
 */
export function createApiClient(apiUrl: string, token: string): ApiClient {
	const base = new URL(apiUrl.replace(/\/+$/, "") + "/api/v1/worker");
	const secure = base.protocol === "https:";
	if (!secure && base.protocol !== "http:")
		throw new Error(`CDS_API_URL must be http(s), not ${base.protocol}`);
	// getBuiltinModule, not import: the ESM facade of node:http reads every export, and its lazy
	// WebSocket/EventSource getters then load undici (40 ms of start-up for nothing).
	const http = secure ? process.getBuiltinModule("node:https") : process.getBuiltinModule("node:http");
	const agent = sharedAgent(base, () => new http.Agent({ keepAlive: true, maxSockets: 8 }));

	async function call(method: string, path: string, options: CallOptions = {}): Promise<IncomingMessage> {
		const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...options.headers };
		if (typeof options.body === "string" || Buffer.isBuffer(options.body)) {
			headers["content-length"] = String(Buffer.byteLength(options.body));
		}
		const response = await new Promise<IncomingMessage>((resolve, reject) => {
			const req = http.request(
				{
					protocol: base.protocol,
					hostname: base.hostname,
					port: base.port,
					path: base.pathname + path,
					method,
					headers,
					agent,
					timeout: options.timeoutMs ?? JSON_TIMEOUT_MS,
				},
				resolve,
			);
			req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)));
			req.on("error", reject);
			const body = options.body;
			if (body instanceof Readable) {
				body.on("error", (err) => req.destroy(err));
				body.pipe(req);
			} else req.end(body);
		});
		const status = response.statusCode ?? 0;
		if (status < 200 || status >= 300) {
			const whole = await readText(response).catch(() => "");
			const text = whole.slice(0, 300);
			let apiMessage: string | undefined;
			try {
				const body = JSON.parse(whole) as { message?: unknown };
				if (typeof body?.message === "string") apiMessage = body.message;
			} catch {
				// Not the API's error shape (a proxy's page): no message to tell apart.
			}
			const retryAfter = response.headers["retry-after"];
			throw new ApiError(status, `${method} ${path}: HTTP ${status} ${text}`.trim(), {
				apiMessage,
				retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter),
			});
		}
		return response;
	}

	async function json(method: string, path: string, body?: unknown, timeoutMs?: number): Promise<any> {
		const response = await call(
			method,
			path,
			body === undefined
				? { timeoutMs }
				: { body: JSON.stringify(body), headers: { "content-type": "application/json" }, timeoutMs },
		);
		const text = await readText(response);
		if (!text) return {};
		try {
			return JSON.parse(text);
		} catch {
			throw new ApiError(502, `${method} ${path}: the API answered with something that is not JSON`);
		}
	}

	const seg = encodeURIComponent;

	return {
		getJob: () => json("GET", "/job"),
		async heartbeat() {
			const answer = await json("POST", "/job/heartbeat", {}, HEARTBEAT_TIMEOUT_MS);
			return { stop: answer?.stop === true };
		},
		async postLogs(entries) {
			await json("POST", "/job/logs", { entries });
		},
		async postStep(index, report) {
			await json("POST", `/job/steps/${index}`, report);
		},
		async postVariable(name, value) {
			await json("POST", "/job/variables", { name, value });
		},
		async postTags(tags) {
			await json("POST", "/job/tags", { tags });
		},
		async postResult(result) {
			await json("POST", "/job/result", result);
		},
		async putFile(area, tag, name, file, sha256) {
			const response = await call("PUT", `/${area}/${seg(tag)}/${seg(name)}`, {
				body: createReadStream(file),
				headers: { "content-type": "application/octet-stream", "x-checksum-sha256": sha256 },
				timeoutMs: TRANSFER_IDLE_MS,
			});
			let answer: { sha256?: string; size?: number } = {};
			try {
				answer = JSON.parse(await readText(response));
			} catch {
				// The size and checksum we computed stand.
			}
			return { sha256: answer.sha256 ?? sha256, size: answer.size ?? -1 };
		},
		async putReport(kind, name, file, step) {
			const response = await call("PUT", `/reports/${kind}/${seg(name)}?step=${step}`, {
				body: createReadStream(file),
				headers: { "content-type": "application/octet-stream" },
				timeoutMs: TRANSFER_IDLE_MS,
			});
			try {
				const answer = JSON.parse(await readText(response)) as {
					gate?: { passed: boolean; failures: string[] };
				};
				return answer.gate ? { gate: answer.gate } : {};
			} catch {
				return {};
			}
		},
		// An API without these routes (older, or a node not serving them yet) answers 404: the
		// transfer then goes through the API as before.
		async directUpload(area, tag, name, size, sha256) {
			try {
				return (await json("POST", `/${area}/${seg(tag)}/${seg(name)}/direct-upload`, {
					size,
					sha256,
					parts: true,
				})) as DirectUpload;
			} catch (err) {
				if (err instanceof ApiError && err.status === 404) return { direct: false };
				throw err;
			}
		},
		commitUpload: (area, tag, name, upload) =>
			json("POST", `/${area}/${seg(tag)}/${seg(name)}/commit`, upload, TRANSFER_IDLE_MS) as Promise<{
				sha256: string;
				size: number;
			}>,
		async directDownload(area, tag, name) {
			try {
				return (await json("GET", `/${area}/${seg(tag)}/${seg(name)}/direct-download`)) as DirectDownload;
			} catch (err) {
				if (!(err instanceof ApiError) || err.status !== 404) throw err;
				// The action's own 404 names the absent file; any other 404 is a route not served.
				if (err.apiMessage !== undefined && !isTransient(err)) return undefined;
				return { direct: false };
			}
		},
		async getFile(area, tag, name) {
			try {
				return await call("GET", `/${area}/${seg(tag)}/${seg(name)}`, { timeoutMs: TRANSFER_IDLE_MS });
			} catch (err) {
				// The action's 404 says the file is absent; the gateway's (no route yet) says nothing.
				if (err instanceof ApiError && err.status === 404 && !isTransient(err)) return undefined;
				throw err;
			}
		},
		getPlugin: (name, os, arch) =>
			json("GET", `/plugins/${seg(name)}?os=${seg(os)}&arch=${seg(arch)}`) as Promise<WorkerPlugin>,
		getPluginBinary: (name, os, arch) =>
			call("GET", `/plugins/${seg(name)}/binary?os=${seg(os)}&arch=${seg(arch)}`, {
				timeoutMs: TRANSFER_IDLE_MS,
			}),
		getDeployment: () => json("GET", "/deployment") as Promise<WorkerDeployment>,
		async listArtifacts(tag) {
			// Every page, following `next` (a listing answers at most a page).
			const found: ArtifactInfo[] = [];
			let cursor: string | null = null;
			do {
				const query: string = cursor ? `?cursor=${encodeURIComponent(cursor)}` : "";
				const answer = await json("GET", `/artifacts/${seg(tag)}${query}`);
				const items: unknown = answer?.items;
				if (!Array.isArray(items)) return found;
				for (const item of items)
					if (typeof item === "object" && item !== null && typeof item.name === "string") found.push(item);
				const next: unknown = answer?.next;
				cursor = typeof next === "string" && next !== cursor ? next : null;
			} while (cursor);
			return found;
		},
	};
}

async function readText(response: IncomingMessage): Promise<string> {
	response.setEncoding("utf8");
	let text = "";
	for await (const chunk of response) text += chunk;
	return text;
}
