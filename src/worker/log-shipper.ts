/**
 * Ships log entries to the API in order, in batches (at least every flushIntervalMs or
 * maxBatchBytes), one batch in flight at a time. While the API is unreachable it keeps
 * buffering and retries the same batch with backoff: the server ignores an entry whose
 * (step, seq) it already has, so a retry never doubles a line and nothing is ever dropped.
 * The in-memory queue is bounded: past memoryLimitBytes new entries go to a spill file,
 * read back in order once the memory queue has drained (onSpill says so, once). A server's
 * Retry-After is honoured between tries.
 */

import { appendFileSync, closeSync, openSync, readSync, rmSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import type { LogEntry } from "./api-client.ts";
import { retryDelay } from "./backoff.ts";

export interface LogShipperOptions {
	send: (entries: LogEntry[]) => Promise<void>;
	/** True for errors worth retrying; a false answer ends shipping (the job is lost). */
	isRetryable: (err: unknown) => boolean;
	/** Where entries go when memory is full; created on demand, removed by close(). */
	spillFile: string;
	flushIntervalMs?: number;
	maxBatchBytes?: number;
	memoryLimitBytes?: number;
	initialRetryMs?: number;
	maxRetryMs?: number;
	onError?: (err: unknown) => void;
	/** Called once, when entries first go to the spill file (the API has been away for a while). */
	onSpill?: (file: string) => void;
}

export interface LogShipperStats {
	entries: number;
	bytes: number;
	requests: number;
	failedRequests: number;
	spilledEntries: number;
}

export class LogShipper {
	readonly stats: LogShipperStats = {
		entries: 0,
		bytes: 0,
		requests: 0,
		failedRequests: 0,
		spilledEntries: 0,
	};
	private readonly options: Required<Omit<LogShipperOptions, "onError" | "onSpill">> &
		Pick<LogShipperOptions, "onError" | "onSpill">;
	private queue: LogEntry[] = [];
	private queueBytes = 0;
	private spillCount = 0;
	private spillReadOffset = 0;
	private spillPartial = "";
	private readonly spillDecoder = new StringDecoder("utf8");
	private spillExists = false;
	private sending = false;
	private failures = 0;
	private retryTimer: NodeJS.Timeout | undefined;
	private flushTimer: NodeJS.Timeout | undefined;
	private fatal: unknown;
	private closing = false;
	private drainWaiters: (() => void)[] = [];

	constructor(options: LogShipperOptions) {
		this.options = {
			flushIntervalMs: 200,
			maxBatchBytes: 64 * 1024,
			memoryLimitBytes: 8 * 1024 * 1024,
			initialRetryMs: 100,
			maxRetryMs: 5000,
			...options,
		};
	}

	/** Entries not yet acknowledged by the API (memory + spill file). */
	get pending(): number {
		return this.queue.length + this.spillCount;
	}

	/** The error that stopped shipping (401/409…), if any. */
	get failure(): unknown {
		return this.fatal;
	}

	push(entry: LogEntry): void {
		if (this.fatal !== undefined) return;
		const size = entry.text.length;
		if (this.spillCount > 0 || this.queueBytes + size > this.options.memoryLimitBytes) {
			appendFileSync(this.options.spillFile, JSON.stringify(entry) + "\n");
			if (!this.spillExists) this.options.onSpill?.(this.options.spillFile);
			this.spillExists = true;
			this.spillCount++;
			this.stats.spilledEntries++;
		} else {
			this.queue.push(entry);
			this.queueBytes += size;
		}
		this.schedule();
	}

	/**
	 * Sends everything still pending, retrying while the API is unreachable, until
	 * `deadlineMs` has passed. Resolves true when every entry was acknowledged.
	 */
	async close(deadlineMs: number): Promise<boolean> {
		this.closing = true;
		const done = new Promise<void>((resolve) => this.drainWaiters.push(resolve));
		this.schedule();
		this.checkDrained();
		let timer: NodeJS.Timeout | undefined;
		const expired = new Promise<void>((resolve) => {
			timer = setTimeout(resolve, deadlineMs);
		});
		await Promise.race([done, expired]);
		clearTimeout(timer);
		clearTimeout(this.retryTimer);
		clearTimeout(this.flushTimer);
		const complete = this.pending === 0 && this.fatal === undefined;
		if (this.spillExists) rmSync(this.options.spillFile, { force: true });
		return complete;
	}

	private schedule(): void {
		if (this.sending || this.retryTimer || this.fatal !== undefined) return;
		if (this.queue.length === 0) this.refillFromSpill();
		if (this.queue.length === 0) return;
		if (this.closing || this.queueBytes >= this.options.maxBatchBytes) {
			clearTimeout(this.flushTimer);
			this.flushTimer = undefined;
			void this.sendBatch();
			return;
		}
		if (!this.flushTimer) {
			this.flushTimer = setTimeout(() => {
				this.flushTimer = undefined;
				if (!this.sending && !this.retryTimer) void this.sendBatch();
			}, this.options.flushIntervalMs);
		}
	}

	private takeBatch(): LogEntry[] {
		const batch: LogEntry[] = [];
		let bytes = 0;
		for (const entry of this.queue) {
			if (batch.length > 0 && bytes + entry.text.length > this.options.maxBatchBytes) break;
			batch.push(entry);
			bytes += entry.text.length;
		}
		return batch;
	}

	private async sendBatch(): Promise<void> {
		if (this.queue.length === 0) this.refillFromSpill();
		const batch = this.takeBatch();
		if (batch.length === 0) {
			this.checkDrained();
			return;
		}
		this.sending = true;
		this.stats.requests++;
		try {
			await this.options.send(batch);
		} catch (err) {
			this.sending = false;
			this.stats.failedRequests++;
			if (!this.options.isRetryable(err)) {
				this.fatal = err;
				this.options.onError?.(err);
				this.checkDrained(true);
				return;
			}
			this.failures++;
			if (this.failures === 1 || this.failures % 20 === 0) this.options.onError?.(err);
			this.retryTimer = setTimeout(
				() => {
					this.retryTimer = undefined;
					void this.sendBatch();
				},
				retryDelay(err, this.failures, this.options.initialRetryMs, this.options.maxRetryMs),
			);
			return;
		}
		this.sending = false;
		this.failures = 0;
		// Entries pushed meanwhile were appended after the batch, which is still the queue's head.
		this.queue.splice(0, batch.length);
		for (const entry of batch) {
			this.queueBytes -= entry.text.length;
			this.stats.entries++;
			this.stats.bytes += entry.text.length;
		}
		this.checkDrained();
		this.schedule();
	}

	private refillFromSpill(): void {
		if (this.spillCount === 0) return;
		const fd = openSync(this.options.spillFile, "r");
		try {
			const chunk = Buffer.alloc(Math.max(64 * 1024, Math.floor(this.options.memoryLimitBytes / 2)));
			while (this.spillCount > 0 && this.queueBytes < this.options.memoryLimitBytes / 2) {
				const read = readSync(fd, chunk, 0, chunk.length, this.spillReadOffset);
				if (read === 0) break;
				this.spillReadOffset += read;
				const text = this.spillPartial + this.spillDecoder.write(chunk.subarray(0, read));
				const lastNewline = text.lastIndexOf("\n");
				this.spillPartial = text.slice(lastNewline + 1);
				if (lastNewline < 0) continue;
				for (const line of text.slice(0, lastNewline).split("\n")) {
					const entry = JSON.parse(line) as LogEntry;
					this.queue.push(entry);
					this.queueBytes += entry.text.length;
					this.spillCount--;
				}
			}
		} finally {
			closeSync(fd);
		}
	}

	private checkDrained(force = false): void {
		if (!this.closing) return;
		if (force || (this.pending === 0 && !this.sending)) {
			for (const resolve of this.drainWaiters.splice(0)) resolve();
		}
	}
}
