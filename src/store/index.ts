// The store module: opening one (open.ts) and everything its users need.

export { type OpenStoreOptions, openStore } from "./open.ts";
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
