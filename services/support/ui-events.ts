// The live stream of one run for the web UI (Server-Sent Events, src/ui/sse.ts). The cluster's
// events (`run.updated`, `job.updated`, `job.logs`) only wake the stream early: each pass reads
// the run and the log lines after its cursor from the store, so a stream served by any API node
// sees what another node's services wrote, and a reconnect with Last-Event-ID resumes exactly.

import type { IncomingMessage, ServerResponse } from "node:http";
import { createHash } from "node:crypto";
import type { Context, ServiceBroker } from "moleculer";
import type { Principal } from "../../src/auth/access.ts";
import { SECURITY_HEADERS } from "../../src/ui/assets.ts";
import {
	cursorAfter,
	decodePosition,
	encodePosition,
	type StreamPosition,
	sseMessage,
} from "../../src/ui/sse.ts";
import { callAction } from "./call.ts";

/** How often a stream reads the store without a signal (signals reach one API node of several). */
const POLL_MS = 1_000;
/** A comment line this often keeps proxies and the browser from calling the stream dead. */
const HEARTBEAT_MS = 15_000;
/** Log lines read per store query. */
const PAGE_LINES = 1_000;
const FINAL = new Set(["Success", "Fail", "Stopped", "Skipped"]);

/** Wakes the streams of a run (keyed by run id) or of a workflow's runs (`KEY/NAME`) when this node hears of a change. */
export class RunSignals {
	private readonly waiting = new Map<string, Set<() => void>>();

	notify(key: unknown): void {
		if (typeof key !== "string") return;
		for (const wake of this.waiting.get(key) ?? []) wake();
	}

	/** Resolves on the next signal for `runId` (or a workflow key) or after `ms`. */
	wait(runId: string, ms: number): Promise<void> {
		return new Promise((resolve) => {
			const set = this.waiting.get(runId) ?? new Set();
			this.waiting.set(runId, set);
			const done = () => {
				clearTimeout(timer);
				set.delete(done);
				if (set.size === 0 && this.waiting.get(runId) === set) this.waiting.delete(runId);
				resolve();
			};
			const timer = setTimeout(done, ms);
			set.add(done);
		});
	}
}

export interface RunRefParams {
	key: string;
	name: string;
	number: string;
}

/** Answers `req` with an event stream (reconnects after 1 s); `closed` turns true when the client leaves. */
function openEventStream(req: IncomingMessage, res: ServerResponse): { readonly closed: boolean } {
	const stream = { closed: false };
	req.on("close", () => {
		stream.closed = true;
	});
	req.socket.setTimeout(0);
	res.writeHead(200, {
		...SECURITY_HEADERS,
		"Content-Type": "text/event-stream; charset=utf-8",
		"Cache-Control": "no-store",
		"X-Accel-Buffering": "no",
	});
	res.write("retry: 1000\n\n");
	return stream;
}

/**
 * Streams a run until it has ended and every line was sent, or the client goes away. Throws (before
 * anything is written) when the principal may not read the run or it does not exist.
 */
export async function streamRun(
	broker: ServiceBroker,
	caller: Context | ServiceBroker,
	signals: RunSignals,
	principal: Principal,
	ref: RunRefParams,
	req: IncomingMessage,
	res: ServerResponse,
): Promise<void> {
	const opts = { meta: { user: principal } };
	// The permission check and the 404 happen here, as for GET .../runs/:number.
	let run = await callAction(caller, "run.get", ref, opts);
	const resumed = decodePosition(
		typeof req.headers["last-event-id"] === "string" ? req.headers["last-event-id"] : undefined,
	);
	let position: StreamPosition = resumed && resumed.run === run.id ? resumed : { run: run.id, cursor: "" };
	const stream = openEventStream(req, res);
	let lastDigest = "";
	let lastBeat = Date.now();
	while (!stream.closed && broker.started !== false) {
		if (run.id !== position.run) {
			// The number now names a new sub-run (a restart): its lines start from the beginning.
			position = { run: run.id, cursor: "" };
			res.write(sseMessage("reset", { run: run.id }, encodePosition(position)));
		}
		const digest = createHash("sha256").update(JSON.stringify(run)).digest("base64url");
		if (digest !== lastDigest) {
			lastDigest = digest;
			res.write(sseMessage("run", run, encodePosition(position)));
		}
		let drained = false;
		while (!stream.closed && !drained) {
			const page = await callAction(
				caller,
				"run.logs",
				{
					...ref,
					number: String(run.number) + (run.sub ? `.${run.sub}` : ".0"),
					limit: PAGE_LINES,
					...(position.cursor ? { cursor: position.cursor } : {}),
				},
				opts,
			);
			for (const line of page.items) {
				position = { run: run.id, cursor: cursorAfter(String(line.job), String(line.id)) };
				res.write(sseMessage("log", line, encodePosition(position)));
			}
			drained = page.items.length < PAGE_LINES;
		}
		if (FINAL.has(run.status) && drained) {
			res.write(sseMessage("end", { status: run.status }, encodePosition(position)));
			break;
		}
		await signals.wait(run.id, POLL_MS);
		if (Date.now() - lastBeat >= HEARTBEAT_MS) {
			res.write(": ping\n\n");
			lastBeat = Date.now();
		}
		if (stream.closed) break;
		run = await callAction(caller, "run.get", ref, opts);
	}
	res.end();
}

/** How many runs the workflow stream shows: the runs page's first page. */
const LIST_RUNS = 25;

/**
 * Streams a workflow's newest runs (`runs`, the first page of GET …/runs, whenever it changed) until
 * the client goes away. No position to resume: each message is the whole first page.
 */
export async function streamWorkflowRuns(
	broker: ServiceBroker,
	caller: Context | ServiceBroker,
	signals: RunSignals,
	principal: Principal,
	ref: { key: string; name: string },
	req: IncomingMessage,
	res: ServerResponse,
): Promise<void> {
	const opts = { meta: { user: principal } };
	let page = await callAction(caller, "run.list", { ...ref, limit: LIST_RUNS }, opts);
	const stream = openEventStream(req, res);
	let lastDigest = "";
	let lastBeat = Date.now();
	while (!stream.closed && broker.started !== false) {
		const digest = createHash("sha256").update(JSON.stringify(page.items)).digest("base64url");
		if (digest !== lastDigest) {
			lastDigest = digest;
			res.write(sseMessage("runs", page.items, digest));
		}
		await signals.wait(`${ref.key}/${ref.name}`, POLL_MS * 2);
		if (Date.now() - lastBeat >= HEARTBEAT_MS) {
			res.write(": ping\n\n");
			lastBeat = Date.now();
		}
		if (stream.closed) break;
		page = await callAction(caller, "run.list", { ...ref, limit: LIST_RUNS }, opts);
	}
	res.end();
}
