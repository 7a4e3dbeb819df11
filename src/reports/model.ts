// Models shared by every report parser: one shape per family (tests, coverage, analysis, security).

export const REPORT_FORMATS = [
	"junit",
	"lcov",
	"cobertura",
	"clover",
	"jacoco",
	"istanbul-summary",
	"go-cover",
	"sarif",
	"sarif-security",
	"checkstyle",
	"eslint",
	"sonarqube",
	"dependency-check",
	"clair",
	"trivy",
	"grype",
	"npm-audit",
] as const;

/** "sarif" picks analysis or security from the tool that wrote it; "sarif-security" forces security. */
export type ReportFormat = (typeof REPORT_FORMATS)[number];

interface ReportBase {
	/** Path of the parsed file when known. */
	file?: string;
	format: ReportFormat;
	/** Tool that produced the report, when the report says so (e.g. "ESLint", "Trivy"). */
	tool?: string;
}

// ---------- tests ----------

export type TestStatus = "passed" | "failed" | "error" | "skipped";

export type JUnitDialect = "surefire" | "jest-junit" | "vitest" | "pytest" | "go-junit-report" | "generic";

export interface TestCase {
	suite: string;
	className: string;
	name: string;
	status: TestStatus;
	timeSeconds: number;
	/** Failure / error / skip message (attribute first, else the first lines of the body). */
	message?: string;
}

export interface TestTotals {
	tests: number;
	passed: number;
	failures: number;
	errors: number;
	skipped: number;
	timeSeconds: number;
}

export interface TestReport extends ReportBase {
	kind: "tests";
	dialect: JUnitDialect;
	totals: TestTotals;
	cases: TestCase[];
}

// ---------- coverage ----------

export interface CoverageCounts {
	covered: number;
	total: number;
}

/** A metric is absent when the format does not measure it (e.g. Go has no branch coverage). */
export interface CoverageMetrics {
	lines: CoverageCounts;
	branches?: CoverageCounts;
	functions?: CoverageCounts;
	statements?: CoverageCounts;
}

export interface FileCoverage extends CoverageMetrics {
	path: string;
}

export interface CoverageReport extends ReportBase {
	kind: "coverage";
	totals: CoverageMetrics;
	files: FileCoverage[];
}

// ---------- static analysis ----------

export type FindingSeverity = "critical" | "high" | "medium" | "low" | "info";

export interface Finding {
	rule: string;
	severity: FindingSeverity;
	message: string;
	file?: string;
	line?: number;
	column?: number;
	tool: string;
	/** Stable across line shifts: see fingerprint.ts. */
	fingerprint: string;
}

export interface AnalysisReport extends ReportBase {
	kind: "analysis";
	tool: string;
	findings: Finding[];
	counts: Record<FindingSeverity, number>;
}

// ---------- security ----------

export type VulnerabilitySeverity = "critical" | "high" | "medium" | "low" | "unknown";

export interface Vulnerability {
	/** Primary identifier: the CVE when one is known, else the tool's id (GHSA-…, RUSTSEC-…). */
	id: string;
	/** Other identifiers of the same vulnerability (GHSA, vendor ids), without `id`. */
	aliases: string[];
	package: string;
	installedVersion?: string;
	severity: VulnerabilitySeverity;
	fixedIn: string[];
	tool: string;
	title?: string;
	/** Where it was found: image, lock file, jar… */
	target?: string;
	fingerprint: string;
}

export interface SecurityReport extends ReportBase {
	kind: "security";
	tool: string;
	vulnerabilities: Vulnerability[];
	counts: Record<VulnerabilitySeverity, number>;
}

export type ParsedReport = TestReport | CoverageReport | AnalysisReport | SecurityReport;
