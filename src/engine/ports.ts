// What the run engine needs from outside the store: other services (job tokens, workflow
// definitions), event emission, a clock and a logger. The run and worker services implement
// these with Moleculer calls; unit tests pass fakes, so the engine never imports Moleculer.

import type { Pipeline, Workflow } from "../workflow/model.ts";

export interface Definition {
	model: Workflow;
	pipelines: Pipeline[];
}

export interface DefinitionRef {
	project: string;
	workflow: string;
	/** The workflow's default branch when absent. */
	branch?: string;
	/** The branch's latest version when absent. */
	version?: number;
}

/** A stored definition version, as workflow.get returns it. */
export interface WorkflowDefinition extends Definition {
	branch: string;
	version: number;
	definitionId: string;
	repositoryId?: string | null;
}

export interface RunPorts {
	/** auth.issueJobToken: a token scoped to one job attempt. */
	issueJobToken(p: { job: string; run: string; project: string; ttlSeconds: number }): Promise<{
		token: string;
		id: string;
		/** The token's hash, which the booking keeps (a token is valid while it does). */
		hash: string;
	}>;
	/**
	 * auth.revokeJobToken, once the booking that held the token is gone (best effort: a failure
	 * is ignored by the engine). `stored`: a token of an older version, a document of its own.
	 */
	revokeJobToken(p: { id: string; job: string; stored: boolean }): Promise<void>;
	/** workflow.get as the system: the definition of a version (or the branch's latest). */
	definition(ref: DefinitionRef): Promise<WorkflowDefinition>;
	/** Events for subscribers on one node (run.updated, job.updated, job.booked, run.stopped…). */
	emit(event: string, payload: Record<string, unknown>): void;
	/** Events for every node (job.queued: every hatchery polls at once). */
	broadcast(event: string, payload: Record<string, unknown>): void;
	warn(message: string): void;
}

export interface Clock {
	now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
