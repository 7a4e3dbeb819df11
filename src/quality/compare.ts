// Compares a report with an earlier one of the same kind: coverage in percentage points
// (total and per file), new and fixed test failures, new and fixed findings and
// vulnerabilities by their stable fingerprints.

import type {
	CoverageCounts,
	CoverageMetrics,
	FindingSeverity,
	VulnerabilitySeverity,
} from "../reports/model.ts";
import type {
	AnalysisDelta,
	CoverageDelta,
	ReportDelta,
	SecurityDelta,
	StoredFileCoverage,
	StoredReportBody,
	TestsDelta,
} from "./model.ts";

const METRICS = ["lines", "branches", "functions", "statements"] as const;

/** Percentage with two decimals, or null when nothing is measured. */
export function coveragePercent(c: CoverageCounts | undefined): number | null {
	if (!c || c.total === 0) return null;
	return round2((c.covered / c.total) * 100);
}

export function round2(value: number): number {
	return Math.round(value * 100) / 100;
}

function pointsDelta(after: CoverageCounts | undefined, before: CoverageCounts | undefined): number | null {
	const a = coveragePercent(after);
	const b = coveragePercent(before);
	return a === null || b === null ? null : round2(a - b);
}

function compareCoverage(
	current: { totals: CoverageMetrics; files: StoredFileCoverage[] },
	baseline: { totals: CoverageMetrics; files: StoredFileCoverage[] },
): CoverageDelta {
	const totals: CoverageDelta["totals"] = {};
	for (const metric of METRICS) {
		const delta = pointsDelta(current.totals[metric], baseline.totals[metric]);
		if (delta !== null) totals[metric] = delta;
	}
	const before = new Map(baseline.files.map((f) => [f.path, f.lines]));
	const files: CoverageDelta["files"] = [];
	for (const f of current.files) {
		const old = before.get(f.path);
		before.delete(f.path);
		const after = coveragePercent(f.lines);
		if (!old) {
			files.push({ path: f.path, before: null, after, delta: null });
			continue;
		}
		const delta = pointsDelta(f.lines, old);
		if (delta !== null && delta !== 0)
			files.push({ path: f.path, before: coveragePercent(old), after, delta });
	}
	for (const [path, lines] of before)
		files.push({ path, before: coveragePercent(lines), after: null, delta: null });
	// Biggest drops first: that is what a reviewer looks for.
	files.sort((a, b) => (a.delta ?? 0) - (b.delta ?? 0) || a.path.localeCompare(b.path));
	return { kind: "coverage", totals, files };
}

function diffBy<T>(current: T[], baseline: T[], key: (item: T) => string): { added: T[]; removed: T[] } {
	const now = new Set(current.map(key));
	const then = new Set(baseline.map(key));
	return {
		added: current.filter((item) => !then.has(key(item))),
		removed: baseline.filter((item) => !now.has(key(item))),
	};
}

function countBy<S extends string>(items: Array<{ severity: S }>, keys: readonly S[]): Record<S, number> {
	const counts = Object.fromEntries(keys.map((k) => [k, 0])) as Record<S, number>;
	for (const item of items) counts[item.severity] = (counts[item.severity] ?? 0) + 1;
	return counts;
}

const FINDING_KEYS: readonly FindingSeverity[] = ["critical", "high", "medium", "low", "info"];
const VULNERABILITY_KEYS: readonly VulnerabilitySeverity[] = ["critical", "high", "medium", "low", "unknown"];

/** Compares two stored reports of the same kind; null when their kinds differ. */
export function compareReports(current: StoredReportBody, baseline: StoredReportBody): ReportDelta | null {
	const cs = current.summary;
	const bs = baseline.summary;
	if (cs.kind === "coverage" && bs.kind === "coverage") {
		return compareCoverage(
			{ totals: cs.totals, files: current.detail.files ?? [] },
			{ totals: bs.totals, files: baseline.detail.files ?? [] },
		);
	}
	if (cs.kind === "tests" && bs.kind === "tests") {
		const failingIds = (body: StoredReportBody) =>
			(body.detail.cases ?? []).filter((c) => c.status === "failed" || c.status === "error").map((c) => c.id);
		const { added, removed } = diffBy(failingIds(current), failingIds(baseline), (id) => id);
		const delta: TestsDelta = {
			kind: "tests",
			tests: cs.totals.tests - bs.totals.tests,
			failures: cs.totals.failures + cs.totals.errors - (bs.totals.failures + bs.totals.errors),
			newFailures: added,
			fixedFailures: removed,
		};
		return delta;
	}
	if (cs.kind === "analysis" && bs.kind === "analysis") {
		const { added, removed } = diffBy(
			current.detail.findings ?? [],
			baseline.detail.findings ?? [],
			(f) => f.fingerprint,
		);
		const delta: AnalysisDelta = {
			kind: "analysis",
			total: cs.total - bs.total,
			newFindings: added,
			fixedFindings: removed,
			newBySeverity: countBy(added, FINDING_KEYS),
			fixedBySeverity: countBy(removed, FINDING_KEYS),
		};
		return delta;
	}
	if (cs.kind === "security" && bs.kind === "security") {
		const { added, removed } = diffBy(
			current.detail.vulnerabilities ?? [],
			baseline.detail.vulnerabilities ?? [],
			(v) => v.fingerprint,
		);
		const delta: SecurityDelta = {
			kind: "security",
			total: cs.total - bs.total,
			newVulnerabilities: added,
			fixedVulnerabilities: removed,
			newBySeverity: countBy(added, VULNERABILITY_KEYS),
			fixedBySeverity: countBy(removed, VULNERABILITY_KEYS),
		};
		return delta;
	}
	return null;
}

/**
 * Keeps at most `max` items in each list of a delta (the per-severity counts stay exact),
 * so a first report with thousands of findings does not store them twice.
 */
export function capDelta(delta: ReportDelta, max: number): ReportDelta {
	switch (delta.kind) {
		case "coverage":
			return { ...delta, files: delta.files.slice(0, max) };
		case "tests":
			return {
				...delta,
				newFailures: delta.newFailures.slice(0, max),
				fixedFailures: delta.fixedFailures.slice(0, max),
			};
		case "analysis":
			return {
				...delta,
				newFindings: delta.newFindings.slice(0, max),
				fixedFindings: delta.fixedFindings.slice(0, max),
			};
		case "security":
			return {
				...delta,
				newVulnerabilities: delta.newVulnerabilities.slice(0, max),
				fixedVulnerabilities: delta.fixedVulnerabilities.slice(0, max),
			};
	}
}
