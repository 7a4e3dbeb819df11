// GitHub REST v3 (github.com and Enterprise Server, whose API lives under /api/v3).
// Webhook: POST /repos/{owner}/{repo}/hooks; status: POST /repos/{owner}/{repo}/statuses/{sha}.

import type { CommitStatusSpec, ProviderClient, ProviderOptions, WebhookSpec } from "./client.ts";
import { splitRepo, trimBase } from "./client.ts";
import { type ProviderRequest, sendJson } from "./http.ts";

export function githubApiBase(baseUrl: string): string {
	const base = trimBase(baseUrl);
	const host = new URL(base).hostname;
	if (host === "github.com" || host === "www.github.com") return "https://api.github.com";
	return host.startsWith("api.") ? base : `${base}/api/v3`;
}

function headers(token: string) {
	return {
		authorization: `Bearer ${token}`,
		accept: "application/vnd.github+json",
		"x-github-api-version": "2022-11-28",
	};
}

function repoPath(repo: string): string {
	const { owner, name } = splitRepo(repo);
	return `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(name)}`;
}

function githubWebhookRequest(options: ProviderOptions, spec: WebhookSpec): ProviderRequest {
	return {
		method: "POST",
		url: `${githubApiBase(options.baseUrl)}${repoPath(spec.repo)}/hooks`,
		headers: headers(options.token),
		body: {
			name: "web",
			active: true,
			events: ["push", "create", "delete"],
			config: { url: spec.url, content_type: "json", secret: spec.secret, insecure_ssl: "0" },
		},
	};
}

function githubStatusRequest(options: ProviderOptions, spec: CommitStatusSpec): ProviderRequest {
	return {
		method: "POST",
		url: `${githubApiBase(options.baseUrl)}${repoPath(spec.repo)}/statuses/${encodeURIComponent(spec.commit)}`,
		headers: headers(options.token),
		body: {
			state: spec.state,
			context: spec.context,
			description: spec.description.slice(0, 140),
			target_url: spec.targetUrl,
		},
	};
}

export class GitHubClient implements ProviderClient {
	readonly type = "github" as const;
	readonly #options: ProviderOptions;
	constructor(options: ProviderOptions) {
		this.#options = options;
	}
	async createWebhook(spec: WebhookSpec) {
		const created = (await sendJson("GitHub", githubWebhookRequest(this.#options, spec), this.#options)) as {
			id?: number | string;
		} | null;
		return { id: String(created?.id ?? "") };
	}
	async deleteWebhook(repo: string, id: string) {
		await sendJson(
			"GitHub",
			{
				method: "DELETE",
				url: `${githubApiBase(this.#options.baseUrl)}${repoPath(repo)}/hooks/${encodeURIComponent(id)}`,
				headers: headers(this.#options.token),
			},
			this.#options,
		);
	}
	async setCommitStatus(spec: CommitStatusSpec) {
		await sendJson("GitHub", githubStatusRequest(this.#options, spec), this.#options);
	}
}
