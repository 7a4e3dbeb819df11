// Opens the configured store: MongoDB (or FerretDB) when a URL is given, else the embedded
// NeDB store in `dataDir`, which then belongs to this process alone. The MongoDB driver is
// loaded only by a node that uses it: an embedded node (`cds run`) starts without it.

import type { Store } from "./types.ts";

export interface OpenStoreOptions {
	/** mongodb:// URL (its path names the database); when absent the embedded store is used. */
	mongoUrl?: string;
	/** Directory of the embedded store (also home of master.key whatever the backend). */
	dataDir: string;
}

export async function openStore(options: OpenStoreOptions): Promise<Store> {
	if (options.mongoUrl) {
		const { MongoStore } = await import("./mongo-store.ts");
		return MongoStore.connect(options.mongoUrl);
	}
	const { EmbeddedStore } = await import("./embedded-store.ts");
	return EmbeddedStore.open(options.dataDir);
}
