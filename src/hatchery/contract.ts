// What every hatchery driver offers (local processes today; Kubernetes, Marathon, Mesos and
// OpenStack next). The hatchery service owns the loop — ask the run service for jobs this
// driver can serve, book one, hand the assignment to the driver — so a new kind of hatchery
// is a new driver and nothing in the run service changes.

import type { HatcheryCapabilities } from "../engine/requirements.ts";

export interface WorkerAssignment {
	jobId: string;
	runId: string;
	/** The job-scoped token: the only credential the worker gets. */
	token: string;
	apiUrl: string;
	timeoutSeconds: number;
}

export interface WorkerHandle {
	name: string;
	jobId: string | null;
	startedAt: number;
	state: "provisioning" | "idle" | "running" | "exited";
	/** OS process id, for drivers whose workers are local processes. */
	pid?: number;
}

export interface HatcheryCapacity {
	max: number;
	running: number;
	provisioning: number;
	idle: number;
}

export interface HatcheryDriver {
	readonly kind: string;
	capabilities(): HatcheryCapabilities;
	capacity(): HatcheryCapacity;
	/** How many new assignments the driver can take right now. */
	freeSlots(): number;
	/** Starts (or hands to an idle warm worker) the worker for one booked job. */
	spawn(assignment: WorkerAssignment): Promise<WorkerHandle>;
	list(): WorkerHandle[];
	/** Stops the worker of a job: SIGTERM, then SIGKILL after the grace period. */
	kill(jobId: string, graceMs?: number): Promise<void>;
	/** Kills workers a previous instance of this hatchery left behind. */
	killOrphans(liveJobs: readonly string[]): Promise<number>;
	/** Called when a worker process ends, with the job it served. */
	onExit(listener: (handle: WorkerHandle, code: number | null) => void): void;
	close(): Promise<void>;
}
