// The cluster's servers restarted mid-run: NATS (with JetStream) and the MongoDB-wire server
// (FerretDB; on PostgreSQL in CI), each killed -9 and started again on the same port with the
// same files. Nodes keep running; the runs end in their true state with every line.

import { describe, test } from "node:test";
import { SCENARIO, underChaos } from "./support/scenario.ts";
import { chaosSkipReason } from "./support/servers.ts";
import { chaosSuite } from "./support/suite.ts";

const skip = chaosSkipReason();
const DOWN_MS = 2000;

describe("chaos: NATS and the store server restarted mid-run", { skip }, () => {
	const suite = chaosSuite();

	test("NATS is killed and restarted while steps print", SCENARIO, async (t) => {
		await underChaos(t, suite.cluster, () => suite.servers.nats.restart(DOWN_MS));
	});

	test("FerretDB is killed and restarted while steps print", SCENARIO, async (t) => {
		t.diagnostic(`FerretDB stores into ${suite.servers.backend}`);
		await underChaos(t, suite.cluster, () => suite.servers.ferretdb.restart(DOWN_MS));
	});
});
