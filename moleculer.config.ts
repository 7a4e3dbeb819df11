// Broker options for a CDS-TS node, derived from the environment configuration.
// With NATS_URL the node joins a cluster over NATS; without it every service runs in
// this one process and calls stay local.

import type { BrokerOptions } from "moleculer";
import type { Config } from "./config/index.ts";
import { MetricsMiddleware } from "./mixins/metrics.middleware.ts";
import { NodeLossMiddleware } from "./mixins/node-loss.middleware.ts";
import { PermissionMiddleware } from "./mixins/permission.middleware.ts";
import { StoreErrorsMiddleware } from "./mixins/store-errors.middleware.ts";
import { isNodeLossError } from "./src/ops/node-loss.ts";
import { natsClientOptions } from "./src/ops/nats-options.ts";

export function brokerOptions(config: Config): BrokerOptions {
	return {
		namespace: config.namespace,
		nodeID: config.nodeId,
		transporter: config.natsUrl
			? {
					type: "NATS",
					// `servers`, not `url`: the transporter would take credentials from a URL as plain options.
					options: { ...natsClientOptions(config.natsUrl, config.natsCredentials), maxReconnectAttempts: -1 },
				}
			: undefined,
		logger: {
			type: "Console",
			options: {
				level: config.logLevel,
				formatter: "short",
				colors: process.stdout.isTTY,
				moduleColors: false,
			},
		},
		logLevel: config.logLevel,
		serializer: "JSON",
		// Moleculer has no default: without it a call to a dead node would wait forever.
		requestTimeout: config.requestTimeoutMs,
		// Off by default: only idempotent actions turn it on (mixins/node-loss.middleware.ts), and only
		// a node loss is worth a replay — the next attempt goes to another replica.
		retryPolicy: {
			enabled: false,
			retries: 3,
			delay: 200,
			maxDelay: 1_000,
			factor: 2,
			check: isNodeLossError,
		},
		// stopDelay lets the other nodes learn, over the transporter, that this one is leaving before
		// its services stop; a node without one has nobody to tell, and its stop (each `cds run`'s
		// end) would idle for Moleculer's 100 ms default.
		registry: { strategy: "RoundRobin", preferLocal: true, stopDelay: config.natsUrl ? 100 : 0 },
		circuitBreaker: { enabled: false },
		heartbeatInterval: 5,
		// A service waiting for another (the hatchery for `run`) asks the local registry again
		// after this many ms: Moleculer's 1 s default made every node start (and `cds run`) a
		// second slower, and the check is a lookup in memory.
		dependencyInterval: 50,
		heartbeatTimeout: 15,
		// Parameters are validated by the permission middleware, after the access check.
		validator: false,
		errorHandler(err, info) {
			// Errors still reach callers; this only keeps the node's log readable.
			this.logger.debug(
				"action error",
				(err as Error).message,
				(info as { action?: { name?: string } })?.action?.name,
			);
			throw err;
		},
		middlewares: [NodeLossMiddleware(), PermissionMiddleware(), StoreErrorsMiddleware(), MetricsMiddleware()],
		replOptions: { customCommands: [] },
	};
}
