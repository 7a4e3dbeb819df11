// The engine node with a replica: C (run, hatchery, hook) and C2 (run, hook) share the run
// service, and C alone starts workers. SIGTERM drains C while its workers run steps; kill -9
// leaves C down while they finish. Either way the replica takes the workers' reports, and the
// runs end in their true state with every line.

import { describe, test } from "node:test";
import { SCENARIO, underChaos } from "./support/scenario.ts";
import { chaosSkipReason } from "./support/servers.ts";
import { chaosSuite } from "./support/suite.ts";

const skip = chaosSkipReason();

describe("chaos: the engine node beside a replica", { skip }, () => {
	const suite = chaosSuite((cluster) =>
		cluster.add({
			name: "C2",
			services: "run,hook",
			readyRoute: "/api/v1/projects/CHAOS/workflows/OK/runs",
		}),
	);

	test("SIGTERM drains the node running the workers; it is started again", SCENARIO, async (t) => {
		await underChaos(t, suite.cluster, async () => {
			await suite.cluster.terminate("C");
			await suite.cluster.start("C");
		});
	});

	test("kill -9 of the node running the workers: the runs finish while it is down", SCENARIO, async (t) => {
		try {
			await underChaos(t, suite.cluster, () => suite.cluster.kill9("C"));
		} finally {
			await suite.cluster.start("C");
		}
	});
});
