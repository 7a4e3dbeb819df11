// Running git safely: positionals always follow `--` where git accepts it, URLs and refs
// are checked before use (nothing starting with "-", no ext:: transport), commits are
// full hex object names, and git never prompts (it would hang a server).

import { execFile } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { hostEnv } from "../../config/process-env.ts";
import { DEFAULT_OUTBOUND_POLICY } from "../net/outbound-policy.ts";
import { type GitOutbound, gitOutboundArgs, transportConfig } from "./git-outbound.ts";
import { assertSafeGitUrl } from "./remote-url.ts";

export class GitError extends Error {
	readonly stderr: string;
	constructor(message: string, stderr = "") {
		super(message);
		this.name = "GitError";
		this.stderr = stderr;
	}
}

export interface GitOptions {
	cwd?: string;
	/** Extra environment (GIT_SSH_COMMAND, GIT_CONFIG_* for credentials). */
	env?: Record<string, string>;
	timeoutMs?: number;
	/** Exit codes that are answers rather than failures (e.g. 1 for "not found"). */
	okCodes?: number[];
	/** Whether file:// and local-path remotes may be read (default true; the server passes its setting). */
	allowFile?: boolean;
	/**
	 * The outbound policy for commands that reach a remote (default: internal addresses refused,
	 * local remotes as `allowFile` says). The server passes CDS_OUTBOUND_ALLOW's.
	 */
	outbound?: GitOutbound;
	/** git `-c` arguments computed for the remote (set by the functions that reach one). */
	remoteConfig?: string[];
}

function outboundOf(options: GitOptions): GitOutbound {
	return options.outbound ?? { policy: DEFAULT_OUTBOUND_POLICY, allowLocal: options.allowFile !== false };
}

const MAX_OUTPUT = 64 * 1024 * 1024;

/** Runs git with an argument vector (no shell) and returns stdout. */
export function git(
	args: readonly string[],
	options: GitOptions = {},
): Promise<{ stdout: string; code: number }> {
	return new Promise((resolvePromise, reject) => {
		execFile(
			"git",
			// Only known transports, whatever the user's config says: never ext:: or other helpers.
			[
				...(options.remoteConfig ?? transportConfig(outboundOf(options).allowLocal)),
				"-c",
				"core.hooksPath=/dev/null",
				...args,
			],
			{
				cwd: options.cwd,
				env: {
					...hostEnv(),
					GIT_TERMINAL_PROMPT: "0",
					GIT_ASKPASS: "true",
					SSH_ASKPASS: "true",
					LC_ALL: "C",
					...options.env,
				},
				timeout: options.timeoutMs ?? 120_000,
				maxBuffer: MAX_OUTPUT,
				encoding: "utf8",
			},
			(err, stdout, stderr) => {
				if (!err) return resolvePromise({ stdout, code: 0 });
				const code =
					typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : -1;
				if (options.okCodes?.includes(code)) return resolvePromise({ stdout, code });
				const first = String(stderr).trim().split("\n").slice(-1)[0] || err.message;
				reject(
					new GitError(
						`git ${args
							.filter((a) => !a.includes("\n"))
							.slice(0, 2)
							.join(" ")}: ${first}`,
						String(stderr),
					),
				);
			},
		);
	});
}

const FULL_HASH = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
/** A branch name git would accept, refusing what could become an option or a revision expression. */
const BRANCH =
	/^(?!-)(?!.*\.\.)(?!.*@\{)(?!.*\/\/)(?!\/)(?!.*\/$)(?!.*\.lock$)[^\0-\x20~^:?*[\\\x7f]{1,255}$/;

export function isFullCommit(value: string): boolean {
	return FULL_HASH.test(value);
}

function assertCommit(value: string): void {
	if (!FULL_HASH.test(value)) throw new GitError(`"${value}" is not a full commit hash (40 hex digits)`);
}

function isSafeBranch(value: string): boolean {
	return BRANCH.test(value) && !value.endsWith(".");
}

export function assertBranch(value: string): void {
	if (!isSafeBranch(value)) throw new GitError(`"${value}" is not an acceptable branch name`);
}

/** The repository root: the nearest directory from `start` upward holding `.git` (dir or file). */
export function findRepositoryRoot(start: string): string | null {
	let dir = resolve(start);
	for (;;) {
		if (existsSync(join(dir, ".git"))) return dir;
		const parent = dirname(dir);
		if (parent === dir) return null;
		dir = parent;
	}
}

/** The current branch, or null on a detached HEAD. */
export async function currentBranch(root: string): Promise<string | null> {
	const { stdout, code } = await git(["symbolic-ref", "--quiet", "--short", "HEAD"], {
		cwd: root,
		okCodes: [1],
	});
	return code === 0 ? stdout.trim() : null;
}

export async function headCommit(root: string): Promise<string> {
	const { stdout } = await git(["rev-parse", "--verify", "--end-of-options", "HEAD^{commit}"], { cwd: root });
	return stdout.trim();
}

const REMOTE_NAME = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$/;

/** A remote's fetch URL, or null when the remote does not exist. */
export async function remoteUrl(root: string, remote: string): Promise<string | null> {
	if (!REMOTE_NAME.test(remote)) throw new GitError(`"${remote}" is not a remote name`);
	const { stdout, code } = await git(["config", "--get", `remote.${remote}.url`], {
		cwd: root,
		okCodes: [1],
	});
	return code === 0 && stdout.trim() ? stdout.trim() : null;
}

/** The branch a remote's HEAD points at as the clone knows it (refs/remotes/<remote>/HEAD). */
export async function remoteDefaultBranch(root: string, remote: string): Promise<string | null> {
	if (!REMOTE_NAME.test(remote)) throw new GitError(`"${remote}" is not a remote name`);
	const { stdout, code } = await git(["symbolic-ref", "--quiet", "--short", `refs/remotes/${remote}/HEAD`], {
		cwd: root,
		okCodes: [1, 128],
	});
	if (code !== 0) return null;
	const ref = stdout.trim();
	return ref.startsWith(`${remote}/`) ? ref.slice(remote.length + 1) : null;
}

/** `git ls-remote --symref URL HEAD`: the branch the remote's HEAD names, if it has commits. */
export async function lsRemoteDefaultBranch(url: string, options: GitOptions = {}): Promise<string | null> {
	assertSafeGitUrl(url);
	const remoteConfig = await gitOutboundArgs(url, outboundOf(options));
	const { stdout } = await git(["ls-remote", "--symref", "--", url, "HEAD"], { ...options, remoteConfig });
	const match = /^ref: refs\/heads\/(\S+)\s+HEAD$/m.exec(stdout);
	return match ? match[1]! : null;
}

/** A bare cache repository at `dir` (created if missing). */
export async function ensureBareCache(dir: string): Promise<void> {
	if (existsSync(join(dir, "HEAD")) && statSync(join(dir, "objects")).isDirectory()) return;
	await git(["init", "--quiet", "--bare", "--", dir]);
}

/** Whether the cache already holds the commit. */
async function hasCommit(cacheDir: string, commit: string): Promise<boolean> {
	assertCommit(commit);
	const { code } = await git(["cat-file", "-e", `${commit}^{commit}`], { cwd: cacheDir, okCodes: [1, 128] });
	return code === 0;
}

/**
 * Brings `commit` into the cache: first the branch it was pushed on, then (servers that
 * allow it) the commit itself.
 */
export async function fetchCommit(
	cacheDir: string,
	url: string,
	commit: string,
	branch: string | null,
	options: GitOptions = {},
): Promise<void> {
	assertSafeGitUrl(url);
	assertCommit(commit);
	if (await hasCommit(cacheDir, commit)) return;
	// Checked (and pinned) once for both fetches: they follow each other within the same call.
	const remoteConfig = await gitOutboundArgs(url, outboundOf(options));
	options = { ...options, remoteConfig };
	const base = ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--"];
	if (branch) {
		assertBranch(branch);
		await git([...base, url, `+refs/heads/${branch}:refs/cache/${branch}`], {
			...options,
			cwd: cacheDir,
		}).catch(() => undefined);
		if (await hasCommit(cacheDir, commit)) return;
	}
	await git([...base, url, commit], { ...options, cwd: cacheDir });
	if (!(await hasCommit(cacheDir, commit))) throw new GitError(`commit ${commit} is not in ${url}`);
}

/** Author and message of a commit the cache holds (what a webhook payload tells, for the poller). */
export async function readCommitInfo(
	cacheDir: string,
	commit: string,
): Promise<{ author: string; authorEmail: string; message: string }> {
	assertCommit(commit);
	// NUL-separated: names and messages may hold any other character.
	const { stdout } = await git(["log", "-1", "--format=%an%x00%ae%x00%B", commit, "--"], { cwd: cacheDir });
	const [author = "", authorEmail = "", message = ""] = stdout.split("\0");
	return { author, authorEmail, message: message.replace(/\n+$/, "") };
}

export interface TreeFile {
	path: string;
	content: string;
}

/**
 * The files under `dir` (relative to the repository root) at `commit`, read from the
 * object database (no checkout): paths come back relative to `dir`.
 */
export async function readTreeFiles(
	cacheDir: string,
	commit: string,
	dir: string,
	accept: (path: string) => boolean,
	limits = { maxFiles: 200, maxBytes: 1024 * 1024 },
): Promise<TreeFile[]> {
	assertCommit(commit);
	const prefix = normaliseDir(dir);
	const { stdout } = await git(
		["ls-tree", "-r", "-z", "--full-tree", commit, "--", prefix === "" ? "." : prefix],
		{
			cwd: cacheDir,
		},
	);
	const files: TreeFile[] = [];
	const decoder = new TextDecoder("utf-8", { fatal: true });
	for (const entry of stdout.split("\0")) {
		if (!entry) continue;
		const tab = entry.indexOf("\t");
		const [mode, type, object] = entry.slice(0, tab).split(" ");
		const full = entry.slice(tab + 1);
		if (type !== "blob" || mode === "120000" || !/^[0-9a-f]{40,64}$/.test(object ?? "")) continue;
		const path = prefix === "" ? full : full.slice(prefix.length + 1);
		if (!accept(path)) continue;
		if (files.length >= limits.maxFiles)
			throw new GitError(`more than ${limits.maxFiles} files under ${dir}`);
		const size = Number((await git(["cat-file", "-s", object!], { cwd: cacheDir })).stdout.trim());
		if (size > limits.maxBytes) throw new GitError(`${full} is larger than ${limits.maxBytes} bytes`);
		const raw = await gitBuffer(["cat-file", "blob", object!], cacheDir);
		let content: string;
		try {
			content = decoder.decode(raw);
		} catch {
			throw new GitError(`${full} is not UTF-8 text`);
		}
		files.push({ path, content });
	}
	return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function gitBuffer(args: string[], cwd: string): Promise<Buffer> {
	return new Promise((resolvePromise, reject) => {
		execFile(
			"git",
			args,
			{ cwd, encoding: "buffer", maxBuffer: MAX_OUTPUT, env: { ...hostEnv(), GIT_TERMINAL_PROMPT: "0" } },
			(err, stdout, stderr) =>
				err ? reject(new GitError(`git ${args[0]}: ${String(stderr).trim()}`)) : resolvePromise(stdout),
		);
	});
}

/** "./.cds/" → ".cds"; refuses paths escaping the repository. */
export function normaliseDir(dir: string): string {
	const parts = dir.split("/").filter((p) => p !== "" && p !== ".");
	if (parts.some((p) => p === ".." || p.startsWith("-")))
		throw new GitError(`"${dir}" is not a directory inside the repository`);
	return parts.join("/");
}
