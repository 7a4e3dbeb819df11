// Which project, workflow, branch and commit the roadmap commands (track, logs, restart,
// status) act on. Today: flags, else CDS_PROJECT / CDS_WORKFLOW / CDS_BRANCH / CDS_COMMIT.
// The as-code work extends resolveRunTarget to read them from the current git repository,
// which is why it is async and takes the whole context.

import { UsageError } from "./errors.ts";
import type { CommandContext, OptionSpec } from "./registry.ts";

export interface RunTarget {
	project: string;
	workflow: string;
	branch?: string;
	commit?: string;
}

export const RUN_TARGET_OPTIONS: Record<string, OptionSpec> = {
	project: { type: "string", valueName: "KEY", description: "the project key (default: $CDS_PROJECT)" },
	workflow: { type: "string", valueName: "NAME", description: "the workflow name (default: $CDS_WORKFLOW)" },
	branch: {
		type: "string",
		valueName: "B",
		description: "only runs of this git branch (default: $CDS_BRANCH)",
	},
	commit: {
		type: "string",
		valueName: "C",
		description: "only runs of this commit, full hash or prefix (default: $CDS_COMMIT)",
	},
};

/** A flag's string value, else the environment variable's, else undefined (empty counts as absent). */
function pick(
	ctx: Pick<CommandContext, "values" | "io">,
	option: string,
	envName: string,
): string | undefined {
	const flag = ctx.values[option];
	if (typeof flag === "string" && flag.trim() !== "") return flag.trim();
	const env = ctx.io.env[envName];
	return env && env.trim() !== "" ? env.trim() : undefined;
}

export async function resolveRunTarget(ctx: Pick<CommandContext, "values" | "io">): Promise<RunTarget> {
	const project = pick(ctx, "project", "CDS_PROJECT");
	const workflow = pick(ctx, "workflow", "CDS_WORKFLOW");
	if (!project) throw new UsageError("missing --project (or set CDS_PROJECT)");
	if (!workflow) throw new UsageError("missing --workflow (or set CDS_WORKFLOW)");
	const target: RunTarget = { project, workflow };
	const branch = pick(ctx, "branch", "CDS_BRANCH");
	const commit = pick(ctx, "commit", "CDS_COMMIT");
	if (branch) target.branch = branch;
	if (commit) target.commit = commit;
	return target;
}

/** `WF on branch B at commit C`, for messages. */
export function describeTarget(target: RunTarget): string {
	return [
		target.workflow,
		target.branch ? `on branch ${target.branch}` : "",
		target.commit ? `at commit ${target.commit}` : "",
	]
		.filter(Boolean)
		.join(" ");
}
