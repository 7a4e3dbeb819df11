// CDS's event notifications (`notifications: - type: event, integration: <Kafka integration>` in
// a workflow file): the run's events — the run's status as it changes (started, ended…) and each
// job's end — published as JSON to the integration's topic. This is the pure part: which
// notifications of a workflow apply to an event, the JSON published, and which status changes
// are new (a run saved twice in the same status is one event).

import type { WorkflowNotification } from "../workflow/model.ts";

/** An event notification of a workflow: where to publish, and for which nodes (empty: all). */
export interface EventTarget {
	integration: string;
	nodes: string[];
}

/** The `type: event` notifications of a workflow that name an integration. */
export function eventTargets(notifications: readonly WorkflowNotification[] | undefined): EventTarget[] {
	return (notifications ?? [])
		.filter((n) => n.type === "event" && typeof n.integration === "string" && n.integration !== "")
		.map((n) => ({ integration: n.integration!, nodes: [...n.nodes] }));
}

/** A run's status changed (the run service's `run.updated`). */
export interface RunStatusEvent {
	runId: string;
	project: string;
	workflow: string;
	number: number;
	sub?: number;
	status: string;
	branch?: string | null;
	commit?: string | null;
}

/** A job ended (the run service's `job.updated`). */
export interface JobStatusEvent {
	jobId: string;
	runId: string;
	status: string;
	project: string;
	workflow: string;
	runNumber: number;
	node: string;
}

/** One message published: the key keeps a run's events on one partition, in order. */
export interface RunEventMessage {
	key: string;
	value: Record<string, unknown>;
}

/** The targets an event goes to: a job's only where the notification lists its node (or none). */
export function targetsFor(targets: readonly EventTarget[], node: string | null): EventTarget[] {
	return targets.filter((t) => node === null || t.nodes.length === 0 || t.nodes.includes(node));
}

/** The JSON of a run's status change, named and shaped after CDS's `sdk.EventRunWorkflow`. */
export function runEventMessage(e: RunStatusEvent, at: number): RunEventMessage {
	return {
		key: e.runId,
		value: {
			type_event: "sdk.EventRunWorkflow",
			timestamp: new Date(at).toISOString(),
			project_key: e.project,
			workflow_name: e.workflow,
			workflow_run_num: e.number,
			workflow_run_sub_num: e.sub ?? 0,
			status: e.status,
			payload: { id: e.runId, status: e.status, branch: e.branch ?? null, commit: e.commit ?? null },
		},
	};
}

/** The JSON of a job's end, after CDS's `sdk.EventRunWorkflowJob`. */
export function jobEventMessage(e: JobStatusEvent, at: number): RunEventMessage {
	return {
		key: e.runId,
		value: {
			type_event: "sdk.EventRunWorkflowJob",
			timestamp: new Date(at).toISOString(),
			project_key: e.project,
			workflow_name: e.workflow,
			workflow_run_num: e.runNumber,
			workflow_node_name: e.node,
			status: e.status,
			payload: { id: e.jobId, run: e.runId, node: e.node, status: e.status },
		},
	};
}

/**
 * Remembers the last status published per run (at most `max` runs, oldest forgotten first): a
 * run saved again in the same status is not a new event.
 */
export class StatusChanges {
	#last = new Map<string, string>();
	readonly #max: number;

	constructor(max = 10_000) {
		this.#max = max;
	}

	/** Whether `status` is new for `runId` (and records it). */
	changed(runId: string, status: string): boolean {
		if (this.#last.get(runId) === status) return false;
		this.#last.delete(runId);
		this.#last.set(runId, status);
		if (this.#last.size > this.#max) this.#last.delete(this.#last.keys().next().value!);
		return true;
	}
}
