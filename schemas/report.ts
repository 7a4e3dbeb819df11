// The report service's stored documents and the parameters of `report.ingest` (called by the run service).

import type {
	Comparisons,
	GateResult,
	GateSettings,
	ReportDetail,
	ReportKind,
	ReportSummary,
	VulnerabilityIgnore,
} from "../src/quality/index.ts";
import type { ReportFormat } from "../src/reports/index.ts";
import type { Doc } from "../src/store/types.ts";

export interface ReportDoc extends Doc {
	project: string;
	workflow: string;
	runId: string;
	runNumber: number;
	branch: string;
	commit: string | null;
	node: string;
	jobId: string;
	kind: ReportKind;
	name: string;
	/** node + kind + name: what identifies "the same report" across runs. */
	series: string;
	application: string | null;
	format: ReportFormat;
	tool: string | null;
	sha256: string | null;
	summary: ReportSummary;
	truncated: Record<string, number>;
	settings: GateSettings;
	gate: GateResult;
	defaultBranch: string;
	comparisons: Comparisons;
	created: string;
}

/** The capped per-item lists, apart from the report so listings and history stay light. */
export interface ReportDetailDoc extends Doc {
	project: string;
	detail: ReportDetail;
}

export interface VulnIgnoreDoc extends Doc, VulnerabilityIgnore {
	project: string;
	application: string;
	created: string;
	author: string | null;
}

export interface IngestParams {
	project: string;
	workflow: string;
	runId: string;
	runNumber: number;
	branch: string;
	commit?: string;
	node: string;
	jobId: string;
	kind: ReportKind;
	name: string;
	format?: ReportFormat;
	sha256?: string;
	/** Small files only, base64: for callers without an artifact store (tests, the CLI). */
	content?: string;
	/** The step's parameters as written in the pipeline file: gate settings are read from them. */
	stepParams?: unknown;
	application?: string;
	defaultBranch?: string;
}
