// Opens the configured store: MongoDB (or FerretDB) when a URL is given, else the embedded
// NeDB store in `dataDir`, which then belongs to this process alone.

import { EmbeddedStore } from "./embedded-store.ts";
import { MongoStore } from "./mongo-store.ts";
import type { Store } from "./types.ts";

export interface OpenStoreOptions {
	/** mongodb:// URL (its path names the database); when absent the embedded store is used. */
	mongoUrl?: string;
	/** Directory of the embedded store (also home of master.key whatever the backend). */
	dataDir: string;
}

export async function openStore(options: OpenStoreOptions): Promise<Store> {
	if (options.mongoUrl) return MongoStore.connect(options.mongoUrl);
	return EmbeddedStore.open(options.dataDir);
}

export { CLAIMS_COLLECTION, ClaimLedger } from "./claim.ts";
export { DataDirLockedError } from "./data-dir-lock.ts";
export { COMPACTION_INTERVAL_MS, EmbeddedStore } from "./embedded-store.ts";
export { MongoStore, redactMongoUrl, SERVER_SELECTION_TIMEOUT_MS } from "./mongo-store.ts";
export type {
	ClaimHolder,
	ClaimResult,
	Collection,
	CollectionSpec,
	Doc,
	FindOptions,
	IndexSpec,
	Query,
	Store,
	Update,
} from "./types.ts";
export { DuplicateKeyError } from "./types.ts";
export { MAX_DOCUMENT_BYTES, MAX_NESTING, StoreShapeError, toStorable } from "./subset.ts";
