// ESLint's JSON formatter (`eslint -f json`).
import type { ParseContext } from "../errors.ts";
import { failure } from "../errors.ts";
import { findingFingerprint, hashLineContent, numberDuplicates } from "../fingerprint.ts";
import { arrayOf, expectArray, isObject, num, str } from "../json-shape.ts";
import type { AnalysisReport, Finding } from "../model.ts";
import { countFindings, findingSeverity } from "../severity.ts";

const ESLINT_LEVEL: Record<number, string> = { 0: "none", 1: "warning", 2: "error" };

export function parseEslint(json: unknown, ctx: ParseContext): AnalysisReport {
	const results = expectArray(json, ctx, "ESLint report");
	const findings: Finding[] = [];
	results.forEach((result, index) => {
		if (!isObject(result) || typeof result["filePath"] !== "string") {
			throw failure(ctx, `result #${index + 1} is not an ESLint file result (needs "filePath")`);
		}
		const file = result["filePath"];
		// ESLint includes the file's source when it reports problems: used to hash the flagged line.
		const sourceLines = typeof result["source"] === "string" ? result["source"].split("\n") : undefined;
		for (const message of arrayOf(result["messages"], ctx, `${file} messages`)) {
			if (!isObject(message)) continue;
			const line = num(message["line"]);
			const rule = str(message["ruleId"]) ?? (message["fatal"] ? "parse-error" : "eslint");
			const text = str(message["message"]) ?? "";
			const lineText = line !== undefined ? sourceLines?.[line - 1] : undefined;
			const finding: Finding = {
				rule,
				severity: message["fatal"] ? "high" : findingSeverity(ESLINT_LEVEL[num(message["severity"]) ?? 0]),
				message: text,
				file,
				tool: "ESLint",
				fingerprint: findingFingerprint({
					tool: "ESLint",
					rule,
					file,
					message: text,
					lineHash: lineText !== undefined ? hashLineContent(lineText) : undefined,
				}),
			};
			if (line !== undefined) finding.line = line;
			const column = num(message["column"]);
			if (column !== undefined) finding.column = column;
			findings.push(finding);
		}
	});
	numberDuplicates(findings);
	return {
		kind: "analysis",
		format: "eslint",
		file: ctx.file,
		tool: "ESLint",
		findings,
		counts: countFindings(findings),
	};
}
