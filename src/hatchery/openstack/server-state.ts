// What a Nova server's status means for its worker. BUILD: still booting. ACTIVE (and the
// transient states of a live server): the worker runs. SHUTOFF: the boot script powered the
// server off once the worker ended — the job is over (its result was reported by the worker).
// ERROR: the build or the host failed; Nova's `fault.message` says why, and the job fails with it.

import type { NovaServer } from "./nova.ts";

export type ServerState =
	| { kind: "provisioning" }
	| { kind: "running" }
	| { kind: "ended" }
	| { kind: "failed"; reason: string };

const LIVE = new Set([
	"ACTIVE",
	"REBOOT",
	"HARD_REBOOT",
	"PASSWORD",
	"MIGRATING",
	"RESIZE",
	"VERIFY_RESIZE",
	"REVERT_RESIZE",
	"PAUSED",
	"SUSPENDED",
	"RESCUE",
]);
const ENDED = new Set(["SHUTOFF", "STOPPED", "DELETED", "SOFT_DELETED", "SHELVED", "SHELVED_OFFLOADED"]);

export function serverState(s: Pick<NovaServer, "status" | "fault" | "name">): ServerState {
	const status = s.status.toUpperCase();
	if (status === "BUILD") return { kind: "provisioning" };
	if (status === "ERROR")
		return {
			kind: "failed",
			reason: `server ${s.name} is in ERROR: ${s.fault?.message ?? "no fault given"}`,
		};
	if (ENDED.has(status)) return { kind: "ended" };
	if (LIVE.has(status)) return { kind: "running" };
	// UNKNOWN and statuses of later microversions: keep the worker as live, Nova will say more.
	return { kind: "running" };
}
