// Grype JSON (`grype -o json`).
import type { ParseContext } from "../errors.ts";
import { failure } from "../errors.ts";
import { numberDuplicates } from "../fingerprint.ts";
import { arrayOf, expectObject, isObject, str } from "../json-shape.ts";
import type { SecurityReport, Vulnerability } from "../model.ts";
import { countVulnerabilities, vulnerabilitySeverity } from "../severity.ts";
import { makeVulnerability } from "../vulnerability.ts";

export function parseGrype(json: unknown, ctx: ParseContext): SecurityReport {
	const root = expectObject(json, ctx, "Grype report");
	if (!Array.isArray(root["matches"])) throw failure(ctx, 'not a Grype report: missing "matches" array');
	const source =
		isObject(root["source"]) && isObject(root["source"]["target"]) ? root["source"]["target"] : undefined;
	const sourceName =
		str(source?.["userInput"]) ?? (isObject(root["source"]) ? str(root["source"]["target"]) : undefined);
	const vulnerabilities: Vulnerability[] = root["matches"].map((match, index) => {
		if (!isObject(match) || !isObject(match["vulnerability"]) || !isObject(match["artifact"])) {
			throw failure(ctx, `matches[${index}] needs "vulnerability" and "artifact" objects`);
		}
		const vuln = match["vulnerability"];
		const artifact = match["artifact"];
		const related = arrayOf(match["relatedVulnerabilities"], ctx, "relatedVulnerabilities").map((r) =>
			isObject(r) ? str(r["id"]) : undefined,
		);
		const fix = isObject(vuln["fix"]) ? vuln["fix"] : undefined;
		const locations = arrayOf(artifact["locations"], ctx, "artifact.locations");
		const firstPath = isObject(locations[0]) ? str(locations[0]["path"]) : undefined;
		return makeVulnerability({
			ids: [str(vuln["id"]), ...related],
			package: str(artifact["name"]) ?? "",
			installedVersion: str(artifact["version"]),
			severity: vulnerabilitySeverity(str(vuln["severity"])),
			fixedIn: arrayOf(fix?.["versions"], ctx, "vulnerability.fix.versions").map(str),
			tool: "Grype",
			title: firstSentence(str(vuln["description"])),
			target: firstPath ?? sourceName,
		});
	});
	numberDuplicates(vulnerabilities);
	return {
		kind: "security",
		format: "grype",
		file: ctx.file,
		tool: "Grype",
		vulnerabilities,
		counts: countVulnerabilities(vulnerabilities),
	};
}

function firstSentence(text: string | undefined): string | undefined {
	if (!text) return undefined;
	const end = text.search(/\.(\s|$)/);
	const sentence = end === -1 ? text : text.slice(0, end + 1);
	return sentence.length > 200 ? `${sentence.slice(0, 200)}…` : sentence;
}
