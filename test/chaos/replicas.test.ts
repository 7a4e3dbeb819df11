// The engine node with a replica: C (run, hatchery, hook) and C2 (run, hook) share the run
// service, and C alone starts workers. SIGTERM drains C while its workers run steps; kill -9
// leaves C down while they finish. Either way the replica takes the workers' reports, and the
// runs end in their true state with every line.

import { after, before, describe, test } from "node:test";
import { ChaosCluster, THREE_NODES } from "./support/cluster.ts";
import { SCENARIO, underChaos } from "./support/scenario.ts";
import { chaosSkipReason, type ChaosServers, startChaosServers } from "./support/servers.ts";
import { importPlans, KO, OK } from "./support/workload.ts";

const skip = chaosSkipReason();

describe("chaos: the engine node beside a replica", { skip }, () => {
	let servers: ChaosServers;
	let cluster: ChaosCluster;

	before(async () => {
		servers = await startChaosServers();
		cluster = await ChaosCluster.start(servers, THREE_NODES);
		await cluster.add({
			name: "C2",
			services: "run,hook",
			readyRoute: "/api/v1/projects/CHAOS/workflows/OK/runs",
		});
		await importPlans(cluster, [OK, KO]);
	});

	after(async () => {
		await cluster?.stop();
		await servers?.stop();
	});

	test("SIGTERM drains the node running the workers; it is started again", SCENARIO, async (t) => {
		await underChaos(t, cluster, async () => {
			await cluster.terminate("C");
			await cluster.start("C");
		});
	});

	test("kill -9 of the node running the workers: the runs finish while it is down", SCENARIO, async (t) => {
		try {
			await underChaos(t, cluster, () => cluster.kill9("C"));
		} finally {
			await cluster.start("C");
		}
	});
});
