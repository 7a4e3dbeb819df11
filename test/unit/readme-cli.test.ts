// Outside the CDS-TS checkout `npx cds` runs an unrelated npm package named `cds` (npx installs
// it without asking when there is no terminal): the docs may show it only as a checkout command.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

const ROOT = join(import.meta.dirname, "..", "..");

test("README and docs never tell users to run `npx cds` outside the checkout", () => {
	const files = [
		"README.md",
		"ARCHITECTURE.md",
		...readdirSync(join(ROOT, "docs")).map((f) => join("docs", f)),
	];
	const offending: string[] = [];
	for (const file of files.filter((f) => f.endsWith(".md"))) {
		const lines = readFileSync(join(ROOT, file), "utf8").split("\n");
		lines.forEach((line, i) => {
			if (/npx cds\b/.test(line) && !/checkout/.test(line)) offending.push(`${file}:${i + 1}: ${line}`);
		});
	}
	assert.deepEqual(offending, []);
});
