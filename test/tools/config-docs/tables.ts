// The README's configuration tables, generated from and checked against the declarations in
// config/<area>.ts. Each table follows a marker naming the areas it documents:
//
//   <!-- config: run hatchery artifacts -->
//   | variable | default | meaning |
//
// `npm run docs:config` rewrites the rows of every marked table; test/unit/config-docs.test.ts
// checks that the README matches, so a new knob without its row fails the tests.

import { readdirSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { DECLARED, type Setting } from "../../../config/settings.ts";

export const ROOT = path.resolve(import.meta.dirname, "..", "..", "..");
export const README = path.join(ROOT, "README.md");
const CONFIG_DIR = path.join(ROOT, "config");

const MARKER = /^<!-- config: ([a-z0-9 -]+) -->$/;
const HEADER = "| variable | default | meaning |";
const SEPARATOR = "| --- | --- | --- |";

/** Imports every config/*.ts module (each declares its knobs) and returns each area's settings. */
export async function declaredByArea(): Promise<Map<string, Setting<unknown>[]>> {
	const modules = new Map<string, Record<string, unknown>>();
	for (const file of readdirSync(CONFIG_DIR)
		.filter((f) => f.endsWith(".ts"))
		.sort()) {
		modules.set(file.replace(/\.ts$/, ""), await import(pathToFileURL(path.join(CONFIG_DIR, file)).href));
	}
	const known = new Set(DECLARED.values());
	const areas = new Map<string, Setting<unknown>[]>();
	for (const [area, mod] of modules) {
		const settings: Setting<unknown>[] = [];
		for (const exported of Object.values(mod)) {
			if (exported === null || typeof exported !== "object") continue;
			for (const value of Object.values(exported))
				if (known.has(value as Setting<unknown>) && !settings.includes(value as Setting<unknown>))
					settings.push(value as Setting<unknown>);
		}
		if (settings.length > 0) areas.set(area, settings);
	}
	return areas;
}

export interface DocRow {
	/** Line number in the README, 1-based. */
	line: number;
	names: string[];
	defaultCell: string;
	meaning: string;
}

/** Splits a markdown table row into trimmed cells (no escaped pipes in these tables). */
function cells(line: string): string[] {
	return line
		.replace(/^\s*\|/, "")
		.replace(/\|\s*$/, "")
		.split("|")
		.map((c) => c.trim());
}

/** Every row of every `| variable | default | meaning |` table of the README. */
export function documentedRows(readme: string): DocRow[] {
	const rows: DocRow[] = [];
	const lines = readme.split("\n");
	for (let i = 0; i < lines.length; i++) {
		if (lines[i]!.trim() !== HEADER) continue;
		for (let j = i + 2; j < lines.length && lines[j]!.trim().startsWith("|"); j++) {
			const [first = "", defaultCell = "", meaning = ""] = cells(lines[j]!);
			const names = [...first.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]!);
			rows.push({ line: j + 1, names, defaultCell, meaning });
		}
	}
	return rows;
}

/** The default shown for each name of a row: a row naming several variables separates them with ` / `. */
export function defaultsOf(row: DocRow): string[] | undefined {
	if (row.names.length === 1) return [row.defaultCell];
	const parts = row.defaultCell.split(" / ");
	return parts.length === row.names.length ? parts : undefined;
}

/** Defaults compare without code formatting and with collapsed spaces. */
export const normaliseDefault = (text: string): string => text.replace(/`/g, "").replace(/\s+/g, " ").trim();

/** Variables a README row may name only if they are declared. */
export const CONFIG_VARIABLE = /^(CDS_[A-Z0-9_]+|NATS_[A-Z_]+|MONGO_URL|SERVICES|LOG_LEVEL|NODE_ID)$/;

const row = (s: Setting<unknown>) => `| \`${s.name}\` | ${s.defaultText} | ${s.doc.replace(/\|/g, "\\|")} |`;

/**
 * The README with the rows of every marked table regenerated. Throws when a declared area has
 * no marked table, or a marker names an unknown area.
 */
export function regenerate(readme: string, areas: Map<string, Setting<unknown>[]>): string {
	const lines = readme.split("\n");
	const out: string[] = [];
	const placed = new Set<string>();
	for (let i = 0; i < lines.length; i++) {
		const marker = MARKER.exec(lines[i]!.trim());
		out.push(lines[i]!);
		if (!marker) continue;
		const names = marker[1]!.trim().split(/\s+/);
		const settings = names.flatMap((area) => {
			const s = areas.get(area);
			if (!s) throw new Error(`README.md:${i + 1}: no config/${area}.ts declares knobs`);
			placed.add(area);
			return s;
		});
		if (lines[i + 1]?.trim() !== HEADER)
			throw new Error(`README.md:${i + 2}: a config marker must be followed by "${HEADER}"`);
		out.push(HEADER, SEPARATOR, ...settings.map(row));
		// Skip the old table.
		let j = i + 1;
		while (j < lines.length && lines[j]!.trim().startsWith("|")) j++;
		i = j - 1;
	}
	const missing = [...areas.keys()].filter((a) => !placed.has(a));
	if (missing.length > 0)
		throw new Error(
			`config/${missing.join(".ts, config/")}.ts: add the area to a "<!-- config: … -->" marker above a table of README.md`,
		);
	return out.join("\n");
}
