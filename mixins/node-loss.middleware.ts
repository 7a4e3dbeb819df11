// Calls around dead nodes. Moleculer learns that a node died from its missing heartbeats,
// 15 to 30 s after a kill -9: until then calls routed to it wait for the request timeout and
// end in 500s. This middleware makes such calls fail fast and, for idempotent actions, land
// on a live replica:
// - a remote call still pending after PROBE_AFTER_MS pings its node; a node that does not
//   answer within PING_TIMEOUT_MS is declared gone, as its heartbeat expiry would: its pending
//   calls are rejected at once (RequestRejectedError) and its endpoints leave the registry.
//   A node that was only slow comes back with its next heartbeat.
// - idempotent actions (`idempotent: true`, or reachable only by GET: src/ops/node-loss.ts)
//   get `retryPolicy.enabled`, so the broker's retry policy replays them elsewhere after a node
//   loss; every other call is never replayed (its first attempt may have done the work).

import type { Context, Middleware, ServiceBroker } from "moleculer";
import { isIdempotentAction } from "../src/ops/node-loss.ts";

declare module "moleculer" {
	interface ActionSchema {
		/** Running it twice is the same as once: replayed on another replica when its node dies. */
		idempotent?: boolean;
	}
}

/** How long a remote call runs before its node is pinged. */
export const PROBE_AFTER_MS = 1_000;
/** How long a node has to answer that ping (only an event loop blocked that long misses it). */
export const PING_TIMEOUT_MS = 3_000;

type Internals = {
	registry: {
		nodes: {
			get(id: string): { available: boolean } | undefined;
			disconnected(id: string, unexpected: boolean): void;
		};
	};
	localBus: {
		on(event: string, f: (pong: { nodeID: string }) => void): void;
		off(event: string, f: (pong: { nodeID: string }) => void): void;
	};
	transit?: { connected: boolean; sendPing(nodeID: string): Promise<unknown> };
};

/**
 * Whether `nodeID` answers a ping within `timeoutMs`: true, false, or undefined when this node
 * cannot tell — no transport, or its own event loop stalled past the deadline (a pong may be
 * waiting unread: a busy caller must not declare a healthy node dead).
 */
function pingNode(broker: ServiceBroker, nodeID: string, timeoutMs: number): Promise<boolean | undefined> {
	const b = broker as unknown as Internals;
	const transit = b.transit;
	if (!transit?.connected) return Promise.resolve(undefined);
	return new Promise((resolve) => {
		const started = Date.now();
		let timer: NodeJS.Timeout | undefined;
		const onPong = (pong: { nodeID: string }) => {
			if (pong.nodeID === nodeID) finish(true);
		};
		const finish = (answer: boolean | undefined) => {
			clearTimeout(timer);
			b.localBus.off("$node.pong", onPong);
			resolve(answer);
		};
		b.localBus.on("$node.pong", onPong);
		// setImmediate: pongs already received are read before concluding there is none.
		timer = setTimeout(
			() => setImmediate(() => finish(Date.now() - started > timeoutMs + 1_000 ? undefined : false)),
			timeoutMs,
		);
		timer.unref();
		transit.sendPing(nodeID).catch(() => finish(undefined));
	});
}

export function NodeLossMiddleware(): Middleware {
	let broker: ServiceBroker;
	/** One ping at a time per node, whatever the number of calls waiting on it. */
	const probes = new Map<string, Promise<void>>();

	const probe = (nodeID: string): Promise<void> => {
		let running = probes.get(nodeID);
		if (!running) {
			running = pingNode(broker, nodeID, PING_TIMEOUT_MS)
				.then((answer) => {
					const { registry } = broker as unknown as Internals;
					if (answer !== false || !registry.nodes.get(nodeID)?.available) return;
					broker.logger.warn(
						`node ${nodeID} did not answer a ping within ${PING_TIMEOUT_MS} ms: treating it as gone (its pending calls fail, replicas take over)`,
					);
					registry.nodes.disconnected(nodeID, true);
				})
				.catch(() => {})
				.finally(() => probes.delete(nodeID));
			probes.set(nodeID, running);
		}
		return running;
	};

	return {
		name: "NodeLoss",
		created(b: ServiceBroker) {
			broker = b;
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
				return pending.finally(() => {
					settled = true;
					clearTimeout(timer);
				});
			};
		},
	} as Middleware;
}
