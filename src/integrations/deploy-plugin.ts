// The deployment-plugin contract. The built-in `DeployApplication` step (`deploy:` in a
// pipeline file) deploys the node's application on the integration the node names
// (`integration:` on the node). Which plugin does it is decided by the integration's MODEL:
// an installed plugin of type `integration-deploy_application` whose manifest names the model
// (`integration: Kubernetes`) wins; else a plugin built into CDS-TS for that model; else the
// step fails naming the model. Every deployment plugin runs in the job's sandbox, as a process
// speaking the plugin protocol (plugin-protocol.ts): its query's options hold the job's
// variables, `cds.integration.deployment` (the integration's name) and
// `cds.integration.deployment.<key>` (the integration's settings completed by the
// application's `deployments:` entry for it) among them.

import { DEPLOYMENT_PLUGIN, type InstalledPlugin } from "./plugin-manifest.ts";
import type { PluginQuery } from "./plugin-protocol.ts";

/** The name of the variable holding the integration a deployment goes to. */
export const DEPLOYMENT_VARIABLE = "cds.integration.deployment";

/** What a deployment plugin tells its step. */
export interface DeploymentOutcome {
	ok: boolean;
	/** One line for the step's log and, on failure, its reason. */
	details: string;
}

/**
 * A deployment plugin written in TypeScript and built into CDS-TS: the worker runs its entry
 * (`entry`, a file under bin/) in the step's sandbox with the query on stdin; the entry calls
 * `deploy` and exits 0 when `ok`. `fetch` is the outbound-checked fetch (no internal address
 * unless the query's allow-list has it, no redirect followed).
 */
export interface DeploymentPlugin {
	readonly name: string;
	/** The integration models it deploys to. */
	readonly models: readonly string[];
	deploy(query: PluginQuery, io: DeploymentIo): Promise<DeploymentOutcome>;
}

export interface DeploymentIo {
	log(line: string): void;
	fetch: (url: string, init: RequestInit) => Promise<Response>;
	/**
	 * Downloads a file the integration names by URL (a Helm values file): through the outbound
	 * policy like `fetch`, trusting the system's CAs, reading at most `maxBytes`.
	 */
	download?: (url: string, init: RequestInit, maxBytes: number) => Promise<Response>;
	signal?: AbortSignal;
}

/** A built-in plugin as the worker knows it: its name, models and entry (relative to the repository root). */
export interface BuiltinDeploymentPlugin {
	name: string;
	models: readonly string[];
	entry: string;
}

export type DeploymentChoice =
	| { kind: "installed"; plugin: InstalledPlugin }
	| { kind: "builtin"; plugin: BuiltinDeploymentPlugin }
	| { kind: "none"; reason: string };

/** Which plugin deploys to an integration of `model`. */
export function chooseDeploymentPlugin(
	model: string,
	installed: readonly InstalledPlugin[],
	builtins: readonly BuiltinDeploymentPlugin[],
): DeploymentChoice {
	const plugin = installed.find((p) => p.type === DEPLOYMENT_PLUGIN && p.integration === model);
	if (plugin) return { kind: "installed", plugin };
	const builtin = builtins.find((b) => b.models.includes(model));
	if (builtin) return { kind: "builtin", plugin: builtin };
	return {
		kind: "none",
		reason: `no deployment plugin for integration model '${model}': install one with \`cds admin plugin import\` (type ${DEPLOYMENT_PLUGIN}, integration: ${model})`,
	};
}
