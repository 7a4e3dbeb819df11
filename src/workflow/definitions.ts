// Definition versions of a workflow: an immutable version is added only when the content
// (the workflow model and the pipelines it uses, as they are now) changed.

import { createHash } from "node:crypto";
import type { Pipeline, Workflow } from "./model.ts";

/** Branch of definitions made through the API (as-code workflows have one per git branch). */
export const DEFAULT_BRANCH = "master";

export function contentHash(value: unknown): string {
	return createHash("sha256").update(JSON.stringify(value)).digest("hex");
}

/** Versions are zero-padded so _id order is version order. */
export function definitionId(project: string, name: string, branch: string, version: number): string {
	return `${project}/${name}/${branch}/${String(version).padStart(8, "0")}`;
}

/** The branch a definition id names (a branch name may itself hold `/`). */
export function definitionBranch(id: string): string {
	return id.split("/").slice(2, -1).join("/");
}

/** The hash a definition of this content carries. */
export function definitionHash(model: Workflow, pipelines: Pipeline[]): string {
	return contentHash({ model, pipelines });
}

/** The version to add after `latest`, or null when the content equals the latest. */
export function nextVersion(latest: { hash: string; version: number } | null, hash: string): number | null {
	if (latest && latest.hash === hash) return null;
	return (latest?.version ?? 0) + 1;
}

/** The pipelines a workflow's nodes use: each once, sorted. */
export function usedPipelines(w: Workflow): string[] {
	return [...new Set(w.nodes.map((n) => n.pipeline).filter((p): p is string => !!p))].sort();
}

/** The pipelines a definition snapshots, looked up in order; unknown names are left out. */
export function pipelineSnapshot(used: string[], lookup: (name: string) => Pipeline | undefined): Pipeline[] {
	return used.map(lookup).filter((p): p is Pipeline => !!p);
}
