// GitLab REST v4: POST /projects/{id}/hooks (the secret goes back to us as X-Gitlab-Token),
// POST /projects/{id}/statuses/{sha} (GitLab calls failure "failed"). The project id is the
// URL-encoded "group/sub/repo" path.

import type { CommitStatusSpec, ProviderClient, ProviderOptions, WebhookSpec } from "./client.ts";
import { trimBase } from "./client.ts";
import { type ProviderRequest, sendJson } from "./http.ts";

const STATES = { pending: "pending", success: "success", failure: "failed" } as const;

function projectUrl(options: ProviderOptions, repo: string): string {
	return `${trimBase(options.baseUrl)}/api/v4/projects/${encodeURIComponent(repo)}`;
}

function gitlabWebhookRequest(options: ProviderOptions, spec: WebhookSpec): ProviderRequest {
	return {
		method: "POST",
		url: `${projectUrl(options, spec.repo)}/hooks`,
		headers: { "private-token": options.token },
		body: {
			url: spec.url,
			token: spec.secret,
			push_events: true,
			tag_push_events: true,
			enable_ssl_verification: true,
		},
	};
}

function gitlabStatusRequest(options: ProviderOptions, spec: CommitStatusSpec): ProviderRequest {
	return {
		method: "POST",
		url: `${projectUrl(options, spec.repo)}/statuses/${encodeURIComponent(spec.commit)}`,
		headers: { "private-token": options.token },
		body: {
			state: STATES[spec.state],
			name: spec.context,
			description: spec.description,
			target_url: spec.targetUrl,
		},
	};
}

export class GitLabClient implements ProviderClient {
	readonly type = "gitlab" as const;
	readonly #options: ProviderOptions;
	constructor(options: ProviderOptions) {
		this.#options = options;
	}
	async createWebhook(spec: WebhookSpec) {
		const created = (await sendJson("GitLab", gitlabWebhookRequest(this.#options, spec), this.#options)) as {
			id?: number;
		} | null;
		return { id: String(created?.id ?? "") };
	}
	async deleteWebhook(repo: string, id: string) {
		await sendJson(
			"GitLab",
			{
				method: "DELETE",
				url: `${projectUrl(this.#options, repo)}/hooks/${encodeURIComponent(id)}`,
				headers: { "private-token": this.#options.token },
			},
			this.#options,
		);
	}
	async setCommitStatus(spec: CommitStatusSpec) {
		await sendJson("GitLab", gitlabStatusRequest(this.#options, spec), this.#options);
	}
}
