/**
 * A faithful Go text/template engine for CDS-TS templates (see README.md).
 *
 *   const t = parseTemplate("wf", "[[ .name | upper ]]", { delims: ["[[", "]]"] });
 *   t.execute({ name: "build" }); // "BUILD"
 */
import type { Tree } from "./ast.ts";
import { BUILTINS, type FunctionSpec } from "./builtins.ts";
import { TemplateError } from "./errors.ts";
import { type ExecLimits, execute, type MissingKeyMode } from "./exec.ts";
import { HELPERS } from "./helpers.ts";
import { parseTrees } from "./parser.ts";

export { TemplateError } from "./errors.ts";
export type { ExecLimits, MissingKeyMode } from "./exec.ts";
export { GoFloat } from "./values.ts";

// biome-ignore lint/complexity/noBannedTypes: user helpers are arbitrary functions
export type TemplateFunction = Function;

export interface ParseTemplateOptions {
	/** Action delimiters; Go's default is ["{{", "}}"], CDS uses ["[[", "]]"]. */
	delims?: [string, string];
	/** Extra functions callable from the template; they receive evaluated arguments. */
	funcs?: Record<string, TemplateFunction>;
}

export interface ExecuteOptions {
	/** Go's missingkey option: "default" prints <no value>, "zero" yields nil, "error" fails. */
	missingKey?: MissingKeyMode;
	maxOutputSize?: number;
	maxDepth?: number;
	maxSteps?: number;
}

const DEFAULT_LIMITS: Readonly<ExecLimits> = Object.freeze({
	maxOutputSize: 1_000_000,
	maxDepth: 200,
	maxSteps: 1_000_000,
});

export interface Template {
	readonly name: string;
	/** Names of every template defined by the source (the main one, {{define}} and {{block}}). */
	templateNames(): string[];
	execute(data: unknown, options?: ExecuteOptions): string;
	/** Executes a {{define}}d template of this set by name. */
	executeTemplate(name: string, data: unknown, options?: ExecuteOptions): string;
}

function userFunctionSpec(name: string, fn: TemplateFunction): FunctionSpec {
	if (typeof fn !== "function")
		throw new TypeError(`template function ${JSON.stringify(name)} is not a function`);
	if (!/^[\p{L}_][\p{L}\p{Nd}_]*$/u.test(name)) {
		throw new TypeError(`template function name ${JSON.stringify(name)} is not a valid identifier`);
	}
	return { params: ["any"], variadic: true, call: (...args: unknown[]) => fn(...args) };
}

export function parseTemplate(name: string, text: string, options: ParseTemplateOptions = {}): Template {
	const [leftDelim, rightDelim] = options.delims ?? ["{{", "}}"];
	if (
		typeof leftDelim !== "string" ||
		typeof rightDelim !== "string" ||
		leftDelim === "" ||
		rightDelim === ""
	) {
		throw new TypeError("template delimiters must be two non-empty strings");
	}
	if (typeof text !== "string") throw new TypeError("template text must be a string");
	const funcs = new Map<string, FunctionSpec>([...Object.entries(BUILTINS), ...Object.entries(HELPERS)]);
	for (const [fname, fn] of Object.entries(options.funcs ?? {}))
		funcs.set(fname, userFunctionSpec(fname, fn));

	let trees: Map<string, Tree>;
	try {
		trees = parseTrees(name, text, { leftDelim, rightDelim, functionNames: new Set(funcs.keys()) });
	} catch (err) {
		if (err instanceof RangeError) {
			throw new TemplateError(`template: ${name}: template is nested too deeply`, name, 0, 0, "parse");
		}
		throw err;
	}

	const run = (templateName: string, data: unknown, opts: ExecuteOptions = {}): string => {
		const missingKey = opts.missingKey ?? "default";
		if (missingKey !== "default" && missingKey !== "zero" && missingKey !== "error") {
			throw new TypeError(`unknown missingKey option ${JSON.stringify(missingKey)}`);
		}
		const limits: ExecLimits = {
			maxOutputSize: opts.maxOutputSize ?? DEFAULT_LIMITS.maxOutputSize,
			maxDepth: opts.maxDepth ?? DEFAULT_LIMITS.maxDepth,
			maxSteps: opts.maxSteps ?? DEFAULT_LIMITS.maxSteps,
		};
		return execute({ trees, funcs, missingKey, limits }, templateName, data);
	};

	return {
		name,
		templateNames: () => [...trees.keys()].sort(),
		execute: (data, opts) => run(name, data, opts),
		executeTemplate: (templateName, data, opts) => run(templateName, data, opts),
	};
}

/** Parses and executes in one call. */
export function renderTemplate(
	name: string,
	text: string,
	data: unknown,
	options: ParseTemplateOptions & ExecuteOptions = {},
): string {
	return parseTemplate(name, text, options).execute(data, options);
}
