// Exclusive ownership of an embedded data directory. NeDB keeps each collection in memory and
// appends to its datafile, so two processes on one directory would silently overwrite each
// other's writes and a claim won in one process would be invisible to the other. The lock file
// `<dir>/LOCK` (created exclusively, holding the owner's pid) makes a second process refuse to
// start; a lock left behind by a dead process is taken over.

import { randomBytes } from "node:crypto";
import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";

export class DataDirLockedError extends Error {
	readonly dir: string;
	readonly pid: number;
	constructor(dir: string, pid: number) {
		const who = pid === process.pid ? "this process (open it only once)" : `process ${pid}`;
		super(
			`data directory ${dir} is already in use by ${who}: only one CDS-TS process may own an embedded store ` +
				`(lock file ${join(dir, "LOCK")}); stop the other process, use another data directory, or use MongoDB for several processes`,
		);
		this.name = "DataDirLockedError";
		this.dir = dir;
		this.pid = pid;
	}
}

function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (err) {
		return (err as NodeJS.ErrnoException).code === "EPERM"; // exists but belongs to another user
	}
}

function readPid(file: string): number | undefined {
	try {
		const pid = Number.parseInt(readFileSync(file, "utf8").trim(), 10);
		return Number.isInteger(pid) && pid > 0 ? pid : undefined;
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
		throw err;
	}
}

/**
 * Creates the lock file atomically *with* its content: the pid is written to a private temp file
 * (O_EXCL) which is then hard-linked to LOCK; link() fails with EEXIST like O_EXCL does, and no
 * other process can ever observe an empty LOCK and mistake it for a stale one.
 */
function tryCreate(file: string): boolean {
	const temp = `${file}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
	const fd = openSync(temp, "wx", 0o644);
	try {
		writeSync(fd, `${process.pid}\n`);
	} finally {
		closeSync(fd);
	}
	try {
		linkSync(temp, file);
		return true;
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
		throw err;
	} finally {
		unlinkSync(temp);
	}
}

/**
 * Moves a stale lock aside. Rename is atomic, but between our read and our rename another process
 * may already have replaced the stale lock with its own live one; in that case we put it back.
 */
function removeStale(file: string): void {
	const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
	try {
		renameSync(file, aside);
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
		throw err;
	}
	const pid = readPid(aside);
	if (pid !== undefined && isAlive(pid)) {
		try {
			linkSync(aside, file); // restore the live lock we moved by mistake (fails if yet another took over)
		} catch {
			// a third process created a new lock meanwhile: it owns the directory now
		}
	}
	unlinkSync(aside);
}

export class DataDirLock {
	readonly file: string;
	#held = true;
	readonly #onExit: () => void;

	private constructor(file: string) {
		this.file = file;
		this.#onExit = () => this.#unlinkIfOurs();
		process.once("exit", this.#onExit);
	}

	/** Takes the lock on `dir` or throws DataDirLockedError when a live process holds it. */
	static acquire(dir: string): DataDirLock {
		const file = join(dir, "LOCK");
		for (let attempt = 0; attempt < 5; attempt++) {
			if (tryCreate(file)) return new DataDirLock(file);
			const pid = readPid(file);
			if (pid !== undefined && isAlive(pid)) throw new DataDirLockedError(dir, pid);
			removeStale(file);
		}
		const pid = readPid(file);
		throw new DataDirLockedError(dir, pid ?? 0);
	}

	#unlinkIfOurs(): void {
		if (!this.#held) return;
		this.#held = false;
		if (readPid(this.file) !== process.pid) return;
		try {
			unlinkSync(this.file);
		} catch {
			// already gone
		}
	}

	release(): void {
		this.#unlinkIfOurs();
		process.removeListener("exit", this.#onExit);
	}
}
