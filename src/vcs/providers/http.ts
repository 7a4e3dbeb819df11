// The one HTTP call every provider client makes: JSON in and out, a timeout, and errors
// that say which provider refused what (never the token). The server passes a fetcher bound to
// the outbound policy (src/net/outbound-policy.ts): its refusals pass through unchanged.

import { OutboundRefusedError } from "../../net/outbound-policy.ts";

export class ProviderError extends Error {
	readonly status: number;
	constructor(message: string, status: number) {
		super(message);
		this.name = "ProviderError";
		this.status = status;
	}
}

export interface ProviderRequest {
	method: "GET" | "POST" | "DELETE" | "PUT";
	url: string;
	headers: Record<string, string>;
	body?: unknown;
}

export type Fetcher = typeof fetch;

export async function sendJson(
	provider: string,
	request: ProviderRequest,
	options: { timeoutMs?: number; fetcher?: Fetcher } = {},
): Promise<unknown> {
	const fetcher = options.fetcher ?? fetch;
	let response: Response;
	try {
		response = await fetcher(request.url, {
			method: request.method,
			headers: {
				accept: "application/json",
				"user-agent": "cds-ts",
				...(request.body !== undefined ? { "content-type": "application/json" } : {}),
				...request.headers,
			},
			body: request.body === undefined ? undefined : JSON.stringify(request.body),
			signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
		});
	} catch (e) {
		if (e instanceof OutboundRefusedError) throw e;
		const reason =
			(e as Error).name === "TimeoutError"
				? "timed out"
				: ((e as { cause?: Error }).cause?.message ?? (e as Error).message);
		throw new ProviderError(
			`${provider}: ${request.method} ${new URL(request.url).pathname} failed: ${reason}`,
			502,
		);
	}
	const text = await response.text();
	if (!response.ok) {
		let detail = "";
		try {
			const json = JSON.parse(text) as {
				message?: unknown;
				error?: unknown;
				errors?: Array<{ message?: string }>;
			};
			detail = String(json.message ?? json.error ?? json.errors?.[0]?.message ?? "");
		} catch {
			/* not JSON */
		}
		throw new ProviderError(
			`${provider}: ${request.method} ${new URL(request.url).pathname} answered ${response.status}${detail ? `: ${detail}` : ""}`,
			response.status,
		);
	}
	if (!text) return null;
	try {
		return JSON.parse(text);
	} catch {
		return null;
	}
}
