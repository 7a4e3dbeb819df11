// kill -9 of each node of a three-node cluster mid-run, then its restart: the gateway (A: api,auth),
// the definitions (B: project,workflow,repository,template,report) and the engine (C: run,hatchery,hook).
// Each time a run whose step succeeds ends Success and one whose step fails ends Fail, with every
// line the steps printed, each step started once, and clients answered 2xx or 503 throughout.

import { after, before, describe, test } from "node:test";
import { ChaosCluster, THREE_NODES } from "./support/cluster.ts";
import { SCENARIO, underChaos } from "./support/scenario.ts";
import { chaosSkipReason, type ChaosServers, startChaosServers } from "./support/servers.ts";
import { importPlans, KO, OK } from "./support/workload.ts";

const skip = chaosSkipReason();
/** How long a killed node stays down before it is started again. */
const DOWN_MS = 2000;

describe("chaos: kill -9 of each node mid-run, then restart", { skip }, () => {
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

	test("the engine node (run, hatchery, hook) is killed while steps print", SCENARIO, async (t) => {
		await underChaos(t, cluster, () => cluster.crashAndRestart("C", DOWN_MS));
	});

	test("the definitions node (project, workflow, …) is killed while steps print", SCENARIO, async (t) => {
		await underChaos(t, cluster, () => cluster.crashAndRestart("B", DOWN_MS));
	});

	test("the gateway node (api, auth) is killed while steps print", SCENARIO, async (t) => {
		await underChaos(t, cluster, () => cluster.crashAndRestart("A", DOWN_MS));
	});
});
