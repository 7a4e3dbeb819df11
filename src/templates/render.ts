// Renders a template bundle into as-code files. Every file is parsed and executed with
// the Go text/template engine (CDS delimiters `[[ ]]`); each result must be YAML with a
// `name`, which names the written file the way CDS does (`NAME.yml` for the workflow,
// `NAME.pip.yml`, `NAME.app.yml`, `NAME.env.yml`). All or nothing: any failure throws a
// TemplateRenderError listing file, line and column, and no file is returned.

import { isMap, isScalar, LineCounter, parseDocument } from "yaml";
import { parseTemplate, TemplateError } from "../gotemplate/index.ts";
import type { TemplateBundle } from "./bundle.ts";
import { TEMPLATE_FUNCS } from "./funcs.ts";
import type { TemplateDiagnostic, TemplateFileKind } from "./manifest.ts";
import type { ParameterValue } from "./parameters.ts";

const TEMPLATE_DELIMS: [string, string] = ["[[", "]]"];
const OUTPUT_NAME = /^[a-zA-Z0-9._-]{1,128}$/;
const SUFFIX: Record<TemplateFileKind, string> = {
	workflow: ".yml",
	pipeline: ".pip.yml",
	application: ".app.yml",
	environment: ".env.yml",
};

/** What a template sees: `.id` (the instance number), `.name` (the workflow name), `.params`. */
export interface RenderData {
	id: number;
	name: string;
	params: Record<string, ParameterValue>;
}

export interface RenderedFile {
	kind: TemplateFileKind;
	/** The file name to write, e.g. `First-pipeline.pip.yml`. */
	path: string;
	content: string;
	/** The template file it came from. */
	source: string;
	/** The entity's name read from the rendered YAML. */
	name: string;
}

export class TemplateRenderError extends Error {
	override name = "TemplateRenderError";
	readonly diagnostics: TemplateDiagnostic[];
	constructor(diagnostics: TemplateDiagnostic[]) {
		const d = diagnostics[0]!;
		super(
			`${d.file}${d.line !== undefined ? `:${d.line}:${d.column ?? 0}` : ""}: ${d.message}${diagnostics.length > 1 ? ` (and ${diagnostics.length - 1} more)` : ""}`,
		);
		this.diagnostics = diagnostics;
	}
}

/** The engine's message without its own `template: NAME:LINE:COL:` prefix (file and position are separate fields). */
function engineMessage(e: TemplateError): string {
	return e.message.replace(/^template: [^:]*(?::\d+)*:\s*/, "");
}

export function renderBundle(bundle: TemplateBundle, data: RenderData): RenderedFile[] {
	const problems: TemplateDiagnostic[] = [];
	const rendered: RenderedFile[] = [];
	for (const source of bundle.sources) {
		let output: string;
		try {
			const template = parseTemplate(source.path, source.content, {
				delims: TEMPLATE_DELIMS,
				funcs: TEMPLATE_FUNCS,
			});
			output = template.execute(data);
		} catch (e) {
			if (!(e instanceof TemplateError)) throw e;
			problems.push({
				file: source.path,
				line: e.line,
				// The engine counts columns from 0 like Go; diagnostics count from 1 like editors.
				column: e.column + 1,
				message: `${e.phase === "parse" ? "template syntax" : "template execution"}: ${engineMessage(e)}`,
			});
			continue;
		}
		const lines = new LineCounter();
		const doc = parseDocument(output, { lineCounter: lines, prettyErrors: false });
		if (doc.errors.length > 0) {
			const err = doc.errors[0]!;
			const pos = lines.linePos(err.pos[0]);
			problems.push({
				file: source.path,
				line: pos.line,
				column: pos.col,
				message: `the rendered file is not valid YAML (line and column of the rendered text): ${err.message.split("\n")[0]}`,
			});
			continue;
		}
		const root = doc.contents;
		const nameNode = isMap(root) ? root.get("name", true) : undefined;
		const name = isScalar(nameNode) ? String(nameNode.value ?? "") : "";
		if (!OUTPUT_NAME.test(name) || name === "." || name === "..") {
			problems.push({
				file: source.path,
				line: 1,
				column: 1,
				message: `the rendered ${source.kind} has no usable name ("${name}"): a name may only hold letters, digits, ".", "_" and "-"`,
			});
			continue;
		}
		rendered.push({
			kind: source.kind,
			path: `${name}${SUFFIX[source.kind]}`,
			content: output.endsWith("\n") ? output : `${output}\n`,
			source: source.path,
			name,
		});
	}
	const byPath = new Map<string, string>();
	for (const file of rendered) {
		const earlier = byPath.get(file.path);
		if (earlier) problems.push({ file: file.source, message: `renders to ${file.path}, like ${earlier}` });
		byPath.set(file.path, file.source);
	}
	if (problems.length > 0) throw new TemplateRenderError(problems);
	return rendered;
}
