// Checkstyle XML (also written by ESLint's checkstyle formatter, PMD, ktlint, detekt…).
import { type ParseContext, failure } from "../errors.ts";
import { findingFingerprint, numberDuplicates } from "../fingerprint.ts";
import type { AnalysisReport, Finding } from "../model.ts";
import { countFindings, findingSeverity } from "../severity.ts";
import type { ByteSource } from "../source.ts";
import { numberAttr, parseXml } from "../xml.ts";

export async function parseCheckstyle(source: ByteSource, ctx: ParseContext): Promise<AnalysisReport> {
	const findings: Finding[] = [];
	let root: string | undefined;
	let file: string | undefined;
	await parseXml(source, ctx, {
		open(tag) {
			if (root === undefined) {
				root = tag.name;
				if (root !== "checkstyle") throw failure(ctx, `not a Checkstyle report: root element is <${root}>`);
			}
			if (tag.name === "file") file = tag.attributes["name"];
			else if (tag.name === "error") {
				const rule = tag.attributes["source"] ?? "checkstyle";
				const message = tag.attributes["message"] ?? "";
				const finding: Finding = {
					rule,
					severity: findingSeverity(tag.attributes["severity"] ?? "error"),
					message,
					tool: "Checkstyle",
					fingerprint: findingFingerprint({ tool: "Checkstyle", rule, file, message }),
				};
				if (file !== undefined) finding.file = file;
				const line = numberAttr(tag, "line");
				if (line !== undefined) finding.line = line;
				const column = numberAttr(tag, "column");
				if (column !== undefined) finding.column = column;
				findings.push(finding);
			}
		},
		close(name) {
			if (name === "file") file = undefined;
		},
	});
	numberDuplicates(findings);
	return {
		kind: "analysis",
		format: "checkstyle",
		file: ctx.file,
		tool: "Checkstyle",
		findings,
		counts: countFindings(findings),
	};
}
