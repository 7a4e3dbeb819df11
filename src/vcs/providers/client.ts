// What CDS asks of a repository provider's API: create (and drop) the push webhook, and
// report a commit status. One implementation per provider; each builds its requests
// purely (`…Request` functions) so they can be checked without the provider.

import type { ManagerType } from "../remote-url.ts";
import { BitbucketServerClient } from "./bitbucket.ts";
import { GiteaClient } from "./gitea.ts";
import { GitHubClient } from "./github.ts";
import { GitLabClient } from "./gitlab.ts";
import type { Fetcher } from "./http.ts";

export type CommitState = "pending" | "success" | "failure";

export interface WebhookSpec {
	/** "org/repo" (Bitbucket Server: "PROJECT/repo"). */
	repo: string;
	url: string;
	secret: string;
}

export interface CommitStatusSpec {
	repo: string;
	commit: string;
	state: CommitState;
	context: string;
	description: string;
	targetUrl: string;
}

export interface ProviderClient {
	readonly type: ManagerType;
	createWebhook(spec: WebhookSpec): Promise<{ id: string }>;
	deleteWebhook(repo: string, id: string): Promise<void>;
	setCommitStatus(spec: CommitStatusSpec): Promise<void>;
}

export interface ProviderOptions {
	/** The provider's base URL: https://github.com, https://gitlab.example.com, … */
	baseUrl: string;
	token: string;
	timeoutMs?: number;
	fetcher?: Fetcher;
}

/** The client for a manager type, or null for plain git (no API: the poller does the work). */
export function providerClient(type: ManagerType, options: ProviderOptions): ProviderClient | null {
	switch (type) {
		case "github":
			return new GitHubClient(options);
		case "gitlab":
			return new GitLabClient(options);
		case "gitea":
			return new GiteaClient(options);
		case "bitbucket":
			return new BitbucketServerClient(options);
		default:
			return null;
	}
}

export function splitRepo(repo: string): { owner: string; name: string } {
	const at = repo.lastIndexOf("/");
	if (at <= 0 || at === repo.length - 1) throw new Error(`"${repo}" is not an owner/name repository`);
	return { owner: repo.slice(0, at), name: repo.slice(at + 1) };
}

export function trimBase(url: string): string {
	return url.replace(/\/+$/, "");
}
