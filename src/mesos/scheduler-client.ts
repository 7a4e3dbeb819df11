// An HTTP client of the Mesos v1 scheduler API (POST /api/v1/scheduler, JSON). SUBSCRIBE opens
// a long-lived chunked response whose body is RecordIO-framed events; every other call is a
// short POST carrying the `Mesos-Stream-Id` the subscription was given (202 Accepted). A
// master that is not the leader answers 307 with the leader's address in Location (possibly
// protocol-relative, `//host:port/api/v1/scheduler`): the client follows it and remembers the
// leader for the calls that follow. Plain node:http, so nothing buffers the stream.

import http from "node:http";
import https from "node:https";
import { RecordIODecoder } from "./recordio.ts";
import type { Call, Event } from "./scheduler-api.ts";

export const SCHEDULER_PATH = "/api/v1/scheduler";

export interface SchedulerClientOptions {
	/** Master base URLs (`http://host:5050`), tried in turn. */
	masters: string[];
	principal?: string;
	secret?: string;
	/** Timeout of a call (not of the subscription). */
	callTimeoutMs?: number;
}

export class MesosCallError extends Error {
	readonly status: number | undefined;
	constructor(message: string, status?: number) {
		super(message);
		this.status = status;
	}
}

export interface Subscription {
	streamId: string;
	/** The master that serves it (the leader). */
	master: string;
	/** Ends the stream from this side. */
	close(): void;
	/** Resolves when the stream ends, for whatever reason (with the reason). */
	ended: Promise<string>;
}

const MAX_REDIRECTS = 4;

export class SchedulerClient {
	private readonly opts: SchedulerClientOptions;
	private leader: string;
	private streamId?: string;

	constructor(opts: SchedulerClientOptions) {
		if (opts.masters.length === 0) throw new Error("mesos: no master URL");
		this.opts = opts;
		this.leader = opts.masters[0]!;
	}

	get currentMaster(): string {
		return this.leader;
	}

	private headers(body: string, streamId?: string): Record<string, string> {
		const h: Record<string, string> = {
			"Content-Type": "application/json",
			Accept: "application/json",
			"Content-Length": String(Buffer.byteLength(body)),
		};
		if (streamId) h["Mesos-Stream-Id"] = streamId;
		if (this.opts.principal)
			h.Authorization = `Basic ${Buffer.from(`${this.opts.principal}:${this.opts.secret ?? ""}`).toString("base64")}`;
		return h;
	}

	/** One POST, following redirects to the leader; resolves with the response (body unread). */
	private async post(
		base: string,
		body: string,
		streamId: string | undefined,
		timeoutMs: number | undefined,
	): Promise<{ res: http.IncomingMessage; master: string }> {
		let target = new URL(SCHEDULER_PATH, base);
		for (let hop = 0; ; hop++) {
			const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
				const lib = target.protocol === "https:" ? https : http;
				const req = lib.request(target, { method: "POST", headers: this.headers(body, streamId) }, resolve);
				req.on("error", reject);
				if (timeoutMs)
					req.setTimeout(timeoutMs, () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
				req.end(body);
			});
			if (res.statusCode === 307 && res.headers.location && hop < MAX_REDIRECTS) {
				res.resume();
				// Mesos sends `//host:port/api/v1/scheduler`; its documentation shows a bare `host:port`.
				const loc = res.headers.location;
				const absolute = /^[a-z][a-z0-9+.-]*:\/\//i.test(loc) || loc.startsWith("/");
				target = new URL(absolute ? loc : `//${loc}`, target);
				if (target.pathname === "/") target.pathname = SCHEDULER_PATH;
				continue;
			}
			return { res, master: `${target.protocol}//${target.host}` };
		}
	}

	/**
	 * SUBSCRIBE: tries the last leader then every master; resolves once the stream is open (the
	 * SUBSCRIBED event comes through `onEvent` like every other).
	 */
	async subscribe(call: Call, onEvent: (e: Event) => void): Promise<Subscription> {
		const body = JSON.stringify(call);
		const order = [this.leader, ...this.opts.masters.filter((m) => m !== this.leader)];
		const errors: string[] = [];
		for (const base of order) {
			let opened: { res: http.IncomingMessage; master: string };
			try {
				opened = await this.post(base, body, undefined, this.opts.callTimeoutMs ?? 10_000);
			} catch (e) {
				errors.push(`${base}: ${(e as Error).message}`);
				continue;
			}
			const { res, master } = opened;
			if (res.statusCode !== 200) {
				const text = await readAll(res);
				errors.push(`${base}: ${res.statusCode} ${text.slice(0, 300)}`);
				if (res.statusCode === 401 || res.statusCode === 403 || res.statusCode === 400)
					throw new MesosCallError(
						`mesos SUBSCRIBE refused: ${res.statusCode} ${text.slice(0, 300)}`,
						res.statusCode,
					);
				continue;
			}
			// The stream is open: no timeout applies to it any more (the heartbeats watch it).
			res.socket?.setTimeout(0);
			this.leader = master;
			const streamId = String(res.headers["mesos-stream-id"] ?? "");
			this.streamId = streamId;
			const decoder = new RecordIODecoder();
			let finish: (why: string) => void = () => {};
			const ended = new Promise<string>((resolve) => {
				finish = resolve;
			});
			res.on("data", (chunk: Buffer) => {
				let records: string[];
				try {
					records = decoder.push(chunk);
				} catch (e) {
					res.destroy(e as Error);
					return;
				}
				for (const r of records) {
					let event: Event;
					try {
						event = JSON.parse(r) as Event;
					} catch {
						res.destroy(new Error("mesos: an event that is not JSON"));
						return;
					}
					onEvent(event);
				}
			});
			res.on("end", () => finish("the master closed the stream"));
			res.on("error", (e) => finish(e.message));
			res.on("close", () => finish("the stream closed"));
			return { streamId, master, close: () => res.destroy(), ended };
		}
		throw new MesosCallError(`mesos SUBSCRIBE failed on every master: ${errors.join("; ")}`);
	}

	/** Any call but SUBSCRIBE, on the current subscription's stream id. */
	async call(call: Call): Promise<void> {
		const body = JSON.stringify(call);
		const { res } = await this.post(this.leader, body, this.streamId, this.opts.callTimeoutMs ?? 10_000);
		const text = await readAll(res);
		if (res.statusCode !== 202 && res.statusCode !== 200)
			throw new MesosCallError(`mesos ${call.type}: ${res.statusCode} ${text.slice(0, 300)}`, res.statusCode);
	}
}

function readAll(res: http.IncomingMessage): Promise<string> {
	return new Promise((resolve) => {
		const parts: Buffer[] = [];
		res.on("data", (c: Buffer) => parts.push(c));
		res.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
		res.on("error", () => resolve(Buffer.concat(parts).toString("utf8")));
	});
}
