// The local driver passes the hatchery driver conformance suite (test/conformance/hatchery-driver.ts):
// workers are processes of this host; the shared directory is shown to the sandboxed steps
// with CDS_SANDBOX_SHARE.

import path from "node:path";
import { describeDriverConformance } from "../conformance/hatchery-driver.ts";

describeDriverConformance("local", () => ({
	hatcheryEnv: (name, work) => ({
		CDS_WORKER_BASEDIR: path.join(work, "workers", name),
		CDS_SANDBOX_SHARE: path.join(work, "shared"),
	}),
	sharedDir: (work) => path.join(work, "shared"),
	async killWorker(handle) {
		if (handle.pid === undefined) throw new Error(`worker ${handle.name} has no pid`);
		process.kill(handle.pid, "SIGKILL");
	},
}));
