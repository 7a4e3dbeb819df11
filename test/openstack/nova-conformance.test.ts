// The Nova driver passes the hatchery driver conformance suite against the OpenStack stand-in
// (test/standins/openstack): each server's user-data boot script runs as a local process that
// starts the real worker with its assignment on stdin. A worker killed hard is its "VM"'s
// processes killed with -9.

import path from "node:path";
import { after } from "node:test";
import { describeDriverConformance } from "../conformance/hatchery-driver.ts";
import type { OpenStackStandin } from "../standins/openstack/cloud.ts";
import { startStandin, WORKER_COMMAND } from "./nova-helpers.ts";

let cloud: OpenStackStandin | undefined;
after(async () => cloud?.stop());

describeDriverConformance("openstack", async () => {
	cloud = await startStandin();
	return {
		hatcheryEnv: (name, work) => ({
			...cloud!.env(),
			CDS_OPENSTACK_WORKER_COMMAND: WORKER_COMMAND,
			CDS_OPENSTACK_IMAGES: `${name}=cds-worker`,
			CDS_OPENSTACK_POLL_MS: "200",
			CDS_OPENSTACK_WORKSPACE_MOUNT: path.join(work, "mnt"),
			CDS_WORKER_BASEDIR: path.join(work, "workers", name),
			CDS_SANDBOX_SHARE: path.join(work, "shared"),
		}),
		sharedDir: (work) => path.join(work, "shared"),
		async killWorker(handle) {
			const pid = cloud!.pidOf(handle.name);
			if (pid === undefined) throw new Error(`server ${handle.name} runs no process`);
			process.kill(-pid, "SIGKILL");
		},
	};
});
