// The Marathon driver passes the hatchery driver conformance suite against the Marathon
// stand-in (test/standins/marathon), which runs each app's task as a local process of this
// test: a worker killed hard is its task's process killed with -9, as a crashed container.

import path from "node:path";
import { after } from "node:test";
import { describeDriverConformance } from "../conformance/hatchery-driver.ts";
import { type Marathon, startMarathon, WORKER_COMMAND } from "./marathon-helpers.ts";

let marathon: Marathon | undefined;
after(async () => marathon?.stop());

describeDriverConformance("marathon", async () => {
	marathon = await startMarathon();
	return {
		hatcheryEnv: (name, work) => ({
			CDS_MARATHON_URL: marathon!.url,
			CDS_MARATHON_WORKER_COMMAND: WORKER_COMMAND,
			CDS_MARATHON_POLL_MS: "200",
			CDS_MARATHON_ASSIGNMENT_LISTEN: "127.0.0.1:0",
			CDS_WORKER_BASEDIR: path.join(work, "workers", name),
			CDS_SANDBOX_SHARE: path.join(work, "shared"),
		}),
		sharedDir: (work) => path.join(work, "shared"),
		async killWorker(handle) {
			const pids = marathon!.apps.pidsOf(handle.name);
			if (pids.length === 0) throw new Error(`app ${handle.name} runs no task`);
			for (const pid of pids) process.kill(pid, "SIGKILL");
		},
	};
});
