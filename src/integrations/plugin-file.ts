// A plugin manifest or binary descriptor sent to `cds admin plugin import`, read with the as-code
// reader (located `file:line:column` errors, the same classification as `cds workflow lint`),
// and turned into the installed form of plugin-manifest.ts.

import type { Diagnostic } from "../workflow/diagnostics.ts";
import { parseFileSet } from "../workflow/file-set.ts";
import type { PluginBinary, PluginManifest } from "./plugin-manifest.ts";

type Read<T> = { value: T; errors: [] } | { value: undefined; errors: Diagnostic[] };

function readOne(
	file: { path: string; content: string },
	expected: "plugin" | "plugin-binary",
	integrationModels?: readonly string[],
) {
	const result = parseFileSet([file], { context: integrationModels ? { integrationModels } : {} });
	const report = result.files[0];
	if (result.errors.length === 0 && report && report.kind !== expected) {
		const what = expected === "plugin" ? "a plugin manifest" : "a plugin binary descriptor";
		const d: Diagnostic = {
			file: file.path,
			line: 1,
			column: 1,
			message: `${file.path} is ${report.kind === "ignored" ? "not an entity" : `a ${report.kind} file`}, not ${what}`,
			code: "invalid-value",
			severity: "error",
		};
		return { result, errors: [d] };
	}
	return { result, errors: result.errors };
}

/** `integrationModels`: the models the server knows, which an integration plugin's `integration` must name. */
export function readPluginManifestFile(
	file: { path: string; content: string },
	integrationModels?: readonly string[],
): Read<PluginManifest> {
	const { result, errors } = readOne(file, "plugin", integrationModels);
	const m = result.model.plugins?.[0];
	if (errors.length > 0 || !m) return { value: undefined, errors };
	return {
		value: {
			name: m.name,
			type: m.type,
			author: m.author,
			description: m.description,
			...(m.integration ? { integration: m.integration } : {}),
		},
		errors: [],
	};
}

export function readPluginBinaryFile(file: { path: string; content: string }): Read<PluginBinary> {
	const { result, errors } = readOne(file, "plugin-binary");
	const b = result.model.pluginBinaries?.[0];
	if (errors.length > 0 || !b) return { value: undefined, errors };
	return {
		value: {
			os: b.os,
			arch: b.arch,
			cmd: b.cmd,
			args: [...b.args],
			requirements: b.requirements.map((r) => ({ name: r.name, type: r.type, value: r.value })),
		},
		errors: [],
	};
}

/** Diagnostics as one line each: `file:line:column: message`. */
export function diagnosticLines(errors: readonly Diagnostic[]): string {
	return errors.map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`).join("\n");
}
