// A Node older than 22.18 installed on this machine (Debian's), to check what the launchers say
// or do on it; undefined where there is none.

import { execFileSync } from "node:child_process";

export function oldNode(): string | undefined {
	for (const candidate of ["/usr/bin/node", "/usr/local/bin/node"]) {
		try {
			const version = execFileSync(candidate, ["-p", "process.versions.node"], { encoding: "utf8" }).trim();
			const [major, minor] = version.split(".").map(Number) as [number, number];
			if (major < 22 || (major === 22 && minor < 18)) return candidate;
		} catch {
			// not installed
		}
	}
	return undefined;
}
