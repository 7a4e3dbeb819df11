// Turns a provider's webhook delivery into hook changes carrying CDS `git.*` variables.
// Only the fields CDS needs are read; anything else in the payload is ignored, and a
// payload that is not the JSON object its event promises is a clear error, never a crash.

import { createHash } from "node:crypto";
import type { HeaderMap, HookProvider } from "./signature.ts";
import { jsonMayHoldBadStrings, withWellFormedStrings } from "../store/subset.ts";

export type HookChangeType = "push" | "branch-created" | "branch-deleted" | "tag";

export interface HookChange {
	type: HookChangeType;
	branch?: string;
	tag?: string;
	commit?: string;
	/** git.branch, git.hash, git.hash.short, git.author, git.author.email, git.message, git.repository, git.tag. */
	vars: Record<string, string>;
}

export interface ParsedDelivery {
	provider: HookProvider;
	/** The provider's event name (`push`, `Push Hook`, `repo:refs_changed`…). */
	event: string;
	/** The provider's delivery id, or a digest of the body when it sent none (so retries still match). */
	deliveryId: string;
	/** A ping (GitHub `ping`, Bitbucket `diagnostics:ping`): acknowledged, never stored. */
	ping: boolean;
	/** Nothing to do for this event (a pull request, a branch creation announced separately…). */
	ignored?: string;
	changes: HookChange[];
}

export class HookPayloadError extends Error {
	constructor(message: string) {
		super(message);
		this.name = "HookPayloadError";
	}
}

/** Commit messages are cut here: they become run variables, which have a size limit. */
export const MAX_MESSAGE_LENGTH = 4096;
const ZERO_SHA = /^0+$/;

type Json = Record<string, unknown>;

function obj(v: unknown): Json {
	return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : {};
}
function str(v: unknown): string | undefined {
	return typeof v === "string" && v !== "" ? v : undefined;
}

export function deliveryIdOf(provider: HookProvider, headers: HeaderMap, body: Uint8Array): string {
	const header =
		provider === "github"
			? headers["x-github-delivery"]
			: provider === "gitea"
				? headers["x-gitea-delivery"]
				: provider === "forgejo"
					? (headers["x-forgejo-delivery"] ?? headers["x-gitea-delivery"])
					: provider === "gitlab"
						? headers["x-gitlab-event-uuid"]
						: headers["x-request-id"];
	if (typeof header === "string" && /^[\w.:-]{1,128}$/.test(header)) return header;
	return `sha256-${createHash("sha256").update(body).digest("hex")}`;
}

function eventOf(provider: HookProvider, headers: HeaderMap): string {
	const name =
		provider === "github"
			? headers["x-github-event"]
			: provider === "gitea"
				? headers["x-gitea-event"]
				: provider === "forgejo"
					? (headers["x-forgejo-event"] ?? headers["x-gitea-event"])
					: provider === "gitlab"
						? headers["x-gitlab-event"]
						: headers["x-event-key"];
	return typeof name === "string" ? name : "";
}

/** Reads the JSON body; GitHub may also send it form-encoded as `payload=…`. */
export function parseBody(headers: HeaderMap, body: Uint8Array): Json {
	let text = Buffer.from(body).toString("utf8");
	if ((headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
		text = new URLSearchParams(text).get("payload") ?? "";
	}
	let parsed: unknown;
	try {
		parsed = JSON.parse(text);
	} catch {
		throw new HookPayloadError("the webhook body is not valid JSON");
	}
	if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
		throw new HookPayloadError("the webhook body is not a JSON object");
	}
	// "\0" or a lone surrogate in a branch name or commit message would be refused by the store.
	return (jsonMayHoldBadStrings(text) ? withWellFormedStrings(parsed) : parsed) as Json;
}

/** `refs/heads/x` → branch x, `refs/tags/v1` → tag v1. */
export function splitRef(ref: string): { branch?: string; tag?: string } {
	if (ref.startsWith("refs/heads/")) return { branch: ref.slice("refs/heads/".length) };
	if (ref.startsWith("refs/tags/")) return { tag: ref.slice("refs/tags/".length) };
	return {};
}

export interface CommitInfo {
	author?: string;
	authorEmail?: string;
	message?: string;
}

/** git.author, git.author.email and git.message of a commit, as the webhook and the poller set them. */
export function commitVars(info: CommitInfo): Record<string, string> {
	const vars: Record<string, string> = {};
	if (info.author) vars["git.author"] = info.author;
	if (info.authorEmail) vars["git.author.email"] = info.authorEmail;
	if (info.message) vars["git.message"] = info.message.slice(0, MAX_MESSAGE_LENGTH);
	return vars;
}

/** Builds the change for one ref update, with its git.* variables. */
export function changeFor(
	ref: string,
	before: string | undefined,
	after: string | undefined,
	repository: string | undefined,
	info: CommitInfo,
): HookChange | null {
	const { branch, tag } = splitRef(ref);
	if (!branch && !tag) return null;
	const deleted = after === undefined || ZERO_SHA.test(after);
	const created = before !== undefined && ZERO_SHA.test(before);
	const vars: Record<string, string> = {};
	if (branch) vars["git.branch"] = branch;
	if (tag) vars["git.tag"] = tag;
	if (repository) vars["git.repository"] = repository;
	if (deleted) {
		if (tag) return null; // a deleted tag triggers nothing
		return { type: "branch-deleted", branch, vars };
	}
	vars["git.hash"] = after;
	vars["git.hash.short"] = after.slice(0, 7);
	Object.assign(vars, commitVars(info));
	if (tag) return { type: "tag", tag, commit: after, vars };
	return { type: created ? "branch-created" : "push", branch, commit: after, vars };
}

/** GitHub, Gitea and Forgejo share the push payload: ref, before, after, head_commit / commits, repository.full_name. */
function githubLikePush(payload: Json): HookChange[] {
	const ref = str(payload.ref);
	if (!ref) throw new HookPayloadError("push payload without `ref`");
	const after = str(payload.after);
	const commits = Array.isArray(payload.commits) ? payload.commits.map(obj) : [];
	const head = obj(payload.head_commit ?? commits.find((c) => c.id === after) ?? commits.at(-1));
	const author = obj(head.author);
	const pusher = obj(payload.pusher);
	const deleted = payload.deleted === true;
	const change = changeFor(
		ref,
		payload.created === true ? "0" : str(payload.before),
		deleted ? undefined : after,
		str(obj(payload.repository).full_name),
		{
			author: str(author.name) ?? str(author.username) ?? str(pusher.name) ?? str(pusher.login),
			authorEmail: str(author.email) ?? str(pusher.email),
			message: str(head.message),
		},
	);
	return change ? [change] : [];
}

/** GitHub / Gitea `delete` events: `ref` is the bare branch name, `ref_type` says what it was. */
function githubLikeDelete(payload: Json): HookChange[] {
	const ref = str(payload.ref);
	if (!ref) throw new HookPayloadError("delete payload without `ref`");
	if (payload.ref_type !== "branch") return [];
	const branch = ref.startsWith("refs/heads/") ? ref.slice("refs/heads/".length) : ref;
	const repository = str(obj(payload.repository).full_name);
	return [
		{
			type: "branch-deleted",
			branch,
			vars: { "git.branch": branch, ...(repository ? { "git.repository": repository } : {}) },
		},
	];
}

function gitlabPush(payload: Json): HookChange[] {
	const ref = str(payload.ref);
	if (!ref) throw new HookPayloadError("GitLab push payload without `ref`");
	const after = str(payload.after);
	const commits = Array.isArray(payload.commits) ? payload.commits.map(obj) : [];
	const head = obj(commits.find((c) => c.id === after) ?? commits.at(-1));
	const author = obj(head.author);
	const change = changeFor(
		ref,
		str(payload.before),
		after,
		str(obj(payload.project).path_with_namespace) ?? str(obj(payload.repository).name),
		{
			author: str(author.name) ?? str(payload.user_name),
			authorEmail: str(author.email) ?? str(payload.user_email),
			message: str(head.message),
		},
	);
	return change ? [change] : [];
}

function bitbucketRefsChanged(payload: Json): HookChange[] {
	const changes = Array.isArray(payload.changes) ? payload.changes.map(obj) : null;
	if (!changes) throw new HookPayloadError("Bitbucket repo:refs_changed payload without `changes`");
	const repo = obj(payload.repository);
	const projectKey = str(obj(repo.project).key);
	const slug = str(repo.slug);
	const repository = projectKey && slug ? `${projectKey}/${slug}` : slug;
	const actor = obj(payload.actor);
	const out: HookChange[] = [];
	for (const c of changes) {
		const ref = str(obj(c.ref).id) ?? str(c.refId);
		if (!ref) continue;
		const type = str(c.type);
		const change = changeFor(
			ref,
			type === "ADD" ? "0" : str(c.fromHash),
			type === "DELETE" ? undefined : str(c.toHash),
			repository,
			{ author: str(actor.displayName) ?? str(actor.name), authorEmail: str(actor.emailAddress) },
		);
		if (change) out.push(change);
	}
	return out;
}

/** Parses a verified delivery. Throws HookPayloadError when the body does not match its event. */
export function parseDelivery(provider: HookProvider, headers: HeaderMap, body: Uint8Array): ParsedDelivery {
	const event = eventOf(provider, headers);
	const deliveryId = deliveryIdOf(provider, headers, body);
	const base = { provider, event, deliveryId, ping: false, changes: [] as HookChange[] };
	if (
		(provider === "github" && event === "ping") ||
		(provider === "bitbucket" && event === "diagnostics:ping")
	) {
		return { ...base, ping: true };
	}
	const payload = parseBody(headers, body);
	switch (provider) {
		case "github":
		case "gitea":
		case "forgejo":
			if (event === "push") return { ...base, changes: githubLikePush(payload) };
			if (event === "delete") return { ...base, changes: githubLikeDelete(payload) };
			break;
		case "gitlab": {
			const kind = str(payload.object_kind);
			if (event === "Push Hook" || event === "Tag Push Hook" || kind === "push" || kind === "tag_push") {
				return { ...base, changes: gitlabPush(payload) };
			}
			break;
		}
		case "bitbucket":
			if (event === "repo:refs_changed") return { ...base, changes: bitbucketRefsChanged(payload) };
			break;
	}
	return { ...base, ignored: `event '${event || "(none)"}' is not handled` };
}
