// The process protocol of CDS-TS plugins (CDS speaks gRPC to its plugins; CDS-TS runs a
// process). The plugin's command is started inside the step's sandbox, in the workspace, with
// the step's environment (the job's variables as CDS_* variables, the `worker` command on
// PATH) and one JSON document on its standard input — the query below. Its standard output
// and error are the step's log (masked like any step's); it reports through the `worker`
// command (`worker export`, `worker upload`…) and ends with its exit code: 0 is Success,
// anything else Fail. docs/plugins.md is the reference.

import type { JsonValue } from "../workflow/model.ts";

export const PLUGIN_PROTOCOL = "cds-ts.plugin/v1";

export interface PluginQuery {
	protocol: typeof PLUGIN_PROTOCOL;
	plugin: { name: string; type: string };
	/**
	 * CDS's `options` of an action or integration query: the job's variables (cds.*, git.*,
	 * cds.integration.*…), then the step's parameters, which win; every value a string.
	 */
	options: Record<string, string>;
	/** The addresses besides public ones a plugin may connect to (CDS_OUTBOUND_ALLOW of the server). */
	outbound: { allow: string[] };
	/** The clear values among the options that are secrets: never to be echoed or sent on. */
	secrets: string[];
	/** Tools of the worker's host a built-in plugin may run: `helm` (CDS_HELM_BIN), when known. */
	tools?: { helm?: string };
}

/** Step parameters as option strings: scalars as written, lists and maps as JSON. */
export function optionStrings(params: JsonValue | undefined): Record<string, string> {
	if (params === null || typeof params !== "object" || Array.isArray(params)) return {};
	const out: Record<string, string> = {};
	for (const [key, value] of Object.entries(params)) {
		if (value === null) continue;
		out[key] =
			typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value);
	}
	return out;
}

export function pluginQuery(input: {
	plugin: { name: string; type: string };
	vars: Record<string, string>;
	params?: JsonValue;
	outboundAllow?: readonly string[];
	secrets?: readonly string[];
	helm?: string;
}): PluginQuery {
	return {
		protocol: PLUGIN_PROTOCOL,
		plugin: { name: input.plugin.name, type: input.plugin.type },
		options: { ...input.vars, ...optionStrings(input.params) },
		outbound: { allow: [...(input.outboundAllow ?? [])] },
		secrets: [...(input.secrets ?? [])],
		...(input.helm ? { tools: { helm: input.helm } } : {}),
	};
}

/** Reads a query a plugin received; throws naming what is wrong. */
export function readPluginQuery(text: string): PluginQuery {
	let doc: unknown;
	try {
		doc = JSON.parse(text);
	} catch {
		throw new Error("the plugin query on stdin is not JSON");
	}
	const q = doc as Partial<PluginQuery> | null;
	if (!q || q.protocol !== PLUGIN_PROTOCOL) throw new Error(`the plugin query is not ${PLUGIN_PROTOCOL}`);
	const options: Record<string, string> = {};
	for (const [k, v] of Object.entries(q.options ?? {})) if (typeof v === "string") options[k] = v;
	const allow = Array.isArray(q.outbound?.allow) ? q.outbound.allow.filter((a) => typeof a === "string") : [];
	return {
		protocol: PLUGIN_PROTOCOL,
		plugin: { name: String(q.plugin?.name ?? ""), type: String(q.plugin?.type ?? "") },
		options,
		outbound: { allow },
		secrets: Array.isArray(q.secrets) ? q.secrets.filter((x) => typeof x === "string") : [],
		...(typeof q.tools?.helm === "string" && q.tools.helm ? { tools: { helm: q.tools.helm } } : {}),
	};
}
