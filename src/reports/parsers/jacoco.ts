// JaCoCo XML: counters per <sourcefile> (LINE, BRANCH, METHOD, INSTRUCTION…).
import { type ParseContext, failure } from "../errors.ts";
import { sumCoverage } from "../coverage-totals.ts";
import type { CoverageReport, FileCoverage } from "../model.ts";
import type { ByteSource } from "../source.ts";
import { numberAttr, parseXml } from "../xml.ts";

export async function parseJacoco(source: ByteSource, ctx: ParseContext): Promise<CoverageReport> {
	const files: FileCoverage[] = [];
	let root: string | undefined;
	const packages: string[] = [];
	let current: FileCoverage | undefined;
	/** Counter elements are direct children of <sourcefile>; nested ones (none today) are ignored. */
	let depthInFile = 0;

	await parseXml(source, ctx, {
		open(tag) {
			if (root === undefined) {
				root = tag.name;
				if (root !== "report") throw failure(ctx, `not a JaCoCo report: root element is <${root}>`);
			}
			if (current) depthInFile++;
			if (tag.name === "package") packages.push(tag.attributes["name"] ?? "");
			else if (tag.name === "sourcefile") {
				const dir = packages.at(-1);
				const name = tag.attributes["name"] ?? "";
				current = { path: dir ? `${dir}/${name}` : name, lines: { covered: 0, total: 0 } };
				depthInFile = 0;
			} else if (tag.name === "counter" && current && depthInFile === 1) {
				const covered = numberAttr(tag, "covered") ?? 0;
				const total = covered + (numberAttr(tag, "missed") ?? 0);
				const type = tag.attributes["type"];
				if (type === "LINE") current.lines = { covered, total };
				else if (type === "BRANCH") current.branches = { covered, total };
				else if (type === "METHOD") current.functions = { covered, total };
				else if (type === "INSTRUCTION") current.statements = { covered, total };
			}
		},
		close(name) {
			if (name === "sourcefile" && current) {
				// JaCoCo omits the BRANCH counter when a file has no branch: that is 0 of 0, not "unmeasured".
				current.branches ??= { covered: 0, total: 0 };
				current.functions ??= { covered: 0, total: 0 };
				files.push(current);
				current = undefined;
				return;
			}
			if (current) depthInFile--;
			if (name === "package") packages.pop();
		},
	});
	return {
		kind: "coverage",
		format: "jacoco",
		file: ctx.file,
		tool: "JaCoCo",
		totals: sumCoverage(files),
		files,
	};
}
