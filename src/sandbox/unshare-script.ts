// The fallback sandbox for hosts without bubblewrap: util-linux `unshare` makes the namespaces
// and a shell script, run inside them before the step, builds the same layout as
// bwrap-args.ts — every host mount read-only, the hidden paths empty, the job's directories
// bound back, the files written from descriptors — then starts the step with no capability.
// The script runs as PID 1 of the new namespace and waits for the step: when the step ends,
// PID 1 ends, and the kernel ends whatever the step left behind.

import { sep } from "node:path";
import type { StepMounts, TopLevelEntry } from "./bwrap-args.ts";
import {
	HIDDEN_TOP_LEVEL,
	SANDBOX_BIN,
	SANDBOX_FILES,
	SANDBOX_RUN_DIR,
	SANDBOX_SOCKET,
	type SandboxPlan,
} from "./plan.ts";

const q = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

export interface UnshareMounts extends Omit<StepMounts, "infoFd" | "blockFd"> {
	/** The job's root directory: workspace, tmp, bin and internal/worker.sock are below it. */
	jobRoot: string;
	/** The script writes a line here once the namespaces are ready for NAT. */
	infoFd: number;
	/** …and waits for a line here before starting the step. */
	blockFd?: number;
}

/** `unshare` options: PID (with a fork, killed with its parent), mount, IPC, UTS, network. */
export function unshareArgs(plan: SandboxPlan, hostRoot: boolean): string[] {
	const args = ["--pid", "--fork", "--kill-child", "--mount", "--ipc", "--uts", "--mount-proc"];
	if (plan.network !== "host") args.push("--net");
	if (!hostRoot) args.push("--user", "--map-root-user");
	return args;
}

function relativeTo(root: string, path: string): string {
	return `.${path.slice(root.length)}`;
}

export function unshareScript(
	plan: SandboxPlan,
	mounts: UnshareMounts,
	root: readonly TopLevelEntry[],
): string {
	const lines = ["set -e", `cd ${q(mounts.jobRoot)}`];
	// A process kept in each exposed directory: its /proc/<pid>/cwd still leads to the host's
	// directory once a tmpfs hides the path, so the directory can be bound back.
	const exposes = [...plan.expose, ...plan.share].filter((p) => p.startsWith("/"));
	const writable = new Set(plan.share);
	exposes.forEach((p, i) => {
		lines.push(
			`H${i}=""; if [ -d ${q(p)} ]; then (cd ${q(p)} && exec sleep 600) & H${i}=$!; while kill -0 $H${i} 2>/dev/null && [ "$(readlink /proc/$H${i}/cwd)" != ${q(p)} ]; do :; done; kill -0 $H${i} 2>/dev/null || H${i}=""; fi`,
		);
	});
	// Everything inherited read-only first (binds below are made writable one by one).
	lines.push(
		"for m in $(awk '{print $2}' /proc/self/mounts | sort -u); do mount -o remount,bind,ro \"$m\" 2>/dev/null || true; done",
	);
	const tmpfs = (path: string, mode: string) => lines.push(`mount -t tmpfs -o mode=${mode} tmpfs ${q(path)}`);
	for (const entry of root) {
		if (!entry.isDirectory || entry.symlinkTarget !== undefined) continue;
		if (entry.name === "tmp") tmpfs("/tmp", "1777");
		else if (HIDDEN_TOP_LEVEL.includes(entry.name)) tmpfs(`/${entry.name}`, "0711");
	}
	lines.push("mount -t tmpfs -o mode=1777 tmpfs /dev/shm 2>/dev/null || true");
	const top = (p: string) => p.split(sep).filter(Boolean)[0] ?? "";
	const inside = (parent: string, p: string) => p === parent || p.startsWith(`${parent}/`);
	const exposed = (p: string) => plan.expose.some((e) => inside(e, p) && e !== p);
	const bindBack = (host: string, at: string, writable: boolean) => {
		lines.push(`mkdir -p ${q(at)}`);
		lines.push(`mount --no-canonicalize --bind ${q(relativeTo(mounts.jobRoot, host))} ${q(at)}`);
		lines.push(`mount -o remount,bind,${writable ? "rw" : "ro"} ${q(at)}`);
	};
	for (const p of plan.hide) if (!exposed(p) && !HIDDEN_TOP_LEVEL.includes(top(p))) tmpfs(p, "0711");
	exposes.forEach((p, i) => {
		lines.push(
			`if [ -n "$H${i}" ]; then mkdir -p ${q(p)} 2>/dev/null || true; mount --no-canonicalize --bind /proc/$H${i}/cwd ${q(p)}; mount -o remount,bind,${writable.has(p) ? "rw" : "ro"} ${q(p)}; kill $H${i}; fi`,
		);
	});
	for (const p of plan.hide) if (exposed(p)) tmpfs(p, "0711");
	bindBack(mounts.workspace, mounts.workspace, true);
	bindBack(mounts.tmp, mounts.tmp, true);
	lines.push(
		`mount -t tmpfs -o mode=0755 tmpfs ${q(SANDBOX_RUN_DIR)} 2>/dev/null || mkdir -p ${q(SANDBOX_RUN_DIR)}`,
	);
	bindBack(mounts.bin, SANDBOX_BIN, false);
	lines.push(`touch ${q(SANDBOX_SOCKET)}`);
	lines.push(
		`mount --no-canonicalize --bind ${q(relativeTo(mounts.jobRoot, mounts.socket))} ${q(SANDBOX_SOCKET)}`,
	);
	if (mounts.files.length > 0) lines.push(`mkdir -p ${q(SANDBOX_FILES)}`);
	for (const f of mounts.files) {
		const path = `${SANDBOX_FILES}/${f.name}`;
		lines.push(`cat <&${f.fd} > ${q(path)}`, `chmod ${f.mode.toString(8)} ${q(path)}`);
		if (plan.runAs) lines.push(`chown ${plan.runAs.uid}:${plan.runAs.gid} ${q(path)}`);
	}
	if (mounts.resolvConfFd !== undefined)
		lines.push(
			`cat <&${mounts.resolvConfFd} > /run/cds/resolv.conf`,
			"mount --bind /run/cds/resolv.conf /etc/resolv.conf",
		);
	if (plan.network !== "host") lines.push(`${q(plan.tools.ip ?? "ip")} link set lo up`);
	lines.push(`echo ready >&${mounts.infoFd}`);
	if (mounts.blockFd !== undefined) lines.push(`read -r _ <&${mounts.blockFd}`);
	lines.push('cd "$0"');
	const setpriv = q(plan.tools.setpriv ?? "setpriv");
	const who = plan.runAs ? `--reuid=${plan.runAs.uid} --regid=${plan.runAs.gid} --clear-groups ` : "";
	lines.push(
		`${setpriv} ${who}--inh-caps=-all --ambient-caps=-all --bounding-set=-all --no-new-privs -- "$@" </dev/null &`,
		"wait $!",
	);
	return `${lines.join("\n")}\n`;
}
