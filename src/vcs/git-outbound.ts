// The outbound policy applied to git: a remote's host is resolved and checked like any other
// connection made on a project's behalf (src/net/outbound-policy.ts), local paths and file://
// remotes need CDS_REPOSITORY_ALLOW_LOCAL, and every git run gets the configuration that keeps it
// there: only known transports (never ext::, file:// only when local repositories are allowed),
// no HTTP redirects, and for http(s) the connection pinned to the checked addresses
// (`http.curloptResolve`) so a second DNS answer cannot point it elsewhere. ssh and git://
// remotes are checked right before each run (ssh resolves on its own: a DNS answer that changes
// within that instant is the remaining window).

import {
	checkOutbound,
	OutboundRefusedError,
	type OutboundPolicy,
	type Resolver,
} from "../net/outbound-policy.ts";
import { parseRemoteUrl } from "./remote-url.ts";

export const LOCAL_SETTING = "CDS_REPOSITORY_ALLOW_LOCAL";

export interface GitOutbound {
	policy: OutboundPolicy;
	/** Whether local paths and file:// remotes may be read (CDS_REPOSITORY_ALLOW_LOCAL). */
	allowLocal: boolean;
	resolve?: Resolver;
}

const DEFAULT_PORTS = { https: 443, http: 80, ssh: 22, git: 9418 } as const;

/** `-c` arguments restricting git's transports (file only when local repositories are allowed). */
export function transportConfig(allowLocal: boolean): string[] {
	const allowed = ["https", "http", "ssh", "git", ...(allowLocal ? ["file"] : [])];
	return [
		"-c",
		"protocol.allow=never",
		...allowed.flatMap((p) => ["-c", `protocol.${p}.allow=always`]),
		"-c",
		"protocol.ext.allow=never",
		...(allowLocal ? [] : ["-c", "protocol.file.allow=never"]),
		"-c",
		"http.followRedirects=false",
	];
}

/** A remote as messages may show it (no credentials). */
function labelOf(url: string): string {
	return url.replace(/\/\/[^/@]*@/, "//");
}

/**
 * Checks the remote `url` against the policy and returns the git `-c` arguments for a run
 * against it; throws OutboundRefusedError naming the setting that would allow it.
 */
export async function gitOutboundArgs(url: string, outbound: GitOutbound): Promise<string[]> {
	const remote = parseRemoteUrl(url, "/");
	const args = transportConfig(outbound.allowLocal);
	if (remote.kind === "file") {
		if (!outbound.allowLocal)
			throw new OutboundRefusedError(
				`${labelOf(url)}: local repositories are off on this server; allow them with ${LOCAL_SETTING}=true`,
				LOCAL_SETTING,
			);
		return args;
	}
	const port = remote.port ?? DEFAULT_PORTS[remote.kind];
	const checked = await checkOutbound(
		{ label: labelOf(url), host: remote.host, port },
		outbound.policy,
		outbound.resolve,
	);
	if ((remote.kind === "https" || remote.kind === "http") && !/^[0-9.]+$|:/.test(checked.host)) {
		const addresses = checked.addresses.map((a) => (a.family === 6 ? `[${a.address}]` : a.address));
		args.push("-c", `http.curloptResolve=${checked.host}:${port}:${addresses.join(",")}`);
	}
	return args;
}
