// Which earlier reports a report is compared with, and which of them its gate judges by.

import type { Comparison } from "./model.ts";

/**
 * The application's default branch when it is set; otherwise `master` if the workflow has
 * runs on it, else `main`.
 */
export function chooseDefaultBranch(explicit: string | undefined, hasRunsOnMaster: boolean): string {
	if (explicit && explicit.trim() !== "") return explicit;
	return hasRunsOnMaster ? "master" : "main";
}

export interface Comparisons {
	/** The previous run of the same workflow on the same branch. */
	previous?: Comparison;
	/** The latest run on the default branch (absent on the default branch itself, where it is `previous`). */
	default?: Comparison;
}

/**
 * A branch is judged by what merging it would change: against the default branch's latest
 * run when there is one; the default branch (or a branch with no default-branch run yet)
 * against its own previous run.
 */
export function gateComparison(comparisons: Comparisons): Comparison | undefined {
	return comparisons.default ?? comparisons.previous;
}
