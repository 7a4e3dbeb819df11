// Go coverprofiles (`go test -coverprofile`): "mode: set|count|atomic" then one line per block.
import { type ParseContext, failure } from "../errors.ts";
import { sumCoverage } from "../coverage-totals.ts";
import type { CoverageReport, FileCoverage } from "../model.ts";
import { type ByteSource, forEachLine } from "../source.ts";

// file:startLine.startCol,endLine.endCol numStatements count
const BLOCK = /^(.+):(\d+)\.(\d+),(\d+)\.(\d+) (\d+) (\d+)$/;

interface GoFile {
	/** Block position → [statements, hit]; the same block repeats when several packages cover it. */
	blocks: Map<string, { statements: number; startLine: number; endLine: number; hit: boolean }>;
}

/**
 * Statements come straight from the profile. Lines are derived: a line is counted when a block spans it
 * and covered when any covering block ran. Go measures no branches or functions.
 */
export async function parseGoCover(source: ByteSource, ctx: ParseContext): Promise<CoverageReport> {
	const files = new Map<string, GoFile>();
	let sawMode = false;
	await forEachLine(source, (raw, lineNumber) => {
		const line = raw.trim();
		if (line === "") return;
		if (line.startsWith("mode:")) {
			const mode = line.slice(5).trim();
			if (!["set", "count", "atomic"].includes(mode))
				throw failure(ctx, `unknown mode ${JSON.stringify(mode)}`, { line: lineNumber });
			sawMode = true;
			return;
		}
		if (!sawMode) throw failure(ctx, 'missing "mode:" header line', { line: lineNumber });
		const match = BLOCK.exec(line);
		if (!match)
			throw failure(ctx, `not a coverprofile block: ${JSON.stringify(line.slice(0, 80))}`, {
				line: lineNumber,
			});
		const [, path, startLine, startCol, endLine, endCol, statements, count] = match as unknown as string[];
		let file = files.get(path!);
		if (!file) {
			file = { blocks: new Map() };
			// A copy: a regex capture is a view that would pin the whole read chunk in memory.
			files.set(Buffer.from(path!, "utf8").toString("utf8"), file);
		}
		const key = `${startLine}.${startCol},${endLine}.${endCol}`;
		const hit = Number(count) > 0;
		const existing = file.blocks.get(key);
		if (existing) existing.hit ||= hit;
		else
			file.blocks.set(key, {
				statements: Number(statements),
				startLine: Number(startLine),
				endLine: Number(endLine),
				hit,
			});
	});
	if (!sawMode) throw failure(ctx, 'empty file: missing "mode:" header line');
	const result: FileCoverage[] = [];
	for (const [path, file] of files) {
		const lines = new Map<number, boolean>();
		let statements = 0;
		let statementsHit = 0;
		for (const block of file.blocks.values()) {
			statements += block.statements;
			if (block.hit) statementsHit += block.statements;
			for (let n = block.startLine; n <= block.endLine; n++)
				lines.set(n, (lines.get(n) ?? false) || block.hit);
		}
		let linesHit = 0;
		for (const hit of lines.values()) if (hit) linesHit++;
		result.push({
			path,
			lines: { covered: linesHit, total: lines.size },
			statements: { covered: statementsHit, total: statements },
		});
	}
	return {
		kind: "coverage",
		format: "go-cover",
		file: ctx.file,
		tool: "go",
		totals: sumCoverage(result),
		files: result,
	};
}
