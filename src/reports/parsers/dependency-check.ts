// OWASP Dependency-Check JSON report (`--format JSON`).
import type { ParseContext } from "../errors.ts";
import { failure } from "../errors.ts";
import { numberDuplicates } from "../fingerprint.ts";
import { arrayOf, expectObject, isObject, type JsonObject, str } from "../json-shape.ts";
import type { SecurityReport, Vulnerability } from "../model.ts";
import { countVulnerabilities, severityFromScore, vulnerabilitySeverity } from "../severity.ts";
import { makeVulnerability } from "../vulnerability.ts";
import { decodeUriText } from "../uri.ts";

export function parseDependencyCheck(json: unknown, ctx: ParseContext): SecurityReport {
	const root = expectObject(json, ctx, "Dependency-Check report");
	if (!Array.isArray(root["dependencies"]))
		throw failure(ctx, 'not a Dependency-Check report: missing "dependencies" array');
	const vulnerabilities: Vulnerability[] = [];
	for (const dependency of root["dependencies"]) {
		if (!isObject(dependency)) continue;
		const { name, version } = packageOf(dependency);
		for (const vuln of arrayOf(dependency["vulnerabilities"], ctx, "dependencies[].vulnerabilities")) {
			if (!isObject(vuln)) continue;
			vulnerabilities.push(
				makeVulnerability({
					ids: [str(vuln["name"])],
					package: name,
					installedVersion: version,
					severity: severityOf(vuln),
					fixedIn: fixedVersions(vuln),
					tool: "Dependency-Check",
					title: shorten(str(vuln["description"])),
					target: str(dependency["filePath"]) ?? str(dependency["fileName"]),
				}),
			);
		}
	}
	numberDuplicates(vulnerabilities);
	return {
		kind: "security",
		format: "dependency-check",
		file: ctx.file,
		tool: "Dependency-Check",
		vulnerabilities,
		counts: countVulnerabilities(vulnerabilities),
	};
}

// Package URL "pkg:maven/org.example/lib@1.2.3" → "org.example/lib", "1.2.3"; else the jar's file name.
function packageOf(dependency: JsonObject): { name: string; version?: string } {
	for (const p of Array.isArray(dependency["packages"]) ? dependency["packages"] : []) {
		const purl = isObject(p) ? str(p["id"]) : undefined;
		const match = purl ? /^pkg:[^/]+\/(.+?)@([^?#]+)/.exec(purl) : null;
		if (match) return { name: decodeUriText(match[1]!), version: decodeUriText(match[2]!) };
	}
	return { name: str(dependency["fileName"]) ?? "" };
}

function severityOf(vuln: JsonObject): Vulnerability["severity"] {
	const word = vulnerabilitySeverity(str(vuln["severity"]));
	if (word !== "unknown") return word;
	for (const key of ["cvssv3", "cvssv2"]) {
		const cvss = vuln[key];
		if (isObject(cvss) && typeof cvss["baseScore"] === "number") return severityFromScore(cvss["baseScore"]);
	}
	return "unknown";
}

// The NVD data says up to which version a product is vulnerable: the "excluding" bound is the fix.
function fixedVersions(vuln: JsonObject): string[] {
	const fixes: string[] = [];
	for (const entry of Array.isArray(vuln["vulnerableSoftware"]) ? vuln["vulnerableSoftware"] : []) {
		const software = isObject(entry) && isObject(entry["software"]) ? entry["software"] : undefined;
		const bound = str(software?.["versionEndExcluding"]);
		if (bound) fixes.push(bound);
	}
	return fixes;
}

function shorten(text: string | undefined): string | undefined {
	if (!text) return undefined;
	const line = text.split("\n")[0]!;
	return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
