// Clair v4 vulnerability report (GET /matcher/api/v1/vulnerability_report/{manifest}).
import type { ParseContext } from "../errors.ts";
import { failure } from "../errors.ts";
import { numberDuplicates } from "../fingerprint.ts";
import { expectObject, isObject, str } from "../json-shape.ts";
import type { SecurityReport, Vulnerability } from "../model.ts";
import { countVulnerabilities, vulnerabilitySeverity } from "../severity.ts";
import { makeVulnerability } from "../vulnerability.ts";

export function parseClair(json: unknown, ctx: ParseContext): SecurityReport {
	const root = expectObject(json, ctx, "Clair report");
	if (!isObject(root["package_vulnerabilities"]) || !isObject(root["vulnerabilities"])) {
		throw failure(
			ctx,
			'not a Clair v4 vulnerability report: needs "vulnerabilities" and "package_vulnerabilities"',
		);
	}
	const packages = isObject(root["packages"]) ? root["packages"] : {};
	const known = root["vulnerabilities"];
	const target = str(root["manifest_hash"]);
	const vulnerabilities: Vulnerability[] = [];
	for (const [packageId, vulnIds] of Object.entries(root["package_vulnerabilities"])) {
		const pkg = isObject(packages[packageId]) ? packages[packageId] : undefined;
		for (const vulnId of Array.isArray(vulnIds) ? vulnIds : []) {
			const vuln = known[String(vulnId)];
			if (!isObject(vuln))
				throw failure(
					ctx,
					`package_vulnerabilities refers to unknown vulnerability ${JSON.stringify(vulnId)}`,
				);
			const vulnPackage = isObject(vuln["package"]) ? vuln["package"] : undefined;
			// Clair's "name" is usually the CVE; links often carry more ids (RHSA, DSA…).
			const linked = (str(vuln["links"]) ?? "").match(/CVE-\d{4}-\d+/g) ?? [];
			vulnerabilities.push(
				makeVulnerability({
					ids: [str(vuln["name"]), ...linked],
					package: str(pkg?.["name"]) ?? str(vulnPackage?.["name"]) ?? "",
					installedVersion: str(pkg?.["version"]),
					severity: vulnerabilitySeverity(str(vuln["normalized_severity"]) ?? str(vuln["severity"])),
					fixedIn: [str(vuln["fixed_in_version"])],
					tool: "Clair",
					title: shorten(str(vuln["description"])),
					target,
				}),
			);
		}
	}
	numberDuplicates(vulnerabilities);
	return {
		kind: "security",
		format: "clair",
		file: ctx.file,
		tool: "Clair",
		vulnerabilities,
		counts: countVulnerabilities(vulnerabilities),
	};
}

function shorten(text: string | undefined): string | undefined {
	if (!text) return undefined;
	const line = text.split("\n")[0]!;
	return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
