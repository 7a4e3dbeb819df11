// Bitbucket Server / Data Center REST 1.0: POST /rest/api/1.0/projects/{KEY}/repos/{slug}/webhooks
// (HMAC-signed with the configured secret, event repo:refs_changed) and build statuses on
// POST /rest/build-status/1.0/commits/{sha} (INPROGRESS / SUCCESSFUL / FAILED).

import type { CommitStatusSpec, ProviderClient, ProviderOptions, WebhookSpec } from "./client.ts";
import { splitRepo, trimBase } from "./client.ts";
import { type ProviderRequest, sendJson } from "./http.ts";

const STATES = { pending: "INPROGRESS", success: "SUCCESSFUL", failure: "FAILED" } as const;

function repoUrl(options: ProviderOptions, repo: string): string {
	// Clone URLs of Bitbucket Server read /scm/PROJECT/repo.git.
	const { owner, name } = splitRepo(repo.replace(/^scm\//i, ""));
	return `${trimBase(options.baseUrl)}/rest/api/1.0/projects/${encodeURIComponent(owner)}/repos/${encodeURIComponent(name)}`;
}

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

function bitbucketWebhookRequest(options: ProviderOptions, spec: WebhookSpec): ProviderRequest {
	return {
		method: "POST",
		url: `${repoUrl(options, spec.repo)}/webhooks`,
		headers: auth(options.token),
		body: {
			name: "cds",
			url: spec.url,
			active: true,
			events: ["repo:refs_changed"],
			configuration: { secret: spec.secret },
		},
	};
}

function bitbucketStatusRequest(options: ProviderOptions, spec: CommitStatusSpec): ProviderRequest {
	return {
		method: "POST",
		url: `${trimBase(options.baseUrl)}/rest/build-status/1.0/commits/${encodeURIComponent(spec.commit)}`,
		headers: auth(options.token),
		body: {
			state: STATES[spec.state],
			key: spec.context,
			name: spec.context,
			url: spec.targetUrl,
			description: spec.description,
		},
	};
}

export class BitbucketServerClient implements ProviderClient {
	readonly type = "bitbucket" as const;
	readonly #options: ProviderOptions;
	constructor(options: ProviderOptions) {
		this.#options = options;
	}
	async createWebhook(spec: WebhookSpec) {
		const created = (await sendJson(
			"Bitbucket",
			bitbucketWebhookRequest(this.#options, spec),
			this.#options,
		)) as {
			id?: number;
		} | null;
		return { id: String(created?.id ?? "") };
	}
	async deleteWebhook(repo: string, id: string) {
		await sendJson(
			"Bitbucket",
			{
				method: "DELETE",
				url: `${repoUrl(this.#options, repo)}/webhooks/${encodeURIComponent(id)}`,
				headers: auth(this.#options.token),
			},
			this.#options,
		);
	}
	async setCommitStatus(spec: CommitStatusSpec) {
		await sendJson("Bitbucket", bitbucketStatusRequest(this.#options, spec), this.#options);
	}
}
