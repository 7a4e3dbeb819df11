// Gitea and Forgejo (same API): POST /api/v1/repos/{owner}/{repo}/hooks with type "gitea"
// (signed deliveries, X-Gitea-Signature / X-Forgejo-Signature), POST …/statuses/{sha}.

import type { CommitStatusSpec, ProviderClient, ProviderOptions, WebhookSpec } from "./client.ts";
import { splitRepo, trimBase } from "./client.ts";
import { type ProviderRequest, sendJson } from "./http.ts";

function repoUrl(options: ProviderOptions, repo: string): string {
	const { owner, name } = splitRepo(repo);
	return `${trimBase(options.baseUrl)}/api/v1/repos/${encodeURIComponent(owner)}/${encodeURIComponent(name)}`;
}

const auth = (token: string) => ({ authorization: `token ${token}` });

function giteaWebhookRequest(options: ProviderOptions, spec: WebhookSpec): ProviderRequest {
	return {
		method: "POST",
		url: `${repoUrl(options, spec.repo)}/hooks`,
		headers: auth(options.token),
		body: {
			type: "gitea",
			active: true,
			events: ["push", "create", "delete"],
			config: { url: spec.url, content_type: "json", secret: spec.secret },
		},
	};
}

function giteaStatusRequest(options: ProviderOptions, spec: CommitStatusSpec): ProviderRequest {
	return {
		method: "POST",
		url: `${repoUrl(options, spec.repo)}/statuses/${encodeURIComponent(spec.commit)}`,
		headers: auth(options.token),
		body: {
			state: spec.state,
			context: spec.context,
			description: spec.description,
			target_url: spec.targetUrl,
		},
	};
}

export class GiteaClient implements ProviderClient {
	readonly type = "gitea" as const;
	readonly #options: ProviderOptions;
	constructor(options: ProviderOptions) {
		this.#options = options;
	}
	async createWebhook(spec: WebhookSpec) {
		const created = (await sendJson("Gitea", giteaWebhookRequest(this.#options, spec), this.#options)) as {
			id?: number;
		} | null;
		return { id: String(created?.id ?? "") };
	}
	async deleteWebhook(repo: string, id: string) {
		await sendJson(
			"Gitea",
			{
				method: "DELETE",
				url: `${repoUrl(this.#options, repo)}/hooks/${encodeURIComponent(id)}`,
				headers: auth(this.#options.token),
			},
			this.#options,
		);
	}
	async setCommitStatus(spec: CommitStatusSpec) {
		await sendJson("Gitea", giteaStatusRequest(this.#options, spec), this.#options);
	}
}
