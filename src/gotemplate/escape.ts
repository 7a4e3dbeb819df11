/** Go's template.HTMLEscapeString, JSEscapeString and url.QueryEscape. */
import { isPrint } from "./quote.ts";

const HTML_ESCAPES: Record<string, string> = {
	"\0": "\ufffd",
	'"': "&#34;",
	"'": "&#39;",
	"&": "&amp;",
	"<": "&lt;",
	">": "&gt;",
};

export function htmlEscape(s: string): string {
	return s.replace(/[\0"'&<>]/g, (c) => HTML_ESCAPES[c] ?? c);
}

const JS_ESCAPES: Record<string, string> = {
	"\\": "\\\\",
	"'": "\\'",
	'"': '\\"',
	"<": "\\u003C",
	">": "\\u003E",
	"&": "\\u0026",
	"=": "\\u003D",
};

export function jsEscape(s: string): string {
	let out = "";
	for (const ch of s) {
		const code = ch.codePointAt(0) ?? 0;
		const named = JS_ESCAPES[ch];
		if (named) out += named;
		else if (code < 0x20) out += `\\u00${code.toString(16).toUpperCase().padStart(2, "0")}`;
		else if (code < 0x80 || isPrint(ch)) out += ch;
		else out += `\\u${code.toString(16).toUpperCase().padStart(4, "0")}`;
	}
	return out;
}

export function queryEscape(s: string): string {
	let out = "";
	for (const b of Buffer.from(s, "utf8")) {
		const c = String.fromCharCode(b);
		if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
		else if (c === " ") out += "+";
		else out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
	}
	return out;
}
