// The README's shell blocks, read by the tests that run them as written.

import { readFileSync } from "node:fs";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "../..");

/**
 * The lines of the first ```sh block after `marker` (a heading or a sentence of the README),
 * `\` continuations joined, blank lines dropped; with `stripComments`, trailing `# …` removed.
 */
export function readmeShellBlock(marker: string, options: { stripComments?: boolean } = {}): string[] {
	const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
	const at = readme.indexOf(marker);
	if (at < 0) throw new Error(`the README has no "${marker}"`);
	const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at))?.[1] ?? "";
	return block
		.replace(/\\\n\s*/g, "")
		.split("\n")
		.map((l) => (options.stripComments ? l.replace(/\s+#.*$/, "") : l).trim())
		.filter((l) => l !== "");
}
