// Human-readable summaries, as the CLI prints them.
import { percent } from "./coverage-totals.ts";
import type {
	AnalysisReport,
	CoverageMetrics,
	CoverageReport,
	ParsedReport,
	SecurityReport,
	TestReport,
} from "./model.ts";

const MAX_LISTED = 20;

export function formatReportText(report: ParsedReport): string {
	const title = `${report.file ?? "(stream)"} [${report.format}${report.tool ? `, ${report.tool}` : ""}]`;
	switch (report.kind) {
		case "tests":
			return [title, ...testLines(report)].join("\n");
		case "coverage":
			return [title, ...coverageLines(report)].join("\n");
		case "analysis":
			return [title, ...analysisLines(report)].join("\n");
		case "security":
			return [title, ...securityLines(report)].join("\n");
	}
}

function testLines(r: TestReport): string[] {
	const t = r.totals;
	const lines = [
		`  tests: ${t.tests}  passed: ${t.passed}  failures: ${t.failures}  errors: ${t.errors}  skipped: ${t.skipped}  time: ${t.timeSeconds.toFixed(3)}s  (${r.dialect})`,
	];
	const bad = r.cases.filter((c) => c.status === "failed" || c.status === "error");
	for (const c of bad.slice(0, MAX_LISTED)) {
		const where = [c.suite, c.className].filter((x, i, all) => x && all.indexOf(x) === i).join(" / ");
		const message = c.message ? `: ${c.message.split("\n")[0]}` : "";
		lines.push(`  ${c.status.toUpperCase()} ${where ? `${where} › ` : ""}${c.name}${message}`);
	}
	if (bad.length > MAX_LISTED) lines.push(`  … and ${bad.length - MAX_LISTED} more`);
	return lines;
}

function metricsLine(m: CoverageMetrics): string {
	const parts = [`lines ${percent(m.lines)} (${m.lines.covered}/${m.lines.total})`];
	for (const key of ["branches", "functions", "statements"] as const) {
		const c = m[key];
		if (c) parts.push(`${key} ${percent(c)} (${c.covered}/${c.total})`);
	}
	return parts.join("  ");
}

function coverageLines(r: CoverageReport): string[] {
	const lines = [`  total: ${metricsLine(r.totals)}  files: ${r.files.length}`];
	const worst = [...r.files].sort((a, b) => ratio(a.lines) - ratio(b.lines)).slice(0, MAX_LISTED);
	for (const f of worst) lines.push(`  ${f.path}: ${metricsLine(f)}`);
	if (r.files.length > MAX_LISTED) lines.push(`  … and ${r.files.length - MAX_LISTED} more files`);
	return lines;
}

function ratio(c: { covered: number; total: number }): number {
	return c.total === 0 ? 1 : c.covered / c.total;
}

function analysisLines(r: AnalysisReport): string[] {
	const c = r.counts;
	const lines = [
		`  findings: ${r.findings.length}  critical: ${c.critical}  high: ${c.high}  medium: ${c.medium}  low: ${c.low}  info: ${c.info}`,
	];
	for (const f of r.findings.slice(0, MAX_LISTED)) {
		const where = f.file
			? `${f.file}${f.line ? `:${f.line}${f.column ? `:${f.column}` : ""}` : ""}`
			: "(no file)";
		lines.push(`  ${f.severity.padEnd(8)} ${where} ${f.rule}: ${f.message.split("\n")[0]}`);
	}
	if (r.findings.length > MAX_LISTED) lines.push(`  … and ${r.findings.length - MAX_LISTED} more`);
	return lines;
}

function securityLines(r: SecurityReport): string[] {
	const c = r.counts;
	const lines = [
		`  vulnerabilities: ${r.vulnerabilities.length}  critical: ${c.critical}  high: ${c.high}  medium: ${c.medium}  low: ${c.low}  unknown: ${c.unknown}`,
	];
	for (const v of r.vulnerabilities.slice(0, MAX_LISTED)) {
		const fix = v.fixedIn.length ? ` (fixed in ${v.fixedIn.join(", ")})` : "";
		const version = v.installedVersion ? `@${v.installedVersion}` : "";
		lines.push(
			`  ${v.severity.padEnd(8)} ${v.id} ${v.package}${version}${fix}${v.title ? `: ${v.title}` : ""}`,
		);
	}
	if (r.vulnerabilities.length > MAX_LISTED)
		lines.push(`  … and ${r.vulnerabilities.length - MAX_LISTED} more`);
	return lines;
}
