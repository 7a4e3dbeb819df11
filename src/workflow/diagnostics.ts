/** A problem found in a workflow file set, located at the offending key or value (1-based). */
export interface Diagnostic {
	file: string;
	line: number;
	column: number;
	message: string;
	code: DiagnosticCode;
	severity: "error" | "warning";
}

export type DiagnosticCode =
	| "file-too-large"
	| "unreadable-file"
	| "yaml-syntax"
	| "too-many-aliases"
	| "unknown-key"
	| "missing-key"
	| "invalid-type"
	| "invalid-value"
	| "unknown-step-action"
	| "ambiguous-step"
	| "unknown-pipeline"
	| "unknown-node"
	| "unknown-stage"
	| "unknown-integration"
	| "unknown-integration-model"
	| "unknown-plugin"
	| "cycle"
	| "invalid-graph"
	| "duplicate-name"
	| "missing-application"
	| "missing-environment"
	| "cleartext-secret"
	| "secret-error";

export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
	if (a.file !== b.file) return a.file < b.file ? -1 : 1;
	return (
		a.line - b.line || a.column - b.column || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0)
	);
}

/** "file:line:column: message [code]" — the one-line form the CLI prints. */
export function formatDiagnostic(d: Diagnostic): string {
	return `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message} [${d.code}]`;
}
