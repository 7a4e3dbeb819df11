// cds version: the client's version (from package.json), the Node running it, and the server
// it talks to (CDS_API_URL, else the `cds login` file), with whether that server answers.

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { configPath, normalizeApiUrl, readConfigFile } from "../config.ts";
import type { CommandRegistry } from "../registry.ts";

/** How long `cds version` waits for the server's liveness answer. */
const PROBE_TIMEOUT_MS = 2_000;

/**
 * The package.json above this module: two levels up in the checkout (src/cli/commands), three in
 * the built CLI (dist/src/cli/commands), so it is looked for rather than assumed.
 */
async function clientVersion(): Promise<string> {
	let dir = import.meta.dirname;
	for (;;) {
		const candidate = join(dir, "package.json");
		if (existsSync(candidate)) {
			const pkg = JSON.parse(await readFile(candidate, "utf8"));
			if (pkg.name === "cds-ts") return String(pkg.version);
		}
		const parent = dirname(dir);
		if (parent === dir) return "unknown";
		dir = parent;
	}
}

/** The configured API URL (no token needed), or undefined when none is. */
async function configuredServer(env: Record<string, string | undefined>): Promise<string | undefined> {
	const raw = env.CDS_API_URL || (await readConfigFile(configPath(env)).catch(() => undefined))?.apiUrl;
	if (!raw) return undefined;
	try {
		return normalizeApiUrl(raw);
	} catch {
		return raw;
	}
}

/** "live (node X)" or why not, from the server's open liveness probe. */
async function probe(apiUrl: string): Promise<string> {
	try {
		const response = await fetch(`${apiUrl}/health/live`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
		if (!response.ok) return `answered HTTP ${response.status}`;
		const body = (await response.json().catch(() => ({}))) as { node?: unknown };
		return typeof body.node === "string" ? `live, node ${body.node}` : "live";
	} catch (err) {
		type Failure = { name?: string; code?: string; message?: string; cause?: Failure; errors?: Failure[] };
		const e = err as Failure;
		if (e.name === "TimeoutError") return `no answer within ${PROBE_TIMEOUT_MS / 1000}s`;
		// fetch fails with "fetch failed"; the system's reason (ECONNREFUSED…) is in its cause.
		const cause = e.cause?.code ? e.cause : (e.cause?.errors?.[0] ?? e.cause);
		return `unreachable: ${cause?.code ?? cause?.message ?? e.message ?? String(err)}`;
	}
}

export function register(registry: CommandRegistry): void {
	registry.add({
		path: ["version"],
		summary: "Print the version of the cds client and the server it talks to",
		async run(ctx) {
			ctx.print(`cds ${await clientVersion()} (node ${process.versions.node})`);
			const server = await configuredServer(ctx.io.env);
			if (!server) ctx.print("server: none configured (cds login --api-url URL --token T, or CDS_API_URL)");
			else ctx.print(`server: ${server} (${await probe(server)})`);
			return 0;
		},
	});
}
