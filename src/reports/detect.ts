// Format detection from the first KB of a file (and, as a fallback, its name).
import { isObject } from "./json-shape.ts";
import type { ReportFormat } from "./model.ts";

export const SNIFF_BYTES = 1024;

export function detectReportFormat(head: string, fileName?: string): ReportFormat | undefined {
	const text = head.replace(/^\uFEFF/, "").trimStart();
	if (text.startsWith("<")) return detectXml(text);
	if (text.startsWith("{") || text.startsWith("[")) return detectJsonHead(text);
	const firstLine = text.split(/\r?\n/, 1)[0] ?? "";
	if (/^mode:\s*(set|count|atomic)\s*$/.test(firstLine)) return "go-cover";
	if (/^(TN|SF|VER):/.test(firstLine)) return "lcov";
	return fromFileName(fileName);
}

function detectXml(text: string): ReportFormat | undefined {
	// Skip the prolog: declaration, comments, processing instructions, DOCTYPE.
	const body = text.replace(
		/^(\s*(<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!DOCTYPE[^>[]*(\[[\s\S]*?\])?\s*>))*\s*/i,
		"",
	);
	const root = /^<([A-Za-z_][\w.:-]*)/.exec(body)?.[1];
	switch (root) {
		case "testsuites":
		case "testsuite":
			return "junit";
		case "checkstyle":
			return "checkstyle";
		case "report":
			return /JACOCO|<sessioninfo/i.test(text) ? "jacoco" : undefined;
		case "coverage":
			if (/\bclover=|<project\b/.test(text)) return "clover";
			return "cobertura";
		default:
			// A DOCTYPE that hides the root (e.g. an entity bomb) still goes to the XML parser, which refuses it.
			return /<!DOCTYPE\s+(testsuites?|coverage|report|checkstyle)\b/i.exec(text)
				? xmlDoctypeRoot(text)
				: undefined;
	}
}

function xmlDoctypeRoot(text: string): ReportFormat | undefined {
	const name = /<!DOCTYPE\s+([\w-]+)/i.exec(text)?.[1];
	if (name === "testsuites" || name === "testsuite") return "junit";
	if (name === "coverage") return "cobertura";
	if (name === "report") return "jacoco";
	if (name === "checkstyle") return "checkstyle";
	return undefined;
}

/** Key patterns seen near the top of each JSON report (keys are matched with their quotes). */
function detectJsonHead(text: string): ReportFormat | undefined {
	const has = (key: string) => text.includes(`"${key}"`);
	if (text.startsWith("["))
		return has("filePath") && has("messages") ? "eslint" : text.trim() === "[]" ? "eslint" : undefined;
	if (has("auditReportVersion")) return "npm-audit";
	if (has("SchemaVersion") && (has("ArtifactName") || has("Results"))) return "trivy";
	if (has("reportSchema") || (has("scanInfo") && has("dependencies"))) return "dependency-check";
	if (has("manifest_hash") || has("package_vulnerabilities")) return "clair";
	if (has("matches") && (has("vulnerability") || has("artifact") || has("descriptor"))) return "grype";
	if (/sarif/i.test(text) || (has("runs") && has("tool"))) return "sarif";
	if (has("issues") && (has("paging") || has("components") || has("effortTotal") || has("rule")))
		return "sonarqube";
	if (has("total") && has("lines") && has("pct")) return "istanbul-summary";
	return undefined;
}

/** Same decision on a parsed JSON value, for heads where the telling keys came after the first KB. */
export function detectJsonValue(value: unknown): ReportFormat | undefined {
	if (Array.isArray(value)) return value.every((r) => isObject(r) && "filePath" in r) ? "eslint" : undefined;
	if (!isObject(value)) return undefined;
	if ("auditReportVersion" in value) return "npm-audit";
	if ("SchemaVersion" in value && "Results" in value) return "trivy";
	if ("dependencies" in value && ("reportSchema" in value || "scanInfo" in value)) return "dependency-check";
	if ("package_vulnerabilities" in value) return "clair";
	if (Array.isArray(value["matches"])) return "grype";
	if (Array.isArray(value["runs"])) return "sarif";
	if (Array.isArray(value["issues"])) return "sonarqube";
	if (isObject(value["total"]) && isObject(value["total"]["lines"])) return "istanbul-summary";
	return undefined;
}

function fromFileName(fileName: string | undefined): ReportFormat | undefined {
	if (!fileName) return undefined;
	const name = fileName.toLowerCase();
	if (name.endsWith(".sarif") || name.endsWith(".sarif.json")) return "sarif";
	if (name.endsWith(".lcov") || name.endsWith("lcov.info")) return "lcov";
	if (name.endsWith("coverprofile") || name.endsWith("cover.out") || name.endsWith("coverage.out"))
		return "go-cover";
	return undefined;
}

export const JSON_FORMATS: ReadonlySet<ReportFormat> = new Set<ReportFormat>([
	"istanbul-summary",
	"sarif",
	"sarif-security",
	"eslint",
	"sonarqube",
	"dependency-check",
	"clair",
	"trivy",
	"grype",
	"npm-audit",
]);
