// Marathon's event bus as the Marathon hook reads it (its `/v2/events` stream, JSON as Marathon's
// docs/docs/event-bus.md shows it): which application an event is about, whether a binding wants
// it (`event_types`, `app_id`, `task_statuses`), and the event's own identity, so a replayed or
// twice-read event starts one run.

import { createHash } from "node:crypto";
import { parseList } from "./hook-types.ts";

export interface MarathonEvent {
	eventType: string;
	timestamp?: string;
	[field: string]: unknown;
}

/** What a Marathon hook listens to when its config names no `event_types`. */
export const DEFAULT_MARATHON_EVENT_TYPES = [
	"status_update_event",
	"unhealthy_instance_kill_event",
	"deployment_failed",
] as const;

export interface MarathonFilter {
	eventTypes: string[];
	appId: string | null;
	taskStatuses: string[];
}

const appPath = (id: string) => (id.startsWith("/") ? id : `/${id}`);

export function marathonFilterOf(config: Record<string, string>): MarathonFilter {
	const types = parseList(config.event_types);
	return {
		eventTypes: types.length > 0 ? types : [...DEFAULT_MARATHON_EVENT_TYPES],
		appId: config.app_id ? appPath(config.app_id.trim()) : null,
		taskStatuses: parseList(config.task_statuses).map((s) => s.toUpperCase()),
	};
}

/** An event of the stream's `data:` text, or null when it is not a Marathon event. */
export function parseMarathonEvent(data: string): MarathonEvent | null {
	let value: unknown;
	try {
		value = JSON.parse(data);
	} catch {
		return null;
	}
	if (!value || typeof value !== "object" || Array.isArray(value)) return null;
	const e = value as MarathonEvent;
	return typeof e.eventType === "string" && e.eventType !== "" ? e : null;
}

const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : null);

/**
 * The applications an event is about: `appId` (tasks, health), `runSpecId` (instances), and for a
 * deployment the apps its plan's steps act on.
 */
export function appIdsOf(e: MarathonEvent): string[] {
	const ids = new Set<string>();
	for (const v of [e.appId, e.runSpecId]) if (str(v)) ids.add(appPath(v as string));
	const plan = e.plan as { steps?: unknown } | undefined;
	const steps = Array.isArray(plan?.steps) ? plan.steps : [];
	const current = (e.currentStep as { actions?: unknown } | undefined)?.actions;
	for (const step of [...steps, { actions: current }] as Array<{ app?: unknown; actions?: unknown }>) {
		if (str(step?.app)) ids.add(appPath(step.app as string));
		for (const a of (Array.isArray(step?.actions) ? step.actions : []) as Array<{ app?: unknown }>)
			if (str(a?.app)) ids.add(appPath(a.app as string));
	}
	return [...ids];
}

export function marathonMatches(e: MarathonEvent, filter: MarathonFilter): boolean {
	if (!filter.eventTypes.includes(e.eventType)) return false;
	if (filter.appId !== null && !appIdsOf(e).includes(filter.appId)) return false;
	if (filter.taskStatuses.length > 0 && e.eventType === "status_update_event") {
		if (!filter.taskStatuses.includes(String(e.taskStatus ?? "").toUpperCase())) return false;
	}
	return true;
}

/** The event's identity: its type, what it is about (task, instance, deployment), its status and time. */
export function marathonEventKey(e: MarathonEvent): string {
	const plan = e.plan as { id?: unknown } | undefined;
	const subject = str(e.taskId) ?? str(e.instanceId) ?? str(e.id) ?? str(plan?.id) ?? appIdsOf(e).join(",");
	const status =
		str(e.taskStatus) ?? str(e.condition) ?? (typeof e.alive === "boolean" ? String(e.alive) : "");
	return createHash("sha256")
		.update(JSON.stringify([e.eventType, subject, status, e.timestamp ?? null, e.version ?? null]))
		.digest("hex")
		.slice(0, 32);
}
