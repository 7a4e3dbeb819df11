// What the hatchery-driver benches (kubernetes, marathon, mesos, openstack) do alike: spawn N
// jobs through a driver, at most what its free slots allow at once, note when each was asked for
// and when the driver first showed its worker started, and wait for every worker's end. Each
// bench keeps its own peer, settings and JSON fields.

import { cpus, loadavg } from "node:os";
import type { HatcheryDriver, JobRequirements, WorkerHandle } from "../src/hatchery/contract.ts";

export interface DriverJobsOptions {
	jobs: number;
	/** The bench's tag in the job ids (`BENCH/<tag>/1/job-<i>`). */
	tag: string;
	requirements: JobRequirements;
	/** When the driver's listing shows a job's worker started (default: state "running"). */
	started?: (w: WorkerHandle) => boolean;
	/** A worker that ends before a listing showed it started counts as started at its end. */
	endMeansStarted?: boolean;
	/** How often the driver's listing is sampled, ms. */
	sampleMs?: number;
	spawned?: (jobId: string, handle: WorkerHandle) => void;
}

export interface DriverJobsResult {
	began: number;
	/** When the last spawn call was answered. */
	lastSpawn: number;
	firstEnd: number;
	/** When the last worker's end was told. */
	done: number;
	/** Workers that ended with a non-zero code or a failure. */
	failed: number;
	queuedAt: Map<string, number>;
	runningAt: Map<string, number>;
}

export async function driveJobs(driver: HatcheryDriver, o: DriverJobsOptions): Promise<DriverJobsResult> {
	const started = o.started ?? ((w: WorkerHandle) => w.state === "running");
	const queuedAt = new Map<string, number>();
	const runningAt = new Map<string, number>();
	let ended = 0;
	let failed = 0;
	let firstEnd = 0;
	let wake: () => void = () => {};
	driver.onExit((h, code) => {
		if (o.endMeansStarted && h.jobId && !runningAt.has(h.jobId)) runningAt.set(h.jobId, Date.now());
		ended++;
		if (code !== 0 || h.failure) failed++;
		firstEnd ||= Date.now();
		wake();
	});
	// The driver's own view, sampled: when each job's worker was first seen started.
	const sampler = setInterval(async () => {
		for (const w of await driver.list())
			if (w.jobId && started(w) && !runningAt.has(w.jobId)) runningAt.set(w.jobId, Date.now());
	}, o.sampleMs ?? 10);

	const began = Date.now();
	let lastSpawn = 0;
	for (let i = 0; i < o.jobs; i++) {
		while ((await driver.freeSlots()) <= 0) await new Promise<void>((r) => (wake = r));
		const jobId = `BENCH/${o.tag}/1/job-${i}`;
		queuedAt.set(jobId, Date.now());
		const handle = await driver.spawn({
			jobId,
			runId: "bench",
			token: `token-${i}-${Math.random()}`,
			apiUrl: "http://127.0.0.1:1",
			timeoutSeconds: 600,
			requirements: o.requirements,
		});
		o.spawned?.(jobId, handle);
		lastSpawn = Date.now();
	}
	while (ended < o.jobs) await new Promise<void>((r) => (wake = r));
	const done = Date.now();
	clearInterval(sampler);
	return { began, lastSpawn, firstEnd, done, failed, queuedAt, runningAt };
}

export const round = (x: number) => Math.round(x * 10) / 10;

/** Delays from each job's spawn call to the moment `at` gives (jobs without one are left out). */
export function delaysMs(queuedAt: Map<string, number>, at: (jobId: string) => number | undefined): number[] {
	const out: number[] = [];
	for (const [job, t] of queuedAt) {
		const end = at(job);
		if (end !== undefined) out.push(end - t);
	}
	return out;
}

/** `{seen, p<N>…, max}` of a list of delays, for the percentiles asked. */
export function summary(values: number[], percentiles: number[]): Record<string, number | undefined> {
	const sorted = [...values].sort((a, b) => a - b);
	const out: Record<string, number | undefined> = { seen: sorted.length };
	for (const p of percentiles)
		out[`p${p}`] = sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
	out.max = sorted.at(-1);
	return out;
}

/** The fields every bench document starts with. */
export function benchHeader(bench: string) {
	return { bench, node: process.version, cpus: cpus().length, loadAverage: loadavg().map(round) };
}
