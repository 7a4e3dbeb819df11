// Quality gates. Their settings are read from the step's parameters as written in the
// pipeline file (see docs/reports.md); a gate that breaks lists every reason.

import { coveragePercent, round2 } from "./compare.ts";
import { findIgnore, type VulnerabilityIgnore } from "./ignores.ts";
import type { GateResult, GateSettings, ReportDelta, ReportKind, StoredReportBody } from "./model.ts";
import { GATE_SEVERITIES, findingRank, gateRank, vulnerabilityRank } from "./severity-rank.ts";

export class GateSettingsError extends Error {
	readonly problems: string[];
	constructor(step: string, problems: string[]) {
		super(`invalid ${step} step: ${problems.join("; ")}`);
		this.name = "GateSettingsError";
		this.problems = problems;
	}
}

/** The step (as spelt in pipeline files) that produces each kind of report. */
const STEP_OF_KIND: Record<ReportKind, string> = {
	tests: "jUnitReport",
	coverage: "coverage",
	analysis: "staticAnalysis",
	security: "securityScan",
};

/** A number, or a string holding one ("80", "80%", "1.5"), as YAML authors write them. */
function numberParam(value: unknown): number | undefined {
	if (typeof value === "number") return value;
	if (typeof value === "string" && /^\s*-?\d+(\.\d+)?\s*%?\s*$/.test(value)) return Number.parseFloat(value);
	return undefined;
}

/**
 * Reads the gate settings from a step's parameters: a string (jUnitReport's glob) or an
 * object. Keys that are not about gates (path, format…) are left alone.
 */
export function gateSettingsFromStep(kind: ReportKind, params: unknown): GateSettings {
	const step = STEP_OF_KIND[kind];
	const problems: string[] = [];
	const settings: GateSettings = {};
	const object =
		typeof params === "object" && params !== null && !Array.isArray(params)
			? (params as Record<string, unknown>)
			: {};
	if (kind === "tests") {
		const allow = object.allowFailures;
		if (allow !== undefined && typeof allow !== "boolean" && allow !== "true" && allow !== "false")
			problems.push(`allowFailures must be true or false, not ${JSON.stringify(allow)}`);
		settings.failOnTestFailures = !(allow === true || allow === "true");
	}
	if (kind === "coverage") {
		for (const key of ["minimum", "maxDrop"] as const) {
			if (object[key] === undefined || object[key] === null || object[key] === "") continue;
			const n = numberParam(object[key]);
			if (n === undefined || !Number.isFinite(n) || n < 0 || n > 100)
				problems.push(
					`${key} must be a number of percent between 0 and 100, not ${JSON.stringify(object[key])}`,
				);
			else settings[key] = n;
		}
	}
	if (kind === "analysis" || kind === "security") {
		const maxNew = object.maxNew;
		if (maxNew !== undefined && maxNew !== null && maxNew !== "") {
			const n = numberParam(maxNew);
			if (n === undefined || !Number.isInteger(n) || n < 0)
				problems.push(`maxNew must be a whole number ≥ 0, not ${JSON.stringify(maxNew)}`);
			else settings.maxNew = n;
		}
		const failOn = object.failOn;
		if (failOn !== undefined && failOn !== null && failOn !== "" && failOn !== "none") {
			const word = typeof failOn === "string" ? failOn.toLowerCase() : "";
			if (!(GATE_SEVERITIES as readonly string[]).includes(word))
				problems.push(
					`failOn must be one of ${GATE_SEVERITIES.join(", ")} or none, not ${JSON.stringify(failOn)}`,
				);
			else settings.failOn = word as GateSettings["failOn"];
		}
	}
	if (problems.length > 0) throw new GateSettingsError(step, problems);
	return settings;
}

export interface GateInput {
	settings: GateSettings;
	report: StoredReportBody;
	/**
	 * The comparison the gate judges "new" and "drop" by (see docs/reports.md for which
	 * baseline that is); null when there is no earlier report: everything is then new and
	 * no drop can be measured.
	 */
	delta: ReportDelta | null;
	/** The application's ignores (expired ones are skipped here). */
	ignores?: readonly VulnerabilityIgnore[];
	now?: Date;
}

const MAX_LISTED = 10;

function listed(items: string[]): string {
	const shown = items.slice(0, MAX_LISTED).join(", ");
	return items.length > MAX_LISTED ? `${shown} and ${items.length - MAX_LISTED} more` : shown;
}

function plural(n: number, word: string): string {
	return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function newVulnerabilities(n: number): string {
	return `${n} new ${n === 1 ? "vulnerability" : "vulnerabilities"}`;
}

export function evaluateGate(input: GateInput): GateResult {
	const { settings, report, delta } = input;
	const failures: string[] = [];
	const summary = report.summary;
	if (summary.kind === "tests" && settings.failOnTestFailures) {
		const bad = summary.totals.failures + summary.totals.errors;
		if (bad > 0) {
			const names = (report.detail.cases ?? [])
				.filter((c) => c.status === "failed" || c.status === "error")
				.map((c) => c.id);
			failures.push(`${plural(bad, "test")} failed${names.length ? `: ${listed(names)}` : ""}`);
		}
	}
	if (summary.kind === "coverage") {
		const now = coveragePercent(summary.totals.lines);
		if (settings.minimum !== undefined) {
			if (now === null) failures.push(`no line coverage measured, the minimum is ${settings.minimum}%`);
			else if (now < settings.minimum)
				failures.push(`line coverage ${now.toFixed(2)}% is below the minimum of ${settings.minimum}%`);
		}
		if (settings.maxDrop !== undefined && delta?.kind === "coverage" && delta.totals.lines !== undefined) {
			const drop = round2(-delta.totals.lines);
			if (drop > settings.maxDrop)
				failures.push(
					`line coverage dropped by ${drop.toFixed(2)} points (to ${now?.toFixed(2)}%), more than the allowed ${settings.maxDrop}`,
				);
		}
	}
	if (summary.kind === "analysis") {
		const added = delta?.kind === "analysis" ? delta.newFindings : (report.detail.findings ?? []);
		if (settings.maxNew !== undefined && added.length > settings.maxNew)
			failures.push(`${plural(added.length, "new finding")}, more than the allowed ${settings.maxNew}`);
		if (settings.failOn) {
			const floor = gateRank(settings.failOn);
			const severe = added.filter((f) => findingRank(f.severity) >= floor);
			if (severe.length > 0)
				failures.push(
					`${plural(severe.length, "new finding")} at or above ${settings.failOn}: ${listed(
						severe.map(
							(f) => `${f.rule} (${f.severity}${f.file ? `, ${f.file}${f.line ? `:${f.line}` : ""}` : ""})`,
						),
					)}`,
				);
		}
	}
	if (summary.kind === "security") {
		const now = input.now ?? new Date();
		const added = (
			delta?.kind === "security" ? delta.newVulnerabilities : (report.detail.vulnerabilities ?? [])
		).filter((v) => !findIgnore(input.ignores ?? [], v, now));
		if (settings.maxNew !== undefined && added.length > settings.maxNew)
			failures.push(`${newVulnerabilities(added.length)}, more than the allowed ${settings.maxNew}`);
		if (settings.failOn) {
			const floor = gateRank(settings.failOn);
			const severe = added.filter((v) => vulnerabilityRank(v.severity) >= floor);
			if (severe.length > 0)
				failures.push(
					`${newVulnerabilities(severe.length)} at or above ${settings.failOn}: ${listed(
						severe.map(
							(v) =>
								`${v.id} (${v.severity}, ${v.package}${v.installedVersion ? `@${v.installedVersion}` : ""})`,
						),
					)}`,
				);
		}
	}
	return { passed: failures.length === 0, failures };
}
