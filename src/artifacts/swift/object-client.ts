// Swift's object API over fetch: requests on the account's storage URL with the auth token,
// one retry with a fresh token on 401. Only what the artifact store uses.

import { Readable } from "node:stream";
import type { SwiftAuth } from "./auth.ts";

export class SwiftError extends Error {
	readonly status: number;
	constructor(message: string, status: number) {
		super(message);
		this.name = "SwiftError";
		this.status = status;
	}
}

export interface ObjectListing {
	name: string;
	bytes: number;
	last_modified: string;
}

type Body = Buffer | string | Readable | undefined;

/** Swift path segments: each part encoded, the slashes of object names kept. */
export function objectPath(container: string, object?: string): string {
	const c = encodeURIComponent(container);
	return object === undefined ? c : `${c}/${object.split("/").map(encodeURIComponent).join("/")}`;
}

export class SwiftObjectClient {
	readonly auth: SwiftAuth;
	constructor(auth: SwiftAuth) {
		this.auth = auth;
	}

	/** `<storageUrl>/<path>` for the current account. */
	async url(path: string): Promise<string> {
		return `${(await this.auth.credentials()).storageUrl}/${path}`;
	}

	/**
	 * One request; a 401 drops the token and retries once (a stream body cannot be replayed, so
	 * its request fails instead). Answers the response for 2xx and the statuses `accept` lists.
	 */
	async request(
		method: string,
		path: string,
		init: { headers?: Record<string, string>; body?: Body; query?: string; accept?: number[] } = {},
	): Promise<Response> {
		for (let attempt = 0; ; attempt++) {
			const { token, storageUrl } = await this.auth.credentials();
			const streaming = init.body instanceof Readable;
			const res = await fetch(`${storageUrl}/${path}${init.query ? `?${init.query}` : ""}`, {
				method,
				headers: { "X-Auth-Token": token, ...init.headers },
				body: streaming
					? (Readable.toWeb(init.body as Readable) as ReadableStream)
					: (init.body as string | Buffer | undefined),
				...(streaming ? { duplex: "half" } : {}),
			} as RequestInit);
			if (res.status === 401 && attempt === 0 && !streaming) {
				await res.arrayBuffer();
				this.auth.invalidate();
				continue;
			}
			if (res.ok || init.accept?.includes(res.status)) return res;
			const text = (await res.text()).slice(0, 200);
			if (res.status === 401) this.auth.invalidate();
			throw new SwiftError(`Swift ${method} ${path}: HTTP ${res.status} ${text}`.trim(), res.status);
		}
	}

	/** A request whose body is not needed. */
	async call(
		method: string,
		path: string,
		init: { headers?: Record<string, string>; body?: Body; query?: string; accept?: number[] } = {},
	): Promise<Response> {
		const res = await this.request(method, path, init);
		await res.arrayBuffer();
		return res;
	}

	/** Every object of `container` under `prefix`, page by page (Swift's `marker`). */
	async *list(container: string, prefix: string): AsyncIterable<ObjectListing> {
		let marker = "";
		for (;;) {
			const q = new URLSearchParams({ format: "json", prefix, limit: "1000" });
			if (marker) q.set("marker", marker);
			const res = await this.request("GET", objectPath(container), { query: q.toString(), accept: [404] });
			if (res.status === 404) {
				await res.arrayBuffer();
				return;
			}
			const page = (await res.json()) as ObjectListing[];
			if (page.length === 0) return;
			yield* page;
			marker = page[page.length - 1]!.name;
		}
	}

	/** The account's containers whose name starts with `prefix`. */
	async *containers(prefix: string): AsyncIterable<string> {
		let marker = "";
		for (;;) {
			const q = new URLSearchParams({ format: "json", prefix, limit: "1000" });
			if (marker) q.set("marker", marker);
			const res = await this.request("GET", "", { query: q.toString() });
			const page = res.status === 204 ? [] : ((await res.json()) as { name: string }[]);
			if (page.length === 0) return;
			for (const c of page) yield c.name;
			marker = page[page.length - 1]!.name;
		}
	}

	/** The cluster's capabilities (/info at the proxy's root). */
	async info(): Promise<Record<string, unknown>> {
		const { storageUrl } = await this.auth.credentials();
		const root = storageUrl.replace(/\/v1(\/.*)?$/, "");
		const res = await fetch(`${root}/info`);
		if (!res.ok) throw new SwiftError(`Swift /info: HTTP ${res.status}`, res.status);
		return (await res.json()) as Record<string, unknown>;
	}
}
