// Printing a run's stored log lines in order, once or following them live (`cds logs -f`):
// page through the logs route with its cursor; when following, ask again with the last cursor
// until the server says the run is done and nothing is left.

import { CliFailure } from "./errors.ts";
import type { ApiClient } from "./http.ts";
import { type LogLine, type LogPage, runPath } from "./run-api.ts";

const LOG_PAGE_SIZE = 1000;

/** The text of a log entry, each of its lines prefixed `[job/step] ` when `prefixed` (steps count from 1). */
export function formatLogLine(line: LogLine, prefixed: boolean): string {
	const text = line.text.endsWith("\n") ? line.text : `${line.text}\n`;
	if (!prefixed) return text;
	const prefix = `[${line.jobName}/${Number(line.step) + 1}] `;
	return text
		.slice(0, -1)
		.split("\n")
		.map((l) => `${prefix}${l}\n`)
		.join("");
}

export interface LogOptions {
	client: ApiClient;
	project: string;
	workflow: string;
	/** The run: `4`, or a sub-run `4.1`. */
	number: number | string;
	node?: string;
	job?: string;
	/** Keep asking for new lines until the run is done. */
	follow: boolean;
	/** Prefix lines with `[job/step]` (when the node has several jobs). */
	prefixed: boolean;
	intervalMs: number;
	write(text: string): void;
	sleep?(ms: number): Promise<void>;
}

/** Prints the logs; returns how many entries were printed. */
export async function printLogs(options: LogOptions): Promise<number> {
	const { client, follow, prefixed, write } = options;
	const sleep = options.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
	const path = `${runPath(options.project, options.workflow, options.number)}/logs`;
	let cursor: string | undefined;
	let printed = 0;
	for (;;) {
		const page = await client.get<LogPage>(path, {
			node: options.node,
			job: options.job,
			cursor,
			limit: LOG_PAGE_SIZE,
		});
		if (!page || !Array.isArray(page.items)) {
			throw new CliFailure(`unexpected response from ${path}: expected { items, next, done }`);
		}
		for (const line of page.items) write(formatLogLine(line, prefixed));
		printed += page.items.length;
		const fullPage = page.items.length >= LOG_PAGE_SIZE;
		if (page.done === true && !page.next) return printed;
		// Without -f, stop once what is stored now has been printed.
		if (!follow && (!page.next || !fullPage)) return printed;
		if (page.next) cursor = page.next;
		if (!fullPage) await sleep(options.intervalMs);
	}
}
