// What every driver of remote workers (Kubernetes pods, Marathon apps, Nova servers, Mesos
// tasks) keeps of them the same way: how many run or start against the hatchery's limits, the
// handles it vouches for, telling the hatchery once that a worker ended, and judging a live job
// whose worker the cluster no longer shows. Each driver keeps its own table of workers (their
// cluster names and states differ); this book only reads the fields they share.

import type { HatcheryCapacity, WorkerHandle } from "./contract.ts";

export interface BookedWorker {
	name: string;
	jobId: string | null;
	startedAt: number;
	state: WorkerHandle["state"];
	adopted?: boolean;
	/** Its end was told to the hatchery (once): it no longer counts. */
	reported?: boolean;
}

export type ExitListener = (handle: WorkerHandle, code: number | null) => void;

export class WorkerBook {
	private readonly listeners: ExitListener[] = [];
	/** Live jobs without a worker at the last judgement: failed when still so at the next. */
	private missing = new Set<string>();
	private readonly limits: { maxWorkers: number; maxProvisioning: number };

	constructor(limits: { maxWorkers: number; maxProvisioning: number }) {
		this.limits = limits;
	}

	/** `starting`: workers asked of the cluster that it does not show yet. */
	capacity(workers: Iterable<BookedWorker>, starting = 0): HatcheryCapacity {
		let running = 0;
		let provisioning = starting;
		for (const w of workers) {
			if (w.reported) continue;
			if (w.state === "running") running++;
			else provisioning++;
		}
		return { max: this.limits.maxWorkers, running, provisioning, idle: 0 };
	}

	freeSlots(workers: Iterable<BookedWorker>, starting = 0): number {
		const c = this.capacity(workers, starting);
		return Math.max(
			0,
			Math.min(
				this.limits.maxWorkers - c.running - c.provisioning,
				this.limits.maxProvisioning - c.provisioning,
			),
		);
	}

	handles(workers: Iterable<BookedWorker>): WorkerHandle[] {
		return [...workers]
			.filter((w) => !w.reported)
			.map(({ name, jobId, startedAt, state, adopted }) => ({ name, jobId, startedAt, state, adopted }));
	}

	onExit(listener: ExitListener): void {
		this.listeners.push(listener);
	}

	/**
	 * Tells the hatchery that a worker ended, once (false when it was told already). A worker the
	 * driver ended on purpose (`deliberate`: its job was over, or it was killed) ends without a
	 * failure, whatever the cluster says of it.
	 */
	end(w: BookedWorker, code: number | null, failure: WorkerHandle["failure"], deliberate: boolean): boolean {
		if (w.reported) return false;
		w.reported = true;
		w.state = "exited";
		this.tell(
			{
				name: w.name,
				jobId: w.jobId,
				startedAt: w.startedAt,
				state: "exited",
				adopted: w.adopted,
				failure: deliberate ? undefined : failure,
			},
			code,
		);
		return true;
	}

	/**
	 * A live job of this hatchery without a worker at two judgements in a row (reconciles): its
	 * worker vanished while no instance watched (a deletion missed across a restart). Not at one:
	 * a worker being created may not be listed yet. Such a job fails with `reason`.
	 */
	judgeMissing(
		liveJobs: readonly string[],
		withWorker: ReadonlySet<string>,
		lost: (jobId: string) => { name: string; reason: string },
	): void {
		const missing = new Set(liveJobs.filter((j) => !withWorker.has(j)));
		for (const jobId of missing) {
			if (!this.missing.has(jobId)) continue;
			const { name, reason } = lost(jobId);
			this.lost(jobId, name, reason);
		}
		this.missing = missing;
	}

	/** Fails a live job whose worker (`name`) is gone without the book having seen it end. */
	lost(jobId: string, name: string, reason: string): void {
		this.tell(
			{ name, jobId, startedAt: Date.now(), state: "exited", failure: { reason, started: true } },
			null,
		);
	}

	private tell(handle: WorkerHandle, code: number | null): void {
		for (const l of this.listeners) l(handle, code);
	}
}
