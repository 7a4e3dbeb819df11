/**
 * Tokenizer for Go text/template source, following the rules of Go's
 * text/template/parse lexer: configurable delimiters, trim markers ("{{- " and
 * " -}}"), comments, and the tokens allowed inside an action.
 */

export type TokenType =
	| "text"
	| "leftDelim"
	| "rightDelim"
	| "space"
	| "field"
	| "variable"
	| "identifier"
	| "keyword"
	| "string"
	| "rawString"
	| "charConstant"
	| "number"
	| "bool"
	| "nil"
	| "dot"
	| "pipe"
	| "leftParen"
	| "rightParen"
	| "declare"
	| "assign"
	| "char"
	| "comment"
	| "eof"
	| "error";

export interface Token {
	type: TokenType;
	value: string;
	/** UTF-16 offset of the token in the template text. */
	pos: number;
	line: number;
}

const KEYWORDS = new Set([
	"block",
	"break",
	"continue",
	"define",
	"else",
	"end",
	"if",
	"range",
	"template",
	"with",
]);
const SPACE_CHARS = " \t\r\n";

function isSpace(ch: string): boolean {
	return ch !== "" && SPACE_CHARS.includes(ch);
}

function isAlphaNumeric(ch: string): boolean {
	return ch === "_" || /^[\p{L}\p{Nd}]$/u.test(ch);
}

function isAsciiPrintable(ch: string): boolean {
	const c = ch.codePointAt(0) ?? 0;
	return c >= 0x20 && c < 0x7f;
}

export function lex(text: string, leftDelim: string, rightDelim: string): Token[] {
	const tokens: Token[] = [];
	let pos = 0;
	let start = 0;
	let line = 1;
	let startLine = 1;
	let parenDepth = 0;

	const countLines = (from: number, to: number): number => {
		let n = 0;
		for (let i = from; i < to; i++) if (text.charCodeAt(i) === 10) n++;
		return n;
	};
	const emit = (type: TokenType, value = text.slice(start, pos)): void => {
		tokens.push({ type, value, pos: start, line: startLine });
		line = startLine + countLines(start, pos);
		start = pos;
		startLine = line;
	};
	const ignore = (): void => {
		line = startLine + countLines(start, pos);
		start = pos;
		startLine = line;
	};
	const fail = (message: string): Token[] => {
		tokens.push({ type: "error", value: message, pos: start, line: startLine });
		return tokens;
	};
	const charAt = (i: number): string => {
		const c = text.codePointAt(i);
		return c === undefined ? "" : String.fromCodePoint(c);
	};
	const atRightDelim = (): { delim: boolean; trim: boolean } => {
		if (text.startsWith(rightDelim, pos)) return { delim: true, trim: false };
		if (isSpace(text[pos] ?? "") && text[pos + 1] === "-" && text.startsWith(rightDelim, pos + 2)) {
			return { delim: true, trim: true };
		}
		return { delim: false, trim: false };
	};
	const atTerminator = (): boolean => {
		const ch = text[pos] ?? "";
		if (ch === "" || isSpace(ch) || ".,|:)(".includes(ch)) return true;
		return text.startsWith(rightDelim, pos);
	};

	while (true) {
		// Text up to the next left delimiter.
		const next = text.indexOf(leftDelim, pos);
		if (next === -1) {
			pos = text.length;
			if (pos > start) emit("text");
			tokens.push({ type: "eof", value: "", pos, line });
			return tokens;
		}
		const trimBefore =
			text[next + leftDelim.length] === "-" && isSpace(text[next + leftDelim.length + 1] ?? "");
		pos = next;
		if (pos > start) {
			let value = text.slice(start, pos);
			if (trimBefore) value = value.replace(/[ \t\r\n]+$/, "");
			if (value !== "") emit("text", value);
			else ignore();
		}
		// Left delimiter, optional trim marker, then a comment or an action.
		const afterDelim = pos + leftDelim.length + (trimBefore ? 2 : 0);
		let trimAfter = false;
		if (text.startsWith("/*", afterDelim)) {
			const end = text.indexOf("*/", afterDelim + 2);
			if (end === -1) return fail("unclosed comment");
			pos = end + 2;
			const delim = atRightDelim();
			if (!delim.delim) return fail("comment ends before closing delimiter");
			emit("comment");
			pos += (delim.trim ? 2 : 0) + rightDelim.length;
			ignore();
			trimAfter = delim.trim;
		} else {
			pos += leftDelim.length;
			emit("leftDelim");
			if (trimBefore) {
				pos += 2;
				ignore();
			}
			parenDepth = 0;
			// Inside an action.
			while (true) {
				const delim = atRightDelim();
				if (delim.delim) {
					if (parenDepth !== 0) return fail("unclosed left paren");
					if (delim.trim) {
						pos += 2;
						ignore();
					}
					pos += rightDelim.length;
					emit("rightDelim");
					trimAfter = delim.trim;
					break;
				}
				const ch = charAt(pos);
				if (ch === "") return fail("unclosed action");
				if (isSpace(ch)) {
					while (isSpace(text[pos] ?? "")) {
						if (atRightDelim().trim) break;
						pos++;
					}
					if (pos > start) emit("space");
					continue;
				}
				if (ch === "=") {
					pos++;
					emit("assign");
				} else if (ch === ":") {
					pos++;
					if (text[pos] !== "=") return fail("expected :=");
					pos++;
					emit("declare");
				} else if (ch === "|") {
					pos++;
					emit("pipe");
				} else if (ch === '"') {
					pos++;
					while (true) {
						const c = text[pos] ?? "";
						if (c === "\\") {
							const after = text[pos + 1] ?? "";
							if (after === "" || after === "\n") return fail("unterminated quoted string");
							pos += 2;
							continue;
						}
						if (c === "" || c === "\n") return fail("unterminated quoted string");
						pos++;
						if (c === '"') break;
					}
					emit("string");
				} else if (ch === "`") {
					const end = text.indexOf("`", pos + 1);
					if (end === -1) return fail("unterminated raw quoted string");
					pos = end + 1;
					emit("rawString");
				} else if (ch === "'") {
					pos++;
					while (true) {
						const c = text[pos] ?? "";
						if (c === "\\") {
							const after = text[pos + 1] ?? "";
							if (after === "" || after === "\n") return fail("unterminated character constant");
							pos += 2;
							continue;
						}
						if (c === "" || c === "\n") return fail("unterminated character constant");
						pos++;
						if (c === "'") break;
					}
					emit("charConstant");
				} else if (ch === "$" || (ch === "." && !/[0-9]/.test(text[pos + 1] ?? ""))) {
					pos++;
					if (atTerminator()) {
						emit(ch === "$" ? "variable" : "dot");
						continue;
					}
					while (isAlphaNumeric(charAt(pos))) pos += charAt(pos).length;
					if (!atTerminator()) return fail(`bad character ${unicodeLabel(charAt(pos))}`);
					emit(ch === "$" ? "variable" : "field");
				} else if (ch === "." || ch === "+" || ch === "-" || /[0-9]/.test(ch)) {
					const m =
						/^[+-]?(?:0[xX][0-9a-fA-F_]*(?:\.[0-9a-fA-F_]*)?(?:[pP][+-]?[0-9_]+)?|0[oO][0-7_]*|0[bB][01_]*|[0-9_]*(?:\.[0-9_]*)?(?:[eE][+-]?[0-9_]+)?)i?/.exec(
							text.slice(pos),
						);
					pos += m ? m[0].length : 1;
					if (isAlphaNumeric(charAt(pos))) {
						pos += charAt(pos).length;
						return fail(`bad number syntax: ${JSON.stringify(text.slice(start, pos))}`);
					}
					emit("number");
				} else if (isAlphaNumeric(ch)) {
					while (isAlphaNumeric(charAt(pos))) pos += charAt(pos).length;
					if (!atTerminator()) return fail(`bad character ${unicodeLabel(charAt(pos))}`);
					const word = text.slice(start, pos);
					if (KEYWORDS.has(word)) emit("keyword");
					else if (word === "true" || word === "false") emit("bool");
					else if (word === "nil") emit("nil");
					else emit("identifier");
				} else if (ch === "(") {
					pos++;
					parenDepth++;
					emit("leftParen");
				} else if (ch === ")") {
					pos++;
					parenDepth--;
					if (parenDepth < 0) return fail("unexpected right paren");
					emit("rightParen");
				} else if (isAsciiPrintable(ch)) {
					pos++;
					emit("char");
				} else {
					return fail(`unrecognized character in action: ${unicodeLabel(ch)}`);
				}
			}
		}
		if (trimAfter) {
			while (isSpace(text[pos] ?? "")) pos++;
			ignore();
		}
	}
}

/** Go's %#U rendering of a rune, used in lexer error messages. */
function unicodeLabel(ch: string): string {
	const code = ch.codePointAt(0) ?? 0;
	const hex = code.toString(16).toUpperCase().padStart(4, "0");
	return `U+${hex} '${ch}'`;
}
