// Plays the worker side of the job API over real HTTP, for tests of the run engine that
// should not depend on spawning processes: book a job like a hatchery, then report like a worker.

import type { ServiceBroker } from "moleculer";
import { apiClient } from "./server.ts";

export interface BookedJob {
	jobId: string;
	token: string;
	api: ReturnType<typeof apiClient>;
}

/** Books every waiting job the queue offers (as a hatchery offering `models`/`binaries`). */
export async function bookAll(
	broker: ServiceBroker,
	url: string,
	options: { hatchery?: string; models?: string[]; binaries?: string[] } = {},
): Promise<BookedJob[]> {
	const capabilities = {
		name: options.hatchery ?? "test-hatchery",
		models: options.models ?? [],
		binaries: options.binaries ?? ["bash", "git", "go", "node"],
		hostname: "test-host",
		osArch: "linux/amd64",
		memoryMb: 65536,
		services: [],
	};
	const ids = (await broker.call("run.queueFor", { capabilities, limit: 100 })) as string[];
	const out: BookedJob[] = [];
	for (const jobId of ids) {
		const r = (await broker.call("run.book", { jobId, hatchery: capabilities.name, worker: "scripted" })) as {
			won: boolean;
			token?: string;
		};
		if (r.won && r.token) out.push({ jobId, token: r.token, api: apiClient(url, r.token) });
	}
	return out;
}

/** Runs a booked job to `status` the way a worker would: fetch, log a line, report. */
export async function completeJob(
	job: BookedJob,
	status: "Success" | "Fail" = "Success",
	lines: string[] = [],
) {
	const spec = await job.api("GET", "/api/v1/worker/job");
	if (spec.status !== 200) throw new Error(`GET job → ${spec.status} ${JSON.stringify(spec.body)}`);
	if (lines.length > 0) {
		await job.api("POST", "/api/v1/worker/job/logs", {
			entries: [{ step: 0, seq: 0, text: lines.map((l) => `${l}\n`).join("") }],
		});
	}
	const res = await job.api("POST", "/api/v1/worker/job/result", { status, steps: [] });
	if (res.status !== 200) throw new Error(`POST result → ${res.status} ${JSON.stringify(res.body)}`);
	return spec.body;
}
