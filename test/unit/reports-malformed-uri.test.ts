// Report files come from jobs: a malformed percent escape in a path or package URL is kept as
// written (issue #11: it threw URIError, a 500 at upload).

import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { test } from "node:test";
import { parseReportStream } from "../../src/reports/index.ts";
import { decodeUriText } from "../../src/reports/uri.ts";

test("decodeUriText decodes good escapes and keeps broken ones", () => {
	assert.equal(decodeUriText("a%20b"), "a b");
	assert.equal(decodeUriText("%"), "%");
	assert.equal(decodeUriText("x%E0%A4%A"), "x%E0%A4%A");
});

test("a SARIF location `file://%` parses instead of throwing", async () => {
	const sarif = JSON.stringify({
		version: "2.1.0",
		runs: [
			{
				tool: { driver: { name: "x", rules: [] } },
				results: [
					{
						ruleId: "r",
						level: "error",
						message: { text: "m" },
						locations: [
							{ physicalLocation: { artifactLocation: { uri: "file://%" }, region: { startLine: 1 } } },
						],
					},
				],
			},
		],
	});
	const report = (await parseReportStream(Readable.from([Buffer.from(sarif)]), {
		format: "sarif",
		fileName: "x.sarif",
	})) as { findings: Array<{ file?: string }> };
	assert.equal(report.findings[0]!.file, "%");
});
