// SonarQube issues as returned by its web API `GET api/issues/search` (one page or a merged list).
import type { ParseContext } from "../errors.ts";
import { failure } from "../errors.ts";
import { findingFingerprint, numberDuplicates } from "../fingerprint.ts";
import { arrayOf, expectObject, isObject, num, str } from "../json-shape.ts";
import type { AnalysisReport, Finding, FindingSeverity } from "../model.ts";
import { countFindings } from "../severity.ts";

// Legacy severities (BLOCKER…INFO) and the "impacts" severities of SonarQube 10+ (BLOCKER, HIGH…INFO).
const SONAR_SEVERITY: Record<string, FindingSeverity> = {
	BLOCKER: "critical",
	CRITICAL: "high",
	HIGH: "high",
	MAJOR: "medium",
	MEDIUM: "medium",
	MINOR: "low",
	LOW: "low",
	INFO: "info",
};
const RANK: FindingSeverity[] = ["info", "low", "medium", "high", "critical"];

export function parseSonarQube(json: unknown, ctx: ParseContext): AnalysisReport {
	const root = expectObject(json, ctx, "SonarQube issues");
	if (!Array.isArray(root["issues"]))
		throw failure(ctx, 'not a SonarQube issues search result: missing "issues" array');
	const paths = new Map<string, string>();
	for (const component of arrayOf(root["components"], ctx, "components")) {
		if (
			isObject(component) &&
			typeof component["key"] === "string" &&
			typeof component["path"] === "string"
		) {
			paths.set(component["key"], component["path"]);
		}
	}
	const findings: Finding[] = root["issues"].map((issue, index) => {
		if (!isObject(issue)) throw failure(ctx, `issue #${index + 1} is not an object`);
		const rule = str(issue["rule"]) ?? "sonarqube";
		const component = str(issue["component"]);
		// Component keys are "project:path/in/repo"; the components list gives the path exactly.
		const file = component
			? (paths.get(component) ?? component.slice(component.indexOf(":") + 1))
			: undefined;
		const message = str(issue["message"]) ?? "";
		const finding: Finding = {
			rule,
			severity: severityOf(issue),
			message,
			tool: "SonarQube",
			// Sonar's "hash" is its own hash of the flagged line's content.
			fingerprint: findingFingerprint({
				tool: "SonarQube",
				rule,
				file,
				message,
				lineHash: str(issue["hash"]),
			}),
		};
		if (file) finding.file = file;
		const line =
			num(issue["line"]) ?? (isObject(issue["textRange"]) ? num(issue["textRange"]["startLine"]) : undefined);
		if (line !== undefined) finding.line = line;
		if (isObject(issue["textRange"])) {
			const offset = num(issue["textRange"]["startOffset"]);
			if (offset !== undefined) finding.column = offset + 1;
		}
		return finding;
	});
	numberDuplicates(findings);
	return {
		kind: "analysis",
		format: "sonarqube",
		file: ctx.file,
		tool: "SonarQube",
		findings,
		counts: countFindings(findings),
	};
}

function severityOf(issue: Record<string, unknown>): FindingSeverity {
	let best: FindingSeverity | undefined;
	for (const impact of Array.isArray(issue["impacts"]) ? issue["impacts"] : []) {
		const s = isObject(impact) ? SONAR_SEVERITY[String(impact["severity"]).toUpperCase()] : undefined;
		if (s && (!best || RANK.indexOf(s) > RANK.indexOf(best))) best = s;
	}
	return best ?? SONAR_SEVERITY[String(issue["severity"] ?? "").toUpperCase()] ?? "info";
}
