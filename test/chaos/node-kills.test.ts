// kill -9 of each node of a three-node cluster mid-run, then its restart: the gateway (A: api,auth),
// the definitions (B: project,workflow,repository,template,report) and the engine (C: run,hatchery,hook).
// Each time a run whose step succeeds ends Success and one whose step fails ends Fail, with every
// line the steps printed, each step started once, and clients answered 2xx or 503 throughout.

import { describe, test } from "node:test";
import { SCENARIO, underChaos } from "./support/scenario.ts";
import { chaosSkipReason } from "./support/servers.ts";
import { chaosSuite } from "./support/suite.ts";

const skip = chaosSkipReason();
/** How long a killed node stays down before it is started again. */
const DOWN_MS = 2000;

describe("chaos: kill -9 of each node mid-run, then restart", { skip }, () => {
	const suite = chaosSuite();

	test("the engine node (run, hatchery, hook) is killed while steps print", SCENARIO, async (t) => {
		await underChaos(t, suite.cluster, () => suite.cluster.crashAndRestart("C", DOWN_MS));
	});

	test("the definitions node (project, workflow, …) is killed while steps print", SCENARIO, async (t) => {
		await underChaos(t, suite.cluster, () => suite.cluster.crashAndRestart("B", DOWN_MS));
	});

	test("the gateway node (api, auth) is killed while steps print", SCENARIO, async (t) => {
		await underChaos(t, suite.cluster, () => suite.cluster.crashAndRestart("A", DOWN_MS));
	});
});
