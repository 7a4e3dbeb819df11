// What one CDS-TS node measures, fed by what it does: the events its services emit (run and job
// life cycle, hook intents: mixins/metrics.middleware.ts sees every emit and broadcast of the
// node), its hook sources' intake outcomes, its store operations (store-metrics.ts) and its event
// loop. The gateway adds the cluster-wide gauges read from the store (cluster-gauges.ts) and
// labels each node's samples with the node (docs/metrics.md lists them all).

import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import { ACTIVE_RUN_STATUSES } from "../engine/run-repository.ts";
import type { Collection } from "../store/types.ts";
import {
	type CounterChild,
	type Family,
	FAST_SECONDS,
	type FamilySnapshot,
	type GaugeChild,
	type HistogramChild,
	MetricsRegistry,
	SLOW_SECONDS,
} from "./metrics.ts";

/** Runs remembered as counted, so a run saved again once ended is not counted twice. */
const ENDED_RUNS_KEPT = 10_000;
/** Ended jobs waiting for their times to be read: past this, the oldest are dropped (counted). */
const PENDING_JOBS_MAX = 10_000;
/** How often the event loop is sampled (ms): the monitor's timer fires this often. */
const LOOP_RESOLUTION_MS = 20;

/** The fields of a job record (schemas/run.ts JobDoc) its timings come from. */
export interface JobTimes {
	_id: string;
	hatchery?: string | null;
	queuedAt?: number | null;
	bookedAt?: number | null;
	startedAt?: number | null;
}

export type HookOutcome = "stored" | "duplicate" | "error";

export class CdsMetrics {
	readonly registry = new MetricsRegistry();
	/** Store operation latency (labels collection, operation): handed to instrumentStore. */
	readonly storeLatency: Family<HistogramChild>;

	private readonly runsCreated: CounterChild;
	private readonly runsEnded: Family<CounterChild>;
	private readonly jobsQueued: CounterChild;
	private readonly jobsBooked: Family<CounterChild>;
	private readonly jobsEnded: Family<CounterChild>;
	private readonly queueWait: HistogramChild;
	private readonly workerStart: HistogramChild;
	private readonly jobTimesDropped: CounterChild;
	private readonly hookEvents: Family<CounterChild>;
	private readonly hookReceived: Family<CounterChild>;
	private readonly hookDeadLetters: Family<CounterChild>;
	private readonly hookIntents: Family<CounterChild>;
	private readonly loopLag: Family<GaugeChild>;
	private readonly loopLagMax: GaugeChild;

	private readonly endedRuns = new Set<string>();
	private pendingJobs: Array<{ id: string; status: string }> = [];
	private flushing: Promise<void> | undefined;
	private loop: IntervalHistogram | undefined;
	private loopWindowStart = 0;

	constructor() {
		const r = this.registry;
		this.runsCreated = r.counter("cds_runs_created_total", "Runs created (numbered) by this node").labels();
		this.runsEnded = r.counter(
			"cds_runs_ended_total",
			"Runs that reached a final status on this node, by status (Success, Fail, Stopped, Skipped…)",
			["status"],
		);
		this.jobsQueued = r.counter("cds_jobs_queued_total", "Jobs put in the queue by this node").labels();
		this.jobsBooked = r.counter("cds_jobs_booked_total", "Jobs booked by a hatchery, by hatchery", [
			"hatchery",
		]);
		this.jobsEnded = r.counter(
			"cds_jobs_ended_total",
			"Jobs ended, by the hatchery that ran them and status",
			["hatchery", "status"],
		);
		this.queueWait = r
			.histogram(
				"cds_job_queue_wait_seconds",
				"Time an ended job waited in the queue before a hatchery booked it",
				[],
				SLOW_SECONDS,
			)
			.labels();
		this.workerStart = r
			.histogram(
				"cds_worker_start_seconds",
				"Time from a job's booking to its worker's start (the worker's first call)",
				[],
				SLOW_SECONDS,
			)
			.labels();
		this.jobTimesDropped = r
			.counter(
				"cds_job_times_dropped_total",
				"Ended jobs whose queue wait and worker start were not measured (too many pending, or their record unreadable)",
			)
			.labels();
		this.hookEvents = r.counter(
			"cds_hook_events_total",
			"Events hook sources handed to the durable intake, by source (webhook, poller, scheduler…) and outcome (stored, duplicate, error)",
			["source", "outcome"],
		);
		this.hookReceived = r.counter(
			"cds_hook_received_total",
			"Events a hook source handed to emit, by source, whatever became of them (cds_hook_events_total says what)",
			["source"],
		);
		this.hookDeadLetters = r.counter(
			"cds_hook_dead_letters_total",
			"Hook events this node's processor gave up on (dead letters), by source and reason (permanent, attempts)",
			["source", "reason"],
		);
		this.hookIntents = r.counter(
			"cds_hook_intents_total",
			"Hook intents processed and published, by source and event type (push, schedule…)",
			["source", "type"],
		);
		this.storeLatency = r.histogram(
			"cds_store_operation_seconds",
			"Latency of store operations, by collection and operation",
			["collection", "operation"],
			FAST_SECONDS,
		);
		this.loopLag = r.gauge(
			"cds_event_loop_lag_seconds",
			"Event-loop delay of this node's process over the last window (10 s at least), by quantile",
			["quantile"],
		);
		this.loopLagMax = r
			.gauge("cds_event_loop_lag_max_seconds", "Largest event-loop delay over the same window")
			.labels();
		r.onCollect(() => this.collectLoopLag());
	}

	/** Starts sampling the event loop (a timer every 20 ms, no per-tick cost). */
	start(): void {
		if (this.loop) return;
		this.loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
		this.loop.enable();
		this.loopWindowStart = performance.now();
	}

	stop(): void {
		this.loop?.disable();
		this.loop = undefined;
	}

	/** An event this node emitted or broadcast (name and payload as given to the broker). */
	onEvent(name: string, payload: unknown): void {
		switch (name) {
			case "run.created":
				this.runsCreated.inc();
				return;
			case "run.updated": {
				const p = payload as { runId?: string; sub?: number; status?: string };
				if (!p?.status || ACTIVE_RUN_STATUSES.has(p.status)) return;
				const key = `${p.runId}#${p.sub ?? 0}`;
				if (this.endedRuns.has(key)) return;
				this.endedRuns.add(key);
				if (this.endedRuns.size > ENDED_RUNS_KEPT)
					this.endedRuns.delete(this.endedRuns.values().next().value!);
				this.runsEnded.labels(p.status).inc();
				return;
			}
			case "job.queued":
				this.jobsQueued.inc(Number((payload as { count?: number })?.count) || 0);
				return;
			case "job.booked":
				this.jobsBooked.labels(String((payload as { hatchery?: string })?.hatchery ?? "unknown")).inc();
				return;
			case "job.updated": {
				const p = payload as { jobId?: string; status?: string };
				if (!p?.jobId || !p.status) return;
				if (this.pendingJobs.length >= PENDING_JOBS_MAX) {
					this.pendingJobs.shift();
					this.jobTimesDropped.inc();
				}
				this.pendingJobs.push({ id: p.jobId, status: p.status });
				return;
			}
			case "hooks.event": {
				const p = payload as { source?: string; type?: string };
				this.hookIntents.labels(String(p?.source ?? "unknown"), String(p?.type ?? "unknown")).inc();
				return;
			}
		}
	}

	/** What a hook source's `emit` into the intake came to. */
	hookEmitted(source: string, outcome: HookOutcome): void {
		this.hookEvents.labels(source, outcome).inc();
	}

	/** A hook source handed an event to `emit` (counted before the intake answers). */
	hookEmitReceived(source: string): void {
		this.hookReceived.labels(source).inc();
	}

	/** The processor made a dead letter of an event of `source`. */
	hookDeadLettered(source: string, reason: "permanent" | "attempts"): void {
		this.hookDeadLetters.labels(source, reason).inc();
	}

	/**
	 * Reads the records of the jobs ended since the last call (one query for all of them, off
	 * the run engine's path) and observes their queue wait, worker start and hatchery.
	 */
	flushJobs(jobs: () => Promise<Collection<any>>): Promise<void> {
		this.flushing ??= this.readPendingJobs(jobs).finally(() => {
			this.flushing = undefined;
		});
		return this.flushing;
	}

	private async readPendingJobs(jobs: () => Promise<Collection<any>>): Promise<void> {
		while (this.pendingJobs.length > 0) {
			const batch = this.pendingJobs.splice(0, 500);
			let records: JobTimes[];
			try {
				records = (await (await jobs()).find({ _id: { $in: batch.map((b) => b.id) } })) as JobTimes[];
			} catch {
				this.jobTimesDropped.inc(batch.length);
				continue;
			}
			const byId = new Map(records.map((r) => [r._id, r]));
			for (const { id, status } of batch) {
				const job = byId.get(id);
				if (!job) {
					this.jobTimesDropped.inc();
					continue;
				}
				this.jobsEnded.labels(job.hatchery ?? "none", status).inc();
				if (typeof job.bookedAt === "number" && typeof job.queuedAt === "number")
					this.queueWait.observe(Math.max(0, job.bookedAt - job.queuedAt) / 1000);
				if (typeof job.startedAt === "number" && typeof job.bookedAt === "number")
					this.workerStart.observe(Math.max(0, job.startedAt - job.bookedAt) / 1000);
			}
		}
	}

	snapshot(): FamilySnapshot[] {
		return this.registry.snapshot();
	}

	private collectLoopLag(): void {
		const h = this.loop;
		if (!h || h.count === 0) return;
		// The monitor records each interval between its timer's runs: the lag is what exceeds the period.
		const lag = (ns: number) => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS) / 1000;
		this.loopLag.labels("0.5").set(lag(h.percentile(50)));
		this.loopLag.labels("0.9").set(lag(h.percentile(90)));
		this.loopLag.labels("0.99").set(lag(h.percentile(99)));
		this.loopLagMax.set(lag(h.max));
		// A window of at least 10 s, so frequent scrapes (or several scrapers) still see a spread.
		if (performance.now() - this.loopWindowStart >= 10_000) {
			h.reset();
			this.loopWindowStart = performance.now();
		}
	}
}
