// Cobertura XML (cobertura, coverage.py, istanbul/c8, gcovr…).
import { type ParseContext, failure } from "../errors.ts";
import { sumCoverage } from "../coverage-totals.ts";
import type { CoverageReport, FileCoverage } from "../model.ts";
import type { ByteSource } from "../source.ts";
import { numberAttr, parseXml } from "../xml.ts";

interface CoberturaFile {
	/** Line number → hit; several <class> elements may share one file. */
	lines: Map<number, boolean>;
	/** Line number → [covered, total] conditions. */
	branches: Map<number, [number, number]>;
	/** "class.method(signature)" → hit. */
	methods: Map<string, boolean>;
}

// condition-coverage="50% (1/2)"
const CONDITIONS = /\((\d+)\/(\d+)\)/;

export async function parseCobertura(source: ByteSource, ctx: ParseContext): Promise<CoverageReport> {
	const files = new Map<string, CoberturaFile>();
	let root: string | undefined;
	let currentFile: CoberturaFile | undefined;
	let currentClass = "";
	let inMethod = false;

	await parseXml(source, ctx, {
		open(tag) {
			if (root === undefined) {
				root = tag.name;
				if (root !== "coverage") throw failure(ctx, `not a Cobertura report: root element is <${root}>`);
			}
			if (tag.name === "class") {
				const path = tag.attributes["filename"] ?? tag.attributes["name"] ?? "";
				currentClass = tag.attributes["name"] ?? path;
				currentFile = files.get(path);
				if (!currentFile) {
					currentFile = { lines: new Map(), branches: new Map(), methods: new Map() };
					files.set(path, currentFile);
				}
			} else if (tag.name === "method" && currentFile) {
				inMethod = true;
				const key = `${currentClass}.${tag.attributes["name"] ?? ""}${tag.attributes["signature"] ?? ""}`;
				const hits = numberAttr(tag, "hits");
				const lineRate = numberAttr(tag, "line-rate");
				const hit = (hits ?? 0) > 0 || (lineRate ?? 0) > 0;
				currentFile.methods.set(key, (currentFile.methods.get(key) ?? false) || hit);
			} else if (tag.name === "line" && currentFile && !inMethod) {
				// Method <lines> repeat the class lines; only class-level lines are counted.
				const number = numberAttr(tag, "number");
				if (number === undefined) return;
				const hit = (numberAttr(tag, "hits") ?? 0) > 0;
				currentFile.lines.set(number, (currentFile.lines.get(number) ?? false) || hit);
				const conditions = CONDITIONS.exec(tag.attributes["condition-coverage"] ?? "");
				if (tag.attributes["branch"] === "true" && conditions) {
					const covered = Number(conditions[1]);
					const total = Number(conditions[2]);
					const previous = currentFile.branches.get(number);
					if (!previous || covered > previous[0]) currentFile.branches.set(number, [covered, total]);
				}
			}
		},
		close(name) {
			if (name === "method") inMethod = false;
			else if (name === "class") currentFile = undefined;
		},
	});

	const result: FileCoverage[] = [];
	for (const [path, file] of files) {
		let linesHit = 0;
		for (const hit of file.lines.values()) if (hit) linesHit++;
		let branchesHit = 0;
		let branchesTotal = 0;
		for (const [covered, total] of file.branches.values()) {
			branchesHit += covered;
			branchesTotal += total;
		}
		let methodsHit = 0;
		for (const hit of file.methods.values()) if (hit) methodsHit++;
		result.push({
			path,
			lines: { covered: linesHit, total: file.lines.size },
			branches: { covered: branchesHit, total: branchesTotal },
			functions: { covered: methodsHit, total: file.methods.size },
		});
	}
	return {
		kind: "coverage",
		format: "cobertura",
		file: ctx.file,
		totals: sumCoverage(result),
		files: result,
	};
}
