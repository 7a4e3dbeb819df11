// Which sandbox this host can give its jobs, decided once when a local hatchery starts. A
// sandbox that was asked for (or is the default) and does not work stops the node with the
// fix named — a job never runs unsandboxed by surprise.

import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import path from "node:path";
import type { SandboxKind, SandboxNetwork, SandboxPlan, SandboxTools } from "./plan.ts";

export interface SandboxRequest {
	/** CDS_HATCHERY_SANDBOX */
	kind: "auto" | SandboxKind;
	/** CDS_SANDBOX_NETWORK */
	network: "auto" | SandboxNetwork;
	/** CDS_SANDBOX_UID / CDS_SANDBOX_GID: who steps run as when the hatchery is root. */
	uid: number;
	gid: number;
	hide: string[];
	expose: string[];
	share: string[];
	/** PATH to look for the tools in. */
	searchPath: string;
}

export interface ResolvedSandbox {
	plan: SandboxPlan;
	/** Said at every start: what is weaker than the default, and how to fix it. */
	warnings: string[];
}

export class SandboxUnavailable extends Error {}

function which(name: string, searchPath: string): string | undefined {
	for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
		const file = path.join(dir, name);
		try {
			accessSync(file, constants.X_OK);
			return file;
		} catch {
			/* next */
		}
	}
	return undefined;
}

const isRoot = () => process.getuid?.() === 0;

/** Runs a throw-away sandbox: the only proof that namespaces work on this host. */
function bwrapWorks(bwrap: string): string | undefined {
	const args = [
		"--ro-bind",
		"/",
		"/",
		"--unshare-pid",
		"--unshare-ipc",
		"--unshare-net",
		"--proc",
		"/proc",
		"--dev",
		"/dev",
	];
	if (!isRoot()) args.unshift("--unshare-user");
	const r = spawnSync(bwrap, [...args, "--", "true"], { encoding: "utf8", timeout: 10_000 });
	return r.status === 0 ? undefined : (r.stderr || r.error?.message || `exit ${r.status}`).trim();
}

function unshareWorks(unshare: string): string | undefined {
	const args = ["--pid", "--fork", "--kill-child", "--mount", "--ipc", "--uts", "--net", "--mount-proc"];
	if (!isRoot()) args.push("--user", "--map-root-user");
	const r = spawnSync(unshare, [...args, "--", "true"], { encoding: "utf8", timeout: 10_000 });
	return r.status === 0 ? undefined : (r.stderr || r.error?.message || `exit ${r.status}`).trim();
}

export function resolveSandbox(req: SandboxRequest): ResolvedSandbox {
	const warnings: string[] = [];
	const tools: SandboxTools = {};
	for (const name of ["bwrap", "unshare", "setpriv", "slirp4netns", "nsenter", "ip"] as const) {
		const found = which(name, req.searchPath);
		if (found) tools[name] = found;
	}
	let kind: SandboxKind = "none";
	if (req.kind === "none") {
		kind = "none";
		warnings.push(
			"CDS_HATCHERY_SANDBOX=none: jobs run unsandboxed — a step can read this host's files and processes and reach its network; use it only where every job is trusted",
		);
	} else {
		const bwrapFailure =
			req.kind === "unshare"
				? "not asked for"
				: tools.bwrap
					? bwrapWorks(tools.bwrap)
					: "bwrap is not installed";
		// Probed only when bubblewrap fails: a throw-away sandbox costs a process start.
		const unshareFailure = !bwrapFailure
			? "not needed"
			: req.kind === "bwrap"
				? "not asked for"
				: tools.unshare
					? unshareWorks(tools.unshare)
					: "unshare is not installed";
		if (!bwrapFailure) kind = "bwrap";
		else if (!unshareFailure) {
			kind = "unshare";
			if (req.kind === "auto")
				warnings.push(
					`bubblewrap does not work here (${bwrapFailure}): jobs are sandboxed with util-linux unshare`,
				);
		} else
			throw new SandboxUnavailable(
				`no job sandbox: bubblewrap: ${bwrapFailure}; unshare: ${unshareFailure}. Install bubblewrap (apt-get install bubblewrap) on a host with user namespaces, or set CDS_HATCHERY_SANDBOX=none to run jobs unsandboxed`,
			);
		if ((isRoot() || kind === "unshare") && !tools.setpriv)
			throw new SandboxUnavailable(
				"setpriv (util-linux) is missing: steps could not drop root, nor an unshare sandbox end with its worker",
			);
	}

	let network: SandboxNetwork;
	const natTools = tools.slirp4netns && tools.nsenter && tools.ip;
	if (kind === "none") network = "host";
	else if (req.network === "auto") {
		if (natTools && isRoot()) network = "nat";
		else if (natTools) {
			// slirp4netns cannot enter the network namespace of a sandbox made by an unprivileged
			// bubblewrap (setns is refused), so NAT needs a root hatchery.
			network = "none";
			warnings.push(
				"steps have no network (CDS_SANDBOX_NETWORK=none): the steps' NAT needs a hatchery running as root; CDS_SANDBOX_NETWORK=host shares this host's network instead",
			);
		} else {
			network = "none";
			warnings.push(
				"steps have no network (CDS_SANDBOX_NETWORK=none): install slirp4netns (apt-get install slirp4netns iproute2) so builds can fetch dependencies through NAT",
			);
		}
	} else network = req.network;
	if (network === "nat" && !natTools)
		throw new SandboxUnavailable(
			"CDS_SANDBOX_NETWORK=nat needs slirp4netns, nsenter and ip: apt-get install slirp4netns iproute2 util-linux",
		);
	if (network === "nat" && kind !== "none" && !isRoot())
		throw new SandboxUnavailable(
			"CDS_SANDBOX_NETWORK=nat needs a hatchery running as root (the steps still run unprivileged); use none or host otherwise",
		);
	if (kind !== "none" && network === "host")
		warnings.push(
			"CDS_SANDBOX_NETWORK=host: steps share this host's network — they reach the store, NATS and every service listening on it",
		);

	const plan: SandboxPlan = {
		kind,
		network,
		hide: req.hide,
		expose: req.expose,
		share: req.share,
		tools,
		...(kind !== "none" && isRoot() ? { runAs: { uid: req.uid, gid: req.gid } } : {}),
	};
	return { plan, warnings };
}
