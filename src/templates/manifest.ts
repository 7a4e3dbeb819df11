// The formats a template comes in.
//
// 1. CDS's manifest: `slug`, `name`, `group`, `description`, `parameters` and the files
//    `workflow`, `pipelines`, `applications`, `environments` given as paths relative to
//    the manifest's own URL.
// 2. The single-file form for small templates: the same keys, but each file is given
//    inline as a multi-line string (a YAML block scalar) instead of a path.
// A value holding a line break is inline content; any other value is a relative path.

import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import {
	PARAMETER_KEY_PATTERN,
	TEMPLATE_PARAMETER_TYPES,
	type TemplateParameter,
	type TemplateParameterType,
} from "./parameters.ts";

const TEMPLATE_FILE_KINDS = ["workflow", "pipeline", "application", "environment"] as const;
export type TemplateFileKind = (typeof TEMPLATE_FILE_KINDS)[number];

/** One file of a template: a path to download, or its content given inline. */
export interface TemplateFileRef {
	kind: TemplateFileKind;
	/** The relative path, or for inline content a name to report errors against (`workflow`, `pipelines[1]`). */
	path: string;
	inline?: string;
}

export interface TemplateManifest {
	slug: string;
	name: string;
	group?: string;
	description: string;
	parameters: TemplateParameter[];
	files: TemplateFileRef[];
}

export interface TemplateDiagnostic {
	file: string;
	line?: number;
	column?: number;
	field?: string;
	message: string;
}

/** A template that cannot be used; `diagnostics` say where and why. */
export class TemplateFormatError extends Error {
	override name = "TemplateFormatError";
	readonly diagnostics: TemplateDiagnostic[];
	constructor(diagnostics: TemplateDiagnostic[]) {
		const first = diagnostics[0];
		super(
			first
				? `${first.file}${first.line ? `:${first.line}:${first.column ?? 1}` : ""}: ${first.message}${diagnostics.length > 1 ? ` (and ${diagnostics.length - 1} more)` : ""}`
				: "invalid template",
		);
		this.diagnostics = diagnostics;
	}
}

export const SLUG_PATTERN = /^(?!\.+$)[a-zA-Z0-9._-]{1,128}$/;
const MANIFEST_KEYS = [
	"slug",
	"name",
	"group",
	"description",
	"parameters",
	"workflow",
	"pipelines",
	"applications",
	"environments",
	"readme",
	"version",
	"id",
];
const PARAMETER_KEYS = ["key", "type", "required", "description"];
const LIST_KEYS: Array<[string, TemplateFileKind]> = [
	["pipelines", "pipeline"],
	["applications", "application"],
	["environments", "environment"],
];

/** Parses a manifest (either form); throws TemplateFormatError with located diagnostics. */
export function parseManifest(fileName: string, text: string): TemplateManifest {
	const lines = new LineCounter();
	const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
	const problems: TemplateDiagnostic[] = [];
	const at = (node: Node | null | undefined, message: string, field?: string) => {
		const offset = node?.range?.[0];
		const pos = offset === undefined ? undefined : lines.linePos(offset);
		problems.push({
			file: fileName,
			line: pos?.line,
			column: pos?.col,
			...(field ? { field } : {}),
			message,
		});
	};
	for (const e of doc.errors) {
		const pos = lines.linePos(e.pos[0]);
		problems.push({ file: fileName, line: pos.line, column: pos.col, message: e.message.split("\n")[0]! });
	}
	if (problems.length) throw new TemplateFormatError(problems);
	const root = doc.contents;
	if (!isMap(root))
		throw new TemplateFormatError([
			{ file: fileName, line: 1, column: 1, message: "a template manifest must be a YAML map" },
		]);

	const fields = new Map<string, { key: Node; value: Node | null }>();
	for (const pair of root.items) {
		const key = pair.key as Node;
		const name = isScalar(key) ? String(key.value) : "";
		if (!MANIFEST_KEYS.includes(name))
			at(key, `unknown manifest key "${name}" (known: ${MANIFEST_KEYS.slice(0, 9).join(", ")})`, name);
		else fields.set(name, { key, value: (pair.value as Node | null) ?? null });
	}
	const scalarText = (name: string, required: boolean): string | undefined => {
		const f = fields.get(name);
		if (!f || f.value === null || (isScalar(f.value) && f.value.value === null)) {
			if (required) at(f?.key ?? root, `"${name}" is required`, name);
			return undefined;
		}
		if (!isScalar(f.value) || typeof f.value.value === "object") {
			at(f.value, `"${name}" must be a string`, name);
			return undefined;
		}
		return String(f.value.value);
	};

	const name = scalarText("name", true);
	const slug = scalarText("slug", false) ?? name;
	if (slug !== undefined && !SLUG_PATTERN.test(slug)) {
		at(
			fields.get("slug")?.value ?? fields.get("name")?.value,
			`slug "${slug}" may only hold letters, digits, ".", "_" and "-"`,
			"slug",
		);
	}
	const group = scalarText("group", false);
	const description = scalarText("description", false) ?? "";

	const parameters: TemplateParameter[] = [];
	const params = fields.get("parameters")?.value;
	if (params && !(isScalar(params) && params.value === null)) {
		if (!isSeq(params)) at(params, '"parameters" must be a list', "parameters");
		else {
			const seen = new Set<string>();
			const parseOne = (item: unknown, i: number) => {
				const field = `parameters[${i}]`;
				if (!isMap(item))
					return at(item as Node, "a parameter must be a map with key, type and required", field);
				const p: Record<string, unknown> = {};
				for (const pair of item.items) {
					const k = isScalar(pair.key) ? String(pair.key.value) : "";
					if (!PARAMETER_KEYS.includes(k))
						at(
							pair.key as Node,
							`unknown parameter field "${k}" (known: ${PARAMETER_KEYS.join(", ")})`,
							field,
						);
					else p[k] = isScalar(pair.value) ? pair.value.value : undefined;
				}
				const key = typeof p.key === "string" ? p.key : "";
				if (!PARAMETER_KEY_PATTERN.test(key))
					return at(
						item as Node,
						`parameter key "${key}" must be a template field name (letters, digits, _)`,
						field,
					);
				if (seen.has(key)) return at(item, `parameter ${key} is declared twice`, field);
				seen.add(key);
				const type = (p.type ?? "string") as TemplateParameterType;
				if (!(TEMPLATE_PARAMETER_TYPES as readonly string[]).includes(type)) {
					return at(
						item,
						`parameter ${key}: type "${String(p.type)}" is not one of ${TEMPLATE_PARAMETER_TYPES.join(", ")}`,
						field,
					);
				}
				if (p.required !== undefined && typeof p.required !== "boolean")
					return at(item, `parameter ${key}: required must be true or false`, field);
				parameters.push({
					key,
					type,
					required: p.required === true,
					...(typeof p.description === "string" ? { description: p.description } : {}),
				});
			};
			for (const [i, item] of params.items.entries()) parseOne(item, i);
		}
	}

	const files: TemplateFileRef[] = [];
	const fileRef = (node: Node, kind: TemplateFileKind, label: string) => {
		if (!isScalar(node) || typeof node.value !== "string" || node.value === "") {
			return at(node, `${label} must be a relative path or the file's content as a multi-line string`, label);
		}
		const value = node.value;
		if (value.includes("\n")) {
			files.push({ kind, path: label, inline: value });
			return;
		}
		if (/^[a-z][a-z0-9+.-]*:/i.test(value) || value.startsWith("/") || value.includes("\\")) {
			return at(node, `${label}: "${value}" must be a path relative to the manifest`, label);
		}
		files.push({ kind, path: value });
	};
	const workflow = fields.get("workflow")?.value;
	if (!workflow)
		at(
			fields.get("workflow")?.key ?? root,
			'"workflow" is required: the template\'s workflow file',
			"workflow",
		);
	else fileRef(workflow, "workflow", "workflow");
	for (const [listKey, kind] of LIST_KEYS) {
		const list = fields.get(listKey)?.value;
		if (!list || (isScalar(list) && list.value === null)) continue;
		if (!isSeq(list)) {
			at(list, `"${listKey}" must be a list`, listKey);
			continue;
		}
		for (const [i, item] of list.items.entries()) fileRef(item as Node, kind, `${listKey}[${i}]`);
	}
	const paths = new Set<string>();
	for (const f of files) {
		if (!f.inline && paths.has(f.path)) at(root, `${f.path} is listed twice`, f.path);
		paths.add(f.path);
	}
	if (problems.length) throw new TemplateFormatError(problems);
	return { slug: slug!, name: name!, ...(group ? { group } : {}), description, parameters, files };
}
