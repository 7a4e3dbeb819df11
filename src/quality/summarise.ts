// Turns a parsed report into what is stored: a summary plus capped per-item lists. A huge
// report (tens of thousands of test cases) must not become a huge database document, so
// each list keeps at most STORAGE_CAPS items, the ones that matter for deltas first.

import type { ParsedReport, TestCase } from "../reports/model.ts";
import type {
	ReportDetail,
	StoredCase,
	StoredFinding,
	StoredReportBody,
	StoredVulnerability,
} from "./model.ts";
import { findingRank, vulnerabilityRank } from "./severity-rank.ts";

export const STORAGE_CAPS = { cases: 5000, files: 5000, findings: 5000, vulnerabilities: 5000 } as const;
/** Messages are cut: the full text stays in the uploaded file. */
const MAX_MESSAGE = 500;

function caseId(c: Pick<TestCase, "suite" | "className" | "name">): string {
	return [c.suite, c.className, c.name].filter((part, i, all) => part && all.indexOf(part) === i).join(" › ");
}

function cut(text: string | undefined): string | undefined {
	if (text === undefined) return undefined;
	return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text;
}

function capped<T>(items: T[], cap: number, name: string, truncated: Record<string, number>): T[] {
	if (items.length <= cap) return items;
	truncated[name] = items.length;
	return items.slice(0, cap);
}

const failing = (status: string) => status === "failed" || status === "error";

export function summariseReport(report: ParsedReport): StoredReportBody {
	const truncated: Record<string, number> = {};
	const detail: ReportDetail = { truncated };
	const base = { kind: report.kind, format: report.format, ...(report.tool ? { tool: report.tool } : {}) };
	switch (report.kind) {
		case "tests": {
			// Failing cases first: they are what "new failures" is computed from.
			const ordered = [
				...report.cases.filter((c) => failing(c.status)),
				...report.cases.filter((c) => !failing(c.status)),
			];
			detail.cases = capped(ordered, STORAGE_CAPS.cases, "cases", truncated).map((c): StoredCase => {
				const stored: StoredCase = { id: caseId(c), status: c.status };
				const message = cut(c.message);
				if (message && c.status !== "passed") stored.message = message;
				return stored;
			});
			return { ...base, summary: { kind: "tests", totals: report.totals }, detail };
		}
		case "coverage":
			detail.files = capped(report.files, STORAGE_CAPS.files, "files", truncated).map((f) => ({
				path: f.path,
				lines: { covered: f.lines.covered, total: f.lines.total },
			}));
			return {
				...base,
				summary: { kind: "coverage", totals: report.totals, files: report.files.length },
				detail,
			};
		case "analysis": {
			const ordered = [...report.findings].sort((a, b) => findingRank(b.severity) - findingRank(a.severity));
			detail.findings = capped(ordered, STORAGE_CAPS.findings, "findings", truncated).map((f) => {
				const stored: StoredFinding = {
					fingerprint: f.fingerprint,
					rule: f.rule,
					severity: f.severity,
					message: cut(f.message) ?? "",
				};
				if (f.file !== undefined) stored.file = f.file;
				if (f.line !== undefined) stored.line = f.line;
				return stored;
			});
			return {
				...base,
				summary: { kind: "analysis", total: report.findings.length, counts: report.counts },
				detail,
			};
		}
		case "security": {
			const ordered = [...report.vulnerabilities].sort(
				(a, b) => vulnerabilityRank(b.severity) - vulnerabilityRank(a.severity),
			);
			detail.vulnerabilities = capped(
				ordered,
				STORAGE_CAPS.vulnerabilities,
				"vulnerabilities",
				truncated,
			).map((v) => {
				const stored: StoredVulnerability = {
					fingerprint: v.fingerprint,
					id: v.id,
					aliases: v.aliases,
					package: v.package,
					severity: v.severity,
					fixedIn: v.fixedIn,
				};
				if (v.installedVersion !== undefined) stored.installedVersion = v.installedVersion;
				const title = cut(v.title);
				if (title !== undefined) stored.title = title;
				return stored;
			});
			return {
				...base,
				summary: { kind: "security", total: report.vulnerabilities.length, counts: report.counts },
				detail,
			};
		}
	}
}
