// Istanbul / c8 / nyc json-summary reporter: coverage-summary.json.
import type { ParseContext } from "../errors.ts";
import { failure } from "../errors.ts";
import { sumCoverage } from "../coverage-totals.ts";
import { expectObject, isObject, num } from "../json-shape.ts";
import type { CoverageCounts, CoverageReport, FileCoverage } from "../model.ts";

export function parseIstanbulSummary(json: unknown, ctx: ParseContext): CoverageReport {
	const root = expectObject(json, ctx, "coverage-summary.json");
	if (!isObject(root["total"])) throw failure(ctx, 'not an Istanbul coverage summary: missing "total"');
	const files: FileCoverage[] = [];
	for (const [path, entry] of Object.entries(root)) {
		if (path === "total") continue;
		const metrics = expectObject(entry, ctx, `entry ${JSON.stringify(path)}`);
		files.push({
			path,
			lines: metric(metrics, "lines", ctx, path) ?? { covered: 0, total: 0 },
			branches: metric(metrics, "branches", ctx, path),
			functions: metric(metrics, "functions", ctx, path),
			statements: metric(metrics, "statements", ctx, path),
		});
	}
	// The file's own "total" is authoritative (it also covers a summary reduced to its total only).
	const total = root["total"];
	const totals = files.length
		? sumCoverage(files)
		: {
				lines: metric(total, "lines", ctx, "total") ?? { covered: 0, total: 0 },
				branches: metric(total, "branches", ctx, "total"),
				functions: metric(total, "functions", ctx, "total"),
				statements: metric(total, "statements", ctx, "total"),
			};
	return { kind: "coverage", format: "istanbul-summary", file: ctx.file, tool: "istanbul", totals, files };
}

function metric(
	entry: Record<string, unknown>,
	key: string,
	ctx: ParseContext,
	path: string,
): CoverageCounts | undefined {
	const value = entry[key];
	if (value === undefined) return undefined;
	if (!isObject(value)) throw failure(ctx, `${path}.${key} must be an object`);
	const total = num(value["total"]);
	const covered = num(value["covered"]);
	if (total === undefined || covered === undefined)
		throw failure(ctx, `${path}.${key} needs numeric "total" and "covered"`);
	return { covered, total };
}
