// Repository managers and linked repositories.

import { bool, type Env, readAll } from "./settings.ts";

export const REPOSITORY_SETTINGS = {
	allowLocal: bool(
		"CDS_REPOSITORY_ALLOW_LOCAL",
		false,
		"plain-git repositories may be local paths or `file://` URLs on the server host (tests, single-host setups)",
	),
};

export type RepositorySettings = ReturnType<typeof readRepositorySettings>;

export function readRepositorySettings(env: Env) {
	return readAll(env, REPOSITORY_SETTINGS);
}
