// A template repository's index: a YAML list of `{name, description, url}` served at the
// repository URL. Relative template URLs are resolved against the index's own URL.

import { isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import { SLUG_PATTERN, TemplateFormatError, type TemplateDiagnostic } from "./manifest.ts";

export interface IndexEntry {
	name: string;
	description: string;
	url: string;
}

const MAX_INDEX_ENTRIES = 1000;

export function parseRepositoryIndex(indexUrl: string, text: string): IndexEntry[] {
	const lines = new LineCounter();
	const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
	const file = indexUrl;
	const problems: TemplateDiagnostic[] = [];
	const at = (offset: number | undefined, message: string) => {
		const pos = offset === undefined ? undefined : lines.linePos(offset);
		problems.push({ file, line: pos?.line, column: pos?.col, message });
	};
	for (const e of doc.errors) at(e.pos[0], e.message.split("\n")[0]!);
	if (problems.length) throw new TemplateFormatError(problems);
	// Either a bare list or `{templates: [...]}`.
	let list: unknown = doc.contents;
	if (isMap(list) && list.has("templates")) list = list.get("templates", true);
	if (!isSeq(list))
		throw new TemplateFormatError([
			{
				file,
				line: 1,
				column: 1,
				message: "a template index must be a YAML list of {name, description, url}",
			},
		]);
	if (list.items.length > MAX_INDEX_ENTRIES) {
		throw new TemplateFormatError([
			{
				file,
				line: 1,
				column: 1,
				message: `a template index may list at most ${MAX_INDEX_ENTRIES} templates`,
			},
		]);
	}
	const entries: IndexEntry[] = [];
	const seen = new Set<string>();
	for (const item of list.items) {
		const offset = (item as unknown as { range?: [number] } | null)?.range?.[0];
		if (!isMap(item)) {
			at(offset, "each entry must be a map with name, description and url");
			continue;
		}
		const get = (k: string) => {
			const v = item.get(k, true);
			return isScalar(v) && v.value !== null ? String(v.value) : undefined;
		};
		const name = get("name");
		const url = get("url");
		if (!name || !SLUG_PATTERN.test(name)) {
			at(offset, `entry name "${name ?? ""}" must hold only letters, digits, ".", "_" and "-"`);
			continue;
		}
		if (seen.has(name)) {
			at(offset, `template ${name} is listed twice`);
			continue;
		}
		if (!url) {
			at(offset, `template ${name} has no url`);
			continue;
		}
		let resolved: string;
		try {
			resolved = new URL(url, indexUrl).href;
		} catch {
			at(offset, `template ${name}: "${url}" is not a URL`);
			continue;
		}
		seen.add(name);
		entries.push({ name, description: get("description") ?? "", url: resolved });
	}
	if (problems.length) throw new TemplateFormatError(problems);
	return entries;
}
