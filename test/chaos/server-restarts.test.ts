// The cluster's servers restarted mid-run: NATS (with JetStream) and the MongoDB-wire server
// (FerretDB; on PostgreSQL in CI), each killed -9 and started again on the same port with the
// same files. Nodes keep running; the runs end in their true state with every line.

import { after, before, describe, test } from "node:test";
import { ChaosCluster, THREE_NODES } from "./support/cluster.ts";
import { SCENARIO, underChaos } from "./support/scenario.ts";
import { chaosSkipReason, type ChaosServers, startChaosServers } from "./support/servers.ts";
import { importPlans, KO, OK } from "./support/workload.ts";

const skip = chaosSkipReason();
const DOWN_MS = 2000;

describe("chaos: NATS and the store server restarted mid-run", { skip }, () => {
	let servers: ChaosServers;
	let cluster: ChaosCluster;

	before(async () => {
		servers = await startChaosServers();
		cluster = await ChaosCluster.start(servers, THREE_NODES);
		await importPlans(cluster, [OK, KO]);
	});

	after(async () => {
		await cluster?.stop();
		await servers?.stop();
	});

	test("NATS is killed and restarted while steps print", SCENARIO, async (t) => {
		await underChaos(t, cluster, () => servers.nats.restart(DOWN_MS));
	});

	test("FerretDB is killed and restarted while steps print", SCENARIO, async (t) => {
		t.diagnostic(`FerretDB stores into ${servers.backend}`);
		await underChaos(t, cluster, () => servers.ferretdb.restart(DOWN_MS));
	});
});
