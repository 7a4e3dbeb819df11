// Artifact, cache and report-file storage knobs.

import { ARTIFACT_STORE_KINDS } from "../src/artifacts/index.ts";
import { bytes, ConfigError, type Env, optionalString, readAll } from "./settings.ts";

export const ARTIFACT_SETTINGS = {
	maxBytes: bytes(
		"CDS_MAX_ARTIFACT_BYTES",
		1024 ** 3,
		"largest artifact, cache or report file (`512MiB`, `1GiB`…)",
		{ min: 1 },
		"1GiB",
	),
	maxPluginBytes: bytes(
		"CDS_MAX_PLUGIN_BYTES",
		100 * 1024 ** 2,
		"largest plugin binary `cds admin plugin import` may upload (413 above)",
		{ min: 1 },
		"100MiB",
	),
	store: optionalString(
		"CDS_ARTIFACT_STORE",
		"where artifact, cache and report blobs live (`src/artifacts`): `gridfs` (in MongoDB, shared by the cluster) or `filesystem` (under `$CDS_DATA_DIR/artifacts`)",
		{
			pattern: new RegExp(`^(${ARTIFACT_STORE_KINDS.join("|")})$`),
			expected: `one of ${ARTIFACT_STORE_KINDS.join(", ")}`,
		},
		"`gridfs` with `MONGO_URL`, else `filesystem`",
	),
};

export interface ArtifactSettings {
	maxBytes: number;
	/** Largest plugin binary (stored in the same blob store). */
	maxPluginBytes: number;
	/** The registry name of the artifact store (src/artifacts/index.ts). */
	store: string;
}

export function readArtifactSettings(env: Env, mongoUrl: string | undefined): ArtifactSettings {
	const { maxBytes, maxPluginBytes, store } = readAll(env, ARTIFACT_SETTINGS);
	if (store === "gridfs" && !mongoUrl) {
		throw new ConfigError("CDS_ARTIFACT_STORE=gridfs needs MONGO_URL: GridFS lives in MongoDB");
	}
	return { maxBytes, maxPluginBytes, store: store ?? (mongoUrl ? "gridfs" : "filesystem") };
}
