// Artifact, cache and report-file storage knobs.

import { bytes, type Env, readAll } from "./settings.ts";

export const ARTIFACT_SETTINGS = {
	maxBytes: bytes(
		"CDS_MAX_ARTIFACT_BYTES",
		1024 ** 3,
		"largest artifact, cache or report file (`512MiB`, `1GiB`…)",
		{ min: 1 },
		"1GiB",
	),
};

export type ArtifactSettings = ReturnType<typeof readArtifactSettings>;

export function readArtifactSettings(env: Env) {
	return readAll(env, ARTIFACT_SETTINGS);
}
