// What the report service keeps of a parsed report, how two reports compare and what a
// quality gate decides. Pure data: the parsers' models live in src/reports/model.ts.

import type {
	CoverageMetrics,
	FindingSeverity,
	ReportFormat,
	TestTotals,
	VulnerabilitySeverity,
} from "../reports/model.ts";

export const REPORT_KINDS = ["tests", "coverage", "analysis", "security"] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];

/** The small part of a report every listing shows and the `report.created` event carries. */
export type ReportSummary =
	| { kind: "tests"; totals: TestTotals }
	| { kind: "coverage"; totals: CoverageMetrics; files: number }
	| { kind: "analysis"; total: number; counts: Record<FindingSeverity, number> }
	| { kind: "security"; total: number; counts: Record<VulnerabilitySeverity, number> };

/** A test case as stored: enough to tell which ones started or stopped failing. */
export interface StoredCase {
	id: string;
	status: "passed" | "failed" | "error" | "skipped";
	message?: string;
}

export interface StoredFileCoverage {
	path: string;
	lines: { covered: number; total: number };
}

export interface StoredFinding {
	fingerprint: string;
	rule: string;
	severity: FindingSeverity;
	message: string;
	file?: string;
	line?: number;
}

export interface StoredVulnerability {
	fingerprint: string;
	id: string;
	aliases: string[];
	package: string;
	installedVersion?: string;
	severity: VulnerabilitySeverity;
	fixedIn: string[];
	title?: string;
}

/**
 * The per-item lists kept with a report, each capped (see STORAGE_CAPS): failing cases and
 * the most severe findings are kept first, so deltas stay right for what matters most.
 */
export interface ReportDetail {
	cases?: StoredCase[];
	files?: StoredFileCoverage[];
	findings?: StoredFinding[];
	vulnerabilities?: StoredVulnerability[];
	/** Names of the lists that were cut, with how many items the report really had. */
	truncated: Record<string, number>;
}

export interface StoredReportBody {
	kind: ReportKind;
	format: ReportFormat;
	tool?: string;
	summary: ReportSummary;
	detail: ReportDetail;
}

// ---------- comparisons ----------

export interface CoverageDelta {
	kind: "coverage";
	/** Percentage points, per metric present in both reports. */
	totals: Partial<Record<keyof CoverageMetrics, number>>;
	/** Files whose line coverage changed, appeared or disappeared (delta in points; null when only one side has it). */
	files: Array<{ path: string; before: number | null; after: number | null; delta: number | null }>;
}

export interface TestsDelta {
	kind: "tests";
	tests: number;
	failures: number;
	/** Case ids failing (or in error) now but not in the baseline, and the reverse. */
	newFailures: string[];
	fixedFailures: string[];
}

export interface AnalysisDelta {
	kind: "analysis";
	total: number;
	newFindings: StoredFinding[];
	fixedFindings: StoredFinding[];
	newBySeverity: Record<FindingSeverity, number>;
	fixedBySeverity: Record<FindingSeverity, number>;
}

export interface SecurityDelta {
	kind: "security";
	total: number;
	newVulnerabilities: StoredVulnerability[];
	fixedVulnerabilities: StoredVulnerability[];
	newBySeverity: Record<VulnerabilitySeverity, number>;
	fixedBySeverity: Record<VulnerabilitySeverity, number>;
}

export type ReportDelta = CoverageDelta | TestsDelta | AnalysisDelta | SecurityDelta;

/** A comparison with one earlier report, and which one. */
export interface Comparison {
	against: { reportId: string; runNumber: number; branch: string };
	delta: ReportDelta;
}

// ---------- gates ----------

export interface GateSettings {
	/** tests: fail when any test fails or errors (CDS behaviour); `allowFailures: true` turns it off. */
	failOnTestFailures?: boolean;
	/** coverage: minimum line coverage in percent (CDS's `coverage: {minimum}`). */
	minimum?: number;
	/** coverage: largest allowed drop in percentage points against the baseline. */
	maxDrop?: number;
	/** analysis/security: new items at or above this severity fail the gate. */
	failOn?: FindingSeverity | VulnerabilitySeverity;
	/** analysis/security: largest allowed number of new items. */
	maxNew?: number;
}

export interface GateResult {
	passed: boolean;
	failures: string[];
}
