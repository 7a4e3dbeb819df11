// The local driver passes the persistent workspace conformance suite
// (test/conformance/persistent-workspace.ts): workspaces are directories of this host.

import path from "node:path";
import { describeWorkspaceConformance } from "../conformance/persistent-workspace.ts";

describeWorkspaceConformance("local", () => ({
	hatcheryEnv: (name, work) => ({ CDS_WORKER_BASEDIR: path.join(work, "workers", name) }),
}));
