// Moving one file straight to or from the object store with a presigned URL the API signed
// (Swift TempURLs): the API nodes only sign and, for an upload, check what arrived (commit).
// Errors are ApiErrors, so the transfer's retry policy (isTransient) applies to the store too.

import { createReadStream } from "node:fs";
import type { IncomingMessage } from "node:http";
import { ApiError } from "./api-client.ts";

/** No byte for this long is a failure (as for transfers through the API). */
const IDLE_MS = 120_000;

function request(
	method: string,
	url: string,
	headers: Record<string, string>,
	body?: () => NodeJS.ReadableStream,
): Promise<IncomingMessage> {
	const u = new URL(url);
	const http =
		u.protocol === "https:" ? process.getBuiltinModule("node:https") : process.getBuiltinModule("node:http");
	return new Promise((resolve, reject) => {
		const req = http.request(u, { method, headers, timeout: IDLE_MS }, resolve);
		// The URL's signature is a credential for its object: never in a message.
		const where = `${method} ${u.origin}${u.pathname}`;
		req.on("timeout", () => req.destroy(new Error(`${where}: timed out`)));
		req.on("error", (e) => reject(new Error(`${where}: ${e.message}`)));
		if (body) {
			const source = body();
			source.on("error", (e) => req.destroy(e as Error));
			source.pipe(req);
		} else req.end();
	});
}

async function failed(res: IncomingMessage, what: string): Promise<never> {
	res.resume();
	throw new ApiError(res.statusCode ?? 0, `${what}: the object store answered HTTP ${res.statusCode}`);
}

/** PUTs `size` bytes of `file` from `start` (the whole file by default) to `url`. */
export async function putToUrl(
	url: string,
	headers: Record<string, string>,
	file: string,
	size: number,
	start = 0,
): Promise<void> {
	const res = await request("PUT", url, { ...headers, "content-length": String(size) }, () =>
		createReadStream(file, size === 0 ? {} : { start, end: start + size - 1 }),
	);
	if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) return failed(res, "direct upload");
	res.resume();
}

export async function getFromUrl(url: string): Promise<IncomingMessage> {
	const res = await request("GET", url, {});
	if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) return failed(res, "direct download");
	return res;
}
