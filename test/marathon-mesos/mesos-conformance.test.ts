// The Mesos driver passes the hatchery driver conformance suite against the stand-in master
// (test/standins/mesos), whose agents run each task as a local process: a worker killed hard
// is its task's process group killed with -9. No call or event broke the schemas.

import assert from "node:assert/strict";
import path from "node:path";
import { after } from "node:test";
import { describeDriverConformance } from "../conformance/hatchery-driver.ts";
import type { MesosMasterStandIn } from "../standins/mesos/master.ts";
import { killTaskHard, mesosEnv, startMaster } from "./mesos-helpers.ts";

let master: MesosMasterStandIn | undefined;
after(async () => {
	if (!master) return;
	assert.deepEqual(master.violations, []);
	await master.stop();
});

describeDriverConformance("mesos", async () => {
	master = await startMaster();
	return {
		hatcheryEnv: (name, work) => mesosEnv(master!, name, work),
		sharedDir: (work) => path.join(work, "shared"),
		async killWorker(handle) {
			killTaskHard(master!, handle.name);
		},
	};
});
