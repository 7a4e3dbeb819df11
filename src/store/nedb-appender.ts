// NeDB appends every change to its datafile with fs.appendFile: open, write, close — three
// system calls and a file-table churn per document, which dominated the embedded store's
// cost under load. This keeps one append descriptor per datafile instead and writes to it
// synchronously: an append of a few hundred bytes lands in the page cache in microseconds,
// while an asynchronous write costs a thread-pool round trip and a promise per change (it was
// a sixth of the webhook receiver's CPU). The guarantee is unchanged: once the call returns,
// the change survives the process being killed (neither version calls fsync). Each write still
// ends with a turn of the event loop, so store-bound loops never starve the HTTP server.
// NeDB runs a datastore's operations one at a time (its executor), so writes never
// interleave; the descriptor is closed before NeDB rewrites the file (compaction renames a new
// file into place) and reopened on the next write, so nothing is appended to a replaced file.

import { closeSync, openSync, writeSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const model = require("@seald-io/nedb/lib/model.js") as { serialize(doc: unknown): string };

interface NedbPersistence {
	filename: string;
	inMemoryOnly: boolean;
	afterSerialization(s: string): string | Promise<string>;
	persistNewStateAsync(docs: unknown[]): Promise<void>;
	persistCachedDatabaseAsync(): Promise<void>;
}

/**
 * NeDB's line format. Its serializer runs a replacer on every value, only to turn Dates into
 * `{"$$date": ms}` and re-check keys NeDB checked already when the document came in; a document
 * without a Date (most are: CDS stores times as numbers) gives the same line from plain
 * JSON.stringify at a fraction of the cost.
 */
export function serialize(doc: unknown): string {
	return containsDate(doc) ? model.serialize(doc) : JSON.stringify(doc);
}

function containsDate(value: unknown): boolean {
	if (value === null || typeof value !== "object") return false;
	if (value instanceof Date) return true;
	if (Array.isArray(value)) return value.some(containsDate);
	for (const k in value) if (containsDate((value as Record<string, unknown>)[k])) return true;
	return false;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface Appender {
	close(): Promise<void>;
}

export function keepDatafileOpen(db: { persistence: unknown }): Appender {
	const persistence = db.persistence as NedbPersistence;
	if (persistence.inMemoryOnly) return { close: async () => {} };
	let fd: number | null = null;
	const closeDescriptor = () => {
		const open = fd;
		fd = null;
		if (open !== null) closeSync(open);
	};
	persistence.persistNewStateAsync = async (docs: unknown[]) => {
		let text = "";
		for (const doc of docs) text += `${await persistence.afterSerialization(serialize(doc))}\n`;
		if (text.length === 0) return;
		fd ??= openSync(persistence.filename, "a", 0o600);
		const bytes = Buffer.from(text);
		// writeSync may write less than asked (a full disk, a signal): loop until all is written.
		for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset);
		// Back to the event loop before the operation completes, as an asynchronous write would:
		// otherwise a loop of store calls runs as one chain of microtasks and starves I/O (a busy
		// hook processor stopped the HTTP server for seconds).
		await yieldToEventLoop();
	};
	const compact = persistence.persistCachedDatabaseAsync.bind(persistence);
	persistence.persistCachedDatabaseAsync = async () => {
		closeDescriptor();
		await compact();
	};
	return { close: async () => closeDescriptor() };
}
