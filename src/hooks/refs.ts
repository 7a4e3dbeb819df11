// The poller's view of a repository: its branches and tags from `git ls-remote`, and the
// changes between two views (new commit, new branch, deleted branch, new tag).

import { execFile } from "node:child_process";
import { hostEnv } from "../../config/process-env.ts";
import { DEFAULT_OUTBOUND_POLICY } from "../net/outbound-policy.ts";
import { type GitOutbound, gitOutboundArgs } from "../vcs/git-outbound.ts";
import type { HookChange } from "./payload.ts";

/** Full ref name (`refs/heads/main`, `refs/tags/v1`) → commit. */
export type RefMap = Record<string, string>;

export class GitRemoteError extends Error {
	constructor(message: string) {
		super(message);
		this.name = "GitRemoteError";
	}
}

/** Refuses what git could read as an option, and control characters. */
export function checkRemoteUrl(url: string): void {
	if (typeof url !== "string" || url.trim() === "") throw new GitRemoteError("the repository URL is empty");
	if (url.startsWith("-"))
		throw new GitRemoteError(`refusing repository URL '${url}': it looks like an option`);
	// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
	if (/[\u0000-\u001f\u007f]/.test(url))
		throw new GitRemoteError("the repository URL contains control characters");
	// git's `ext::` transport runs a command; never let a URL choose it.
	if (/^ext::/i.test(url)) throw new GitRemoteError("refusing the ext:: transport");
}

/**
 * Refs as the poller keeps them: `{ref, commit}` objects sorted by ref (FerretDB refuses nested
 * arrays, and ref names hold dots and slashes, so they are values, not keys).
 */
export function refEntries(refs: RefMap): Array<{ ref: string; commit: string }> {
	return Object.entries(refs)
		.sort(([a], [b]) => a.localeCompare(b))
		.map(([ref, commit]) => ({ ref, commit }));
}

/** Parses `git ls-remote` output: branches and tags (annotated tags by the commit they point to). */
export function parseLsRemote(output: string): RefMap {
	const refs: RefMap = {};
	const peeled: RefMap = {};
	for (const line of output.split("\n")) {
		const m = /^([0-9a-f]{40,64})\t(refs\/(?:heads|tags)\/\S+)$/.exec(line.trim());
		if (!m) continue;
		const [, sha, ref] = m;
		if (ref.endsWith("^{}")) peeled[ref.slice(0, -3)] = sha;
		else refs[ref] = sha;
	}
	for (const [ref, sha] of Object.entries(peeled)) refs[ref] = sha;
	return refs;
}

/**
 * Runs `git ls-remote --heads --tags -- <url>` (no prompt, no ext transport, bounded time) under
 * the outbound policy (default: internal addresses refused, local paths allowed; the poller
 * service passes the server's settings).
 */
export async function lsRemote(
	url: string,
	options: { timeoutMs?: number; outbound?: GitOutbound } = {},
): Promise<RefMap> {
	checkRemoteUrl(url);
	const remoteConfig = await gitOutboundArgs(
		url,
		options.outbound ?? { policy: DEFAULT_OUTBOUND_POLICY, allowLocal: true },
	);
	return new Promise((resolve, reject) => {
		execFile(
			"git",
			[...remoteConfig, "ls-remote", "--heads", "--tags", "--", url],
			{
				timeout: options.timeoutMs ?? 30_000,
				maxBuffer: 32 * 1024 * 1024,
				env: { ...hostEnv(), GIT_TERMINAL_PROMPT: "0", GIT_ASKPASS: "/bin/false" },
			},
			(err, stdout, stderr) => {
				if (err) {
					reject(new GitRemoteError(`git ls-remote ${url} failed: ${String(stderr).trim() || err.message}`));
					return;
				}
				resolve(parseLsRemote(String(stdout)));
			},
		);
	});
}

/** What changed between two views of a repository, as hook changes with their git.* variables. */
export function diffRefs(before: RefMap, after: RefMap, repository: string): HookChange[] {
	const changes: HookChange[] = [];
	const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
	for (const ref of names) {
		const old = before[ref];
		const now = after[ref];
		if (old === now) continue;
		const isBranch = ref.startsWith("refs/heads/");
		const name = ref.replace(/^refs\/(heads|tags)\//, "");
		const vars: Record<string, string> = { "git.repository": repository };
		if (isBranch) vars["git.branch"] = name;
		else vars["git.tag"] = name;
		if (now === undefined) {
			if (isBranch) changes.push({ type: "branch-deleted", branch: name, vars });
			continue;
		}
		vars["git.hash"] = now;
		vars["git.hash.short"] = now.slice(0, 7);
		if (!isBranch) changes.push({ type: "tag", tag: name, commit: now, vars });
		else
			changes.push({ type: old === undefined ? "branch-created" : "push", branch: name, commit: now, vars });
	}
	return changes;
}
