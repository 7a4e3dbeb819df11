/** Dispatches a step's action; anything unexpected becomes a failed step with a clear reason. */

import type { StepAction } from "../../workflow/model.ts";
import { PathEscapeError } from "../workspace.ts";
import { ActionError, type ActionResult, type StepContext } from "./context.ts";
import { StepInterrupt } from "./outcome.ts";
import { interpolateParams } from "./params.ts";
import { runScript } from "./script.ts";

// Built-in actions are imported when a step uses them: most jobs are scripts only, and every
// module loaded adds to the start-up of every worker.
const REPORT_ACTIONS = new Set(["jUnitReport", "coverage", "staticAnalysis", "securityScan"]);

async function dispatch(action: StepAction, ctx: StepContext): Promise<ActionResult> {
	if (action.kind === "script") return runScript(action.script.map(String), ctx);
	if (action.kind === "plugin") {
		const params = interpolateParams(action.params, ctx.vars);
		return (await import("./plugin.ts")).runInstalledPlugin(action.name, params, ctx);
	}
	if (action.kind !== "builtin") {
		throw new ActionError(`${action.kind} ${action.name} is not supported by this worker yet`);
	}
	const params = interpolateParams(action.params, ctx.vars);
	switch (action.name) {
		case "gitClone": {
			const { cloneRequestFromParams, runClone } = await import("./git-clone.ts");
			return runClone(cloneRequestFromParams(params), ctx);
		}
		case "checkout": {
			const { checkoutRequest, runClone } = await import("./git-clone.ts");
			return runClone(checkoutRequest(params, ctx.vars), ctx);
		}
		// CDS's DeployApplication, written `deploy: "{{.cds.application}}"` in a pipeline file.
		case "deploy":
			return (await import("./plugin.ts")).runDeployApplication(params, ctx);
		case "artifactUpload":
			return (await import("./artifacts.ts")).runArtifactUpload(params, ctx);
		case "artifactDownload":
			return (await import("./artifacts.ts")).runArtifactDownload(params, ctx);
		default:
			if (REPORT_ACTIONS.has(action.name))
				return (await import("./reports.ts")).runReportUpload(action.name, params, ctx);
			throw new ActionError(`action ${action.name} is not supported by this worker yet`);
	}
}

export async function runAction(action: StepAction, ctx: StepContext): Promise<ActionResult> {
	try {
		const result = await dispatch(action, ctx);
		// An action without a process (uploads…) notices an interrupt only here.
		if (result.ok && ctx.signal.aborted) return { ok: false, reason: interruptMessage(ctx.signal.reason) };
		return result;
	} catch (err) {
		if (ctx.signal.aborted) return { ok: false, reason: interruptMessage(ctx.signal.reason) };
		const message =
			err instanceof ActionError || err instanceof PathEscapeError
				? err.message
				: `${err instanceof Error ? err.message : String(err)}`;
		return { ok: false, reason: message };
	}
}

function interruptMessage(reason: unknown): string {
	return reason instanceof StepInterrupt ? reason.message : String(reason);
}
