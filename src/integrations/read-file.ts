// One integration file sent to an import route: parsed as a one-file set (the same reader,
// classification and reference checks as `cds workflow import`), and refused when it is not
// the kind the route imports.

import type { Diagnostic } from "../workflow/diagnostics.ts";
import { parseFileSet } from "../workflow/file-set.ts";
import type { IntegrationFileKind, ProjectContext } from "../workflow/model.ts";
import type { ParsedIntegration, ParsedModel } from "./parse.ts";

const LABEL: Record<IntegrationFileKind, string> = {
	"integration-model": "an integration model",
	integration: "a project integration",
	plugin: "a plugin manifest",
	"plugin-binary": "a plugin binary descriptor",
};

type Read<T> =
	| { entity: T; errors: []; warnings: Diagnostic[] }
	| { entity: undefined; errors: Diagnostic[]; warnings: Diagnostic[] };

function readOne(
	file: { path: string; content: string },
	expected: IntegrationFileKind,
	context: ProjectContext,
	openSecret?: (sealed: string) => string,
) {
	const result = parseFileSet([file], { context, ...(openSecret ? { openSecret } : {}) });
	const report = result.files[0];
	// A file of another kind is told so first: its own errors would only confuse.
	if (report && report.kind !== expected && (report.status !== "rejected" || report.kind !== "ignored")) {
		const what =
			report.kind === "ignored"
				? `not an entity (${report.reason ?? "?"})`
				: (LABEL[report.kind as IntegrationFileKind] ?? `a ${report.kind} file`);
		const d: Diagnostic = {
			file: file.path,
			line: 1,
			column: 1,
			message: `${file.path} is ${what}, not ${LABEL[expected]}`,
			code: "invalid-value",
			severity: "error",
		};
		return { result, errors: [d] };
	}
	return { result, errors: result.errors };
}

export function readModelFile(file: { path: string; content: string }): Read<ParsedModel> {
	const { result, errors } = readOne(file, "integration-model", {});
	const entity = result.model.integrationModels?.[0];
	if (errors.length > 0 || !entity) return { entity: undefined, errors, warnings: result.warnings };
	return { entity, errors: [], warnings: result.warnings };
}

export function readIntegrationFile(
	file: { path: string; content: string },
	context: ProjectContext,
	openSecret: (sealed: string) => string,
): Read<ParsedIntegration> {
	const { result, errors } = readOne(file, "integration", context, openSecret);
	const entity = result.model.integrations?.[0];
	if (errors.length > 0 || !entity) return { entity: undefined, errors, warnings: result.warnings };
	return { entity, errors: [], warnings: result.warnings };
}
