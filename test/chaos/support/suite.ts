// The hooks every chaos file shares: its own servers, the three-node cluster on them with the
// OK and KO plans imported (plus what `more` adds), all stopped after the file's scenarios.

import { after, before } from "node:test";
import { ChaosCluster, THREE_NODES } from "./cluster.ts";
import { type ChaosServers, startChaosServers } from "./servers.ts";
import { importPlans, KO, OK } from "./workload.ts";

export interface ChaosSuite {
	readonly servers: ChaosServers;
	readonly cluster: ChaosCluster;
}

/** Call inside a `describe`: the returned object's fields are set once `before` has run. */
export function chaosSuite(more?: (cluster: ChaosCluster) => Promise<void>): ChaosSuite {
	let servers: ChaosServers | undefined;
	let cluster: ChaosCluster | undefined;
	before(async () => {
		servers = await startChaosServers();
		cluster = await ChaosCluster.start(servers, THREE_NODES);
		await more?.(cluster);
		await importPlans(cluster, [OK, KO]);
	});
	after(async () => {
		await cluster?.stop();
		await servers?.stop();
	});
	return {
		get servers() {
			return servers!;
		},
		get cluster() {
			return cluster!;
		},
	};
}
