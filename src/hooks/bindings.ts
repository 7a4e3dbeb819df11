// A workflow hook as a hook source serves it: the `hooks: <node>: - type: …, config: …` entry of
// a workflow's default-branch definition, with the project integration it names opened. A source
// that serves a type (Kafka, RabbitMQ, health checks…) gets the current bindings of its types and
// listens for each; what it hears becomes a `start-run` event of the binding's workflow.

import { createHash } from "node:crypto";
import type { SourceEvent, StartRunIntent } from "./events.ts";

/** The project integration a hook names, its configuration opened (passwords in clear). */
export interface BoundIntegration {
	name: string;
	model: string;
	config: Record<string, string>;
}

export interface HookBinding {
	/** Stable while the hook is unchanged: a digest of where it is and what it says. */
	id: string;
	project: string;
	workflow: string;
	/** The node the hook is on (the run starts at the workflow's root, as CDS does). */
	node: string;
	type: string;
	config: Record<string, string>;
	/** The integration named by `config.integration`, opened; null when the hook names none. */
	integration: BoundIntegration | null;
	/**
	 * Set instead of a usable binding when the hook cannot be served (its integration is gone, of
	 * another model…): the source reports it in its health and serves nothing for it.
	 */
	problem?: string;
}

/** A binding's id: changes when the hook moves or its config or integration changes. */
export function bindingId(
	b: Pick<HookBinding, "project" | "workflow" | "node" | "type" | "config" | "integration">,
): string {
	const h = createHash("sha256");
	h.update(JSON.stringify([b.project, b.workflow, b.node, b.type, sorted(b.config)]));
	if (b.integration)
		h.update(JSON.stringify([b.integration.name, b.integration.model, sorted(b.integration.config)]));
	return h.digest("hex").slice(0, 24);
}

/**
 * The part of a binding's id that does not change with its config: where it is. A consumer group
 * or a queue named after it survives an edit of the hook's other settings.
 */
export function bindingPlace(b: Pick<HookBinding, "project" | "workflow" | "node" | "type">): string {
	return createHash("sha256")
		.update(JSON.stringify([b.project, b.workflow, b.node, b.type]))
		.digest("hex")
		.slice(0, 16);
}

function sorted(o: Record<string, string>): Array<[string, string]> {
	return Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** What a source heard, for the run it starts. */
export interface BindingDelivery {
	/** The run's payload (a message's JSON, a trap's varbinds, a check's result…). */
	payload?: unknown;
	/** Added to the run's parameters as `cds.hook.<name>` (strings only). */
	vars?: Record<string, string>;
	/** What operators see of the origin in `cds hooks events` (topic, partition, offset…). */
	origin?: Record<string, string>;
	/** The message subject token (`cds.hooks.<project>.<type>`); defaults to the source's name. */
	type?: string;
}

/** The payload kept in an event: at most this many bytes of JSON (a larger one is cut). */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

/**
 * The event a binding's delivery becomes: one `start-run` of the binding's workflow, with
 * `cds.hook.*` variables saying which hook fired. Payloads are kept in the store's subset (no
 * arrays of arrays): a value that is not is wrapped as `{raw: <JSON text>}`.
 */
export function bindingEvent(binding: HookBinding, source: string, delivery: BindingDelivery): SourceEvent {
	const vars: Record<string, string> = {
		"cds.hook.type": binding.type,
		"cds.hook.node": binding.node,
		"cds.hook.binding": binding.id,
	};
	for (const [k, v] of Object.entries(delivery.vars ?? {})) vars[`cds.hook.${k}`] = String(v);
	const intent: StartRunIntent = {
		kind: "start-run",
		type: delivery.type ?? source,
		workflow: binding.workflow,
		vars,
		...(delivery.payload !== undefined ? { payload: storablePayload(delivery.payload) } : {}),
	};
	return {
		project: binding.project,
		origin: {
			hook: binding.type,
			workflow: binding.workflow,
			node: binding.node,
			binding: binding.id,
			...(delivery.origin ?? {}),
		},
		intents: [intent],
	};
}

/** A payload the store takes as it is, or its JSON text under `raw` (cut at MAX_PAYLOAD_BYTES). */
export function storablePayload(payload: unknown): unknown {
	let text: string;
	try {
		text = JSON.stringify(payload) ?? "null";
	} catch {
		return { raw: String(payload) };
	}
	if (text.length > MAX_PAYLOAD_BYTES) return { raw: text.slice(0, MAX_PAYLOAD_BYTES), truncated: true };
	return hasNestedArray(payload) ? { raw: text } : payload;
}

function hasNestedArray(value: unknown, inArray = false): boolean {
	if (Array.isArray(value)) {
		if (inArray) return true;
		return value.some((v) => hasNestedArray(v, true));
	}
	if (value !== null && typeof value === "object") {
		return Object.values(value as Record<string, unknown>).some((v) => hasNestedArray(v, false));
	}
	return false;
}

/** A message body as a payload: its JSON when it is JSON, else its text under `message`. */
export function payloadOfBody(body: Buffer | string | Uint8Array | null | undefined): unknown {
	if (body == null) return {};
	const text = typeof body === "string" ? body : Buffer.from(body).toString("utf8");
	try {
		return JSON.parse(text);
	} catch {
		return { message: text };
	}
}
