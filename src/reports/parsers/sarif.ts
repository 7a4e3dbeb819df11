// SARIF 2.1.0: code analysis findings, or vulnerabilities when written by a dependency scanner.
import type { ParseContext } from "../errors.ts";
import { failure } from "../errors.ts";
import {
	findingFingerprint,
	hashLineContent,
	numberDuplicates,
	vulnerabilityFingerprint,
} from "../fingerprint.ts";
import { arrayOf, expectObject, isObject, type JsonObject, num, str, uniqueStrings } from "../json-shape.ts";
import type { AnalysisReport, Finding, FindingSeverity, SecurityReport, Vulnerability } from "../model.ts";
import { decodeUriText } from "../uri.ts";
import {
	countFindings,
	countVulnerabilities,
	findingSeverity,
	severityFromScore,
	vulnerabilitySeverity,
} from "../severity.ts";

/** Tools whose SARIF results are vulnerable dependencies rather than code findings. */
const DEPENDENCY_SCANNERS = /trivy|grype|snyk|dependency-check|osv-scanner|clair|npm audit|anchore/i;

interface SarifResult {
	tool: string;
	ruleId: string;
	rule?: JsonObject;
	result: JsonObject;
	message: string;
	file?: string;
	line?: number;
	column?: number;
	snippet?: string;
}

export function parseSarif(
	json: unknown,
	ctx: ParseContext,
	forceSecurity = false,
): AnalysisReport | SecurityReport {
	const root = expectObject(json, ctx, "SARIF log");
	if (!Array.isArray(root["runs"])) throw failure(ctx, 'not a SARIF log: missing "runs" array');
	const version = str(root["version"]);
	if (version && version !== "2.1.0")
		throw failure(ctx, `unsupported SARIF version ${version} (2.1.0 expected)`);
	const results: SarifResult[] = [];
	const tools: string[] = [];
	for (const [runIndex, run] of root["runs"].entries()) {
		if (!isObject(run)) throw failure(ctx, `runs[${runIndex}] is not an object`);
		const driver =
			isObject(run["tool"]) && isObject(run["tool"]["driver"]) ? run["tool"]["driver"] : undefined;
		const tool = str(driver?.["name"]) ?? "SARIF";
		tools.push(tool);
		const rules = arrayOf(driver?.["rules"], ctx, "tool.driver.rules").filter(isObject);
		const rulesById = new Map(rules.map((r) => [str(r["id"]) ?? "", r]));
		for (const result of arrayOf(run["results"], ctx, `runs[${runIndex}].results`)) {
			if (!isObject(result)) continue;
			const ruleIndex = num(result["ruleIndex"]);
			const ruleId =
				str(result["ruleId"]) ?? (isObject(result["rule"]) ? str(result["rule"]["id"]) : undefined) ?? "";
			const rule = (ruleIndex !== undefined ? rules[ruleIndex] : undefined) ?? rulesById.get(ruleId);
			results.push({
				tool,
				ruleId: ruleId || str(rule?.["id"]) || "sarif",
				rule,
				result,
				...location(result),
				message: messageOf(result, rule),
			});
		}
	}
	const tool = uniqueStrings(tools).join(", ") || "SARIF";
	const security = forceSecurity || tools.some((t) => DEPENDENCY_SCANNERS.test(t));
	const format = forceSecurity ? "sarif-security" : "sarif";
	if (security) {
		const vulnerabilities = numberDuplicates(results.map(toVulnerability));
		return {
			kind: "security",
			format,
			file: ctx.file,
			tool,
			vulnerabilities,
			counts: countVulnerabilities(vulnerabilities),
		};
	}
	const findings = numberDuplicates(results.map(toFinding));
	return { kind: "analysis", format, file: ctx.file, tool, findings, counts: countFindings(findings) };
}

function location(result: JsonObject): Pick<SarifResult, "file" | "line" | "column" | "snippet"> {
	const first = Array.isArray(result["locations"]) ? result["locations"][0] : undefined;
	const physical =
		isObject(first) && isObject(first["physicalLocation"]) ? first["physicalLocation"] : undefined;
	if (!physical) return {};
	const artifact = isObject(physical["artifactLocation"]) ? physical["artifactLocation"] : undefined;
	const region = isObject(physical["region"]) ? physical["region"] : undefined;
	const uri = str(artifact?.["uri"]);
	const snippet = isObject(region?.["snippet"]) ? str((region["snippet"] as JsonObject)["text"]) : undefined;
	return {
		file: uri?.startsWith("file://") ? decodeUriText(uri.slice("file://".length)) : uri,
		line: num(region?.["startLine"]),
		column: num(region?.["startColumn"]),
		snippet,
	};
}

function messageOf(result: JsonObject, rule: JsonObject | undefined): string {
	const message = isObject(result["message"]) ? result["message"] : undefined;
	const text = str(message?.["text"]) ?? str(message?.["markdown"]);
	if (text) return text;
	const short = isObject(rule?.["shortDescription"])
		? str((rule["shortDescription"] as JsonObject)["text"])
		: undefined;
	return short ?? "";
}

function securitySeverity(rule: JsonObject | undefined, result: JsonObject): number | undefined {
	for (const holder of [result["properties"], rule?.["properties"]]) {
		if (isObject(holder)) {
			const score = num(holder["security-severity"]);
			if (score !== undefined) return score;
		}
	}
	return undefined;
}

function levelOf(r: SarifResult): string {
	const config = isObject(r.rule?.["defaultConfiguration"])
		? (r.rule["defaultConfiguration"] as JsonObject)
		: undefined;
	return str(r.result["level"]) ?? str(config?.["level"]) ?? "warning";
}

function toFinding(r: SarifResult): Finding {
	const score = securitySeverity(r.rule, r.result);
	const severity: FindingSeverity =
		score !== undefined && score > 0
			? (severityFromScore(score) as FindingSeverity)
			: findingSeverity(levelOf(r));
	const fingerprints: Record<string, string> = {};
	for (const key of ["partialFingerprints", "fingerprints"]) {
		const holder = r.result[key];
		if (isObject(holder))
			for (const [k, v] of Object.entries(holder)) if (typeof v === "string") fingerprints[`${key}.${k}`] = v;
	}
	const finding: Finding = {
		rule: r.ruleId,
		severity,
		message: r.message,
		tool: r.tool,
		fingerprint: findingFingerprint({
			tool: r.tool,
			rule: r.ruleId,
			file: r.file,
			message: r.message,
			lineHash: r.snippet !== undefined ? hashLineContent(r.snippet) : undefined,
			toolFingerprints: fingerprints,
		}),
	};
	if (r.file !== undefined) finding.file = r.file;
	if (r.line !== undefined) finding.line = r.line;
	if (r.column !== undefined) finding.column = r.column;
	return finding;
}

// Trivy and Grype put "Package: x\nInstalled Version: y\n…Fixed Version: z" in the message text.
function messageField(message: string, label: string): string | undefined {
	const match = new RegExp(`^\\s*${label}:\\s*(.+)$`, "im").exec(message);
	return match?.[1]?.trim() || undefined;
}

function toVulnerability(r: SarifResult): Vulnerability {
	const score = securitySeverity(r.rule, r.result);
	const fromText = messageField(r.message, "Severity");
	const severity =
		score !== undefined
			? severityFromScore(score)
			: fromText
				? vulnerabilitySeverity(fromText)
				: vulnerabilitySeverity(findingSeverity(levelOf(r)));
	const pkg = messageField(r.message, "Package") ?? r.file ?? "";
	const installedVersion = messageField(r.message, "Installed Version");
	const fixed = messageField(r.message, "Fixed Version");
	const cve = /CVE-\d{4}-\d+/i.exec(`${r.ruleId} ${r.message}`)?.[0]?.toUpperCase();
	const id = cve ?? r.ruleId;
	const short = isObject(r.rule?.["shortDescription"])
		? str((r.rule["shortDescription"] as JsonObject)["text"])
		: undefined;
	const v: Vulnerability = {
		id,
		aliases: uniqueStrings([r.ruleId], id),
		package: pkg,
		severity,
		fixedIn: fixed ? fixed.split(/,\s*/).filter(Boolean) : [],
		tool: r.tool,
		fingerprint: "",
	};
	if (installedVersion) v.installedVersion = installedVersion;
	if (short) v.title = short;
	if (r.file) v.target = r.file;
	v.fingerprint = vulnerabilityFingerprint(v);
	return v;
}
