// cds workflow lint: offline validation through the pure workflow module (src/workflow).
// It is imported lazily so the other commands never pay for loading the parser.

import { EXIT_OK, EXIT_USAGE } from "../errors.ts";
import type { CommandContext } from "../registry.ts";
import { formatTable } from "../table.ts";
import type { Diagnostic, LintReport } from "../../workflow/index.ts";

function located(d: Diagnostic): string {
	return `${d.file}:${d.line}:${d.column}`;
}

export async function runLint(ctx: CommandContext): Promise<number> {
	const { lintPaths } = await import("../../workflow/index.ts");
	const report: LintReport = await lintPaths(ctx.positionals);
	const rejected = report.files.some((file) => file.status === "rejected") || report.errors.length > 0;
	if (ctx.values.json) {
		const { files, errors, warnings, model } = report;
		// model is null (not absent) when the set is invalid, so the JSON always has the same keys.
		ctx.printJson({ files, errors, warnings, model: model ?? null });
		return rejected ? EXIT_USAGE : EXIT_OK;
	}
	ctx.print(
		formatTable(
			["FILE", "KIND", "STATUS", "REASON"],
			report.files.map((f) => [f.path, f.kind, f.status, f.reason]),
		),
	);
	for (const d of report.errors) ctx.print(`${located(d)}: ${d.message}`);
	for (const d of report.warnings) ctx.print(`${located(d)}: warning: ${d.message}`);
	const accepted = report.files.filter((f) => f.status === "accepted").length;
	const summary = `${report.files.length} file(s): ${accepted} accepted, ${report.errors.length} error(s), ${report.warnings.length} warning(s)`;
	ctx.print(summary);
	return rejected ? EXIT_USAGE : EXIT_OK;
}
