// Public API of the report parsers: detection, parsing from a file or a stream, text summary.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { detectJsonValue, detectReportFormat, JSON_FORMATS, SNIFF_BYTES } from "./detect.ts";
import { type ParseContext, ReportParseError } from "./errors.ts";
import type { ParsedReport, ReportFormat } from "./model.ts";
import { parseCheckstyle } from "./parsers/checkstyle.ts";
import { parseClair } from "./parsers/clair.ts";
import { parseClover } from "./parsers/clover.ts";
import { parseCobertura } from "./parsers/cobertura.ts";
import { parseDependencyCheck } from "./parsers/dependency-check.ts";
import { parseEslint } from "./parsers/eslint.ts";
import { parseGoCover } from "./parsers/go-cover.ts";
import { parseGrype } from "./parsers/grype.ts";
import { parseIstanbulSummary } from "./parsers/istanbul-summary.ts";
import { parseJacoco } from "./parsers/jacoco.ts";
import { parseJUnit } from "./parsers/junit.ts";
import { parseLcov } from "./parsers/lcov.ts";
import { parseNpmAudit } from "./parsers/npm-audit.ts";
import { parseSarif } from "./parsers/sarif.ts";
import { parseSonarQube } from "./parsers/sonarqube.ts";
import { parseTrivy } from "./parsers/trivy.ts";
import {
	type ByteSource,
	DEFAULT_JSON_MAX_BYTES,
	DEFAULT_MAX_BYTES,
	formatBytes,
	limitBytes,
	readJson,
} from "./source.ts";

export { detectReportFormat } from "./detect.ts";
export { ReportParseError } from "./errors.ts";
export { formatReportText } from "./format-text.ts";
export * from "./model.ts";
export { DEFAULT_JSON_MAX_BYTES, DEFAULT_MAX_BYTES } from "./source.ts";

export interface ParseReportOptions {
	/** Skip detection and parse as this format. */
	format?: ReportFormat;
	/** Refuse inputs larger than this (default 256 MiB). Streamed formats never hold the whole file. */
	maxBytes?: number;
	/** JSON formats are loaded whole: they get this smaller cap (default 64 MiB, never above maxBytes). */
	jsonMaxBytes?: number;
}

export interface ParseStreamOptions extends ParseReportOptions {
	/** Used in error messages and as a detection hint (extension). */
	fileName?: string;
}

export async function parseReportFile(path: string, options: ParseReportOptions = {}): Promise<ParsedReport> {
	const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
	let size: number;
	try {
		const info = await stat(path);
		if (!info.isFile())
			throw new ReportParseError("not a regular file", { file: path, format: options.format });
		size = info.size;
	} catch (error) {
		if (error instanceof ReportParseError) throw error;
		const code = (error as NodeJS.ErrnoException).code;
		throw new ReportParseError(
			code === "ENOENT" ? "file not found" : `cannot read file (${code ?? String(error)})`,
			{
				file: path,
				format: options.format,
			},
		);
	}
	if (size > maxBytes) {
		throw new ReportParseError(
			`file is ${formatBytes(size)}, larger than the limit of ${formatBytes(maxBytes)}`,
			{
				file: path,
				format: options.format,
			},
		);
	}
	const stream = createReadStream(path, { highWaterMark: 1024 * 1024 });
	try {
		return await parseReportStream(stream, { ...options, fileName: path });
	} finally {
		stream.destroy();
	}
}

export async function parseReportStream(
	source: ByteSource,
	options: ParseStreamOptions = {},
): Promise<ParsedReport> {
	const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
	const file = options.fileName;
	const limited = limitBytes(source, maxBytes, { file, format: options.format ?? "junit" });
	const { head, rest } = await peek(limited);
	let format = options.format ?? detectReportFormat(head, file);
	const jsonLike = /^\s*[[{]/.test(head.replace(/^\uFEFF/, ""));
	if (!format && !jsonLike) {
		if (head.trim() === "") throw new ReportParseError("empty file", { file });
		throw new ReportParseError("unknown report format (pass an explicit format)", { file });
	}
	if (!format || JSON_FORMATS.has(format)) {
		const jsonMax = Math.min(options.jsonMaxBytes ?? DEFAULT_JSON_MAX_BYTES, maxBytes);
		const ctx: ParseContext = { file, format: format ?? "sarif" };
		const json = await readJson(limitJson(rest, jsonMax, file, format), Number.POSITIVE_INFINITY, ctx);
		format ??= detectJsonValue(json);
		if (!format) throw new ReportParseError("unknown JSON report format (pass an explicit format)", { file });
		return parseJson(format, json, { file, format });
	}
	return parseStreamed(format, rest, { file, format });
}

/** JSON reports are held in memory, so their cap is enforced separately and named in the error. */
async function* limitJson(
	source: ByteSource,
	maxBytes: number,
	file: string | undefined,
	format: ReportFormat | undefined,
) {
	let seen = 0;
	for await (const chunk of source) {
		seen += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.byteLength;
		if (seen > maxBytes) {
			throw new ReportParseError(
				`JSON reports are loaded whole and limited to ${formatBytes(maxBytes)}; this one is larger`,
				{
					file,
					format,
				},
			);
		}
		yield chunk;
	}
}

/** Reads at least SNIFF_BYTES (or everything) and hands back a source that replays them. */
async function peek(source: AsyncIterable<Uint8Array | string>): Promise<{ head: string; rest: ByteSource }> {
	const iterator = source[Symbol.asyncIterator]();
	const buffered: Array<Uint8Array | string> = [];
	let length = 0;
	let done = false;
	while (length < SNIFF_BYTES) {
		const next = await iterator.next();
		if (next.done) {
			done = true;
			break;
		}
		buffered.push(next.value);
		length += next.value.length;
	}
	const bytes = Buffer.concat(buffered.map((c) => (typeof c === "string" ? Buffer.from(c) : c)));
	const head = new TextDecoder().decode(bytes.subarray(0, Math.max(SNIFF_BYTES, 0)));
	const rest: ByteSource = {
		async *[Symbol.asyncIterator]() {
			yield* buffered;
			if (done) return;
			for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
		},
	};
	return { head, rest };
}

function parseJson(format: ReportFormat, json: unknown, ctx: ParseContext): ParsedReport {
	switch (format) {
		case "istanbul-summary":
			return parseIstanbulSummary(json, ctx);
		case "sarif":
			return parseSarif(json, ctx);
		case "sarif-security":
			return parseSarif(json, ctx, true);
		case "eslint":
			return parseEslint(json, ctx);
		case "sonarqube":
			return parseSonarQube(json, ctx);
		case "dependency-check":
			return parseDependencyCheck(json, ctx);
		case "clair":
			return parseClair(json, ctx);
		case "trivy":
			return parseTrivy(json, ctx);
		case "grype":
			return parseGrype(json, ctx);
		case "npm-audit":
			return parseNpmAudit(json, ctx);
		default:
			throw new ReportParseError(`${format} is not a JSON format`, ctx);
	}
}

function parseStreamed(format: ReportFormat, source: ByteSource, ctx: ParseContext): Promise<ParsedReport> {
	switch (format) {
		case "junit":
			return parseJUnit(source, ctx);
		case "lcov":
			return parseLcov(source, ctx);
		case "go-cover":
			return parseGoCover(source, ctx);
		case "cobertura":
			return parseCobertura(source, ctx);
		case "clover":
			return parseClover(source, ctx);
		case "jacoco":
			return parseJacoco(source, ctx);
		case "checkstyle":
			return parseCheckstyle(source, ctx);
		default:
			throw new ReportParseError(`no streamed parser for ${format}`, ctx);
	}
}
