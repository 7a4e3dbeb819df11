// Artifact stores by name: CDS_ARTIFACT_STORE picks one (config/artifacts.ts validates the
// name and its prerequisites). A store module is loaded only by a node that uses it. Adding a
// store (Swift, S3…): a module implementing `ArtifactStore` and one line here; a store that
// can let workers move bytes without the API in the middle implements `presign`.

import path from "node:path";
import type { mongo } from "mongoose";
import type { ArtifactStore } from "./artifact-store.ts";

export interface ArtifactStoreContext {
	/** The node's data directory (the filesystem store keeps blobs under `<dataDir>/artifacts`). */
	dataDir: string;
	/** The MongoDB database of the node's store, when it has one. */
	mongoDb?: mongo.Db;
}

export type ArtifactStoreFactory = (ctx: ArtifactStoreContext) => ArtifactStore;

export const ARTIFACT_STORES: Record<string, () => Promise<ArtifactStoreFactory>> = {
	filesystem: async () => {
		const { FsArtifactStore } = await import("./fs-artifact-store.ts");
		return (ctx) => new FsArtifactStore(path.join(ctx.dataDir, "artifacts"));
	},
	gridfs: async () => {
		const { GridFsArtifactStore } = await import("./gridfs-artifact-store.ts");
		return (ctx) => {
			if (!ctx.mongoDb) throw new Error("the gridfs artifact store needs MongoDB (MONGO_URL)");
			return new GridFsArtifactStore(ctx.mongoDb);
		};
	},
};

export const ARTIFACT_STORE_KINDS: readonly string[] = Object.keys(ARTIFACT_STORES);

export async function createArtifactStore(kind: string, ctx: ArtifactStoreContext): Promise<ArtifactStore> {
	const load = ARTIFACT_STORES[kind];
	if (!load) throw new Error(`unknown artifact store '${kind}' (known: ${ARTIFACT_STORE_KINDS.join(", ")})`);
	return (await load())(ctx);
}
