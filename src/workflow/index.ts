// Public surface of the CDS as-code workflow format: parse, validate, normalise, export.
export { compareDiagnostics, type Diagnostic, type DiagnosticCode, formatDiagnostic } from "./diagnostics.ts";
export {
	type ExportedFile,
	type ExportOptions,
	exportApplication,
	exportEnvironment,
	exportPipeline,
	exportWorkflow,
	exportWorkflowFiles,
} from "./export.ts";
export {
	type FileReport,
	type FileSetOptions,
	type FileSetResult,
	type InputFile,
	parseFileSet,
} from "./file-set.ts";
export { type GraphNode, WorkflowGraph } from "./graph.ts";
export { type LintReport, lintPaths } from "./lint.ts";
export * from "./model.ts";
export type { ParseOptions } from "./parse-common.ts";
export { MAX_ALIAS_EXPANSIONS, MAX_FILE_BYTES } from "./source.ts";
