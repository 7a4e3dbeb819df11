// Which project, workflow, branch and commit the roadmap commands (track, logs, restart,
// status) act on: flags first, then CDS_PROJECT / CDS_WORKFLOW / CDS_BRANCH / CDS_COMMIT,
// then the git repository around the current directory — its current branch and commit,
// the `cds.project` / `cds.workflow` that `cds push` wrote in its config, and failing
// those the API (the project whose linked repository is this clone's origin, and the
// as-code workflow read from it).

import { currentBranch, findRepositoryRoot, git, headCommit, remoteUrl } from "../vcs/git.ts";
import { parseRemoteUrl, sameRepository } from "../vcs/remote-url.ts";
import { UsageError } from "./errors.ts";
import type { ApiClient } from "./http.ts";
import { seg } from "./http.ts";
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

type TargetContext = Pick<CommandContext, "values" | "io"> & Partial<Pick<CommandContext, "client">>;

export async function resolveRunTarget(ctx: TargetContext): Promise<RunTarget> {
	let project = pick(ctx, "project", "CDS_PROJECT");
	let workflow = pick(ctx, "workflow", "CDS_WORKFLOW");
	let branch = pick(ctx, "branch", "CDS_BRANCH");
	let commit = pick(ctx, "commit", "CDS_COMMIT");
	// Explicit project and workflow mean explicit intent: the clone's branch is not imposed on them.
	const root = project && workflow ? null : findRepositoryRoot(ctx.io.cwd);
	if (root) {
		const fromGit = await fromRepository(root, ctx, { project, workflow });
		project ??= fromGit.project;
		workflow ??= fromGit.workflow;
		branch ??= fromGit.branch;
		commit ??= fromGit.commit;
	}
	if (!project) throw new UsageError("missing --project (or set CDS_PROJECT)");
	if (!workflow) throw new UsageError("missing --workflow (or set CDS_WORKFLOW)");
	const target: RunTarget = { project, workflow };
	if (branch) target.branch = branch;
	if (commit) target.commit = commit;
	return target;
}

async function gitConfig(root: string, name: string): Promise<string | undefined> {
	const { stdout, code } = await git(["config", "--get", name], { cwd: root, okCodes: [1] }).catch(() => ({
		stdout: "",
		code: 1,
	}));
	return code === 0 && stdout.trim() ? stdout.trim() : undefined;
}

/** What the repository at `root` says; the API is asked only for what is still unknown. */
async function fromRepository(
	root: string,
	ctx: TargetContext,
	known: { project?: string; workflow?: string },
): Promise<Partial<RunTarget>> {
	const out: Partial<RunTarget> = {};
	const branch = await currentBranch(root).catch(() => null);
	if (branch) out.branch = branch;
	const commit = await headCommit(root).catch(() => null);
	if (commit) out.commit = commit;
	out.project = known.project ?? (await gitConfig(root, "cds.project"));
	out.workflow = known.workflow ?? (await gitConfig(root, "cds.workflow"));
	if (out.project && out.workflow) return out;
	if (!ctx.client) return out;
	const url = await remoteUrl(root, "origin").catch(() => null);
	if (!url) return out;
	const remote = parseRemoteUrl(url, root);
	let client: ApiClient;
	try {
		client = await ctx.client();
	} catch {
		return out; // not logged in: the usage error about the missing flag says more
	}
	const keys = out.project
		? [out.project]
		: (await client.listAll<{ key: string }>("/projects")).map((p) => p.key);
	for (const key of keys) {
		const repos = await client
			.listAll<{ id: string; url: string }>(`/projects/${seg(key)}/repositories`)
			.catch(() => [] as Array<{ id: string; url: string }>);
		const linked = repos.find((r) => {
			try {
				return sameRepository(parseRemoteUrl(r.url, "/"), remote);
			} catch {
				return false;
			}
		});
		if (!linked) continue;
		out.project = key;
		if (!out.workflow) out.workflow = await workflowOf(client, key, linked.id);
		return out;
	}
	return out;
}

async function workflowOf(client: ApiClient, key: string, repositoryId: string): Promise<string | undefined> {
	const heads = await client.listAll<{ name: string; repositoryId?: string | null }>(
		`/projects/${seg(key)}/workflows`,
	);
	const names = heads.filter((h) => h.repositoryId === repositoryId).map((h) => h.name);
	if (names.length > 1)
		throw new UsageError(`the repository defines workflows ${names.join(", ")}: choose one with --workflow`);
	return names[0];
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
