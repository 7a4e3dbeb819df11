// lcov tracefiles (genhtml / istanbul / c8 / gcov): streamed line by line.
import { type ParseContext, failure } from "../errors.ts";
import { sumCoverage } from "../coverage-totals.ts";
import type { CoverageReport, FileCoverage } from "../model.ts";
import { type ByteSource, forEachLine } from "../source.ts";

/**
 * What is kept per source file. Lines use one byte per line number (0 absent, 1 not hit, 2 hit) so a
 * file that appears in several records (one per test name) merges exactly while memory stays
 * proportional to source lines, not to the size of the tracefile.
 */
interface FileAccumulator {
	path: string;
	lines: Uint8Array;
	/**
	 * Branches of finished records, packed: keys (line, block, branch in one number) sorted, with a hit
	 * flag each: 9 bytes per branch instead of a Map entry.
	 */
	branchKeys: Float64Array;
	branchHits: Uint8Array;
	/** Branches of the record being read. */
	pending: Map<number, boolean>;
	/** Function name → hit. */
	functions: Map<string, boolean>;
}

const LINE_ABSENT = 0;
const LINE_MISSED = 1;
const LINE_HIT = 2;

export async function parseLcov(source: ByteSource, ctx: ParseContext): Promise<CoverageReport> {
	const files = new Map<string, FileAccumulator>();
	let current: FileAccumulator | undefined;
	let currentStart = 0;
	let sawRecord = false;

	const int = (text: string | undefined, lineNumber: number, what: string): number => {
		const value = text === undefined ? Number.NaN : Number(text);
		if (!Number.isInteger(value) || value < 0) {
			throw failure(ctx, `bad ${what} ${JSON.stringify(text ?? "")}`, { line: lineNumber });
		}
		return value;
	};
	const need = (lineNumber: number, key: string): FileAccumulator => {
		if (!current) throw failure(ctx, `${key} outside of a record (missing SF:)`, { line: lineNumber });
		return current;
	};

	await forEachLine(source, (raw, lineNumber) => {
		if (current && isSimpleDa(raw)) {
			// Fast path for "DA:<digits>,<digits>" (the bulk of any tracefile): parsed in place.
			let n = 0;
			let i = 3;
			for (let c = raw.charCodeAt(i); c !== 44; c = raw.charCodeAt(++i)) n = n * 10 + c - 48;
			let hit = false;
			for (i++; i < raw.length; i++) if (raw.charCodeAt(i) !== 48) hit = true;
			const file = current;
			if (n >= file.lines.length) file.lines = grow(file.lines, n + 1);
			if (hit) file.lines[n] = LINE_HIT;
			else if (file.lines[n] === LINE_ABSENT) file.lines[n] = LINE_MISSED;
			return;
		}
		const line = raw.trim();
		if (line === "") return;
		if (line === "end_of_record") {
			packBranches(need(lineNumber, "end_of_record"));
			current = undefined;
			return;
		}
		const colon = line.indexOf(":");
		if (colon <= 0)
			throw failure(ctx, `not an lcov line: ${JSON.stringify(line.slice(0, 80))}`, { line: lineNumber });
		const key = line.slice(0, colon);
		const value = line.slice(colon + 1);
		switch (key) {
			case "SF": {
				if (current)
					throw failure(ctx, `record for ${current.path} has no end_of_record`, { line: lineNumber });
				sawRecord = true;
				currentStart = lineNumber;
				let file = files.get(value);
				if (!file) {
					file = {
						path: detach(value),
						lines: new Uint8Array(64),
						branchKeys: EMPTY_KEYS,
						branchHits: EMPTY_HITS,
						pending: new Map(),
						functions: new Map(),
					};
					files.set(file.path, file);
				}
				current = file;
				return;
			}
			case "DA": {
				const file = need(lineNumber, key);
				// Hot path (most lines of a tracefile): no split, no intermediate arrays.
				const comma = value.indexOf(",");
				const n = int(comma === -1 ? undefined : value.slice(0, comma), lineNumber, "DA line number");
				const end = value.indexOf(",", comma + 1); // an optional checksum may follow
				const hits = value.slice(comma + 1, end === -1 ? undefined : end);
				const count = Number(hits);
				if (hits === "" || !Number.isFinite(count)) {
					throw failure(ctx, `bad DA count ${JSON.stringify(hits)}`, { line: lineNumber });
				}
				const hit = count > 0;
				if (n >= file.lines.length) file.lines = grow(file.lines, n + 1);
				if (hit) file.lines[n] = LINE_HIT;
				else if (file.lines[n] === LINE_ABSENT) file.lines[n] = LINE_MISSED;
				return;
			}
			case "BRDA": {
				const file = need(lineNumber, key);
				const [at, block, branch, taken] = value.split(",");
				const k = branchKey(
					int(at, lineNumber, "BRDA line"),
					int(block, lineNumber, "BRDA block"),
					int(branch, lineNumber, "BRDA branch"),
				);
				if (taken === undefined) throw failure(ctx, "BRDA needs 4 fields", { line: lineNumber });
				const hit = taken !== "-" && Number(taken) > 0;
				if (hit || !file.pending.has(k)) file.pending.set(k, hit);
				return;
			}
			case "FN": {
				// FN:<line>,<name> or, since lcov 2, FN:<line>,<end line>,<name>
				const file = need(lineNumber, key);
				const name = value.slice(value.lastIndexOf(",") + 1);
				if (!file.functions.has(name)) file.functions.set(detach(name), false);
				return;
			}
			case "FNDA": {
				const file = need(lineNumber, key);
				const comma = value.indexOf(",");
				const name = value.slice(comma + 1);
				const known = file.functions.has(name);
				if (Number(value.slice(0, comma)) > 0) file.functions.set(known ? name : detach(name), true);
				else if (!known) file.functions.set(detach(name), false);
				return;
			}
			case "FNL": {
				// lcov 2: FNL:<index>,<line>[,<end line>] then FNA:<index>,<count>,<name>
				need(lineNumber, key);
				return;
			}
			case "FNA": {
				const file = need(lineNumber, key);
				const [index, count, ...nameParts] = value.split(",");
				const name = nameParts.join(",") || `#${index}`;
				const hit = Number(count) > 0;
				if (hit || !file.functions.has(name)) file.functions.set(detach(name), hit);
				return;
			}
			default:
				// TN, VER, LF/LH, BRF/BRH, FNF/FNH: counts are recomputed from the detail lines.
				if (!/^[A-Z]+$/.test(key)) {
					throw failure(ctx, `not an lcov line: ${JSON.stringify(line.slice(0, 80))}`, { line: lineNumber });
				}
		}
	});

	if (current) {
		throw failure(
			ctx,
			`file is truncated: record for ${current.path} (started line ${currentStart}) has no end_of_record`,
		);
	}
	if (!sawRecord) throw failure(ctx, "no SF: record found (empty or not an lcov file)");
	const result: FileCoverage[] = [];
	for (const file of files.values()) result.push(summarise(file));
	return { kind: "coverage", format: "lcov", file: ctx.file, totals: sumCoverage(result), files: result };
}

/**
 * Copies a string kept beyond the current line. V8 keeps substrings as views of their parent, so a
 * stored file or function name would otherwise pin its whole 1 MiB read chunk in memory.
 */
function detach(text: string): string {
	return text.length < 13 ? text : Buffer.from(text, "utf8").toString("utf8");
}

/** "DA:" then digits, one comma, digits, nothing else. */
function isSimpleDa(raw: string): boolean {
	if (raw.charCodeAt(0) !== 68 || raw.charCodeAt(1) !== 65 || raw.charCodeAt(2) !== 58) return false;
	let commas = 0;
	const length = raw.length;
	if (length < 6 || raw.charCodeAt(3) === 44 || raw.charCodeAt(length - 1) === 44) return false;
	for (let i = 3; i < length; i++) {
		const c = raw.charCodeAt(i);
		if (c === 44) commas++;
		else if (c < 48 || c > 57) return false;
	}
	return commas === 1;
}

function summarise(file: FileAccumulator): FileCoverage {
	let linesTotal = 0;
	let linesHit = 0;
	for (const state of file.lines) {
		if (state !== LINE_ABSENT) linesTotal++;
		if (state === LINE_HIT) linesHit++;
	}
	let branchesHit = 0;
	for (const hit of file.branchHits) if (hit) branchesHit++;
	let functionsHit = 0;
	for (const hit of file.functions.values()) if (hit) functionsHit++;
	return {
		path: file.path,
		lines: { covered: linesHit, total: linesTotal },
		branches: { covered: branchesHit, total: file.branchKeys.length },
		functions: { covered: functionsHit, total: file.functions.size },
	};
}

const EMPTY_KEYS = new Float64Array(0);
const EMPTY_HITS = new Uint8Array(0);

/** Folds the record's branches into the file's packed arrays (merging when the file was seen before). */
function packBranches(file: FileAccumulator): void {
	if (file.pending.size === 0) return;
	const merged = new Map<number, boolean>();
	for (let i = 0; i < file.branchKeys.length; i++) merged.set(file.branchKeys[i]!, file.branchHits[i] === 1);
	for (const [key, hit] of file.pending) merged.set(key, hit || (merged.get(key) ?? false));
	file.pending.clear();
	const keys = Float64Array.from(merged.keys()).sort();
	const hits = new Uint8Array(keys.length);
	for (let i = 0; i < keys.length; i++) hits[i] = merged.get(keys[i]!) ? 1 : 0;
	file.branchKeys = keys;
	file.branchHits = hits;
}

function grow(lines: Uint8Array, needed: number): Uint8Array {
	let size = lines.length * 2;
	while (size < needed) size *= 2;
	const bigger = new Uint8Array(size);
	bigger.set(lines);
	return bigger;
}

// line < 2^24, block < 2^17, branch < 2^12 fit exactly in a double's 53 bits; beyond that they wrap,
// which at worst merges two branches of an absurdly large file.
function branchKey(line: number, block: number, branch: number): number {
	return ((line % 2 ** 24) * 2 ** 17 + (block % 2 ** 17)) * 2 ** 12 + (branch % 2 ** 12);
}
