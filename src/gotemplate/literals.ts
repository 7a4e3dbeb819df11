/**
 * Decoding of Go literal syntax found in templates: quoted strings, raw
 * strings, character constants and numbers (strconv.Unquote / NumberNode rules).
 */

const SIMPLE_ESCAPES: Record<string, number> = {
	a: 7,
	b: 8,
	f: 12,
	n: 10,
	r: 13,
	t: 9,
	v: 11,
	"\\": 92,
	"'": 39,
	'"': 34,
};

function pushUtf8(bytes: number[], code: number): void {
	for (const b of Buffer.from(String.fromCodePoint(code), "utf8")) bytes.push(b);
}

/** Go's strconv.Unquote for "..." and `...` literals (and '...' when allowed). */
export function unquote(literal: string): string {
	const quote = literal[0];
	if (quote === "`") return literal.slice(1, -1).replaceAll("\r", "");
	const body = literal.slice(1, -1);
	const bytes: number[] = [];
	for (let i = 0; i < body.length; ) {
		const ch = body[i] ?? "";
		if (ch === quote) throw new Error("invalid syntax");
		if (ch !== "\\") {
			const code = body.codePointAt(i) ?? 0;
			pushUtf8(bytes, code);
			i += code > 0xffff ? 2 : 1;
			continue;
		}
		const esc = body[i + 1] ?? "";
		i += 2;
		if (esc in SIMPLE_ESCAPES) {
			if ((esc === "'" && quote === '"') || (esc === '"' && quote === "'")) throw new Error("invalid syntax");
			bytes.push(SIMPLE_ESCAPES[esc] ?? 0);
		} else if (esc === "x" || esc === "u" || esc === "U") {
			const width = esc === "x" ? 2 : esc === "u" ? 4 : 8;
			const hex = body.slice(i, i + width);
			if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex)) throw new Error("invalid syntax");
			i += width;
			const code = Number.parseInt(hex, 16);
			if (esc === "x") bytes.push(code);
			else if (code > 0x10ffff || (code >= 0xd800 && code < 0xe000)) throw new Error("invalid syntax");
			else pushUtf8(bytes, code);
		} else if (/[0-7]/.test(esc)) {
			const oct = body.slice(i - 1, i + 2);
			if (!/^[0-7]{3}$/.test(oct)) throw new Error("invalid syntax");
			const code = Number.parseInt(oct, 8);
			if (code > 255) throw new Error("invalid syntax");
			bytes.push(code);
			i += 2;
		} else {
			throw new Error("invalid syntax");
		}
	}
	return Buffer.from(bytes).toString("utf8");
}

export interface NumberValue {
	value: number;
	/** True when the constant takes type float64 in an interface{} context. */
	isFloat: boolean;
}

function parseGoInteger(text: string): number | null {
	const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9_]*)$/.exec(text);
	if (!m) return null;
	const sign = m[1] === "-" ? -1 : 1;
	const digits = (m[2] ?? "").replaceAll("_", "");
	let value: number;
	if (/^0[xX]/.test(digits)) value = Number.parseInt(digits.slice(2), 16);
	else if (/^0[oO]/.test(digits)) value = Number.parseInt(digits.slice(2), 8);
	else if (/^0[bB]/.test(digits)) value = Number.parseInt(digits.slice(2), 2);
	else if (digits.length > 1 && digits.startsWith("0")) value = Number.parseInt(digits.slice(1), 8);
	else value = Number.parseInt(digits, 10);
	return Number.isNaN(value) ? null : sign * value;
}

/** Interprets a number token the way Go's parse.NumberNode and idealConstant do. */
export function parseNumber(text: string): NumberValue {
	if (text.startsWith("'")) {
		const s = unquote(text);
		const code = s.codePointAt(0);
		if (code === undefined || String.fromCodePoint(code) !== s)
			throw new Error(`malformed character constant: ${text}`);
		return { value: code, isFloat: false };
	}
	if (text.endsWith("i")) throw new Error(`complex numbers are not supported: ${JSON.stringify(text)}`);
	const asInt = parseGoInteger(text);
	const looksFloat = /[.eEpP]/.test(text) && !/^[+-]?0[xX][^pP]*$/.test(text);
	if (asInt !== null && !looksFloat) {
		if (!Number.isSafeInteger(asInt)) throw new Error(`${text} overflows int`);
		return { value: asInt, isFloat: false };
	}
	if (/^[+-]?(?:[0-9_]+\.?[0-9_]*|\.[0-9_]+)(?:[eE][+-]?[0-9_]+)?$/.test(text)) {
		const value = Number(text.replaceAll("_", ""));
		if (!Number.isNaN(value)) return { value, isFloat: true };
	}
	throw new Error(`illegal number syntax: ${JSON.stringify(text)}`);
}
