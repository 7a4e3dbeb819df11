// An HttpSend over node:http, for `cds run`: its node runs in this process and has loaded
// node:http already, while the first call of the global fetch loads undici — some 20 ms of a
// local run spent before the first request leaves.

import { request } from "node:http";
import type { HttpSend } from "./http.ts";

function timeoutError(ms: number): Error {
	const err = new Error(`the request timed out after ${ms} ms`);
	err.name = "TimeoutError";
	return err;
}

export const nodeHttpSend: HttpSend = (url, { method, headers, body, timeoutMs }) =>
	new Promise((done, fail) => {
		const sent =
			body === undefined ? headers : { ...headers, "content-length": String(Buffer.byteLength(body)) };
		// One connection per request (no agent): nothing is left open when the run ends.
		const req = request(url, { method, headers: sent, agent: false }, (res) => {
			const chunks: Buffer[] = [];
			res.on("data", (chunk: Buffer) => chunks.push(chunk));
			res.on("error", failed);
			res.on("end", () => {
				clearTimeout(timer);
				const retryAfter = res.headers["retry-after"];
				done({
					status: res.statusCode ?? 0,
					statusText: res.statusMessage ?? "",
					retryAfter: typeof retryAfter === "string" ? retryAfter : null,
					text: Buffer.concat(chunks).toString("utf8"),
				});
			});
		});
		const timer = setTimeout(() => req.destroy(timeoutError(timeoutMs)), timeoutMs);
		function failed(err: Error) {
			clearTimeout(timer);
			// As fetch reports it: the network error is the cause.
			fail(err.name === "TimeoutError" ? err : Object.assign(new Error("request failed"), { cause: err }));
		}
		req.on("error", failed);
		req.end(body);
	});
