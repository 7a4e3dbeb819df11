import type { CoverageCounts, CoverageMetrics, FileCoverage } from "./model.ts";

/** Sums per-file metrics; a metric is present in the totals when at least one file has it. */
export function sumCoverage(files: FileCoverage[]): CoverageMetrics {
	const totals: CoverageMetrics = { lines: { covered: 0, total: 0 } };
	for (const file of files) {
		add(totals, "lines", file.lines);
		if (file.branches) add(totals, "branches", file.branches);
		if (file.functions) add(totals, "functions", file.functions);
		if (file.statements) add(totals, "statements", file.statements);
	}
	return totals;
}

function add(totals: CoverageMetrics, key: keyof CoverageMetrics, counts: CoverageCounts): void {
	const into = totals[key];
	if (into) {
		into.covered += counts.covered;
		into.total += counts.total;
	} else totals[key] = { covered: counts.covered, total: counts.total };
}

export function counts(covered: number, total: number): CoverageCounts {
	return { covered, total };
}

export function percent(c: CoverageCounts | undefined): string {
	if (!c || c.total === 0) return "n/a";
	return `${(Math.floor((c.covered / c.total) * 10000) / 100).toFixed(2)}%`;
}
