// The local hatchery's record of its workers (pid, job, name), read by its next instance to
// adopt the workers a crash left running. It is rewritten at every change of a worker (spawn,
// job assigned, job done): a new file and a rename each time cost about a millisecond and a
// half of the event loop, twice per job. The record is instead written in place through a
// descriptor kept open, padded with spaces to the length it had (JSON ignores them), so a
// reader never sees a shorter write's leftovers; the kernel completes a write even if the
// process is killed right after it started.

import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";

export class PidFile {
	readonly path: string;
	#fd: number | undefined;
	#length = 0;

	constructor(path: string) {
		this.path = path;
	}

	/** The records, or [] when the file is missing or unreadable. */
	read<T>(accept: (record: unknown) => record is T): T[] {
		try {
			const parsed = JSON.parse(readFileSync(this.path, "utf8")) as unknown;
			return Array.isArray(parsed) ? parsed.filter(accept) : [];
		} catch {
			return [];
		}
	}

	/** Replaces the records. Throws when the file cannot be written. */
	write(records: readonly unknown[]): void {
		this.#fd ??= openSync(this.path, "w", 0o600);
		const text = JSON.stringify(records);
		const padded = text.length < this.#length ? text.padEnd(this.#length, " ") : text;
		writeSync(this.#fd, padded, 0, "utf8");
		// Now and then, give back what a long record left: the padding is all spaces.
		if (padded.length > 4 * text.length + 4096) {
			ftruncateSync(this.#fd, Buffer.byteLength(text));
			this.#length = text.length;
		} else this.#length = padded.length;
	}

	close(): void {
		if (this.#fd !== undefined) closeSync(this.#fd);
		this.#fd = undefined;
	}
}
