// The de-duplication keys of AMQP 0-9-1 deliveries (the RabbitMQ hook). A message the publisher
// named (`message_id`) is keyed on that name: any redelivery, by any replica, is the same event.
//
// A message without a name has no identity the broker shows us: two identical publishes are two
// messages (both must run), while a redelivery of one (`redelivered` set: it was delivered before
// and not acknowledged) must not run again if its first delivery was already stored. So a first
// delivery gets a key of its own (digest of its content + a fresh id) and, before it is emitted,
// an "in flight" entry under its content digest in the source's shared state; the entry is
// dropped once the message is acknowledged. A redelivered message adopts the key of an in-flight
// entry of the same content (not one this replica is handling right now) and emits with it: if
// the first delivery had been stored it is a "duplicate" (no second run), if not it is stored now.
//
// Limits (documented in docs/hooks.md): a redelivery may adopt the entry of an identical message
// that another live replica is handling at that very moment, or an entry left behind by a replica
// killed between its ack and the entry's removal (entries expire after INFLIGHT_TTL_MS) — then one
// of two identical messages does not run. Publishers that need exactness set `message_id`.

import { createHash } from "node:crypto";

/** An in-flight entry older than this is ignored and pruned (a redelivery comes far sooner). */
export const INFLIGHT_TTL_MS = 10 * 60_000;

export interface InflightEntry {
	key: string;
	at: number;
}

/** What a delivery's key is made of (properties preserved by the broker on redelivery). */
export interface DeliveryIdentity {
	messageId?: string | undefined;
	exchange: string;
	routingKey: string;
	/** The body as received (bytes, text, or the client's decoded JSON). */
	body: unknown;
	/** Other properties of the message that are part of what the publisher sent. */
	properties?: Record<string, unknown>;
}

function sha(text: string): string {
	return createHash("sha256").update(text).digest("hex");
}

/** The text of a body as the publisher sent it (decoded JSON is re-encoded: same input, same text). */
export function bodyText(body: unknown): string {
	if (body == null) return "";
	if (typeof body === "string") return body;
	if (Buffer.isBuffer(body) || body instanceof Uint8Array) return Buffer.from(body).toString("base64");
	return JSON.stringify(body);
}

/** The key of a message the publisher named: the same for every delivery of that name. */
export function messageIdKey(messageId: string): string {
	return `id:${sha(messageId).slice(0, 32)}`;
}

/** A digest of everything a publisher sent: identical publishes share it, redeliveries too. */
export function contentDigest(d: DeliveryIdentity): string {
	const props = Object.entries(d.properties ?? {})
		.filter(([, v]) => v !== undefined && v !== null)
		.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
	return sha(JSON.stringify([d.exchange, d.routingKey, props, bodyText(d.body)])).slice(0, 32);
}

/** The key of a first delivery of an unnamed message: its content and an id of this delivery. */
export function firstDeliveryKey(digest: string, deliveryId: string): string {
	return `c:${digest}:${deliveryId}`;
}

/** The state key under which the in-flight entries of a content digest are kept. */
export function inflightStateKey(digest: string): string {
	return `inflight:${digest}`;
}

/** Entries still worth keeping at `now`. */
export function liveEntries(
	entries: readonly InflightEntry[],
	now: number,
	ttlMs = INFLIGHT_TTL_MS,
): InflightEntry[] {
	return entries.filter((e) => typeof e?.key === "string" && typeof e.at === "number" && now - e.at < ttlMs);
}

/** The entries with `key` added (expired ones pruned). */
export function withEntry(entries: readonly InflightEntry[], key: string, now: number): InflightEntry[] {
	return [...liveEntries(entries, now).filter((e) => e.key !== key), { key, at: now }];
}

/** The entries without `key` (expired ones pruned). */
export function withoutEntry(entries: readonly InflightEntry[], key: string, now: number): InflightEntry[] {
	return liveEntries(entries, now).filter((e) => e.key !== key);
}

/**
 * The in-flight entry a redelivered message takes the key of: the oldest live one this replica is
 * not handling itself (those are other messages with the same content), or null — then the
 * redelivery is a message whose earlier delivery was never stored nor recorded, and it gets a key
 * of its own.
 */
export function adoptableEntry(
	entries: readonly InflightEntry[],
	busyHere: ReadonlySet<string>,
	now: number,
): InflightEntry | null {
	const candidates = liveEntries(entries, now)
		.filter((e) => !busyHere.has(e.key))
		.sort((a, b) => a.at - b.at);
	return candidates[0] ?? null;
}
