// Artifact stores by name: CDS_ARTIFACT_STORE picks one (config/artifacts.ts validates the
// name and its prerequisites). A store module is loaded only by a node that uses it. Adding a
// store (S3…): a module implementing `ArtifactStore` and one line here; a store that
// can let workers move bytes without the API in the middle implements `presign`.

import path from "node:path";
import type { mongo } from "mongoose";
import type { ArtifactStore } from "./artifact-store.ts";

export interface ArtifactStoreContext {
	/** The node's data directory (the filesystem store keeps blobs under `<dataDir>/artifacts`). */
	dataDir: string;
	/** The MongoDB database of the node's store, when it has one. */
	mongoDb?: mongo.Db;
	/** The Swift store's settings (config/artifacts.ts), when it is the one chosen. */
	swift?: SwiftStoreSettings;
	log?: { info(msg: string): void; warn(msg: string): void };
}

/** What the Swift store needs (config's SwiftSettings; src/ does not import config/). */
export interface SwiftStoreSettings {
	authUrl: string;
	authKind: "keystone" | "tempauth";
	user: string;
	password: string;
	project?: string;
	domain: string;
	region?: string;
	containerPrefix: string;
	segmentBytes: number;
	tempUrls: boolean;
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
	swift: async () => {
		const { swiftStoreFrom } = await import("./swift/from-settings.ts");
		return (ctx) => {
			if (!ctx.swift) throw new Error("the swift artifact store needs its settings (CDS_SWIFT_*)");
			return swiftStoreFrom(ctx.swift, ctx.log);
		};
	},
};

export const ARTIFACT_STORE_KINDS: readonly string[] = Object.keys(ARTIFACT_STORES);

export async function createArtifactStore(kind: string, ctx: ArtifactStoreContext): Promise<ArtifactStore> {
	const load = ARTIFACT_STORES[kind];
	if (!load) throw new Error(`unknown artifact store '${kind}' (known: ${ARTIFACT_STORE_KINDS.join(", ")})`);
	return (await load())(ctx);
}
