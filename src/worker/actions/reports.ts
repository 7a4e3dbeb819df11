/** jUnitReport / coverage / staticAnalysis / securityScan: upload the matching files; the server parses them. */

import type { JsonValue } from "../../workflow/model.ts";
import type { ReportKind } from "../api-client.ts";
import { expandGlob } from "../glob.ts";
import { uploadReport } from "../transfer.ts";
import { displayPath, resolveInWorkspaceReal } from "../workspace.ts";
import { ActionError, type ActionResult, type StepContext } from "./context.ts";
import { param } from "./params.ts";

export const REPORT_KINDS: Record<string, ReportKind> = {
	jUnitReport: "tests",
	coverage: "coverage",
	staticAnalysis: "analysis",
	securityScan: "security",
};

export async function runReportUpload(
	action: string,
	params: JsonValue,
	ctx: StepContext,
): Promise<ActionResult> {
	const kind = REPORT_KINDS[action]!;
	const path = typeof params === "string" ? params : param(params, "path");
	if (!path) throw new ActionError(`${action}: a path is required`);
	const files = await expandGlob(await resolveInWorkspaceReal(ctx.dirs.workspace, path));
	if (files.length === 0) throw new ActionError(`${action}: no file matches ${path}`);
	const failures: string[] = [];
	for (const file of files) {
		await resolveInWorkspaceReal(ctx.dirs.workspace, file);
		const { gate } = await uploadReport(ctx.api, kind, file, ctx.index);
		ctx.log.line(`${action}: sent ${displayPath(ctx.dirs.workspace, file)}`);
		// The server parses the report and judges its quality gate: a failed gate fails the step.
		if (gate && !gate.passed) {
			for (const f of gate.failures) ctx.log.line(`${action}: quality gate failed: ${f}`);
			failures.push(...gate.failures);
		}
	}
	if (failures.length > 0) return { ok: false, reason: `quality gate failed: ${failures.join("; ")}` };
	return { ok: true };
}
