// The README documents every configuration knob exactly as config/<area>.ts declares it, and
// nothing outside config/ reads the process environment (config/process-env.ts is the door).
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { DECLARED } from "../../config/settings.ts";
import {
	CONFIG_VARIABLE,
	declaredByArea,
	defaultsOf,
	documentedRows,
	normaliseDefault,
	README,
	ROOT,
	regenerate,
} from "../tools/config-docs/tables.ts";

const areas = await declaredByArea(); // imports every config/*.ts module, filling DECLARED
const readme = readFileSync(README, "utf8");
const rows = documentedRows(readme);

describe("README configuration tables", () => {
	test("the declarations are loaded (the check would pass vacuously otherwise)", () => {
		assert.ok(DECLARED.size >= 40, `${DECLARED.size} declared variables`);
		for (const name of ["NATS_URL", "CDS_API_PORT", "CDS_JOB_TIMEOUT_SECONDS", "CDS_HATCHERY_NAME"])
			assert.ok(DECLARED.has(name), name);
	});

	test("every declared variable has a row", () => {
		const documented = new Set(rows.flatMap((r) => r.names));
		const missing = [...DECLARED.keys()].filter((n) => !documented.has(n));
		assert.deepEqual(missing, [], "declared but not in README.md (npm run docs:config)");
	});

	test("every configuration row names a declared variable, once", () => {
		const seen = new Set<string>();
		for (const row of rows) {
			assert.ok(row.names.length > 0, `README.md:${row.line}: a row without a variable`);
			for (const name of row.names) {
				if (!CONFIG_VARIABLE.test(name)) continue;
				assert.ok(DECLARED.has(name), `README.md:${row.line}: ${name} is not declared in config/`);
				assert.ok(!seen.has(name), `README.md:${row.line}: ${name} has a second row`);
				seen.add(name);
			}
		}
	});

	test("each row's default is the declared default", () => {
		for (const row of rows) {
			const defaults = defaultsOf(row);
			assert.ok(defaults, `README.md:${row.line}: one default per variable, separated by " / "`);
			row.names.forEach((name, i) => {
				const setting = DECLARED.get(name);
				if (!setting) return;
				assert.equal(
					normaliseDefault(defaults[i]!),
					normaliseDefault(setting.defaultText),
					`README.md:${row.line}: default of ${name}`,
				);
			});
		}
	});

	test("the tables are what npm run docs:config generates", () => {
		assert.equal(regenerate(readme, areas), readme, "run npm run docs:config");
	});

	test("a missing row, an unknown variable and a wrong default are each caught", () => {
		const one = [...DECLARED.values()][0]!;
		const without = readme
			.split("\n")
			.filter((l) => !l.startsWith(`| \`${one.name}\` |`))
			.join("\n");
		assert.ok(!documentedRows(without).some((r) => r.names.includes(one.name)));
		const fake = documentedRows(
			"| variable | default | meaning |\n| --- | --- | --- |\n| `CDS_NO_SUCH` | 1 | x |\n",
		);
		assert.equal(fake[0]!.names[0], "CDS_NO_SUCH");
		assert.ok(CONFIG_VARIABLE.test("CDS_NO_SUCH") && !DECLARED.has("CDS_NO_SUCH"));
		const pair = documentedRows(
			"| variable | default | meaning |\n| --- | --- | --- |\n| `A_X` / `B_Y` | 1 | x |\n",
		);
		assert.equal(defaultsOf(pair[0]!), undefined, "two variables need two defaults");
	});
});

/** Where `process.env` may not be read: everything that runs, except config/ (and tests). */
const SCANNED = ["services", "mixins", "src", "bin", "bench", "server.ts", "moleculer.config.ts"];
const ENV_READ = [
	/\bprocess\s*\.\s*env\b/,
	/\bprocess\s*\[\s*["'`]env["'`]\s*\]/,
	/\{[^}]*\benv\b[^}]*\}\s*=\s*process\b/,
	/\bprocess\s*\.\s*loadEnvFile\b/,
];

function sourceFiles(entry: string): string[] {
	const full = path.join(ROOT, entry);
	if (!statSync(full, { throwIfNoEntry: false })) return [];
	if (statSync(full).isFile()) return [entry];
	return readdirSync(full, { recursive: true, encoding: "utf8" })
		.filter((f) => /\.(ts|mts|js|mjs|cjs)$/.test(f))
		.map((f) => path.join(entry, f));
}

/** Code without comments, so that a comment may name process.env. */
function withoutComments(text: string): string {
	return text
		.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ""))
		.replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
}

function envReads(text: string): number[] {
	const lines = withoutComments(text).split("\n");
	return lines.flatMap((line, i) => (ENV_READ.some((re) => re.test(line)) ? [i + 1] : []));
}

describe("process.env is read only in config/", () => {
	test("the scan sees a read, in each of its forms, and ignores comments", () => {
		assert.deepEqual(envReads("const a = 1;\nconst b = process.env.X;\n"), [2]);
		assert.deepEqual(envReads('const e = process["env"];'), [1]);
		assert.deepEqual(envReads("const { env } = process;"), [1]);
		assert.deepEqual(envReads("// process.env.X is read in config/\n/* process.env */ const x = 1;"), []);
	});

	test("no file outside config/ reads process.env (use hostEnv() of config/process-env.ts)", () => {
		const files = SCANNED.flatMap(sourceFiles);
		assert.ok(files.length > 100, `${files.length} files scanned`);
		const offenders = files.flatMap((file) =>
			envReads(readFileSync(path.join(ROOT, file), "utf8")).map((line) => `${file}:${line}`),
		);
		assert.deepEqual(offenders, []);
	});
});
