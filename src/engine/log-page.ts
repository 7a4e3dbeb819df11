// A page of a run's stored log lines, in job then line order, with a cursor to follow: while
// the run is live the cursor stays, so a follower polls with it and sees new lines once.

import type { RunDoc } from "../../schemas/run.ts";
import { RunInputError } from "./errors.ts";
import type { RunRepository } from "./run-repository.ts";

export interface LogPageQuery {
	job?: string;
	node?: string;
	cursor?: string;
	limit?: number;
}

export interface LogPage {
	items: Array<Record<string, unknown>>;
	next: string | null;
	done: boolean;
}

const encode = (value: [string, unknown]) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** A cursor this module handed out (`[job id, line id]`), or a RunInputError: clients can send anything. */
export function decodeCursor(cursor: string): [string, string] {
	let value: unknown;
	try {
		value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
	} catch {
		value = undefined;
	}
	if (
		!Array.isArray(value) ||
		value.length !== 2 ||
		typeof value[0] !== "string" ||
		(typeof value[1] !== "string" && value[1] !== undefined && value[1] !== null)
	)
		throw new RunInputError("cursor", "cursor is not one this server handed out");
	return [value[0], typeof value[1] === "string" ? value[1] : ""];
}

export async function readLogPage(repo: RunRepository, run: RunDoc, query: LogPageQuery): Promise<LogPage> {
	const jobs = (await repo.jobsOfRun(run))
		.filter((j) => !query.job || j._id === query.job)
		.filter((j) => !query.node || j.node === query.node);
	const limit = query.limit ?? 1000;
	const [afterJob, afterId] = query.cursor ? decodeCursor(query.cursor) : ["", ""];
	const items: Array<Record<string, unknown>> = [];
	let next: string | null = null;
	let started = !afterJob;
	for (const job of jobs) {
		if (!started) {
			if (job._id !== afterJob) continue;
			started = true;
		}
		const q: Record<string, unknown> = { jobId: job._id };
		if (job._id === afterJob && afterId) q._id = { $gt: afterId };
		const page = await repo.logs.find(q, { sort: { _id: 1 }, limit: limit - items.length + 1 });
		for (const l of page) {
			if (items.length === limit) {
				next = encode([job._id, items[items.length - 1]!.id]);
				break;
			}
			items.push({
				id: l._id,
				job: job._id,
				node: job.node,
				jobName: job.name,
				step: l.step,
				seq: l.seq,
				text: l.text,
			});
		}
		if (next) break;
	}
	const done =
		jobs.every((j) => ["Success", "Fail", "Stopped"].includes(j.status)) &&
		!["Waiting", "Building", "Manual"].includes(run.status);
	if (!next && items.length > 0 && !done) {
		const last = items[items.length - 1]!;
		next = encode([last.job as string, last.id]);
	}
	if (!next && items.length === 0 && query.cursor && !done) next = query.cursor;
	return { items, next, done };
}
