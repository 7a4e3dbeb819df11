// The Marathon app of one job's worker. Its definition is readable by anyone with read access
// to Marathon's API, so it holds no token: the worker's assignment (token included) is fetched
// once by the Mesos fetcher from a one-time URL the hatchery serves (`fetch`), into the task's
// sandbox, and the app's command feeds that file to the worker's stdin after removing it — the
// token is then on the worker's stdin only, never in its environment, arguments or a file a
// step can read (the sandbox hides the task's sandbox directory too). Labels link the app to
// its hatchery (a restarted hatchery of the same name finds and adopts it) and to its job.

import { createHash } from "node:crypto";
import type { MarathonSettings } from "../../../config/marathon.ts";
import type { AppDefinition } from "../../marathon/types.ts";
import type { WorkerAssignment } from "../contract.ts";

export const LABEL_HATCHERY = "CDS_HATCHERY";
export const LABEL_JOB = "CDS_JOB";
export const LABEL_RUN = "CDS_RUN";
export const LABEL_MANAGED_BY = "CDS_MANAGED_BY";
/** The file the fetcher writes in the task's sandbox. */
export const ASSIGNMENT_FILE = "assignment";
/** A worker app is never relaunched in earnest: its one assignment URL works once. */
const NO_RELAUNCH_SECONDS = 3600;

/** A Marathon path segment standing for `text` (lowercase, digits, '-'). */
export function segment(text: string): string {
	const clean = text
		.toLowerCase()
		.replace(/[^a-z0-9-]/g, "-")
		.replace(/-+/g, "-")
		.replace(/^-+|-+$/g, "")
		.slice(0, 40);
	if (clean === text && clean.length > 0) return clean;
	const hash = createHash("sha256").update(text).digest("hex").slice(0, 8);
	return clean ? `${clean}-${hash}` : `h-${hash}`;
}

/** The group of a hatchery's apps. */
export function hatcheryGroup(prefix: string, hatchery: string): string {
	return `${prefix.replace(/\/+$/, "")}/${segment(hatchery)}`;
}

/** The app id of a job's worker: unique per hatchery, job and attempt (`nonce`). */
export function appId(prefix: string, hatchery: string, jobId: string, nonce: string): string {
	const hash = createHash("sha256").update(`${hatchery}\0${jobId}\0${nonce}`).digest("hex").slice(0, 16);
	return `${hatcheryGroup(prefix, hatchery)}/w-${hash}`;
}

export function imageFor(model: string | undefined, m: MarathonSettings): string {
	if (!model) return m.defaultImage;
	return m.images[model] ?? model;
}

/** The assignment line a worker reads on stdin. */
export function assignmentLine(a: WorkerAssignment): string {
	return `${JSON.stringify({ type: "assign", apiUrl: a.apiUrl, token: a.token, jobId: a.jobId })}\n`;
}

export interface AppSpecInput {
	hatchery: string;
	assignment: WorkerAssignment;
	settings: MarathonSettings;
	id: string;
	/** The one-time URL of the assignment. */
	assignmentUrl: string;
	/** The worker's environment (workspace, sandbox plan…): never the token. */
	workerEnv: Record<string, string>;
}

export function workerApp(input: AppSpecInput): AppDefinition {
	const { assignment: a, settings: m } = input;
	const name = input.id.split("/").pop()!;
	return {
		id: input.id,
		// The group's redirection opens the fetched file as stdin, which survives both the file's
		// removal and the exec: the worker reads its assignment, no step finds it on disk.
		cmd: `{ rm -f ${ASSIGNMENT_FILE}; exec ${m.workerCommand}; } < ${ASSIGNMENT_FILE}`,
		instances: 1,
		cpus: m.cpus,
		mem: a.requirements.memoryMb ?? m.memDefaultMb,
		disk: 0,
		env: { ...input.workerEnv, CDS_WORKER_NAME: name },
		labels: {
			[LABEL_HATCHERY]: input.hatchery,
			[LABEL_JOB]: a.jobId,
			[LABEL_RUN]: a.runId,
			[LABEL_MANAGED_BY]: "cds-ts",
		},
		container: { type: m.containerType, docker: { image: imageFor(a.requirements.model, m) } },
		fetch: [{ uri: input.assignmentUrl, extract: false, executable: false, cache: false }],
		...(m.constraints.length > 0 ? { constraints: m.constraints } : {}),
		backoffSeconds: NO_RELAUNCH_SECONDS,
		maxLaunchDelaySeconds: NO_RELAUNCH_SECONDS,
		taskKillGracePeriodSeconds: 5,
	};
}
