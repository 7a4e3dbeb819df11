// What every hatchery driver offers (local processes today; Kubernetes, Marathon, Mesos and
// OpenStack next). The hatchery service owns the loop — reconcile with the jobs the run
// service still counts as live, ask it for jobs this driver can serve, book one, hand the
// assignment to the driver — so a new kind of hatchery is a new driver (registered in
// ./drivers/index.ts) and nothing in the run service changes. Every query is asynchronous:
// a remote driver answers from its cluster's API.

import type { HatcheryCapabilities } from "../engine/requirements.ts";
import type { JobRequirements } from "./requirements.ts";

export type { HatcheryCapabilities } from "../engine/requirements.ts";
export type { JobRequirements } from "./requirements.ts";

export interface WorkerAssignment {
	jobId: string;
	runId: string;
	/**
	 * The job-scoped token: the only credential the worker gets. A driver hands it to the worker
	 * over a private channel (the local driver: the worker's stdin), never in the worker's
	 * environment, arguments or a file a step could read.
	 */
	token: string;
	apiUrl: string;
	timeoutSeconds: number;
	/** What the job asks of its worker: a driver picks the image, memory, services… from it. */
	requirements: JobRequirements;
	/**
	 * The node's persistent workspace, leased to this job until it ends. The driver makes it
	 * available on the worker's host and adds `workspace: {name, path}` to the assign line; the
	 * worker shows it to steps at `$CDS_PERSISTENT_WORKSPACE`.
	 */
	workspace?: PersistentWorkspace;
}

/** A persistent workspace (a node's `persistent_workspace:`) as a driver receives it. */
export interface PersistentWorkspace {
	/** Stable per (project, workflow, node, branch, name); [a-z0-9-], at most 63 characters. */
	id: string;
	name: string;
	sizeBytes: number;
	/** The lease this job holds (its booking's owner). */
	leaseId: string;
}

export interface WorkerHandle {
	name: string;
	jobId: string | null;
	startedAt: number;
	state: "provisioning" | "idle" | "running" | "exited";
	/** OS process id, for drivers whose workers are local processes. */
	pid?: number;
	/** True for a worker a previous instance of this hatchery started, taken over at reconcile. */
	adopted?: boolean;
	/**
	 * Set on an exit when the driver knows the job cannot end well and why (its pod was evicted,
	 * its image cannot be pulled): the hatchery fails the job with it at once instead of waiting
	 * for the heartbeat timeout. `started`: the worker had started (the job's worker is "lost").
	 */
	failure?: { reason: string; started: boolean };
	/**
	 * Set by a driver whose word that this worker runs is no proof that it lives (a pod's phase
	 * is written by its node's kubelet, which dies with the node): the hatchery does not vouch
	 * for it, and its job's own heartbeats decide whether its worker is lost.
	 */
	unconfirmed?: boolean;
}

export interface HatcheryCapacity {
	max: number;
	running: number;
	provisioning: number;
	idle: number;
}

export interface ReconcileResult {
	/** Workers of live jobs this instance now tracks although it did not start them. */
	adopted: number;
	/** Workers killed because their job is over (or they served none). */
	killed: number;
}

export interface HatcheryDriver {
	readonly kind: string;
	capabilities(): Promise<HatcheryCapabilities>;
	capacity(): Promise<HatcheryCapacity>;
	/** How many new assignments the driver can take right now. */
	freeSlots(): Promise<number>;
	/** Starts (or hands to an idle warm worker) the worker for one booked job. */
	spawn(assignment: WorkerAssignment): Promise<WorkerHandle>;
	/**
	 * The workers as they are now. The hatchery vouches with it: a worker listed `running` on a
	 * job keeps that job from being judged "worker lost" even when its own heartbeats cannot
	 * reach the API, so only a worker that really lives may be listed so (else `unconfirmed`).
	 */
	list(): Promise<WorkerHandle[]>;
	/** Stops the worker of a job (each driver decides how; `graceMs` is what it may wait before forcing). */
	kill(jobId: string, graceMs?: number): Promise<void>;
	/**
	 * Brings the driver's workers in line with the jobs the run service counts as live for this
	 * hatchery: workers of live jobs are kept — adopted when a previous instance of this
	 * hatchery (same name) started them — and workers whose job is over are killed. Called at
	 * start and periodically, so a worker whose end was missed (a lost event) does not linger.
	 */
	reconcile(liveJobs: readonly string[]): Promise<ReconcileResult>;
	/** Optional upkeep called at every tick of the hatchery loop (e.g. keep a warm pool filled). */
	maintain?(): Promise<void>;
	/**
	 * Deletes what the driver keeps of a persistent workspace (a directory, a volume): called by
	 * the hatchery for workspaces of deleted workflows, never while one is leased. Idempotent.
	 */
	deleteWorkspace?(id: string): Promise<void>;
	/** Called when a worker ends or finishes a job, with the job it served. */
	onExit(listener: (handle: WorkerHandle, code: number | null) => void): void;
	/**
	 * The hatchery stops. Idle workers are ended; workers running a job are stopped, or with
	 * `leaveRunning` left to finish it and kept where a restarted driver of the same name
	 * adopts them (as after a crash).
	 */
	close(options?: { leaveRunning?: boolean }): Promise<void>;
}
