// Byte sources for parsers: size limits, UTF-8 decoding and line splitting, all streamed.
import { type ParseContext, failure } from "./errors.ts";

/** Anything `for await` can walk: a Readable stream, an async generator, or an array of chunks. */
export type ByteSource = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

export const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;
/** JSON reports are parsed whole (JSON.parse), so they get a smaller cap. */
export const DEFAULT_JSON_MAX_BYTES = 64 * 1024 * 1024;

/** Passes chunks through, failing once more than maxBytes have gone by. */
export async function* limitBytes(
	source: ByteSource,
	maxBytes: number,
	ctx: ParseContext,
): AsyncGenerator<Uint8Array | string> {
	let seen = 0;
	for await (const chunk of source) {
		seen += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.byteLength;
		if (seen > maxBytes) throw failure(ctx, `report is larger than the limit of ${formatBytes(maxBytes)}`);
		yield chunk;
	}
}

/** Decodes UTF-8 chunk by chunk (multi-byte characters may straddle chunks) and drops a leading BOM. */
export async function* decodeText(source: ByteSource): AsyncGenerator<string> {
	const decoder = new TextDecoder("utf-8");
	let first = true;
	for await (const chunk of source) {
		let text = typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
		if (first && text.length > 0) {
			if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
			first = false;
		}
		if (text) yield text;
	}
	const rest = decoder.decode();
	if (rest) yield rest;
}

/**
 * Calls onLine for every line (without its line ending) with its 1-based number.
 * Synchronous callback on purpose: an async generator per line is several times slower on big lcov files.
 */
export async function forEachLine(
	source: ByteSource,
	onLine: (line: string, lineNumber: number) => void,
): Promise<number> {
	let carry = "";
	let lineNumber = 0;
	for await (const text of decodeText(source)) {
		let start = 0;
		let data = carry ? carry + text : text;
		carry = "";
		for (let nl = data.indexOf("\n", start); nl !== -1; nl = data.indexOf("\n", start)) {
			const end = nl > start && data.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
			onLine(data.slice(start, end), ++lineNumber);
			start = nl + 1;
		}
		carry = data.slice(start);
		data = "";
	}
	if (carry) onLine(carry.endsWith("\r") ? carry.slice(0, -1) : carry, ++lineNumber);
	return lineNumber;
}

/** Loads a whole JSON document (bounded by maxBytes) and reports syntax errors with line and column. */
export async function readJson(source: ByteSource, maxBytes: number, ctx: ParseContext): Promise<unknown> {
	const parts: string[] = [];
	for await (const text of decodeText(limitBytes(source, maxBytes, { ...ctx }))) parts.push(text);
	const text = parts.join("");
	if (text.trim() === "") throw failure(ctx, "empty file");
	try {
		return JSON.parse(text);
	} catch (error) {
		const message = error instanceof Error ? error.message : String(error);
		const position = /position (\d+)/.exec(message);
		if (position) {
			const offset = Number(position[1]);
			const { line, column } = lineAndColumn(text, offset);
			throw failure(ctx, `invalid JSON: ${message}`, { line, column, position: offset });
		}
		const atEnd = /Unexpected end of JSON input/.test(message);
		if (atEnd) {
			const { line, column } = lineAndColumn(text, text.length);
			throw failure(ctx, "invalid JSON: file is truncated (unexpected end of input)", { line, column });
		}
		throw failure(ctx, `invalid JSON: ${message}`);
	}
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
	let line = 1;
	let lineStart = 0;
	for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
		line++;
		lineStart = i + 1;
	}
	return { line, column: offset - lineStart + 1 };
}

export function formatBytes(bytes: number): string {
	if (bytes >= 1024 * 1024) return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MiB`;
	if (bytes >= 1024) return `${Math.round((bytes / 1024) * 10) / 10} KiB`;
	return `${bytes} B`;
}
