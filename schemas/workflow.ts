// The workflow service's stored documents and the answers other services get from it.

import type { Pipeline, Workflow } from "../src/workflow/model.ts";
import type { Doc } from "../src/store/types.ts";

export interface WorkflowDoc extends Doc {
	project: string;
	name: string;
	defaultBranch: string;
	asCode: boolean;
	/** Project pipelines used by the latest default-branch definition (for "pipeline in use" checks). */
	pipelines: string[];
	/** As-code workflows: the linked repository they are read from ("org/repo" for messages). */
	repositoryId?: string | null;
	repository?: string | null;
	/** As-code workflows: pipelines defined in the repository, which belong to this workflow alone. */
	embeddedPipelines?: string[];
	latestVersion: number;
	/**
	 * Fresh (random, never reused) after every change to the workflow's definitions: a node that
	 * read a branch's latest definition under this stamp may use it again while the stamp holds
	 * (src/workflow/latest-definitions.ts). Absent on heads written before it existed.
	 */
	definitionsStamp?: string;
	created: string;
	updated: string;
}

export interface DefinitionDoc extends Doc {
	project: string;
	workflow: string;
	branch: string;
	version: number;
	hash: string;
	model: Workflow;
	/** The pipelines as they were when this version was made: a run needs nothing else. */
	pipelines: Pipeline[];
	created: string;
	author: string | null;
}

export interface AsCodeResult {
	workflows: string[];
	created: string[];
	updated: string[];
	unchanged: string[];
	/** Whether any definition of the branch changed. */
	changed: boolean;
	warnings: Array<{ file?: string; line?: number; column?: number; message: string }>;
}

/** `workflow.get`: a workflow and one definition of it (the latest on a branch, or a version). */
export interface WorkflowView {
	name: string;
	branch: string;
	version: number;
	asCode: boolean;
	repository: string | null;
	repositoryId: string | null;
	created: string;
	updated: string;
	definitionId: string;
	hash: string;
	model: Workflow;
	pipelines: Pipeline[];
	definedAt: string;
}

/** `workflow.syncBranch`: the workflows a push to the branch triggers. */
export interface SyncBranchResult {
	workflows: string[];
	changed: boolean;
	/** Set when the branch's files are rejected: nothing is triggered. */
	errors?: unknown[];
}

/** `workflow.deleteBranch`. */
export interface DeleteBranchResult {
	removed: string[];
	reason?: string;
}

/** `workflow.pipelineUsers` / `workflow.repositoryUsers`: names of the workflows using it. */
export type WorkflowNames = string[];
