// Normalisation of every tool's severity words to the two scales of the models.
import type {
	AnalysisReport,
	Finding,
	FindingSeverity,
	SecurityReport,
	Vulnerability,
	VulnerabilitySeverity,
} from "./model.ts";

/**
 * Linter levels: "error" → high, "warning" → medium, "info"/"note" → low, "ignore"/"none" → info.
 * Security-style words (critical, blocker, major, minor…) map on the same scale.
 */
export function findingSeverity(word: string | number | undefined): FindingSeverity {
	const w = String(word ?? "").toLowerCase();
	switch (w) {
		case "critical":
		case "blocker":
		case "fatal":
			return "critical";
		case "high":
		case "error":
			return "high";
		case "medium":
		case "moderate":
		case "warning":
		case "warn":
		case "major":
			return "medium";
		case "low":
		case "minor":
		case "note":
		case "info":
		case "information":
		case "recommendation":
			return "low";
		default:
			return "info";
	}
}

/** Security severities: critical/high/medium/low, everything else (negligible, unknown…) unknown. */
export function vulnerabilitySeverity(word: string | undefined): VulnerabilitySeverity {
	switch ((word ?? "").toLowerCase()) {
		case "critical":
			return "critical";
		case "high":
		case "important":
			return "high";
		case "medium":
		case "moderate":
			return "medium";
		case "low":
		case "negligible":
		case "info":
			return "low";
		default:
			return "unknown";
	}
}

/** CVSS-style score (SARIF security-severity, CVSS base score) → scale used by GitHub code scanning. */
export function severityFromScore(score: number): VulnerabilitySeverity {
	if (!Number.isFinite(score) || score <= 0) return "unknown";
	if (score >= 9) return "critical";
	if (score >= 7) return "high";
	if (score >= 4) return "medium";
	return "low";
}

export function countFindings(findings: Finding[]): AnalysisReport["counts"] {
	const counts = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
	for (const f of findings) counts[f.severity]++;
	return counts;
}

export function countVulnerabilities(vulnerabilities: Vulnerability[]): SecurityReport["counts"] {
	const counts = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
	for (const v of vulnerabilities) counts[v.severity]++;
	return counts;
}
