// Text for `cds report`: one block per report with its deltas. Arrows (▲ up, ▼ down) are
// coloured green when the change is good and red when it is bad, only when asked (a TTY).

import type { Comparisons } from "./baseline.ts";
import { coveragePercent } from "./compare.ts";
import type { Comparison, GateResult, ReportDelta, ReportKind, ReportSummary } from "./model.ts";

/** A report as the API lists it (the fields this formatter reads). */
export interface ReportView {
	id: string;
	runNumber: number;
	branch: string;
	node: string;
	kind: ReportKind;
	name: string;
	format: string;
	tool?: string;
	summary: ReportSummary;
	gate: GateResult;
	comparisons: Comparisons;
	truncated?: Record<string, number>;
}

export interface FormatOptions {
	color: boolean;
}

const GREEN = "\u001b[32m";
const RED = "\u001b[31m";
const BOLD = "\u001b[1m";
const RESET = "\u001b[0m";
const MAX_ITEMS = 10;

function paint(text: string, code: string, options: FormatOptions): string {
	return options.color ? `${code}${text}${RESET}` : text;
}

/** "▲ 1.20", "▼ 11.02" or "= 0"; `upIsGood` decides the colour. */
export function arrow(delta: number, upIsGood: boolean, options: FormatOptions, digits = 2): string {
	if (delta === 0) return "= 0";
	const text = `${delta > 0 ? "▲" : "▼"} ${Math.abs(delta).toFixed(digits)}`;
	return paint(text, delta > 0 === upIsGood ? GREEN : RED, options);
}

function against(c: Comparison, label: string): string {
	return `vs ${label} #${c.against.runNumber} (${c.against.branch})`;
}

function summaryLine(summary: ReportSummary): string {
	switch (summary.kind) {
		case "tests": {
			const t = summary.totals;
			return `${t.tests} tests, ${t.passed} passed, ${t.failures} failed, ${t.errors} errors, ${t.skipped} skipped`;
		}
		case "coverage": {
			const parts = [`lines ${percentText(coveragePercent(summary.totals.lines))}`];
			for (const m of ["branches", "functions", "statements"] as const) {
				const c = summary.totals[m];
				if (c) parts.push(`${m} ${percentText(coveragePercent(c))}`);
			}
			return `${parts.join(", ")} (${summary.files} files)`;
		}
		case "analysis":
		case "security": {
			const nonZero = Object.entries(summary.counts)
				.filter(([, n]) => n > 0)
				.map(([s, n]) => `${s} ${n}`);
			const noun = summary.kind === "analysis" ? "finding" : "vulnerabilit";
			const word =
				summary.kind === "analysis"
					? `${noun}${summary.total === 1 ? "" : "s"}`
					: `${noun}${summary.total === 1 ? "y" : "ies"}`;
			return `${summary.total} ${word}${nonZero.length ? ` (${nonZero.join(", ")})` : ""}`;
		}
	}
}

function percentText(p: number | null): string {
	return p === null ? "n/a" : `${p.toFixed(2)}%`;
}

function bySeverity(counts: Record<string, number>): string {
	const parts = Object.entries(counts)
		.filter(([, n]) => n > 0)
		.map(([s, n]) => `${s} ${n}`);
	return parts.length ? ` (${parts.join(", ")})` : "";
}

function deltaLines(delta: ReportDelta, label: string, options: FormatOptions): string[] {
	switch (delta.kind) {
		case "coverage": {
			const metrics = Object.entries(delta.totals).map(([m, d]) => `${m} ${arrow(d, true, options)} pts`);
			const lines = [`  ${metrics.length ? metrics.join(", ") : "no comparable metric"} ${label}`];
			const changed = delta.files.filter((f) => f.delta !== null);
			for (const f of changed.slice(0, MAX_ITEMS))
				lines.push(`    ${f.path} ${percentText(f.after)} ${arrow(f.delta!, true, options)} pts`);
			if (changed.length > MAX_ITEMS) lines.push(`    … and ${changed.length - MAX_ITEMS} more files`);
			return lines;
		}
		case "tests": {
			const lines = [
				`  failures ${arrow(delta.failures, false, options, 0)}, ${delta.newFailures.length} new, ${delta.fixedFailures.length} fixed ${label}`,
			];
			for (const id of delta.newFailures.slice(0, MAX_ITEMS)) lines.push(`    new failure: ${id}`);
			return lines;
		}
		case "analysis": {
			const lines = [
				`  findings ${arrow(delta.total, false, options, 0)}: ${delta.newFindings.length} new${bySeverity(delta.newBySeverity)}, ${delta.fixedFindings.length} fixed ${label}`,
			];
			for (const f of delta.newFindings.slice(0, MAX_ITEMS))
				lines.push(
					`    new ${f.severity} ${f.rule}${f.file ? ` ${f.file}${f.line ? `:${f.line}` : ""}` : ""}: ${f.message.split("\n")[0]}`,
				);
			return lines;
		}
		case "security": {
			const lines = [
				`  vulnerabilities ${arrow(delta.total, false, options, 0)}: ${delta.newVulnerabilities.length} new${bySeverity(delta.newBySeverity)}, ${delta.fixedVulnerabilities.length} fixed${bySeverity(delta.fixedBySeverity)} ${label}`,
			];
			for (const v of delta.newVulnerabilities.slice(0, MAX_ITEMS))
				lines.push(
					`    new ${v.severity} ${v.id} ${v.package}${v.installedVersion ? `@${v.installedVersion}` : ""}`,
				);
			return lines;
		}
	}
}

export function formatReportView(view: ReportView, options: FormatOptions): string {
	const source = `${view.format}${view.tool ? `, ${view.tool}` : ""}`;
	const lines = [
		`${paint(view.kind, BOLD, options)}  ${view.node} › ${view.name} [${source}]`,
		`  ${summaryLine(view.summary)}`,
	];
	const { previous, default: onDefault } = view.comparisons;
	if (previous) lines.push(...deltaLines(previous.delta, against(previous, "previous"), options));
	if (onDefault) lines.push(...deltaLines(onDefault.delta, against(onDefault, "default branch"), options));
	if (!previous && !onDefault) lines.push("  no earlier report to compare with");
	if (view.gate.passed) lines.push(`  gate: ${paint("passed", GREEN, options)}`);
	else {
		lines.push(`  gate: ${paint("FAILED", RED, options)}`);
		for (const failure of view.gate.failures) lines.push(`    - ${failure}`);
	}
	const cut = Object.entries(view.truncated ?? {});
	if (cut.length) lines.push(`  (stored lists capped: ${cut.map(([k, n]) => `${k} of ${n}`).join(", ")})`);
	return lines.join("\n");
}

export function formatRunReports(
	run: { runNumber: number; branch: string; defaultBranch?: string },
	views: readonly ReportView[],
	options: FormatOptions,
): string {
	const head = `run #${run.runNumber} on ${run.branch}${run.defaultBranch ? ` (default branch ${run.defaultBranch})` : ""}: ${views.length} report${views.length === 1 ? "" : "s"}`;
	const failed = views.filter((v) => !v.gate.passed).length;
	const tail = failed
		? paint(`${failed} gate${failed === 1 ? "" : "s"} failed`, RED, options)
		: "all gates passed";
	return [head, ...views.map((v) => formatReportView(v, options)), tail].join("\n\n");
}
