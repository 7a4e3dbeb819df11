// NeDB appends every change to its datafile with fs.appendFile: open, write, close — three
// system calls and a file-table churn per document, which dominated the embedded store's
// cost under load. This keeps one append handle per datafile instead. NeDB runs a
// datastore's operations one at a time (its executor), so writes never interleave; the
// handle is closed before NeDB rewrites the file (compaction renames a new file into place)
// and reopened on the next write, so nothing is appended to a replaced file.

import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
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

export interface Appender {
	close(): Promise<void>;
}

export function keepDatafileOpen(db: { persistence: unknown }): Appender {
	const persistence = db.persistence as NedbPersistence;
	if (persistence.inMemoryOnly) return { close: async () => {} };
	let handle: FileHandle | null = null;
	const closeHandle = async () => {
		const h = handle;
		handle = null;
		await h?.close();
	};
	persistence.persistNewStateAsync = async (docs: unknown[]) => {
		let text = "";
		for (const doc of docs) text += `${await persistence.afterSerialization(model.serialize(doc))}\n`;
		if (text.length === 0) return;
		handle ??= await open(persistence.filename, "a", 0o600);
		await handle.write(text);
	};
	const compact = persistence.persistCachedDatabaseAsync.bind(persistence);
	persistence.persistCachedDatabaseAsync = async () => {
		await closeHandle();
		await compact();
	};
	return { close: closeHandle };
}
