/**
 * Helper functions CDS-TS adds on top of Go's builtins (Sprig-like names and
 * argument order, so the value comes last and can be piped in). The Go oracle
 * in test/tools/gotemplate registers the same functions with the same semantics.
 */
import { type FunctionSpec, FunctionCallError } from "./builtins.ts";
import { sprint } from "./format.ts";
import { toGoJson } from "./json.ts";
import { quoteString } from "./quote.ts";
import { isTrue } from "./values.ts";

function title(s: string): string {
	let out = "";
	let prevSpace = true;
	for (const ch of s) {
		const space = /^\s$/u.test(ch);
		out += prevSpace && !space ? ch.toUpperCase() : ch;
		prevSpace = space;
	}
	return out;
}

function b64dec(s: string): string {
	if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s)) {
		throw new FunctionCallError("illegal base64 data");
	}
	const bytes = Buffer.from(s, "base64");
	try {
		return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
	} catch {
		throw new FunctionCallError("b64dec: decoded bytes are not valid UTF-8");
	}
}

export const HELPERS: Record<string, FunctionSpec> = {
	default: {
		params: ["any", "any"],
		variadic: true,
		call: (def, ...given) => (given.length === 0 || !isTrue(given[0]) ? def : given[0]),
	},
	upper: { params: ["string"], variadic: false, call: (s) => (s as string).toUpperCase() },
	lower: { params: ["string"], variadic: false, call: (s) => (s as string).toLowerCase() },
	trim: { params: ["string"], variadic: false, call: (s) => (s as string).replace(/^\s+|\s+$/gu, "") },
	title: { params: ["string"], variadic: false, call: (s) => title(s as string) },
	quote: { params: ["string"], variadic: false, call: (s) => quoteString(s as string) },
	toJson: { params: ["any"], variadic: false, call: (v) => toGoJson(v) },
	b64enc: {
		params: ["string"],
		variadic: false,
		call: (s) => Buffer.from(s as string, "utf8").toString("base64"),
	},
	b64dec: { params: ["string"], variadic: false, call: (s) => b64dec(s as string) },
	replace: {
		params: ["string", "string", "string"],
		variadic: false,
		call: (oldText, newText, s) => replaceAll(s as string, oldText as string, newText as string),
	},
	contains: {
		params: ["string", "string"],
		variadic: false,
		call: (sub, s) => (s as string).includes(sub as string),
	},
	hasPrefix: {
		params: ["string", "string"],
		variadic: false,
		call: (p, s) => (s as string).startsWith(p as string),
	},
	hasSuffix: {
		params: ["string", "string"],
		variadic: false,
		call: (p, s) => (s as string).endsWith(p as string),
	},
	split: {
		params: ["string", "string"],
		variadic: false,
		call: (sep, s) => splitGo(s as string, sep as string),
	},
	join: {
		params: ["string", "list"],
		variadic: false,
		call: (sep, list) =>
			(list as unknown[]).map((e) => (e === null || e === undefined ? "" : sprint([e]))).join(sep as string),
	},
};

/** strings.ReplaceAll, including Go's behaviour for an empty `old` (insert around every rune). */
function replaceAll(s: string, oldText: string, newText: string): string {
	if (oldText === "") return newText + Array.from(s).join(newText) + (s === "" ? "" : newText);
	return s.split(oldText).join(newText);
}

/** strings.Split: an empty separator splits after each rune. */
function splitGo(s: string, sep: string): string[] {
	if (sep === "") return Array.from(s);
	return s.split(sep);
}
