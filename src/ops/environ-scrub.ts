// Removing secrets from /proc/<pid>/environ. That file is not process.env: it is the block of
// memory the kernel filled at exec (its bounds are fields 50-51 of /proc/self/stat), and any
// process of the same user can read it. Deleting a variable from process.env only drops libc's
// pointer; the bytes stay. Node cannot exec itself without them, so the node overwrites the
// values in place through /proc/self/mem (allowed on one's own memory, as root or not) once the
// configuration has read them. `NAME=` stays, its value becomes `*`s of the same length.
// The *_FILE variables are still the better way: a parent process (a shell, npm, tini) keeps
// its own copy of the environment, which this cannot reach.

import { closeSync, openSync, readFileSync, readSync, writeSync } from "node:fs";

export interface ScrubResult {
	/** Variables whose value was overwritten. */
	scrubbed: string[];
	/** Why nothing could be overwritten (the values are then still readable). */
	error?: string;
}

/** Byte ranges of the values of `names` in an environment block (`NAME=value\0…`), every occurrence. */
export function valueRanges(
	block: Buffer,
	names: readonly string[],
): Array<{ name: string; from: number; to: number }> {
	const wanted = new Set(names);
	const ranges: Array<{ name: string; from: number; to: number }> = [];
	let at = 0;
	while (at < block.length) {
		let end = block.indexOf(0, at);
		if (end === -1) end = block.length;
		const eq = block.indexOf(0x3d, at); // '='
		if (eq !== -1 && eq < end) {
			const name = block.toString("latin1", at, eq);
			if (wanted.has(name) && end > eq + 1) ranges.push({ name, from: eq + 1, to: end });
		}
		at = end + 1;
	}
	return ranges;
}

/** Start and end addresses of this process's initial environment (Linux ≥ 3.5). */
function environBounds(): [number, number] {
	const stat = readFileSync("/proc/self/stat", "utf8");
	// Fields after the command name (which may hold spaces and parentheses); field 3 comes first.
	const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
	const start = Number(fields[50 - 3]);
	const end = Number(fields[51 - 3]);
	if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end <= start)
		throw new Error("/proc/self/stat gives no environment bounds");
	return [start, end];
}

/** Overwrites the values of `names` in this process's /proc/self/environ. Never throws. */
export function scrubInitialEnvironment(names: readonly string[]): ScrubResult {
	if (names.length === 0) return { scrubbed: [] };
	if (process.platform !== "linux") return { scrubbed: [], error: `not supported on ${process.platform}` };
	let fd: number | undefined;
	try {
		const [start, end] = environBounds();
		fd = openSync("/proc/self/mem", "r+");
		const block = Buffer.alloc(end - start);
		readSync(fd, block, 0, block.length, start);
		const ranges = valueRanges(block, names);
		for (const r of ranges) {
			const stars = Buffer.alloc(r.to - r.from, "*");
			writeSync(fd, stars, 0, stars.length, start + r.from);
		}
		// Check what other processes see, not what we meant to write.
		const seen = readFileSync("/proc/self/environ");
		const left = valueRanges(seen, names).filter((r) => !/^\**$/.test(seen.toString("latin1", r.from, r.to)));
		if (left.length > 0)
			return { scrubbed: [], error: `${left.map((r) => r.name).join(", ")} still readable` };
		return { scrubbed: [...new Set(ranges.map((r) => r.name))] };
	} catch (e) {
		const err = e as NodeJS.ErrnoException;
		return { scrubbed: [], error: err.code ? `${err.code} on ${err.path ?? err.syscall}` : err.message };
	} finally {
		if (fd !== undefined) closeSync(fd);
	}
}
