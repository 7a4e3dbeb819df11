// The run service's stored documents and the results of its internal actions (the hatchery
// service calls run.queueFor, run.book, run.unbook and run.liveJobs). Types only: the run
// engine (src/engine), the run and worker services and their callers share them.

import type { HatcheryCapabilities } from "../src/engine/requirements.ts";
import type { RunProgress } from "../src/engine/advance.ts";
import type { FinalResult } from "../src/run/state.ts";
import type { Doc } from "../src/store/types.ts";
import type { Job, Requirement } from "../src/workflow/model.ts";
import type { PersistentWorkspace } from "../src/hatchery/contract.ts";

export type JobStatus = "Waiting" | "Booked" | "Building" | "Success" | "Fail" | "Stopped";

export interface RunDoc extends Doc {
	project: string;
	workflow: string;
	number: number;
	/** 0 for a run, 1, 2… for its restarts (CDS's sub-runs: same number). */
	sub: number;
	/** On the run itself (sub 0): its latest restart, so reads find it by _id. */
	latestSub?: number;
	branch: string;
	commit: string | null;
	definitionId: string;
	definitionVersion: number;
	/** As-code workflows: the linked repository, to report commit statuses to. */
	repositoryId?: string | null;
	/** The idempotency id it was created under (a hook event's step), if any. */
	requestId?: string;
	status: string;
	progress: RunProgress;
	vars: Record<string, string>;
	/** `worker export` values, as cds.build.NAME for later jobs and nodes. */
	build: Record<string, string>;
	/** Names of `build` values stored sealed because they hold a secret (absent: none). */
	sealedBuild?: string[];
	tags: Record<string, string>;
	triggeredBy: string;
	created: string;
	updated: string;
	ended: string | null;
	/** Epoch ms, for concurrency accounting and the one_at_a_time queue. */
	createdMs: number;
}

export interface JobDoc extends Doc {
	runId: string;
	project: string;
	workflow: string;
	runNumber: number;
	node: string;
	pipeline: string;
	jobIndex: number;
	attempt: number;
	stage: string;
	name: string;
	job: Job;
	requirements: Requirement[];
	status: JobStatus;
	queuedAt: number;
	hatchery: string | null;
	worker: string | null;
	bookedAt: number | null;
	startedAt: number | null;
	endedAt: number | null;
	reason: string | null;
	timeoutSeconds: number;
	/** The node's persistent workspace (src/engine/workspaces.ts), when it declares one. */
	workspace?: { id: string; name: string; sizeBytes: number; branch: string };
}

/** What a job finally was, inserted once: the insert decides who finalises (worker or reaper). */
export interface JobResultDoc extends Doc {
	status: FinalResult;
	reason: string | null;
	steps: unknown[];
	at: number;
}

/** A job waiting for a hatchery (removed when booked or ended). */
export interface QueueDoc extends Doc {
	project: string;
	workflow: string;
	node: string;
	runNumber: number;
	oneAtATime: boolean;
	queuedAt: number;
	requirements: Requirement[];
	/** The job's persistent workspace: it waits while another job holds its lease. */
	workspace?: { id: string; name: string };
}

/** The concurrency slots a booked job holds (claim keys), see src/engine/job-slots.ts. */
export interface HeldSlots {
	project: string;
	workflow: string;
}

/** `run.jobToken`: what a job's booking holds of its worker's token, for auth.resolve. */
export interface JobTokenBooking {
	id: string;
	hash: string;
	project: string;
	run: string;
	/** Epoch ms: the booking's time plus the job's timeout and an hour, as a token document's. */
	expiresAt: number;
}

/** A booked or running job: what the reaper and the concurrency limits look at. */
export interface ActiveJobDoc extends Doc {
	project: string;
	workflow: string;
	hatchery: string;
	status: "Booked" | "Building";
	bookedAt: number;
	startedAt: number | null;
	/** Empty while the booking is being made (before the token is issued). */
	tokenId: string;
	/**
	 * The SHA-256 of the worker's token: the token is valid while this entry holds it (run.jobToken).
	 * Absent while the booking is being made, and in bookings of older versions, whose tokens are
	 * documents of the auth service.
	 */
	tokenHash?: string;
	/** The job's run (the worker's token reaches its artifacts); absent in older bookings. */
	runId?: string;
	timeoutSeconds: number;
	/** Owner of this booking's claims (booking and slots): unique per booking attempt. */
	slotOwner?: string;
	/** null while the booking is being made. */
	slots?: HeldSlots | null;
	/** The persistent workspace lease this booking takes (claimed after this entry is written). */
	workspace?: { id: string; owner: string };
}

/** A persistent workspace (src/engine/workspaces.ts); the lease itself is a Store claim. */
export interface WorkspaceDoc extends Doc {
	project: string;
	workflow: string;
	node: string;
	branch: string;
	name: string;
	sizeBytes: number;
	created: number;
	lastUsed: number;
	/** Hatcheries whose drivers keep a copy (a local directory) or know the volume. */
	hatcheries: string[];
	/** Its workflow was deleted: the hatcheries delete it, then the record goes. */
	deleted: boolean;
	/** Who holds it, for display and the sweep (the claim decides). */
	lease: { owner: string; jobId: string; runNumber: number; at: number } | null;
}

export interface HatcheryDoc extends Doc {
	capabilities: HatcheryCapabilities;
	seenAt: number;
}

export interface HeartbeatDoc extends Doc {
	at: number;
}

export interface RunCounterDoc extends Doc {
	last: number;
}

export interface BranchDeletionDoc extends Doc {
	project: string;
	workflow: string;
	branch: string;
	deletedAt: number;
}

export interface BlobRefDoc extends Doc {
	scope: string;
	tag: string;
	name: string;
	sha256: string;
	size: number;
	created: string;
}

export interface LogDoc extends Doc {
	jobId: string;
	runId: string;
	step: number;
	seq: number;
	text: string;
	at: number;
}

/** run.queueFor: ids of jobs the asking hatchery could run, in the order to try them. */
export type QueueForResult = string[];

/** run.book: the job is this hatchery's (with a token scoped to it), or not. */
export type BookResult =
	| {
			won: true;
			token: string;
			jobId: string;
			runId: string;
			timeoutSeconds: number;
			/** What the driver needs to choose where the worker runs (model/image, memory, binaries…). */
			requirements: Requirement[];
			/** The job's persistent workspace, leased to it until it ends. */
			workspace?: PersistentWorkspace;
	  }
	| { won: false; reason?: string };

/** run.unbook */
export interface UnbookResult {
	ok: boolean;
}

/** run.liveJobs: ids of the jobs booked to a hatchery that have not ended. */
export type LiveJobsResult = string[];

/** A job attempt as the API shows it (its latest attempt). */
export interface JobView {
	name: string;
	status: string;
	attempt: number;
	reason: string | null;
	id: string | null;
	startedAt: string | null;
	endedAt: string | null;
}

/** A run as the API shows it (`run.get`, `run.create`, `run.stop`…). */
export interface RunView {
	id: string;
	project: string;
	workflow: string;
	number: number;
	sub: number;
	status: string;
	branch: string;
	commit: string | null;
	definitionVersion: number;
	triggeredBy: string;
	created: string;
	updated: string;
	ended: string | null;
	tags: Record<string, string>;
	nodes: Array<{
		name: string;
		status: string;
		reason: string | null;
		startedAt: string | null;
		doneAt: string | null;
		resumedBy: string | null;
		pipeline: string | null;
		stages: Array<{ name: string; status: string; jobs: JobView[] }>;
	}>;
}

/** `run.create` parameters (the API's and the hook processor's). */
export interface CreateRunParams {
	key: string;
	name: string;
	branch?: string;
	commit?: string;
	version?: number;
	params?: Record<string, string>;
	payload?: unknown;
	/** Idempotency key: a request with the id of one that made a run answers that run. */
	requestId?: string;
}
