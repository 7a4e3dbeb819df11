// Git remote URLs as users write them — https://host/org/repo.git, ssh://git@host:22/org/repo,
// scp-like git@host:org/repo.git, file:///srv/repo.git and plain local paths — parsed into
// one shape, and checked so nothing handed to git can be read as an option or a transport
// helper (`-u…`, `ext::sh -c …`).

import { isAbsolute, resolve } from "node:path";

export type RemoteKind = "https" | "http" | "ssh" | "git" | "file";
export type ManagerType = "github" | "gitlab" | "gitea" | "bitbucket" | "git";

export interface RemoteUrl {
	kind: RemoteKind;
	/** Host name, lower-cased; "" for file remotes. */
	host: string;
	port: number | null;
	/** ssh user (git@…), if any. */
	user: string | null;
	/** The repository path without leading slash nor trailing ".git": "org/repo", "srv/git/repo". */
	path: string;
	/** The URL to hand to git: https/ssh/file URL (local paths become file:// URLs). */
	cloneUrl: string;
}

export class RemoteUrlError extends Error {
	constructor(message: string) {
		super(message);
		this.name = "RemoteUrlError";
	}
}

/** Refuses what git could read as an option or a transport helper. */
export function assertSafeGitUrl(url: string): void {
	if (url.length === 0 || url.length > 2048)
		throw new RemoteUrlError("the repository URL is empty or too long");
	if (url.startsWith("-")) throw new RemoteUrlError(`refusing repository URL "${url}": it starts with "-"`);
	if (/^[a-z][a-z0-9+.-]*::/i.test(url))
		throw new RemoteUrlError(
			`refusing repository URL "${url}": transport helpers (such as ext::) are not allowed`,
		);
	if (/[\0\r\n]/.test(url)) throw new RemoteUrlError("the repository URL holds control characters");
}

function trimRepoPath(raw: string): string {
	const path = raw
		.replace(/^\/+/, "")
		.replace(/\/+$/, "")
		.replace(/\.git$/, "");
	if (path === "" || path.split("/").some((seg) => seg === "" || seg === "." || seg === ".."))
		throw new RemoteUrlError(`"${raw}" is not a repository path`);
	return path;
}

const SCP_LIKE = /^(?:([^@/\s]+)@)?([^:/\s]+):(?!\/\/)(.+)$/;

/**
 * Parses a remote URL. Relative local paths are resolved against `baseDir` (the clone's
 * root), because the server that later fetches them does not share the CLI's cwd.
 */
export function parseRemoteUrl(input: string, baseDir = process.cwd()): RemoteUrl {
	const url = input.trim();
	assertSafeGitUrl(url);
	// URL parsing would silently resolve dot segments: refuse them instead.
	if (
		/(^|[/:])\.\.?(\/|$)/.test(url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, "")) &&
		/^[a-z][a-z0-9+.-]*:\/\//i.test(url)
	)
		throw new RemoteUrlError(`"${url}" holds "." or ".." path segments`);
	const schemed = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
	if (schemed) {
		const scheme = schemed[1]!.toLowerCase();
		let parsed: URL;
		try {
			parsed = new URL(url);
		} catch {
			throw new RemoteUrlError(`"${url}" is not a valid URL`);
		}
		if (scheme === "file") {
			const path = decodeURIComponent(parsed.pathname);
			return {
				kind: "file",
				host: "",
				port: null,
				user: null,
				path: trimRepoPath(path),
				cloneUrl: `file://${path}`,
			};
		}
		if (!["https", "http", "ssh", "git"].includes(scheme))
			throw new RemoteUrlError(`unsupported repository URL scheme "${scheme}://"`);
		if (!parsed.hostname) throw new RemoteUrlError(`"${url}" has no host`);
		const path = trimRepoPath(decodeURIComponent(parsed.pathname));
		// Credentials typed into the URL never travel further than this parse.
		const clean = new URL(url);
		if (scheme !== "ssh") {
			clean.username = "";
			clean.password = "";
		} else clean.password = "";
		return {
			kind: scheme as RemoteKind,
			host: parsed.hostname.toLowerCase(),
			port: parsed.port ? Number(parsed.port) : null,
			user: parsed.username ? decodeURIComponent(parsed.username) : null,
			path,
			cloneUrl: clean.toString(),
		};
	}
	const scp = SCP_LIKE.exec(url);
	// "C:\repo" style drive letters and "./a:b" paths are local paths, not scp-like remotes.
	if (scp && !url.startsWith(".") && !url.startsWith("/") && scp[2]!.length > 1) {
		const [, user, host, rawPath] = scp;
		const path = trimRepoPath(rawPath!);
		return {
			kind: "ssh",
			host: host!.toLowerCase(),
			port: null,
			user: user ?? null,
			path,
			cloneUrl: `${user ? `${user}@` : ""}${host}:${rawPath}`,
		};
	}
	const absolute = isAbsolute(url) ? url : resolve(baseDir, url);
	return {
		kind: "file",
		host: "",
		port: null,
		user: null,
		path: trimRepoPath(absolute),
		cloneUrl: `file://${absolute}`,
	};
}

/** The provider a remote's host suggests; anything unknown (and every file remote) is plain git. */
export function detectManager(remote: RemoteUrl): ManagerType {
	const host = remote.host;
	if (remote.kind === "file" || host === "") return "git";
	if (host === "github.com" || host.startsWith("github.")) return "github";
	if (host === "gitlab.com" || host.startsWith("gitlab.")) return "gitlab";
	if (host === "bitbucket.org" || host.startsWith("bitbucket.") || host.startsWith("stash."))
		return "bitbucket";
	if (host === "codeberg.org" || host.startsWith("gitea.") || host.startsWith("forgejo.")) return "gitea";
	return "git";
}

/** Two spellings of one repository compare equal (scheme, credentials and ".git" aside). */
export function sameRepository(a: RemoteUrl, b: RemoteUrl): boolean {
	return (
		a.host === b.host &&
		a.path.toLowerCase() === b.path.toLowerCase() &&
		(a.kind === "file") === (b.kind === "file")
	);
}
