// A thin JSON client for the CDS REST API (contract v1) over the global fetch.
// Every failure becomes an ApiError (the server answered with an error) or a
// CliFailure (no usable answer: unreachable, timed out, not JSON).

import { ApiError, CliFailure, ValidationError } from "./errors.ts";

export interface ApiClientOptions {
	/** Server root without /api/v1, e.g. http://localhost:8080. */
	apiUrl: string;
	token: string;
	timeoutMs: number;
}

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

	constructor(options: ApiClientOptions) {
		this.apiUrl = options.apiUrl;
		this.#token = options.token;
		this.#timeoutMs = options.timeoutMs;
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
		if (body !== undefined) headers["content-type"] = "application/json";

		let response: Response;
		let text: string;
		try {
			response = await fetch(url, {
				method,
				headers,
				body: body === undefined ? undefined : JSON.stringify(body),
				signal: AbortSignal.timeout(this.#timeoutMs),
			});
			text = await response.text();
		} catch (err) {
			if ((err as Error)?.name === "TimeoutError") {
				throw new CliFailure(
					`request to ${this.apiUrl} timed out after ${this.#timeoutMs / 1000}s (set CDS_TIMEOUT to wait longer)`,
				);
			}
			throw new CliFailure(`cannot reach the CDS API at ${this.apiUrl}: ${describeNetworkError(err)}`);
		}

		let json: unknown;
		let isJson = text.length > 0;
		if (isJson) {
			try {
				json = JSON.parse(text);
			} catch {
				isJson = false;
			}
		}
		if (!response.ok) {
			const e = (isJson ? json : {}) as { type?: unknown; message?: unknown; data?: unknown };
			const message =
				typeof e.message === "string" && e.message
					? e.message
					: `HTTP ${response.status} ${response.statusText}`.trim();
			throw new ApiError(
				response.status,
				typeof e.type === "string" ? e.type : "HTTP_ERROR",
				message,
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
}
