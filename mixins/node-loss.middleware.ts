// Calls around dead nodes. Moleculer learns that a node died from its missing heartbeats,
// 15 to 30 s after a kill -9: until then calls routed to it wait for the request timeout and
// end in 500s. This middleware makes such calls fail fast and, for idempotent actions, land
// on a live replica:
// - a remote call still pending after PROBE_AFTER_MS asks NATS whether the node is still
//   connected: a Moleculer PING sent as a NATS request to the node's own PING subject. NATS
//   answers "no responders" at once when no connection subscribes to it — the node's process
//   is gone (the server drops a dead connection's subscriptions when its socket closes). The
//   node is then declared gone, as its heartbeat expiry would: its pending calls are rejected
//   at once (RequestRejectedError) and its endpoints leave the registry. A node that is only
//   slow still holds its subscription, so load never makes a live node look dead (a node cut
//   from NATS without its socket closing is left to the heartbeats).
// - a call in flight when this node's NATS connection broke may have lost its request or its
//   answer with the server (NATS keeps no core message across its restart): once the link is
//   back, calls sent before the break, during it or just after it that are still unanswered
//   after RECONNECT_GRACE_MS are rejected (RequestRejectedError: retryable, a 503 at the gateway) instead of waiting for
//   the request timeout's 504.
// - idempotent actions (`idempotent: true`, or reachable only by GET: src/ops/node-loss.ts)
//   get `retryPolicy.enabled`, so the broker's retry policy replays them elsewhere after a node
//   loss; every other call is never replayed (its first attempt may have done the work).

import { type Context, Errors, type Middleware, type ServiceBroker } from "moleculer";
import { isIdempotentAction } from "../src/ops/node-loss.ts";

declare module "moleculer" {
	interface ActionSchema {
		/** Running it twice is the same as once: replayed on another replica when its node dies. */
		idempotent?: boolean;
	}
}

/** How long a remote call runs before its node's connection is checked, and between checks. */
export const PROBE_AFTER_MS = 500;
/** How long the check waits for NATS's "no responders"; the node never replies on the inbox. */
const CHECK_TIMEOUT_MS = 1_000;
/** After a reconnection, how long answers buffered on either side may still arrive. */
export const RECONNECT_GRACE_MS = 2_000;

interface InFlight {
	ctx: Context;
	/** Sent before the link broke: its request or answer may be gone. */
	suspect: boolean;
	lost(err: Error): void;
}

type Internals = {
	registry: {
		nodes: {
			get(id: string): { available: boolean } | undefined;
			disconnected(id: string, unexpected: boolean): void;
		};
	};
	generateUid(): string;
	transit?: {
		connected: boolean;
		tx?: {
			client?: {
				request?(subject: string, data: Uint8Array, opts: { timeout: number }): Promise<unknown>;
				status?(): AsyncIterable<{ type: string }>;
			};
			getTopicName(cmd: string, nodeID: string): string;
			serialize(packet: { type: string; payload: Record<string, unknown> }): Uint8Array;
		};
	};
};

/**
 * Whether `nodeID` still holds a NATS connection: false when NATS says nobody subscribes to its
 * PING subject, true when someone does (the request then times out, or the node answers with a
 * PONG to us as to any ping), undefined when this node cannot tell (another transport, no link).
 */
async function stillConnected(broker: ServiceBroker, nodeID: string): Promise<boolean | undefined> {
	const b = broker as unknown as Internals;
	const tx = b.transit?.tx;
	if (!b.transit?.connected || !tx?.client?.request) return undefined;
	const data = tx.serialize({ type: "PING", payload: { time: Date.now(), id: b.generateUid() } });
	try {
		await tx.client.request(tx.getTopicName("PING", nodeID), data, { timeout: CHECK_TIMEOUT_MS });
		return true;
	} catch (e) {
		const code = (e as { code?: unknown }).code;
		if (code === "503") return false;
		return code === "TIMEOUT" ? true : undefined;
	}
}

export function NodeLossMiddleware(): Middleware {
	let broker: ServiceBroker;
	/** One check at a time per node, whatever the number of calls waiting on it. */
	const probes = new Map<string, Promise<void>>();

	const probe = (nodeID: string): Promise<void> => {
		let running = probes.get(nodeID);
		if (!running) {
			running = stillConnected(broker, nodeID)
				.then((connected) => {
					const { registry } = broker as unknown as Internals;
					if (connected !== false || !registry.nodes.get(nodeID)?.available) return;
					broker.logger.warn(
						`node ${nodeID} has no connection to NATS any more: treating it as gone (its pending calls fail, replicas take over)`,
					);
					registry.nodes.disconnected(nodeID, true);
				})
				.catch(() => {})
				.finally(() => probes.delete(nodeID));
			probes.set(nodeID, running);
		}
		return running;
	};

	const inFlight = new Set<InFlight>();
	let linkDown = false;
	let linkUpAt = 0;
	const reject = (calls: InFlight[]) => {
		const lost = calls.filter((c) => inFlight.has(c));
		if (lost.length === 0) return;
		broker.logger.warn(
			`${lost.length} call(s) in flight around a break of the NATS connection got no answer after it came back: rejected as retryable`,
		);
		for (const c of lost)
			c.lost(new Errors.RequestRejectedError({ action: c.ctx.action?.name, nodeID: c.ctx.nodeID }));
	};
	const checkLater = (calls: InFlight[], ms: number) => {
		if (calls.length > 0) setTimeout(() => reject(calls), ms).unref();
	};
	const linkBroke = () => {
		linkDown = true;
		for (const call of inFlight) call.suspect = true;
	};
	const linkBack = () => {
		linkDown = false;
		linkUpAt = Date.now();
		checkLater(
			[...inFlight].filter((c) => c.suspect),
			RECONNECT_GRACE_MS,
		);
	};
	/** A call sent while the link is down, or right after it came back (its peer may not have
	 * subscribed again yet), may be lost too. */
	const watchNew = (call: InFlight) => {
		if (linkDown) call.suspect = true;
		else if (Date.now() - linkUpAt < RECONNECT_GRACE_MS) {
			call.suspect = true;
			checkLater([call], 2 * RECONNECT_GRACE_MS);
		}
	};

	return {
		name: "NodeLoss",
		created(b: ServiceBroker) {
			broker = b;
		},
		async started() {
			const client = (broker as unknown as Internals).transit?.tx?.client;
			if (!client?.status) return;
			const statuses = client.status();
			void (async () => {
				for await (const s of statuses) {
					if (s.type === "disconnect") linkBroke();
					else if (s.type === "reconnect") linkBack();
				}
			})().catch(() => {});
		},
		serviceCreating(_service: unknown, schema: { actions?: Record<string, unknown> }) {
			for (const action of Object.values(schema.actions ?? {})) {
				if (!action || typeof action !== "object") continue;
				const def = action as { idempotent?: unknown; rest?: unknown; retryPolicy?: Record<string, unknown> };
				// The flag travels with the action's description to every node: callers read it there.
				if (isIdempotentAction(def)) def.retryPolicy = { ...def.retryPolicy, enabled: true };
			}
		},
		remoteAction(handler: (ctx: Context) => Promise<unknown>) {
			return function watchNode(ctx: Context) {
				const nodeID = ctx.nodeID;
				const pending = handler(ctx);
				if (!nodeID) return pending;
				let call: InFlight | undefined;
				const lost = new Promise<never>((_, reject) => {
					call = { ctx, suspect: false, lost: reject };
				});
				inFlight.add(call!);
				watchNew(call!);
				// Once lost, the call's own late end is nobody's.
				pending.catch(() => {});
				lost.catch(() => {});
				let timer: NodeJS.Timeout | undefined;
				let settled = false;
				const watch = () => {
					timer = setTimeout(() => {
						void probe(nodeID).then(() => {
							if (!settled) watch();
						});
					}, PROBE_AFTER_MS);
					timer.unref();
				};
				watch();
				return Promise.race([pending, lost]).finally(() => {
					settled = true;
					clearTimeout(timer);
					inFlight.delete(call!);
				});
			};
		},
	} as Middleware;
}
