// OpenStack notifications as oslo.messaging's notifier sends them over RabbitMQ, and the filters of
// the OpenStack Nova and Swift hooks (src/hooks/sources/openstack.ts).
//
// With the `messagingv2` driver every message body is the envelope
// `{"oslo.version": "2.0", "oslo.message": "<the notification as JSON text>"}`; the older
// `messaging` driver sends the notification itself. A notification is
// `{message_id, publisher_id, event_type, priority, payload, timestamp}`. Nova's legacy
// notifications (`compute.instance.update`…) carry a flat payload (`instance_id`, `display_name`,
// `state`, `old_state`); its versioned ones (`instance.update`…) wrap it in
// `{"nova_object.data": …}` with the states under `state_update`. Swift events are the CADF events
// ceilometermiddleware emits (`objectstore.http.request`): `target.metadata.{container,object}`,
// the HTTP method in `target.action` (lower case).

import { parseList } from "./hook-types.ts";

export interface OsloNotification {
	messageId: string | null;
	publisherId: string | null;
	eventType: string;
	priority: string | null;
	timestamp: string | null;
	payload: Record<string, unknown>;
}

function record(value: unknown): Record<string, unknown> | null {
	return value !== null && typeof value === "object" && !Array.isArray(value)
		? (value as Record<string, unknown>)
		: null;
}

function str(value: unknown): string | null {
	return typeof value === "string" && value !== "" ? value : null;
}

/** A body as the client gave it (bytes, text or decoded JSON) as a JSON object, or null. */
function jsonObject(body: unknown): Record<string, unknown> | null {
	if (Buffer.isBuffer(body) || body instanceof Uint8Array) body = Buffer.from(body).toString("utf8");
	if (typeof body === "string") {
		try {
			body = JSON.parse(body);
		} catch {
			return null;
		}
	}
	return record(body);
}

/** The notification in a message body (enveloped or not), or null when it is not one. */
export function parseOsloMessage(body: unknown): OsloNotification | null {
	let n = jsonObject(body);
	if (!n) return null;
	if ("oslo.message" in n) {
		n = jsonObject(n["oslo.message"]);
		if (!n) return null;
	}
	const eventType = str(n.event_type);
	if (!eventType) return null;
	return {
		messageId: str(n.message_id),
		publisherId: str(n.publisher_id),
		eventType,
		priority: str(n.priority),
		timestamp: str(n.timestamp),
		payload: record(n.payload) ?? {},
	};
}

/** Whether `eventType` matches one of the patterns (exact, or a prefix when a pattern ends in `*`). */
export function eventTypeMatches(eventType: string, patterns: readonly string[]): boolean {
	return patterns.some((p) => (p.endsWith("*") ? eventType.startsWith(p.slice(0, -1)) : eventType === p));
}

export interface NovaServer {
	id: string | null;
	name: string | null;
	state: string | null;
	oldState: string | null;
	/** The task in progress (legacy `new_task_state`, versioned `task_state`). */
	taskState: string | null;
	host: string | null;
}

/** The server a Nova notification is about, legacy or versioned. */
export function novaServer(n: OsloNotification): NovaServer {
	const data = record(n.payload["nova_object.data"]);
	if (data) {
		const update = record(record(data.state_update)?.["nova_object.data"]);
		return {
			id: str(data.uuid),
			name: str(data.display_name),
			state: str(update?.state) ?? str(data.state),
			oldState: str(update?.old_state),
			taskState: str(data.task_state) ?? str(update?.new_task_state),
			host: str(data.host),
		};
	}
	const p = n.payload;
	return {
		id: str(p.instance_id) ?? str(p.uuid),
		name: str(p.display_name) ?? str(p.hostname),
		state: str(p.state),
		oldState: str(p.old_state),
		taskState: str(p.new_task_state) ?? str(p.state_description),
		host: str(p.host),
	};
}

export interface SwiftEvent {
	account: string | null;
	container: string | null;
	object: string | null;
	/** The HTTP method, upper case (PUT, POST, DELETE, COPY, GET, HEAD). */
	method: string | null;
	/** The CADF action (create, read, update, delete…). */
	action: string | null;
	outcome: string | null;
	path: string | null;
}

/** The request a Swift (ceilometermiddleware) notification is about. */
export function swiftEvent(n: OsloNotification): SwiftEvent {
	const target = record(n.payload.target);
	const meta = record(target?.metadata);
	const method = str(target?.action);
	return {
		account: str(target?.id),
		container: str(meta?.container),
		object: str(meta?.object),
		method: method ? method.toUpperCase() : null,
		action: str(n.payload.action),
		outcome: str(n.payload.outcome),
		path: str(meta?.path),
	};
}

export const NOVA_DEFAULT_EVENT_TYPES = ["compute.instance.*", "instance.*"];
export const SWIFT_DEFAULT_EVENT_TYPES = ["objectstore.*"];

/** Whether a Nova notification passes the hook's filters (its config as written). */
export function novaMatches(n: OsloNotification, config: Record<string, string>): boolean {
	const types = parseList(config.event_types);
	if (!eventTypeMatches(n.eventType, types.length > 0 ? types : NOVA_DEFAULT_EVENT_TYPES)) return false;
	const server = novaServer(n);
	if (config.server_id && server.id !== config.server_id) return false;
	if (config.server_name && server.name !== config.server_name) return false;
	const states = parseList(config.states).map((s) => s.toLowerCase());
	if (states.length > 0 && !states.includes((server.state ?? "").toLowerCase())) return false;
	return true;
}

/** Whether a Swift notification passes the hook's filters. */
export function swiftMatches(n: OsloNotification, config: Record<string, string>): boolean {
	const types = parseList(config.event_types);
	if (!eventTypeMatches(n.eventType, types.length > 0 ? types : SWIFT_DEFAULT_EVENT_TYPES)) return false;
	const event = swiftEvent(n);
	if (config.container && event.container !== config.container) return false;
	const methods = parseList(config.methods).map((m) => m.toUpperCase());
	if (methods.length > 0 && !methods.includes(event.method ?? "")) return false;
	return true;
}
