// `$metrics`, internal like Moleculer's `$node`: hosted on every node (server.ts) whatever
// SERVICES says, it answers the node's own metrics to the gateway, which merges every node's
// answer into one /metrics (services/api.service.ts). No route of its own: a node is scraped
// through a gateway.

import type { Service, ServiceSchema } from "moleculer";
import { metricsOf } from "../mixins/metrics.middleware.ts";
import type { FamilySnapshot } from "../src/ops/metrics.ts";

export interface NodeMetricsAnswer {
	node: string;
	families: FamilySnapshot[];
}

export default function MetricsService(): ServiceSchema {
	return {
		name: "$metrics",
		actions: {
			node: {
				visibility: "public",
				params: {},
				async handler(this: Service): Promise<NodeMetricsAnswer> {
					const node = metricsOf(this.broker);
					if (!node) return { node: this.broker.nodeID, families: [] };
					// The jobs ended since the last read are measured now, so a scrape sees them.
					await node
						.flush()
						.catch((e: Error) => this.logger.warn(`metrics: job timings not read: ${e.message}`));
					return { node: this.broker.nodeID, families: node.metrics.snapshot() };
				},
			},
		},
	};
}
