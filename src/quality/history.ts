// The series a chart needs: one point per run, oldest first. Several reports of one kind
// in a run (one per node or file) are added up into one point; a node restarted in a sub-run
// (run 1.1) reports again under the same run number, and its latest report replaces the earlier one
// instead of being added to it.

import type { CoverageCounts, CoverageMetrics } from "../reports/model.ts";
import { coveragePercent } from "./compare.ts";
import type { GateResult, ReportKind, ReportSummary } from "./model.ts";

export interface HistoryInput {
	runNumber: number;
	/** The (sub-)run that made the report: `…/0000000001` or `…/0000000001.001` (sorts in run order). */
	runId?: string;
	node?: string;
	name?: string;
	branch: string;
	commit?: string;
	created: string;
	summary: ReportSummary;
	gate: GateResult;
}

export interface HistoryPoint {
	runNumber: number;
	branch: string;
	commit?: string;
	created: string;
	/** Number of reports added up in this point. */
	reports: number;
	/** False when any of the run's reports of this kind failed its gate. */
	gatePassed: boolean;
	/** coverage: percent per metric; tests: totals; analysis/security: total and counts per severity. */
	values: Record<string, number | null>;
}

function addCounts(into: Record<string, CoverageCounts>, metrics: CoverageMetrics): void {
	for (const [metric, counts] of Object.entries(metrics) as Array<[string, CoverageCounts | undefined]>) {
		if (!counts) continue;
		const sum = into[metric] ?? { covered: 0, total: 0 };
		into[metric] = sum;
		sum.covered += counts.covered;
		sum.total += counts.total;
	}
}

export function historySeries(reports: readonly HistoryInput[], kind: ReportKind): HistoryPoint[] {
	const latest = new Map<string, HistoryInput>();
	reports.forEach((r, i) => {
		if (r.summary.kind !== kind) return;
		const same = r.node === undefined ? `#${i}` : `${r.runNumber}\u0000${r.node}\u0000${r.name ?? ""}`;
		const seen = latest.get(same);
		if (!seen || (seen.runId ?? "") < (r.runId ?? "")) latest.set(same, r);
	});
	const byRun = new Map<number, HistoryInput[]>();
	for (const r of latest.values()) {
		const list = byRun.get(r.runNumber) ?? [];
		list.push(r);
		byRun.set(r.runNumber, list);
	}
	const points: HistoryPoint[] = [];
	for (const [runNumber, list] of [...byRun].sort(([a], [b]) => a - b)) {
		const first = list[0]!;
		const values: Record<string, number | null> = {};
		const coverage: Record<string, CoverageCounts> = {};
		for (const { summary } of list) {
			if (summary.kind === "coverage") addCounts(coverage, summary.totals);
			else if (summary.kind === "tests") {
				const { timeSeconds: _time, ...counts } = summary.totals;
				for (const [k, v] of Object.entries(counts)) values[k] = (values[k] ?? 0) + v;
			} else {
				values.total = (values.total ?? 0) + summary.total;
				for (const [k, v] of Object.entries(summary.counts)) values[k] = (values[k] ?? 0) + v;
			}
		}
		for (const [metric, counts] of Object.entries(coverage)) values[metric] = coveragePercent(counts);
		const point: HistoryPoint = {
			runNumber,
			branch: first.branch,
			created: first.created,
			reports: list.length,
			gatePassed: list.every((r) => r.gate.passed),
			values,
		};
		if (first.commit) point.commit = first.commit;
		points.push(point);
	}
	return points;
}
