// Orders severities so "at or above high" can be asked of findings and vulnerabilities alike.

import type { FindingSeverity, VulnerabilitySeverity } from "../reports/model.ts";

const FINDING_RANKS: Record<FindingSeverity, number> = { critical: 4, high: 3, medium: 2, low: 1, info: 0 };
const VULNERABILITY_RANKS: Record<VulnerabilitySeverity, number> = {
	critical: 4,
	high: 3,
	medium: 2,
	low: 1,
	unknown: 0,
};

/** Every word a `failOn` may hold: both scales share critical/high/medium/low. */
export const GATE_SEVERITIES = ["critical", "high", "medium", "low", "info", "unknown"] as const;

export function findingRank(severity: FindingSeverity): number {
	return FINDING_RANKS[severity] ?? 0;
}

export function vulnerabilityRank(severity: VulnerabilitySeverity): number {
	return VULNERABILITY_RANKS[severity] ?? 0;
}

/** Rank of a gate's `failOn` word on either scale (info and unknown are both the bottom). */
export function gateRank(severity: string): number {
	return (
		(FINDING_RANKS as Record<string, number>)[severity] ??
		(VULNERABILITY_RANKS as Record<string, number>)[severity] ??
		0
	);
}
