// Sends a run's events to the event notifications of its workflow (src/notifications/
// run-events.ts says what and to which targets): finds the notifications of the definition the
// run uses (definitions are immutable: cached by version), opens the integrations they name
// (cached until an integration changes) and publishes. Best effort, like CDS's: a notification
// that cannot be sent is logged, never retried, and never holds the run back.

import type { BoundIntegration } from "../hooks/bindings.ts";
import type { WorkflowNotification } from "../workflow/model.ts";
import {
	type EventTarget,
	eventTargets,
	type JobStatusEvent,
	jobEventMessage,
	type RunEventMessage,
	type RunStatusEvent,
	runEventMessage,
	StatusChanges,
	targetsFor,
} from "./run-events.ts";

export interface EventNotifierPorts {
	/** The notifications of a workflow's definition (its latest on the default branch when no version). */
	notifications(
		project: string,
		workflow: string,
		at: { branch: string; version: number } | null,
	): Promise<WorkflowNotification[]>;
	/** A project integration, opened. */
	integration(project: string, name: string): Promise<BoundIntegration>;
	publish(integration: BoundIntegration, messages: readonly RunEventMessage[]): Promise<void>;
	/**
	 * True for the one replica that takes `key` (a claim in the store): a run saved twice in one
	 * status may reach two replicas, and only one of them publishes it.
	 */
	once(key: string): Promise<boolean>;
	warn(message: string): void;
	now(): number;
}

const MAX_CACHED = 1000;

function remember<K, V>(map: Map<K, V>, key: K, value: V): V {
	map.set(key, value);
	if (map.size > MAX_CACHED) map.delete(map.keys().next().value!);
	return value;
}

export class EventNotifier {
	#ports: EventNotifierPorts;
	#changes = new StatusChanges();
	#definitions = new Map<string, EventTarget[]>();
	#runs = new Map<string, { branch: string; version: number }>();
	#integrations = new Map<string, Promise<BoundIntegration>>();

	constructor(ports: EventNotifierPorts) {
		this.#ports = ports;
	}

	/** An integration changed: open them again. */
	forgetIntegrations(): void {
		this.#integrations.clear();
	}

	/** A run's status changed; returns how many messages were published. */
	async runUpdated(
		e: RunStatusEvent & { definitionBranch?: string; definitionVersion?: number },
	): Promise<number> {
		// The definition's branch, not the run's git branch: a run of an imported workflow with
		// `-p git.branch=main` uses the definition of the default branch. (An older node sends
		// only the git branch, right for as-code runs on their own branch.)
		const branch = e.definitionBranch ?? e.branch;
		const at =
			typeof branch === "string" && typeof e.definitionVersion === "number"
				? { branch, version: e.definitionVersion }
				: null;
		if (at) remember(this.#runs, e.runId, at);
		if (!this.#changes.changed(e.runId, e.status)) return 0;
		const targets = targetsFor(await this.#targets(e.project, e.workflow, at), null);
		if (targets.length === 0) return 0;
		try {
			if (!(await this.#ports.once(`${e.runId}:${e.sub ?? 0}:${e.status}`))) return 0;
		} catch (err) {
			this.#ports.warn(`event notification of ${e.runId}: ${(err as Error).message}`);
			return 0;
		}
		return this.#send(e.project, targets, runEventMessage(e, this.#ports.now()));
	}

	/** A job ended; returns how many messages were published. */
	async jobUpdated(e: JobStatusEvent): Promise<number> {
		const targets = await this.#targets(e.project, e.workflow, this.#runs.get(e.runId) ?? null);
		return this.#send(e.project, targetsFor(targets, e.node), jobEventMessage(e, this.#ports.now()));
	}

	async #targets(
		project: string,
		workflow: string,
		at: { branch: string; version: number } | null,
	): Promise<EventTarget[]> {
		// Without a version (a job whose run this replica has not seen), the latest is read each time.
		const key = at ? `${project}/${workflow}/${at.branch}/${at.version}` : null;
		const known = key ? this.#definitions.get(key) : undefined;
		if (known) return known;
		let targets: EventTarget[];
		try {
			targets = eventTargets(await this.#ports.notifications(project, workflow, at));
		} catch (e) {
			this.#ports.warn(`event notifications of ${project}/${workflow}: ${(e as Error).message}`);
			return [];
		}
		return key ? remember(this.#definitions, key, targets) : targets;
	}

	async #send(project: string, targets: EventTarget[], message: RunEventMessage): Promise<number> {
		let sent = 0;
		for (const t of targets) {
			const key = `${project}/${t.integration}`;
			let opened = this.#integrations.get(key);
			if (!opened) {
				opened = this.#ports.integration(project, t.integration);
				remember(this.#integrations, key, opened);
				opened.catch(() => this.#integrations.delete(key));
			}
			try {
				await this.#ports.publish(await opened, [message]);
				sent++;
			} catch (e) {
				this.#ports.warn(
					`event notification of ${project} to integration '${t.integration}': ${(e as Error).message}`,
				);
			}
		}
		return sent;
	}
}
