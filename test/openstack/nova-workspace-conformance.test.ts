// The Nova driver passes the persistent workspace conformance suite against the OpenStack
// stand-in: a node's workspace is a Cinder volume created on first use, attached to each job's
// server (the stand-in shows an attached volume as a directory under the boot script's mount
// point), detached at job end, and deleted with its workflow — so what one run writes, the next
// run on the branch reads, through real workers on the Nova driver.

import path from "node:path";
import { after } from "node:test";
import { describeWorkspaceConformance } from "../conformance/persistent-workspace.ts";
import type { OpenStackStandin } from "../standins/openstack/cloud.ts";
import { startStandin, WORKER_COMMAND } from "./nova-helpers.ts";

let cloud: OpenStackStandin | undefined;
after(async () => cloud?.stop());

describeWorkspaceConformance("openstack", async () => {
	cloud = await startStandin();
	return {
		hatcheryEnv: (name, work) => ({
			...cloud!.env(),
			CDS_OPENSTACK_WORKER_COMMAND: WORKER_COMMAND,
			CDS_OPENSTACK_IMAGES: "pws-model=cds-worker",
			CDS_OPENSTACK_POLL_MS: "200",
			CDS_OPENSTACK_WORKSPACE_MOUNT: path.join(work, "mnt"),
			CDS_WORKER_BASEDIR: path.join(work, "workers", name),
		}),
	};
});
