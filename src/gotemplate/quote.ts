/** Go's strconv.Quote / QuoteToASCII / QuoteRune and unicode.IsPrint. */

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
export function isPrint(ch: string): boolean {
	return ch === " " || PRINTABLE.test(ch);
}

const NAMED_ESCAPES: Record<string, string> = {
	"\x07": "\\a",
	"\b": "\\b",
	"\f": "\\f",
	"\n": "\\n",
	"\r": "\\r",
	"\t": "\\t",
	"\v": "\\v",
};

function escapeRune(ch: string, quote: string, asciiOnly: boolean): string {
	if (ch === quote || ch === "\\") return `\\${ch}`;
	const code = ch.codePointAt(0) ?? 0;
	if (asciiOnly ? code < 0x80 && isPrint(ch) : isPrint(ch)) return ch;
	const named = NAMED_ESCAPES[ch];
	if (named) return named;
	if (code < 0x20 || code === 0x7f) return `\\x${code.toString(16).padStart(2, "0")}`;
	if (code >= 0xd800 && code < 0xe000) return "\\ufffd";
	if (code < 0x10000) return `\\u${code.toString(16).padStart(4, "0")}`;
	return `\\U${code.toString(16).padStart(8, "0")}`;
}

export function quoteString(s: string, asciiOnly = false): string {
	let out = '"';
	for (const ch of s) out += escapeRune(ch, '"', asciiOnly);
	return `${out}"`;
}

export function quoteRune(code: number, asciiOnly = false): string {
	const ch = code > 0x10ffff || (code >= 0xd800 && code < 0xe000) ? "\ufffd" : String.fromCodePoint(code);
	return `'${escapeRune(ch, "'", asciiOnly)}'`;
}

/** strconv.CanBackquote: no control characters (except tab) and no backquote. */
export function canBackquote(s: string): boolean {
	for (const ch of s) {
		const code = ch.codePointAt(0) ?? 0;
		if (ch === "`" || ch === "\ufeff" || (code < 0x20 && ch !== "\t") || code === 0x7f) return false;
	}
	return true;
}
