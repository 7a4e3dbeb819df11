/**
 * CDS-style variable interpolation: `{{.cds.project}}`, `{{ .git.branch | upper }}`,
 * `{{.cds.env.my-key | default "none"}}`. A tiny template language, never evaluated as code:
 * an expression is one term (a `.variable` or a quoted string) followed by `| helper args…`.
 *
 * CDS leaves what it cannot resolve exactly as written so that a later pass (or the shell)
 * can still see it: an unknown variable, an unknown helper, a helper that fails (b64dec of
 * something that is not base64) or an expression that does not parse all keep their text.
 * `default` is the one way an unknown variable gets a value.
 */

export interface InterpolateOptions {
	/** "keep" (CDS behaviour, the default) leaves `{{.unknown}}` as written; "empty" replaces it by "". */
	unknown?: "keep" | "empty";
}

type Term = { kind: "var"; name: string } | { kind: "literal"; value: string };
interface HelperCall {
	name: string;
	args: Term[];
}
interface Expression {
	head: Term;
	helpers: HelperCall[];
}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*/;
const HELPER_NAME = /^[A-Za-z][A-Za-z0-9_]*/;

/** Replaces every `{{ … }}` expression of `text` it can resolve. Never throws. */
export function interpolate(
	text: string,
	vars: Record<string, string>,
	options: InterpolateOptions = {},
): string {
	if (!text.includes("{{")) return text;
	let out = "";
	let pos = 0;
	while (pos < text.length) {
		const open = text.indexOf("{{", pos);
		if (open < 0) break;
		const close = findClose(text, open + 2);
		if (close < 0) break;
		out += text.slice(pos, open);
		const original = text.slice(open, close + 2);
		const expression = parseExpression(text.slice(open + 2, close));
		const value = expression ? evaluate(expression, vars, options) : undefined;
		out += value ?? original;
		pos = close + 2;
	}
	return out + text.slice(pos);
}

/** Index of the `}}` closing an expression, skipping quoted strings; -1 when there is none on the line. */
function findClose(text: string, from: number): number {
	let i = from;
	while (i < text.length) {
		const c = text[i];
		if (c === "\n") return -1;
		if (c === '"' || c === "`") {
			const end = skipString(text, i);
			if (end < 0) return -1;
			i = end;
			continue;
		}
		if (c === "}" && text[i + 1] === "}") return i;
		i++;
	}
	return -1;
}

/** Index just after the string literal starting at `start`, or -1 when it is not terminated. */
function skipString(text: string, start: number): number {
	const quote = text[start];
	for (let i = start + 1; i < text.length; i++) {
		if (text[i] === "\n") return -1;
		if (quote === '"' && text[i] === "\\") {
			i++;
			continue;
		}
		if (text[i] === quote) return i + 1;
	}
	return -1;
}

function parseExpression(source: string): Expression | undefined {
	const segments = splitPipes(source);
	if (!segments) return undefined;
	const headTokens = tokenize(segments[0]!);
	if (headTokens?.length !== 1) return undefined;
	const head = toTerm(headTokens[0]!);
	if (!head) return undefined;
	const helpers: HelperCall[] = [];
	for (const segment of segments.slice(1)) {
		const tokens = tokenize(segment);
		if (!tokens || tokens.length === 0 || !HELPER_NAME.test(tokens[0]!)) return undefined;
		const args: Term[] = [];
		for (const token of tokens.slice(1)) {
			const term = toTerm(token);
			if (!term) return undefined;
			args.push(term);
		}
		helpers.push({ name: tokens[0]!, args });
	}
	return { head, helpers };
}

/** Splits on `|` outside string literals. */
function splitPipes(source: string): string[] | undefined {
	const parts: string[] = [];
	let current = "";
	let i = 0;
	while (i < source.length) {
		const c = source[i]!;
		if (c === '"' || c === "`") {
			const end = skipString(source, i);
			if (end < 0) return undefined;
			current += source.slice(i, end);
			i = end;
			continue;
		}
		if (c === "|") {
			parts.push(current);
			current = "";
		} else current += c;
		i++;
	}
	parts.push(current);
	return parts;
}

/** Whitespace-separated tokens, string literals kept whole. */
function tokenize(segment: string): string[] | undefined {
	const tokens: string[] = [];
	let i = 0;
	while (i < segment.length) {
		const c = segment[i]!;
		if (/\s/.test(c)) {
			i++;
			continue;
		}
		if (c === '"' || c === "`") {
			const end = skipString(segment, i);
			if (end < 0) return undefined;
			tokens.push(segment.slice(i, end));
			i = end;
			continue;
		}
		let end = i;
		while (end < segment.length && !/\s/.test(segment[end]!) && segment[end] !== '"' && segment[end] !== "`")
			end++;
		tokens.push(segment.slice(i, end));
		i = end;
	}
	return tokens;
}

function toTerm(token: string): Term | undefined {
	if (token.startsWith(".")) {
		const name = token.slice(1);
		const match = NAME.exec(name);
		return match && match[0] === name ? { kind: "var", name } : undefined;
	}
	if (token.startsWith("`")) return { kind: "literal", value: token.slice(1, -1) };
	if (token.startsWith('"')) {
		try {
			const value: unknown = JSON.parse(token);
			return typeof value === "string" ? { kind: "literal", value } : undefined;
		} catch {
			return undefined;
		}
	}
	return undefined;
}

function resolve(term: Term, vars: Record<string, string>): string | undefined {
	if (term.kind === "literal") return term.value;
	return Object.hasOwn(vars, term.name) ? vars[term.name] : undefined;
}

/** The expression's value, or undefined to keep the original text. */
function evaluate(
	expression: Expression,
	vars: Record<string, string>,
	options: InterpolateOptions,
): string | undefined {
	let value = resolve(expression.head, vars);
	for (const helper of expression.helpers) {
		const args: string[] = [];
		for (const arg of helper.args) {
			const resolved = resolve(arg, vars);
			if (resolved === undefined) return undefined;
			args.push(resolved);
		}
		if (helper.name === "default") {
			if (args.length !== 1) return undefined;
			if (value === undefined || value === "") value = args[0]!;
			continue;
		}
		const fn = HELPERS[helper.name];
		if (!fn || args.length !== 0) return undefined;
		// An unknown value flows on untouched: a later `default` may still give it one.
		if (value === undefined) continue;
		value = fn(value);
		if (value === undefined) return undefined;
	}
	if (value === undefined) return options.unknown === "empty" ? "" : undefined;
	return value;
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const UTF8 = new TextDecoder("utf-8", { fatal: true });

const HELPERS: Record<string, (value: string) => string | undefined> = {
	b64enc: (v) => Buffer.from(v, "utf8").toString("base64"),
	// Strict like Go's StdEncoding (padding required); text that is not UTF-8 is refused.
	b64dec: (v) => {
		const compact = v.replace(/\s+/g, "");
		if (!BASE64.test(compact) || compact.length % 4 !== 0) return undefined;
		const bytes = Buffer.from(compact, /[-_]/.test(compact) ? "base64url" : "base64");
		try {
			return UTF8.decode(bytes);
		} catch {
			return undefined;
		}
	},
	upper: (v) => v.toUpperCase(),
	lower: (v) => v.toLowerCase(),
	trim: (v) => v.trim(),
	title: (v) =>
		v.replace(
			/(^|[^\p{L}\p{N}'])(\p{L})/gu,
			(_m, before: string, letter: string) => before + letter.toUpperCase(),
		),
	quote: (v) => JSON.stringify(v),
	// Go's url.QueryEscape: only A-Z a-z 0-9 - _ . ~ stay, a space becomes "+".
	urlencode: (v) =>
		encodeURIComponent(v)
			.replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase())
			.replace(/%20/g, "+"),
};

/** The helper names `interpolate` understands. */
export const INTERPOLATE_HELPERS: readonly string[] = ["default", ...Object.keys(HELPERS)];

/**
 * Environment variables for a job: `cds.project` → `CDS_PROJECT`, `cds.env.my-key` →
 * `CDS_ENV_MY_KEY`, payload `foo.bar` → `FOO_BAR`. Keys are processed in sorted order so that
 * when two names collide (`a.b` and `a-b`) the result is stable: the later name wins.
 */
export function varsToEnv(vars: Record<string, string>): Record<string, string> {
	const env: Record<string, string> = {};
	for (const name of Object.keys(vars).sort()) env[envName(name)] = vars[name]!;
	return env;
}

export function envName(name: string): string {
	return name.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
}
