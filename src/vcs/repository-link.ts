// The rules of linking a project to repository managers and repositories, kept apart from
// the store and the broker: what a manager URL must be, when adding a manager again is a
// no-op, which remotes a manager may link, how a link is watched (webhook or poller), and
// which commit state a run's status reports.

import { createHash } from "node:crypto";
import type { LinkedRepositoryDoc, ManagerDoc, RepositoryDoc } from "../../schemas/repository.ts";
import type { CommitState } from "./providers/client.ts";
import type { ManagerType, RemoteUrl } from "./remote-url.ts";

export const MANAGER_TYPES = ["github", "gitlab", "gitea", "bitbucket", "git"] as const;
export const DEFAULT_POLL_SECONDS = 60;

/** A refusal of a link request: the message, and the field it is about. */
export interface LinkRefusal {
	message: string;
	field: string;
	reason: string;
}

/** One link per (project, repository): the id is derived, so linking twice finds the first link. */
export function repositoryId(project: string, remote: RemoteUrl): string {
	return createHash("sha256")
		.update(
			`${project}\n${remote.kind === "file" ? "file" : "net"}\n${remote.host}\n${remote.path.toLowerCase()}`,
		)
		.digest("hex")
		.slice(0, 24);
}

/** The application's `repository.repo` must read "a/b": local paths are already a/b/c… */
export function entityRepo(repo: string): string {
	const clean = repo.replace(/\s+/g, "_");
	return clean.includes("/") ? clean : `local/${clean}`;
}

/**
 * The stored URL of a manager: none for plain git; an http(s) origin and path without
 * trailing slashes for a provider, which must have one.
 */
export function managerUrl(type: ManagerType, url: string | undefined): { url: string } | LinkRefusal {
	if (type === "git") return { url: "" };
	if (!url) return { message: "url is required for a provider manager", field: "url", reason: "required" };
	let parsed: URL;
	try {
		parsed = new URL(url);
	} catch {
		return { message: `${url} is not a URL`, field: "url", reason: "not a URL" };
	}
	if (parsed.protocol !== "https:" && parsed.protocol !== "http:")
		return { message: "the manager URL must be http(s)", field: "url", reason: "not http(s)" };
	return { url: `${parsed.origin}${parsed.pathname.replace(/\/+$/, "")}` };
}

/**
 * Adding a manager whose name exists: the same manager again is a no-op (a token given
 * again is fine when one is stored); different settings must be removed first.
 */
export function sameManager(
	existing: ManagerDoc,
	type: ManagerType,
	url: string,
	token: string | undefined,
): boolean {
	return existing.type === type && existing.url === url && (!token || existing.sealedToken !== null);
}

/** Whether a manager may link that remote on this server, or why not. */
export function linkRefusal(
	remote: RemoteUrl,
	managerType: ManagerType,
	allowLocal: boolean,
): LinkRefusal | null {
	if (remote.kind === "file" && !allowLocal)
		return {
			message: "local repositories are off on this server; allow them with CDS_REPOSITORY_ALLOW_LOCAL=true",
			field: "url",
			reason: "local repository",
		};
	if (managerType !== "git" && remote.kind === "file")
		return {
			message: `a local repository needs a plain git manager, not ${managerType}`,
			field: "manager",
			reason: "not a git manager",
		};
	return null;
}

/**
 * How a new link is watched. A provider webhook (when one was registered) replaces polling;
 * plain git has no API to register one, so it is polled and keeps its signed webhook
 * endpoint for a post-receive hook.
 */
export function watchPlan(
	managerType: ManagerType,
	providerHookId: string | undefined,
	pollSeconds: number | undefined,
): { withWebhook: boolean; poll: { intervalSeconds: number } | null } {
	return {
		withWebhook: managerType === "git" || providerHookId !== undefined,
		poll: providerHookId ? null : { intervalSeconds: pollSeconds ?? DEFAULT_POLL_SECONDS },
	};
}

/** The warning a link without a provider webhook carries, if any. */
export function noWebhookWarning(
	manager: { name: string; type: ManagerType },
	hasClient: boolean,
	webhookError: string | null,
): string | null {
	if (hasClient)
		return webhookError === null ? null : `no webhook on ${manager.type}: ${webhookError}; polling instead`;
	return manager.type === "git" ? null : `manager ${manager.name} has no token: polling instead of a webhook`;
}

/** The commit state a run status reports. */
export function commitStateOf(status: string): CommitState {
	return status === "Success" ? "success" : status === "Fail" || status === "Stopped" ? "failure" : "pending";
}

/**
 * Remembers the last state reported per run so each change is reported once; finished runs
 * are forgotten, and the memory is bounded.
 */
export class StatusDeduper {
	readonly #last = new Map<string, CommitState>();
	readonly #limit: number;

	constructor(limit = 10_000) {
		this.#limit = limit;
	}

	/** Whether this state of the run should be reported now. */
	shouldReport(runId: string, state: CommitState): boolean {
		if (this.#last.get(runId) === state) return false;
		this.#last.set(runId, state);
		if (state !== "pending") this.#last.delete(runId);
		if (this.#last.size > this.#limit) this.#last.clear();
		return true;
	}

	get size(): number {
		return this.#last.size;
	}
}

/** Failures of a status report that are expected (no API to report to) and not worth a warning. */
export function quietStatusFailure(reason: string | undefined): boolean {
	return !reason || /plain git|no token/.test(reason);
}

/** Why a status cannot be reported when there is no provider client. */
export function noClientReason(managerType: ManagerType): string {
	return managerType === "git" ? "plain git has no commit status" : "no token";
}

export function webhookUrl(publicUrl: string, uuid: string): string {
	return `${publicUrl.replace(/\/+$/, "")}/api/v1/hooks/repository/${uuid}`;
}

export function presentManager(doc: ManagerDoc) {
	return {
		name: doc.name,
		type: doc.type,
		url: doc.url,
		hasToken: doc.sealedToken !== null,
		created: doc.created,
	};
}

/**
 * A linked repository as REST answers show it: never a secret. Without a known public URL (no
 * API node announces one) the webhook URL is null rather than an address no gateway serves.
 */
export function presentRepository(doc: LinkedRepositoryDoc, publicUrl: string | undefined) {
	return {
		id: doc._id,
		manager: doc.manager,
		type: doc.managerType,
		url: doc.url,
		repo: doc.repo,
		defaultBranch: doc.defaultBranch,
		cdsDir: doc.cdsDir,
		application: doc.application,
		webhookUrl: doc.webhook && publicUrl ? webhookUrl(publicUrl, doc.webhook.uuid) : null,
		providerHookId: doc.webhook?.providerHookId ?? null,
		poll: doc.poll,
		created: doc.created,
		updated: doc.updated,
	};
}

/** A linked repository as services inside the cluster get it: the webhook secret opened. */
export function internalRepository(
	doc: LinkedRepositoryDoc,
	open: (sealed: string) => string,
): RepositoryDoc {
	return {
		id: doc._id,
		project: doc.project,
		manager: doc.managerType,
		managerName: doc.manager,
		url: doc.url,
		repo: doc.repo,
		defaultBranch: doc.defaultBranch,
		cdsDir: doc.cdsDir,
		webhook: doc.webhook
			? {
					uuid: doc.webhook.uuid,
					secret: open(doc.webhook.sealedSecret),
					...(doc.webhook.providerHookId ? { providerHookId: doc.webhook.providerHookId } : {}),
				}
			: null,
		poll: doc.poll,
		application: doc.application,
	};
}
