// The bubblewrap command line of one step. Pure: the host's top-level entries are given, so a
// unit test checks the layout without running anything.
//
// Layout: every top-level directory of the host read-only, except those in HIDDEN_TOP_LEVEL
// (empty tmpfs); the plan's hidden paths (data directory, other workspaces) empty too; the
// CDS install read-only again where a hidden path covered it; a fresh /proc (own PID
// namespace: no other process is visible), a minimal /dev; the job's workspace and tmp the
// only writable host paths; the worker socket, the `worker` command and the step's files
// under /run/cds.

import { isAbsolute, normalize, sep } from "node:path";
import {
	HIDDEN_TOP_LEVEL,
	SANDBOX_BIN,
	SANDBOX_FILES,
	SANDBOX_RUN_DIR,
	SANDBOX_SOCKET,
	type SandboxPlan,
} from "./plan.ts";

export interface TopLevelEntry {
	name: string;
	/** Set for a symlink (merged-/usr hosts: /bin → usr/bin). */
	symlinkTarget?: string;
	isDirectory: boolean;
}

export interface StepMounts {
	workspace: string;
	tmp: string;
	/** Host directory holding the `worker` command; shown at SANDBOX_BIN. */
	bin: string;
	/** Host path of the job's worker socket; shown at SANDBOX_SOCKET. */
	socket: string;
	cwd: string;
	/** Descriptors (of the bwrap process) whose content becomes a file under SANDBOX_FILES. */
	files: Array<{ fd: number; name: string; mode: number }>;
	/** A host directory holding the step's files already (a root worker's): shown read-only at SANDBOX_FILES. */
	filesDir?: string;
	/** Descriptor holding /etc/resolv.conf for the NAT network. */
	resolvConfFd?: number;
	infoFd: number;
	/** Descriptor bwrap waits on before running the command (the network is set up meanwhile). */
	blockFd?: number;
	/** Run as root on the host: bwrap keeps capabilities, the command must drop them. */
	hostRoot: boolean;
	/** The step runs in the worker's network namespace (entered before bwrap), not a new one. */
	joinedNetwork?: boolean;
	/** The ids the step keeps in its user namespace (set when bwrap starts inside another one). */
	ids?: { uid: number; gid: number };
}

function inside(parent: string, path: string): boolean {
	return path === parent || path.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}

function topOf(path: string): string {
	return path.split(sep).filter(Boolean)[0] ?? "";
}

export function bwrapArgs(plan: SandboxPlan, mounts: StepMounts, root: readonly TopLevelEntry[]): string[] {
	const args = [
		"--die-with-parent",
		"--new-session",
		"--unshare-pid",
		"--unshare-ipc",
		"--unshare-uts",
		"--unshare-cgroup-try",
		"--hostname",
		"cds-job",
	];
	if (!mounts.hostRoot) args.push("--unshare-user");
	if (!mounts.hostRoot && mounts.ids)
		args.push("--uid", String(mounts.ids.uid), "--gid", String(mounts.ids.gid));
	if (plan.network !== "host" && !mounts.joinedNetwork) args.push("--unshare-net");

	const hiddenTop = new Set(HIDDEN_TOP_LEVEL);
	for (const entry of root) {
		const path = `/${entry.name}`;
		if (entry.name === "proc" || entry.name === "dev") continue;
		if (entry.symlinkTarget !== undefined) args.push("--symlink", entry.symlinkTarget, path);
		else if (!entry.isDirectory) continue;
		else if (entry.name === "tmp") args.push("--perms", "1777", "--tmpfs", path);
		else if (hiddenTop.has(entry.name)) args.push("--perms", "0711", "--tmpfs", path);
		else args.push("--ro-bind", path, path);
	}
	args.push("--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/dev/shm");
	if (!root.some((e) => e.name === "tmp")) args.push("--perms", "1777", "--tmpfs", "/tmp");

	const clean = (paths: readonly string[]) =>
		[...new Set(paths.filter(isAbsolute).map((p) => normalize(p).replace(/\/+$/, "") || "/"))].filter(
			(p) => p !== "/",
		);
	const hide = clean(plan.hide);
	const expose = clean(plan.expose);
	const hiddenByTop = (p: string) => hiddenTop.has(topOf(p));
	// Hidden paths outside any exposed one first; then the exposed paths (read-only); then the
	// hidden paths that lie inside an exposed one (a data directory inside the install). A
	// hidden directory can be crossed (the workspace may lie below it), not listed.
	const inExposed = (p: string) => expose.some((e) => inside(e, p) && e !== p);
	const hidden = (p: string) => args.push("--perms", "0711", "--tmpfs", p);
	// The directories leading to a path shown inside a hidden (empty) tree are made crossable
	// — bubblewrap would make them 0700 — before that path is bound; not listable.
	const hiddenRoots = [...hide, ...HIDDEN_TOP_LEVEL.map((t) => `/${t}`)];
	const made = new Set<string>();
	const crossable = (targets: readonly string[]) => {
		for (const target of targets) {
			const parts = target.split(sep).filter(Boolean);
			for (let i = 1; i < parts.length; i++) {
				const dir = `/${parts.slice(0, i).join(sep)}`;
				// Only where the deepest mount above is an empty tmpfs (not a read-only bind of the host).
				const deepest = (roots: string[], strict: boolean) =>
					Math.max(-1, ...roots.filter((r) => inside(r, dir) && (!strict || r !== dir)).map((r) => r.length));
				if (made.has(dir) || deepest(hiddenRoots, true) <= deepest(expose, false)) continue;
				made.add(dir);
				args.push("--perms", "0711", "--dir", dir);
			}
		}
	};
	for (const p of hide) if (!inExposed(p) && !hiddenByTop(p)) hidden(p);
	crossable(expose);
	for (const p of expose) args.push("--ro-bind-try", p, p);
	for (const p of hide) if (inExposed(p)) hidden(p);
	const share = clean(plan.share);
	crossable([...share, mounts.workspace, mounts.tmp]);
	for (const p of share) args.push("--bind-try", p, p);
	args.push("--bind", mounts.workspace, mounts.workspace, "--bind", mounts.tmp, mounts.tmp);
	args.push("--dir", SANDBOX_RUN_DIR, "--ro-bind", mounts.bin, SANDBOX_BIN);
	args.push("--bind", mounts.socket, SANDBOX_SOCKET);
	if (mounts.filesDir !== undefined) args.push("--ro-bind", mounts.filesDir, SANDBOX_FILES);
	else if (mounts.files.length > 0) args.push("--dir", SANDBOX_FILES);
	for (const file of mounts.files)
		args.push(
			"--perms",
			file.mode.toString(8).padStart(4, "0"),
			"--file",
			String(file.fd),
			`${SANDBOX_FILES}/${file.name}`,
		);
	if (mounts.resolvConfFd !== undefined)
		args.push("--perms", "0644", "--ro-bind-data", String(mounts.resolvConfFd), "/etc/resolv.conf");
	args.push("--info-fd", String(mounts.infoFd));
	if (mounts.blockFd !== undefined) args.push("--block-fd", String(mounts.blockFd));
	args.push("--chdir", mounts.cwd);
	return args;
}

/**
 * What runs inside bwrap before the command when the host user is root: bwrap then keeps every
 * capability, so the step's files are handed to the unprivileged user and the command runs
 * as that user with no capability and no way to gain one.
 */
export function dropPrivileges(
	plan: SandboxPlan,
	command: string,
	args: readonly string[],
	withFiles: boolean,
): string[] {
	const runAs = plan.runAs;
	const setpriv = plan.tools.setpriv;
	if (!runAs || !setpriv) return [command, ...args];
	const drop = [
		setpriv,
		`--reuid=${runAs.uid}`,
		`--regid=${runAs.gid}`,
		"--clear-groups",
		"--inh-caps=-all",
		"--bounding-set=-all",
		"--no-new-privs",
		"--",
		command,
		...args,
	];
	if (!withFiles) return drop;
	return ["/bin/sh", "-c", `chown -R ${runAs.uid}:${runAs.gid} ${SANDBOX_FILES} && exec "$@"`, "sh", ...drop];
}
