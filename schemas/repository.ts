// The repository service's stored documents and what internal callers (hook, workflow) receive.

import type { ManagerType } from "../src/vcs/remote-url.ts";
import type { Doc } from "../src/store/types.ts";
import type { FileSetFile } from "./params.ts";

export interface ManagerDoc extends Doc {
	project: string;
	name: string;
	type: ManagerType;
	/** Provider base URL (https://github.com, https://gitlab.example.com); "" for plain git. */
	url: string;
	sealedToken: string | null;
	created: string;
}

export interface LinkedRepositoryDoc extends Doc {
	project: string;
	manager: string;
	managerType: ManagerType;
	/** The URL git fetches from. */
	url: string;
	/** "org/repo", or the path of a local repository. */
	repo: string;
	defaultBranch: string;
	/** Where the as-code files live, relative to the repository root. */
	cdsDir: string;
	application: string | null;
	hookUuid: string | null;
	webhook: { uuid: string; sealedSecret: string; providerHookId?: string } | null;
	poll: { intervalSeconds: number } | null;
	created: string;
	updated: string;
}

export interface SshKeyDoc extends Doc {
	publicKey: string;
	fingerprint: string;
	sealedPrivateKey: string;
	created: string;
}

/**
 * What `repository.get` / `byHookUuid` / `listPollable` give internal callers (hook, workflow),
 * secrets opened. The one definition: services/hook.service.ts's copy is to be replaced by it.
 */
export interface RepositoryDoc {
	id: string;
	project: string;
	manager: ManagerType;
	managerName: string;
	url: string;
	repo: string;
	defaultBranch: string;
	cdsDir: string;
	webhook: { uuid: string; secret: string; providerHookId?: string } | null;
	poll: { intervalSeconds: number } | null;
	application: string | null;
}

/** `repository.readFiles`: the as-code files of a commit. */
export interface RepositoryFiles {
	commit: string;
	/** Where the files were read, relative to the repository root. */
	dir: string;
	files: FileSetFile[];
}

/** `repository.reportStatus`: whether a commit status was set on the provider. */
export interface StatusReport {
	reported: boolean;
	reason?: string;
}
