/**
 * Turns one step's raw output into masked, capped log entries: lines are assembled first and
 * masked whole (a secret printed in several writes is still caught), a line over
 * maxLineBytes is cut with ` …[line truncated]`, and past maxStepBytes the rest is dropped
 * and counted, reported by one `…[log truncated: N bytes dropped]` line when the step ends.
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
	/** One masker for the whole job: mask()+flush() on whole lines leaves it ready for the next block. */
	private readonly masker: Masker | undefined;
	private readonly limits: LogLimits;

	constructor(step: number, push: (entry: LogEntry) => void, masker: Masker | undefined, limits: LogLimits) {
		this.step = step;
		this.push = push;
		this.masker = masker;
		this.limits = limits;
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
		if (lastNewline >= 0) this.emit(data.slice(0, lastNewline + 1));
		// An endless line: ship its head now, skip the rest up to its newline.
		if (Buffer.byteLength(this.partial) > this.limits.maxLineBytes + MASK_MARGIN) {
			const head = this.partial;
			this.partial = "";
			this.skippingLine = true;
			this.emit(head + "\n");
		}
	}

	/** A message of the worker itself (one or more lines). */
	line(message: string): void {
		this.emit(message.endsWith("\n") ? message : message + "\n");
	}

	/** Ships the last partial line, a closing message and the truncation notice. Call once when the step ends. */
	end(message?: string): void {
		const rest = this.partial + this.decoder.end();
		this.partial = "";
		if (rest.length > 0 && !this.skippingLine) this.emit(rest + "\n");
		this.skippingLine = false;
		if (message) this.line(message);
		if (this.dropped > 0) {
			this.ship(`…[log truncated: ${this.dropped} bytes dropped]\n`);
			this.dropped = 0;
		}
	}

	/** `block` is whole lines, each ending with \n. */
	private emit(block: string): void {
		const masker = this.masker;
		let text = masker ? masker.mask(block) + masker.flush() : block;
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
