// The as-code rules, apart from the store and the broker: the files of one branch of one
// repository define that branch's version of each workflow; embedded pipelines live in the
// definition only; the default branch's definition is what API reads show and is never
// dropped by a branch push or deletion.

import type { WorkflowDoc } from "../../schemas/workflow.ts";
import type { Pipeline } from "./model.ts";

/**
 * Why a repository may not define a workflow of that name: it exists from the API, or as
 * code in another repository. Null when it may.
 */
export function asCodeOwnershipRefusal(
	name: string,
	head: Pick<WorkflowDoc, "asCode" | "repositoryId" | "repository"> | null,
	repositoryId: string,
): string | null {
	if (!head) return null;
	if (!head.asCode)
		return `workflow ${name} already exists and is not defined as code: delete it or rename the workflow in the YAML`;
	if (head.repositoryId !== repositoryId)
		return `workflow ${name} is defined as code in ${head.repository ?? "another repository"}`;
	return null;
}

/** An embedded pipeline wins over a project pipeline of the same name. */
export function asCodePipeline(
	name: string,
	embedded: Map<string, Pipeline>,
	project: Map<string, Pipeline>,
): Pipeline | undefined {
	return embedded.get(name) ?? project.get(name);
}

/**
 * The head of an as-code workflow after a push. The default branch sets which pipelines it
 * uses and its latest version; another branch only creates the head when there is none, and
 * otherwise leaves those as the default branch made them.
 */
export function asCodeHead(input: {
	project: string;
	name: string;
	repo: { id: string; repo: string; defaultBranch: string };
	branch: string;
	used: string[];
	embedded: ReadonlySet<string> | Map<string, unknown>;
	version: number;
	changed: boolean;
	head: WorkflowDoc | null;
	stamp: string;
}): WorkflowDoc {
	const { head, used, embedded, stamp, repo } = input;
	const isDefault = input.branch === repo.defaultBranch;
	const fromThisPush = isDefault || !head;
	return {
		_id: `${input.project}/${input.name}`,
		project: input.project,
		name: input.name,
		defaultBranch: repo.defaultBranch,
		asCode: true,
		repositoryId: repo.id,
		repository: repo.repo,
		pipelines: fromThisPush ? used.filter((p) => !embedded.has(p)) : head.pipelines,
		embeddedPipelines: fromThisPush ? used.filter((p) => embedded.has(p)) : (head.embeddedPipelines ?? []),
		latestVersion: isDefault ? input.version : (head?.latestVersion ?? 0),
		created: head?.created ?? stamp,
		updated: input.changed ? stamp : (head?.updated ?? stamp),
	};
}

/** The head of a workflow imported through the API. */
export function importedHead(input: {
	project: string;
	name: string;
	branch: string;
	used: string[];
	version: number;
	changed: boolean;
	head: WorkflowDoc | null;
	stamp: string;
}): WorkflowDoc {
	const { head, stamp } = input;
	return {
		_id: `${input.project}/${input.name}`,
		project: input.project,
		name: input.name,
		defaultBranch: input.branch,
		asCode: false,
		pipelines: input.used,
		latestVersion: input.version,
		created: head?.created ?? stamp,
		updated: input.changed ? stamp : (head?.updated ?? stamp),
	};
}

/** Where a workflow's name goes in an import's answer. */
export function outcomeOf(existed: boolean, changed: boolean): "created" | "updated" | "unchanged" {
	return existed ? (changed ? "updated" : "unchanged") : "created";
}

/**
 * The repository's workflows whose definition of `branch` a push there drops: those the
 * branch's files no longer define. The default branch never loses its definitions.
 */
export function definitionsToDrop(
	known: string[],
	defined: readonly string[],
	branch: string,
	defaultBranch: string,
): string[] {
	if (branch === defaultBranch) return [];
	return known.filter((name) => !defined.includes(name));
}

/** Whether a deleted branch's definitions are dropped: never those of the default branch. */
export function dropsDeletedBranch(branch: string, defaultBranch: string): boolean {
	return branch !== defaultBranch;
}

/**
 * Whether a failure to define a branch is the files' fault (invalid YAML, a name taken): such
 * a branch triggers nothing, and retrying would not mend it. Other failures are retried.
 */
export function isFilesRejection(err: { code?: number }): boolean {
	return err.code === 422 || err.code === 409;
}
