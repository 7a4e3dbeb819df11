// `npm run docs:config`: rewrites the rows of the README's configuration tables from the
// declarations in config/<area>.ts (see tables.ts). `--check` only says whether they differ.
import { readFileSync, writeFileSync } from "node:fs";
import { declaredByArea, README, regenerate } from "./tables.ts";

const current = readFileSync(README, "utf8");
const next = regenerate(current, await declaredByArea());
if (process.argv.includes("--check")) {
	if (next !== current) {
		console.error("README.md configuration tables are out of date: run npm run docs:config");
		process.exitCode = 1;
	}
} else if (next !== current) {
	writeFileSync(README, next);
	console.log("README.md configuration tables regenerated");
} else console.log("README.md configuration tables are up to date");
