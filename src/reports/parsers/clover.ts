// Clover XML (OpenClover, istanbul/c8, PHPUnit).
import { type ParseContext, failure } from "../errors.ts";
import { sumCoverage } from "../coverage-totals.ts";
import type { CoverageReport, FileCoverage } from "../model.ts";
import type { ByteSource } from "../source.ts";
import { numberAttr, parseXml } from "../xml.ts";

interface CloverFile {
	path: string;
	lines: Map<number, boolean>;
	statements?: [number, number];
	branches?: [number, number];
	methods?: [number, number];
}

/**
 * Lines come from <line type="stmt|cond"> elements; statements, branches (conditionals) and methods from
 * the file's <metrics>, which Clover writes with exact counts.
 */
export async function parseClover(source: ByteSource, ctx: ParseContext): Promise<CoverageReport> {
	const files: CloverFile[] = [];
	let root: string | undefined;
	let current: CloverFile | undefined;

	await parseXml(source, ctx, {
		open(tag) {
			if (root === undefined) {
				root = tag.name;
				if (root !== "coverage") throw failure(ctx, `not a Clover report: root element is <${root}>`);
			}
			if (tag.name === "file") {
				current = { path: tag.attributes["path"] ?? tag.attributes["name"] ?? "", lines: new Map() };
				files.push(current);
			} else if (tag.name === "metrics" && current && current.statements === undefined) {
				current.statements = [numberAttr(tag, "coveredstatements") ?? 0, numberAttr(tag, "statements") ?? 0];
				current.branches = [
					numberAttr(tag, "coveredconditionals") ?? 0,
					numberAttr(tag, "conditionals") ?? 0,
				];
				current.methods = [numberAttr(tag, "coveredmethods") ?? 0, numberAttr(tag, "methods") ?? 0];
			} else if (tag.name === "line" && current) {
				const type = tag.attributes["type"];
				const number = numberAttr(tag, "num");
				if (number === undefined || type === "method") return;
				// "count" is how often the line ran; condition counts only stand in when it is missing.
				const count = numberAttr(tag, "count");
				const hit =
					count !== undefined
						? count > 0
						: (numberAttr(tag, "truecount") ?? 0) > 0 || (numberAttr(tag, "falsecount") ?? 0) > 0;
				current.lines.set(number, (current.lines.get(number) ?? false) || hit);
			}
		},
		close(name) {
			if (name === "file") current = undefined;
		},
	});

	const result: FileCoverage[] = files.map((file) => {
		let linesHit = 0;
		for (const hit of file.lines.values()) if (hit) linesHit++;
		const coverage: FileCoverage = { path: file.path, lines: { covered: linesHit, total: file.lines.size } };
		if (file.statements) coverage.statements = { covered: file.statements[0], total: file.statements[1] };
		if (file.branches) coverage.branches = { covered: file.branches[0], total: file.branches[1] };
		if (file.methods) coverage.functions = { covered: file.methods[0], total: file.methods[1] };
		return coverage;
	});
	return { kind: "coverage", format: "clover", file: ctx.file, totals: sumCoverage(result), files: result };
}
