/**
 * Turns one step's raw output into masked, capped log entries: lines are assembled first (a
 * secret printed in several writes is still caught), then go through the job's streaming
 * masker, which holds back the tail that could be the start of a secret (a secret cut across
 * lines, `fold`ed, spaced out one character per line, a wrapped base64) until the rest
 * arrives. A line over maxLineBytes is cut with ` …[line truncated]`, and past maxStepBytes
 * the rest is dropped and counted, reported by one `…[log truncated: N bytes dropped]` line
 * when the step ends.
 *
 * Lines are never delayed for long: a tail that matches only a couple of characters of a
 * secret's form is let go after HOLD_MS (output of one burst arrives within that, whatever
 * the pipe's chunking); a tail that already matches more is held until the next output or
 * the end of the step — exactly the case of a secret printed in pieces with pauses between.
 */

import { StringDecoder } from "node:string_decoder";
import type { Masker } from "../run/mask.ts";
import type { LogEntry } from "./api-client.ts";
import type { LogLimits } from "./job-spec.ts";

export const LINE_TRUNCATED = " …[line truncated]";
/** Largest text of one entry; bigger blocks are split at line boundaries. */
const MAX_ENTRY_CHARS = 32 * 1024;
/** Extra characters kept beyond the line cap so a secret straddling the cut is still masked. */
const MASK_MARGIN = 4096;
/** How long a tail matching the first few characters of a secret's form may wait for the rest. */
export const HOLD_MS = 200;
/** A held tail matching fewer characters than this is let go after HOLD_MS. */
const SHORT_PARTIAL = 3;

export class StepLog {
	private seq = 0;
	private shipped = 0;
	private dropped = 0;
	private partial = "";
	/** True while the rest of an over-long line is being skipped. */
	private skippingLine = false;
	private readonly decoder = new StringDecoder("utf8");
	private readonly step: number;
	private readonly push: (entry: LogEntry) => void;
	/** One masker for the whole job (its steps run one after the other): end() flushes it for the next step. */
	private readonly masker: Masker | undefined;
	private readonly limits: LogLimits;
	private readonly holdMs: number;
	/** Masked text not yet shipped: what follows its last newline waits for the rest of its line. */
	private masked = "";
	private holdTimer: NodeJS.Timeout | undefined;

	constructor(
		step: number,
		push: (entry: LogEntry) => void,
		masker: Masker | undefined,
		limits: LogLimits,
		options: { holdMs?: number } = {},
	) {
		this.step = step;
		this.push = push;
		this.masker = masker;
		this.limits = limits;
		this.holdMs = options.holdMs ?? HOLD_MS;
	}

	/** Bytes shipped so far (after masking and truncation). */
	get shippedBytes(): number {
		return this.shipped;
	}

	/** Raw process output; partial lines wait for their end. */
	write(chunk: Buffer | string): void {
		const text = typeof chunk === "string" ? chunk : this.decoder.write(chunk);
		if (text.length === 0) return;
		let data = this.partial + text;
		if (this.skippingLine) {
			const newline = data.indexOf("\n");
			if (newline < 0) {
				this.partial = "";
				return;
			}
			data = data.slice(newline + 1);
			this.skippingLine = false;
		}
		const lastNewline = data.lastIndexOf("\n");
		this.partial = data.slice(lastNewline + 1);
		if (lastNewline >= 0) this.feed(data.slice(0, lastNewline + 1));
		// An endless line: ship its head now, skip the rest up to its newline.
		if (Buffer.byteLength(this.partial) > this.limits.maxLineBytes + MASK_MARGIN) {
			const head = this.partial;
			this.partial = "";
			this.skippingLine = true;
			this.feed(head + "\n");
		}
	}

	/** A message of the worker itself (one or more lines). */
	line(message: string): void {
		this.feed(message.endsWith("\n") ? message : message + "\n");
	}

	/** Ships the last partial line, a closing message and the truncation notice. Call once when the step ends. */
	end(message?: string): void {
		const rest = this.partial + this.decoder.end();
		this.partial = "";
		if (rest.length > 0 && !this.skippingLine) this.feed(rest + "\n");
		this.skippingLine = false;
		if (message) this.line(message);
		this.release();
		if (this.dropped > 0) {
			this.ship(`…[log truncated: ${this.dropped} bytes dropped]\n`);
			this.dropped = 0;
		}
	}

	/** `block` is whole lines, each ending with \n: masked, then shipped up to the last whole line. */
	private feed(block: string): void {
		const masker = this.masker;
		if (!masker) {
			this.emit(block);
			return;
		}
		this.masked += masker.mask(block);
		this.shipWholeLines();
		if (masker.held === 0) {
			clearTimeout(this.holdTimer);
			this.holdTimer = undefined;
		} else if (!this.holdTimer) {
			this.holdTimer = setTimeout(() => {
				this.holdTimer = undefined;
				if (masker.held > 0 && masker.partial < SHORT_PARTIAL) this.release();
			}, this.holdMs);
			this.holdTimer.unref?.();
		}
	}

	/** Lets go of whatever the masker holds back. */
	private release(): void {
		clearTimeout(this.holdTimer);
		this.holdTimer = undefined;
		if (this.masker) this.masked += this.masker.flush();
		this.shipWholeLines();
		if (this.masked.length > 0) {
			// The masker is only ever fed whole lines, so this cannot happen; never lose text anyway.
			const rest = this.masked;
			this.masked = "";
			this.emit(rest.endsWith("\n") ? rest : rest + "\n");
		}
	}

	private shipWholeLines(): void {
		const lastNewline = this.masked.lastIndexOf("\n");
		if (lastNewline < 0) return;
		const block = this.masked.slice(0, lastNewline + 1);
		this.masked = this.masked.slice(lastNewline + 1);
		this.emit(block);
	}

	/** `block` is whole masked lines, each ending with \n. */
	private emit(block: string): void {
		let text = block;
		if (Buffer.byteLength(text) > this.limits.maxLineBytes) text = this.capLines(text);
		if (this.dropped > 0) {
			this.dropped += Buffer.byteLength(text);
			return;
		}
		const bytes = Buffer.byteLength(text);
		if (this.shipped + bytes > this.limits.maxStepBytes) {
			const fit = this.fittingLines(text, this.limits.maxStepBytes - this.shipped);
			this.dropped += bytes - Buffer.byteLength(fit);
			text = fit;
		}
		if (text.length > 0) this.ship(text);
	}

	private ship(text: string): void {
		this.shipped += Buffer.byteLength(text);
		for (let start = 0; start < text.length; ) {
			let end = text.length;
			if (end - start > MAX_ENTRY_CHARS) {
				const cut = text.lastIndexOf("\n", start + MAX_ENTRY_CHARS - 1);
				end = cut >= start ? cut + 1 : text.indexOf("\n", start + MAX_ENTRY_CHARS) + 1 || text.length;
			}
			this.push({ step: this.step, seq: this.seq++, text: text.slice(start, end) });
			start = end;
		}
	}

	private capLines(block: string): string {
		const max = this.limits.maxLineBytes;
		const lines = block.split("\n");
		lines.pop(); // the block ends with \n
		return (
			lines
				.map((line) => (Buffer.byteLength(line) > max ? cutUtf8(line, max) + LINE_TRUNCATED : line))
				.join("\n") + "\n"
		);
	}

	/** The longest prefix of whole lines within `budget` bytes. */
	private fittingLines(block: string, budget: number): string {
		let used = 0;
		let end = 0;
		while (end < block.length) {
			const newline = block.indexOf("\n", end);
			const next = newline < 0 ? block.length : newline + 1;
			const size = Buffer.byteLength(block.slice(end, next));
			if (used + size > budget) break;
			used += size;
			end = next;
		}
		return block.slice(0, end);
	}
}

/** The first `maxBytes` bytes of `text`, never splitting a UTF-8 character. */
function cutUtf8(text: string, maxBytes: number): string {
	const bytes = Buffer.from(text, "utf8");
	if (bytes.length <= maxBytes) return text;
	let end = maxBytes;
	// Back up over continuation bytes (10xxxxxx) so the cut falls on a character start.
	while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
	return bytes.toString("utf8", 0, end);
}
