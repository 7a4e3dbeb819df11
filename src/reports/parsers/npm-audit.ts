// `npm audit --json` from npm 7+ (auditReportVersion 2).
import type { ParseContext } from "../errors.ts";
import { failure } from "../errors.ts";
import { numberDuplicates } from "../fingerprint.ts";
import { expectObject, isObject, str } from "../json-shape.ts";
import type { SecurityReport, Vulnerability } from "../model.ts";
import { countVulnerabilities, vulnerabilitySeverity } from "../severity.ts";
import { makeVulnerability } from "../vulnerability.ts";

/**
 * Each advisory object in a package's "via" becomes one vulnerability. String "via" entries only say a
 * package is affected through another one, which is reported under that other package.
 * npm audit gives the vulnerable range, not the installed version: installedVersion stays empty, and
 * fixedIn is the fix npm proposes ("pkg@version") when it has one.
 */
export function parseNpmAudit(json: unknown, ctx: ParseContext): SecurityReport {
	const root = expectObject(json, ctx, "npm audit report");
	if (root["auditReportVersion"] !== 2) {
		throw failure(
			ctx,
			`unsupported npm audit report (auditReportVersion ${JSON.stringify(root["auditReportVersion"])}, 2 expected)`,
		);
	}
	const packages = expectObject(root["vulnerabilities"] ?? {}, ctx, "vulnerabilities");
	const vulnerabilities: Vulnerability[] = [];
	for (const [name, entry] of Object.entries(packages)) {
		if (!isObject(entry)) continue;
		const fix = entry["fixAvailable"];
		const fixedIn = isObject(fix) ? `${str(fix["name"])}@${str(fix["version"])}` : undefined;
		for (const via of Array.isArray(entry["via"]) ? entry["via"] : []) {
			if (!isObject(via)) continue;
			const url = str(via["url"]) ?? "";
			const ghsa = /GHSA(-[0-9a-z]{4}){3}/i.exec(url)?.[0];
			vulnerabilities.push(
				makeVulnerability({
					ids: [ghsa, via["source"] !== undefined ? `npm:${str(via["source"])}` : undefined],
					package: str(via["name"]) ?? name,
					severity: vulnerabilitySeverity(str(via["severity"]) ?? str(entry["severity"])),
					fixedIn: [fixedIn],
					tool: "npm audit",
					title: str(via["title"]),
					target: str(via["range"]) ? `range ${str(via["range"])}` : undefined,
				}),
			);
		}
	}
	numberDuplicates(vulnerabilities);
	return {
		kind: "security",
		format: "npm-audit",
		file: ctx.file,
		tool: "npm audit",
		vulnerabilities,
		counts: countVulnerabilities(vulnerabilities),
	};
}
