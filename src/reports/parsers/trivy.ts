// Trivy JSON (`trivy image|fs --format json`, SchemaVersion 2).
import type { ParseContext } from "../errors.ts";
import { failure } from "../errors.ts";
import { numberDuplicates } from "../fingerprint.ts";
import { arrayOf, expectObject, isObject, str } from "../json-shape.ts";
import type { SecurityReport, Vulnerability } from "../model.ts";
import { countVulnerabilities, vulnerabilitySeverity } from "../severity.ts";
import { makeVulnerability } from "../vulnerability.ts";

export function parseTrivy(json: unknown, ctx: ParseContext): SecurityReport {
	const root = expectObject(json, ctx, "Trivy report");
	if (root["SchemaVersion"] === undefined && !Array.isArray(root["Results"])) {
		throw failure(ctx, 'not a Trivy report: missing "SchemaVersion" and "Results"');
	}
	const vulnerabilities: Vulnerability[] = [];
	for (const result of arrayOf(root["Results"], ctx, "Results")) {
		if (!isObject(result)) continue;
		const target = str(result["Target"]);
		for (const item of arrayOf(result["Vulnerabilities"], ctx, "Results[].Vulnerabilities")) {
			if (!isObject(item)) continue;
			const vendorIds = Array.isArray(item["VendorIDs"]) ? item["VendorIDs"].map(str) : [];
			vulnerabilities.push(
				makeVulnerability({
					ids: [str(item["VulnerabilityID"]), ...vendorIds],
					package: str(item["PkgName"]) ?? str(item["PkgID"]) ?? "",
					installedVersion: str(item["InstalledVersion"]),
					severity: vulnerabilitySeverity(str(item["Severity"])),
					// "1.2.3, 2.0.1": one fixed version per maintained branch.
					fixedIn: (str(item["FixedVersion"]) ?? "").split(/,\s*/),
					tool: "Trivy",
					title: str(item["Title"]),
					target,
				}),
			);
		}
	}
	numberDuplicates(vulnerabilities);
	return {
		kind: "security",
		format: "trivy",
		file: ctx.file,
		tool: "Trivy",
		vulnerabilities,
		counts: countVulnerabilities(vulnerabilities),
	};
}
