// A thin JSON client for the CDS REST API (contract v1) over the global fetch (or another
// transport: `cds run` talks to its in-process node over node:http, already loaded by it).
// Every failure becomes an ApiError (the server answered with an error) or a
// CliFailure (no usable answer: unreachable, timed out, not JSON).

import { ApiError, CliFailure, ValidationError } from "./errors.ts";
import { nextRetry } from "./retry.ts";

export interface ApiClientOptions {
	/** Server root without /api/v1, e.g. http://localhost:8080. */
	apiUrl: string;
	token: string;
	timeoutMs: number;
	/** How long a GET answered 503 is asked again (default: timeoutMs). */
	retryForMs?: number;
	/** Told once per request when a 503 is being waited out. */
	onRetry?: (message: string) => void;
	/** How requests are sent (default: the global fetch). */
	send?: HttpSend;
}

/** One HTTP exchange as ApiClient needs it. */
export interface HttpAnswer {
	status: number;
	statusText: string;
	/** The Retry-After header, if any. */
	retryAfter: string | null;
	text: string;
}

/**
 * Sends one request; a timeout rejects with an error named TimeoutError, an unreachable server
 * with the network error (its `cause` says why), as fetch does.
 */
export type HttpSend = (
	url: URL,
	init: { method: string; headers: Record<string, string>; body?: string | Buffer; timeoutMs: number },
) => Promise<HttpAnswer>;

/** The default transport: the global fetch. */
export const fetchSend: HttpSend = async (url, { method, headers, body, timeoutMs }) => {
	const response = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
	return {
		status: response.status,
		statusText: response.statusText,
		retryAfter: response.headers.get("retry-after"),
		text: await response.text(),
	};
};

export interface Listing<T> {
	items: T[];
	next: string | null;
}

type Query = Record<string, string | number | undefined>;

/**
 * Encodes one path segment (project keys, workflow names, ids). `.` and `..` are refused: URL
 * parsers (fetch's included) would resolve them, turning `DELETE …/workflows/..` into a request
 * on the project itself; `%2e` is no escape, as parsers treat it as a dot too.
 */
export function seg(value: string): string {
	if (value === "" || value === "." || value === "..")
		throw new ValidationError(
			`'${value}' is not a valid name: empty, '.' and '..' are path steps, not names`,
		);
	return encodeURIComponent(value);
}

function describeNetworkError(err: unknown): string {
	const cause = (err as { cause?: { code?: string; message?: string } }).cause;
	return cause?.code ?? cause?.message ?? (err as Error).message ?? String(err);
}

export class ApiClient {
	readonly apiUrl: string;
	readonly #token: string;
	readonly #timeoutMs: number;
	readonly #retryForMs: number;
	readonly #onRetry: (message: string) => void;
	readonly #send: HttpSend;

	constructor(options: ApiClientOptions) {
		this.apiUrl = options.apiUrl;
		this.#token = options.token;
		this.#timeoutMs = options.timeoutMs;
		this.#retryForMs = options.retryForMs ?? options.timeoutMs;
		this.#onRetry = options.onRetry ?? (() => {});
		this.#send = options.send ?? fetchSend;
	}

	get<T>(path: string, query?: Query): Promise<T> {
		return this.request<T>("GET", path, undefined, query);
	}

	post<T>(path: string, body: unknown): Promise<T> {
		return this.request<T>("POST", path, body);
	}

	delete<T>(path: string): Promise<T> {
		return this.request<T>("DELETE", path);
	}

	/** Fetches every page of a listing by following `next` cursors. */
	async listAll<T>(path: string, query: Query = {}): Promise<T[]> {
		const items: T[] = [];
		const seen = new Set<string>();
		let cursor: string | undefined;
		for (;;) {
			const page = await this.get<Listing<T>>(path, { ...query, cursor });
			if (!page || !Array.isArray(page.items)) {
				throw new CliFailure(`unexpected response from ${path}: expected { items, next }`);
			}
			items.push(...page.items);
			// A server that repeats a cursor would loop forever; stop instead.
			if (!page.next || seen.has(page.next)) return items;
			seen.add(page.next);
			cursor = page.next;
		}
	}

	async request<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
		const url = new URL(`${this.apiUrl}/api/v1${path}`);
		// The path must reach the server as built: a segment a URL parser resolved would aim elsewhere.
		const expected = `${new URL(`${this.apiUrl}/api/v1`).pathname}${path.split("?")[0]}`;
		if (url.pathname !== expected)
			throw new ValidationError(
				`refusing to request ${path}: a URL parser would rewrite it to ${url.pathname}`,
			);
		for (const [name, value] of Object.entries(query ?? {})) {
			if (value !== undefined) url.searchParams.set(name, String(value));
		}
		const headers: Record<string, string> = {
			authorization: `Bearer ${this.#token}`,
			accept: "application/json",
		};
		// Bytes (a plugin binary) go as they are; anything else as JSON.
		if (body !== undefined)
			headers["content-type"] = Buffer.isBuffer(body) ? "application/octet-stream" : "application/json";

		const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : JSON.stringify(body);
		const deadline = Date.now() + this.#retryForMs;
		let response: HttpAnswer;
		for (let attempt = 1; ; attempt++) {
			response = await this.#exchange(url, method, headers, payload);
			const delay = nextRetry(method, response.status, attempt, response.retryAfter, Date.now(), deadline);
			if (delay === undefined) break;
			if (attempt === 1)
				this.#onRetry(
					`the CDS API is missing a service for a moment (HTTP 503): retrying for up to ${Math.round(this.#retryForMs / 1000)}s`,
				);
			await new Promise((resolve) => setTimeout(resolve, delay));
		}

		const text = response.text;
		const ok = response.status >= 200 && response.status < 300;
		let json: unknown;
		let isJson = text.length > 0;
		if (isJson) {
			try {
				json = JSON.parse(text);
			} catch {
				isJson = false;
			}
		}
		if (!ok) {
			const e = (isJson ? json : {}) as { type?: unknown; message?: unknown; data?: unknown };
			const message =
				typeof e.message === "string" && e.message
					? e.message
					: `HTTP ${response.status} ${response.statusText}`.trim();
			throw new ApiError(
				response.status,
				typeof e.type === "string" ? e.type : "HTTP_ERROR",
				response.status === 503 ? `${message}${unavailableHint(method)}` : message,
				e.data,
			);
		}
		if (text.length > 0 && !isJson) {
			throw new CliFailure(
				`the server at ${this.apiUrl} sent a response that is not JSON (is it a CDS API?)`,
			);
		}
		return json as T;
	}

	async #exchange(
		url: URL,
		method: string,
		headers: Record<string, string>,
		body: string | Buffer | undefined,
	): Promise<HttpAnswer> {
		try {
			return await this.#send(url, { method, headers, body, timeoutMs: this.#timeoutMs });
		} catch (err) {
			if ((err as Error)?.name === "TimeoutError") {
				throw new CliFailure(
					`request to ${this.apiUrl} timed out after ${this.#timeoutMs / 1000}s (set CDS_TIMEOUT to wait longer)`,
				);
			}
			throw new CliFailure(`cannot reach the CDS API at ${this.apiUrl}: ${describeNetworkError(err)}`);
		}
	}
}

/** What a user can do about a 503: a read was retried already; a write may or may not have been applied. */
function unavailableHint(method: string): string {
	return method === "GET" || method === "HEAD"
		? " (HTTP 503: still unavailable after retrying; a node of the cluster may be down)"
		: ` (HTTP 503: a node of the cluster may be down; this ${method} was not repeated — check whether it took effect before running it again)`;
}
