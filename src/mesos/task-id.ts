// A worker task's id says whose it is and which job it serves, so that a restarted hatchery
// learns both from the master's answer to an implicit reconciliation (a status carries the
// task id, not the task's labels): `cds.<hatchery>.<job id, base64url>.<attempt>`.

import { randomBytes } from "node:crypto";

const PREFIX = "cds";

export function taskIdFor(hatchery: string, jobId: string): string {
	return [
		PREFIX,
		Buffer.from(hatchery).toString("base64url"),
		Buffer.from(jobId).toString("base64url"),
		randomBytes(4).toString("hex"),
	].join(".");
}

/** The job of one of `hatchery`'s tasks; undefined for any other task. */
export function jobOfTask(hatchery: string, taskId: string): string | undefined {
	const parts = taskId.split(".");
	if (parts.length !== 4 || parts[0] !== PREFIX) return undefined;
	if (Buffer.from(parts[1]!, "base64url").toString() !== hatchery) return undefined;
	const job = Buffer.from(parts[2]!, "base64url").toString();
	return job || undefined;
}
