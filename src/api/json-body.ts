// Reading a JSON request body ourselves, after authentication: with a size cap (413) and a
// nesting cap checked on the raw bytes before JSON.parse (400), so neither an anonymous client
// nor an authenticated one can hold the event loop with a huge or deeply nested document.
// Strings no store keeps ("\0", lone surrogates) are replaced by U+FFFD (src/store/subset.ts).

import type { IncomingMessage } from "node:http";
import { jsonMayHoldBadStrings, withWellFormedStrings } from "../store/subset.ts";

/** Deepest nesting of arrays and objects a request body may have. */
export const MAX_JSON_DEPTH = 64;

/** A request-body problem; `code` is the HTTP status, `type` the public error type. */
export class BodyError extends Error {
	readonly code: number;
	readonly type: string;
	constructor(message: string, code: number, type: string) {
		super(message);
		this.name = "BodyError";
		this.code = code;
		this.type = type;
	}
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Whether the UTF-8 bytes nest arrays/objects deeper than `max`, counting brackets outside
 * strings (UTF-8 continuation bytes never equal these ASCII values). Stops at the first excess,
 * so a hostile document costs at most one linear scan.
 */
export function jsonDepthExceeds(bytes: Uint8Array, max: number): boolean {
	let depth = 0;
	let inString = false;
	for (let i = 0; i < bytes.length; i++) {
		const b = bytes[i];
		if (inString) {
			if (b === BACKSLASH) i++;
			else if (b === QUOTE) inString = false;
			continue;
		}
		if (b === QUOTE) inString = true;
		else if (b === OPEN_BRACKET || b === OPEN_BRACE) {
			if (++depth > max) return true;
		} else if (b === CLOSE_BRACKET || b === CLOSE_BRACE) depth--;
	}
	return false;
}

/** Parses a JSON body already read, refusing excessive nesting before parsing. */
export function parseJsonBody(bytes: Buffer, maxDepth = MAX_JSON_DEPTH): unknown {
	if (bytes.length === 0) return {};
	if (jsonDepthExceeds(bytes, maxDepth))
		throw new BodyError(`request body nests deeper than ${maxDepth} levels`, 400, "JSON_TOO_DEEP");
	const text = bytes.toString("utf8");
	let parsed: unknown;
	try {
		parsed = JSON.parse(text);
	} catch {
		throw new BodyError("request body is not valid JSON", 400, "INVALID_JSON");
	}
	// A `\u0000` or lone-surrogate escape parses into a string no store backend keeps (a step's
	// binary output in a log line, a commit message): such characters become U+FFFD here, once.
	return jsonMayHoldBadStrings(text) ? withWellFormedStrings(parsed) : parsed;
}

/** Whether the request says its body is JSON (`application/json` or `…+json`). */
export function isJsonRequest(req: IncomingMessage): boolean {
	const type = String(req.headers["content-type"] ?? "")
		.split(";")[0]
		.trim()
		.toLowerCase();
	return type === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/** Whether the request carries a body at all (as body-parser decides it). */
function hasBody(req: IncomingMessage): boolean {
	return req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;
}

/** Reads the whole body, at most `limit` bytes (413 beyond, without buffering the rest). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
	const declared = Number(req.headers["content-length"]);
	if (Number.isFinite(declared) && declared > limit)
		return Promise.reject(new BodyError("request body too large", 413, "PAYLOAD_TOO_LARGE"));
	const encoding = String(req.headers["content-encoding"] ?? "identity").toLowerCase();
	if (encoding !== "identity")
		return Promise.reject(
			new BodyError(`unsupported content encoding '${encoding}'`, 415, "UNSUPPORTED_MEDIA_TYPE"),
		);
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		let size = 0;
		let done = false;
		const finish = (err: Error | null, value?: Buffer) => {
			if (done) return;
			done = true;
			req.off("data", onData);
			req.off("end", onEnd);
			req.off("error", onError);
			if (err) {
				// The rest is drained (not kept) so the answer can still be sent on this connection.
				req.resume();
				reject(err);
			} else resolve(value!);
		};
		const onData = (chunk: Buffer) => {
			size += chunk.length;
			if (size > limit) finish(new BodyError("request body too large", 413, "PAYLOAD_TOO_LARGE"));
			else chunks.push(chunk);
		};
		const onEnd = () => finish(null, Buffer.concat(chunks, size));
		const onError = (err: Error) =>
			finish(new BodyError(`cannot read request body: ${err.message}`, 400, "BAD_REQUEST"));
		req.on("data", onData);
		req.on("end", onEnd);
		req.on("error", onError);
	});
}

/**
 * The body of a JSON request, or undefined when the request has none or is not JSON (streamed
 * uploads stay unread for their action).
 */
export async function readJsonBody(
	req: IncomingMessage,
	limit: number,
	maxDepth = MAX_JSON_DEPTH,
): Promise<unknown> {
	if (!isJsonRequest(req) || !hasBody(req)) return undefined;
	return parseJsonBody(await readBody(req, limit), maxDepth);
}
