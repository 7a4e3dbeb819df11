/**
 * A fresh directory per job, and path resolution that never leaves the workspace: an
 * absolute path such as `/go/src/x` (written for CDS's container workers) means
 * `<workspace>/go/src/x`, a relative one is taken from the workspace, and `..` or a symlink
 * that would lead outside is refused.
 */

import { createHash } from "node:crypto";
import { mkdir, mkdtemp, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";

export interface JobDirs {
	/** The job's private root, removed after the job. */
	root: string;
	/** HOME and the steps' working directory; starts empty so a clone into it works. */
	workspace: string;
	/** TMPDIR of the steps. */
	tmp: string;
	/** Holds the `worker` command put on the steps' PATH. */
	bin: string;
	/** Worker-private files (scripts, keys, log spill); not visible in the workspace. */
	internal: string;
	/** The unix socket of the `worker` command. */
	socket: string;
}

/** Unix socket paths are limited to about 107 bytes. */
const MAX_SOCKET_PATH = 100;

/** A job's mark in its directory's name: job ids hold `/`, and a name has a length limit. */
export function jobKey(jobId: string): string {
	return createHash("sha256").update(jobId).digest("hex").slice(0, 20);
}

/** The prefix of a job's directory: a hatchery removes those of jobs that are over. */
export function jobDirPrefix(jobId: string): string {
	return `job-${jobKey(jobId)}-`;
}

/** The jobKey of the job a directory made by createJobDirs belongs to, or undefined. */
export function jobOfDir(name: string): string | undefined {
	return /^job-([0-9a-f]{20})-[A-Za-z0-9]{6}$/.exec(name)?.[1];
}

export async function createJobDirs(baseDir: string, jobId = ""): Promise<JobDirs> {
	await mkdir(baseDir, { recursive: true, mode: 0o700 });
	const root = await realpath(await mkdtemp(join(baseDir, jobId ? jobDirPrefix(jobId) : "job-")));
	const dirs = {
		root,
		workspace: join(root, "workspace"),
		tmp: join(root, "tmp"),
		bin: join(root, "bin"),
		internal: join(root, "internal"),
	};
	await Promise.all(Object.values(dirs).map((dir) => mkdir(dir, { recursive: true, mode: 0o700 })));
	let socket = join(dirs.internal, "worker.sock");
	if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) {
		socket = join(await mkdtemp(join(tmpdir(), "cdsw-")), "s");
	}
	return { ...dirs, socket };
}

export async function removeJobDirs(dirs: JobDirs): Promise<void> {
	await rm(dirs.root, { recursive: true, force: true, maxRetries: 3 });
	if (!dirs.socket.startsWith(dirs.root + sep))
		await rm(dirname(dirs.socket), { recursive: true, force: true });
}

export class PathEscapeError extends Error {
	constructor(path: string) {
		super(`path ${JSON.stringify(path)} leaves the workspace`);
		this.name = "PathEscapeError";
	}
}

function isInside(root: string, path: string): boolean {
	return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Lexical resolution (no file system access); throws PathEscapeError. */
function resolveInWorkspace(workspace: string, path: string): string {
	if (path.includes("\0")) throw new PathEscapeError(path);
	if (path === "") return workspace;
	let target: string;
	if (isAbsolute(path)) {
		const normal = resolve(path);
		target = isInside(workspace, normal) ? normal : resolve(workspace, "." + normal);
	} else target = resolve(workspace, path);
	if (!isInside(workspace, target)) throw new PathEscapeError(path);
	return target;
}

/** As resolveInWorkspace, and also refuses a path whose existing part goes through a symlink out of the workspace. */
export async function resolveInWorkspaceReal(workspace: string, path: string): Promise<string> {
	const target = resolveInWorkspace(workspace, path);
	const realRoot = await realpath(workspace);
	let existing = target;
	for (;;) {
		try {
			const real = await realpath(existing);
			if (!isInside(realRoot, real)) throw new PathEscapeError(path);
			break;
		} catch (err) {
			if (err instanceof PathEscapeError) throw err;
			const parent = dirname(existing);
			if (parent === existing) break;
			existing = parent;
		}
	}
	return target;
}

/** `path` relative to the workspace, for messages. */
export function displayPath(workspace: string, path: string): string {
	const rel = relative(workspace, path);
	return rel === "" ? "." : rel;
}
