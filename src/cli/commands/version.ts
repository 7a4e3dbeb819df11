// cds version: the client's version (from package.json) and the Node running it.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { CommandRegistry } from "../registry.ts";

async function clientVersion(): Promise<string> {
	const pkg = JSON.parse(await readFile(join(import.meta.dirname, "..", "..", "..", "package.json"), "utf8"));
	return String(pkg.version);
}

export function register(registry: CommandRegistry): void {
	registry.add({
		path: ["version"],
		summary: "Print the version of the cds client",
		async run(ctx) {
			ctx.print(`cds ${await clientVersion()} (node ${process.versions.node})`);
			return 0;
		},
	});
}
