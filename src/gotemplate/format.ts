/**
 * Go's fmt package for the template data model: Sprint, Sprintln, Sprintf
 * (flags, width, precision, argument indexes and the %!verb(...) error forms).
 */
import { formatFloat } from "./floatformat.ts";
import { canBackquote, quoteRune, quoteString } from "./quote.ts";
import { type GoMap, kindOf, numberOf, sortedKeys, typeName } from "./values.ts";

interface Flags {
	plus: boolean;
	minus: boolean;
	sharp: boolean;
	space: boolean;
	zero: boolean;
	width: number | null;
	prec: number | null;
}

const noFlags = (): Flags => ({
	plus: false,
	minus: false,
	sharp: false,
	space: false,
	zero: false,
	width: null,
	prec: null,
});

function runeCount(s: string): number {
	let n = 0;
	for (const _ of s) n++;
	return n;
}

function pad(s: string, f: Flags): string {
	if (f.width === null) return s;
	const missing = f.width - runeCount(s);
	if (missing <= 0) return s;
	if (f.minus) return s + " ".repeat(missing);
	return (f.zero ? "0" : " ").repeat(missing) + s;
}

function fmtInteger(value: number, base: number, verb: string, f: Flags): string {
	const negative = value < 0;
	const abs = Math.abs(value);
	let prec = 0;
	if (f.prec !== null) {
		prec = f.prec;
		if (prec === 0 && abs === 0) return pad("", { ...f, zero: false });
	} else if (f.zero && !f.minus && f.width !== null) {
		prec = f.width;
		if (negative || f.plus || f.space) prec--;
	}
	let digits = abs.toString(base);
	if (verb === "X") digits = digits.toUpperCase();
	digits = digits.padStart(prec, "0");
	if (f.sharp) {
		if (base === 2) digits = `0b${digits}`;
		else if (base === 8 && !digits.startsWith("0")) digits = `0${digits}`;
		else if (base === 16) digits = (verb === "X" ? "0X" : "0x") + digits;
	}
	if (verb === "O") digits = `0o${digits}`;
	const sign = negative ? "-" : f.plus ? "+" : f.space ? " " : "";
	return pad(sign + digits, { ...f, zero: false });
}

function fmtFloatValue(value: number, verb: string, f: Flags): string {
	let fmt: "e" | "E" | "f" | "g" | "G";
	let prec: number;
	switch (verb) {
		case "v":
			fmt = "g";
			prec = -1;
			break;
		case "g":
		case "G":
			fmt = verb;
			prec = -1;
			break;
		case "F":
			fmt = "f";
			prec = 6;
			break;
		default:
			fmt = verb as "e" | "E" | "f";
			prec = 6;
	}
	if (f.prec !== null) prec = f.prec;
	let num = formatFloat(value, fmt, prec);
	if (num === "NaN" || num === "+Inf" || num === "-Inf") {
		if (num === "+Inf" && !f.plus) num = f.space ? " Inf" : "Inf";
		return pad(num, { ...f, zero: false });
	}
	let sign = num.startsWith("-") ? "-" : "+";
	if (sign === "-") num = num.slice(1);
	if (f.space && sign === "+" && !f.plus) sign = " ";
	if (f.plus || sign !== "+") {
		if (f.zero && !f.minus && f.width !== null && f.width > num.length + 1) {
			return sign + "0".repeat(f.width - num.length - 1) + num;
		}
		return pad(sign + num, f);
	}
	return pad(num, f);
}

function fmtHexString(s: string, verb: string, f: Flags): string {
	const bytes = Buffer.from(s, "utf8");
	const digits = verb === "X" ? "0123456789ABCDEF" : "0123456789abcdef";
	const limit = f.prec !== null ? Math.min(f.prec, bytes.length) : bytes.length;
	let out = "";
	for (let i = 0; i < limit; i++) {
		if (f.space && i > 0) out += " ";
		if (f.sharp && (f.space || i === 0)) out += verb === "X" ? "0X" : "0x";
		const b = bytes[i] ?? 0;
		out += (digits[b >> 4] ?? "") + (digits[b & 15] ?? "");
	}
	return pad(out, f);
}

function truncateRunes(s: string, prec: number | null): string {
	if (prec === null) return s;
	return Array.from(s).slice(0, prec).join("");
}

/** Appends one value formatted with `verb` (fmt's printArg / printValue). */
function printValue(v: unknown, verb: string, f: Flags, depth: number): string {
	const kind = kindOf(v);
	if (verb === "v" && f.sharp) return pad(goSyntax(v, depth), { ...f, zero: false });
	if (verb === "T") return pad(typeName(v), f);
	if (kind === "invalid" || kind === "nil") {
		if (depth > 0 || verb === "v") return pad("<nil>", f);
		return badVerb(v, verb, f);
	}
	switch (kind) {
		case "bool":
			return verb === "t" || verb === "v" ? pad(String(v), f) : badVerb(v, verb, f);
		case "int": {
			const n = numberOf(v);
			switch (verb) {
				case "v":
				case "d":
					return fmtInteger(n, 10, verb, f);
				case "b":
					return fmtInteger(n, 2, verb, f);
				case "o":
				case "O":
					return fmtInteger(n, 8, verb, f);
				case "x":
				case "X":
					return fmtInteger(n, 16, verb, f);
				case "c":
					return pad(n >= 0 && n <= 0x10ffff ? String.fromCodePoint(n) : "\ufffd", f);
				case "q":
					return pad(quoteRune(n, f.plus), f);
				case "U": {
					let out = `U+${n.toString(16).toUpperCase().padStart(4, "0")}`;
					if (f.sharp && n >= 0 && n <= 0x10ffff) out += ` '${String.fromCodePoint(n)}'`;
					return pad(out, { ...f, zero: false });
				}
				default:
					return badVerb(v, verb, f);
			}
		}
		case "float":
			return "vgGeEfF".includes(verb) ? fmtFloatValue(numberOf(v), verb, f) : badVerb(v, verb, f);
		case "string": {
			const s = v as string;
			switch (verb) {
				case "v":
				case "s":
					return pad(truncateRunes(s, f.prec), f);
				case "q": {
					const t = truncateRunes(s, f.prec);
					if (f.sharp && canBackquote(t)) return pad(`\`${t}\``, f);
					return pad(quoteString(t, f.plus), f);
				}
				case "x":
				case "X":
					return fmtHexString(s, verb, f);
				default:
					return badVerb(v, verb, f);
			}
		}
		case "slice":
			return `[${(v as unknown[]).map((e) => printValue(e, verb, f, depth + 1)).join(" ")}]`;
		case "map": {
			const m = v as GoMap;
			const parts = sortedKeys(m).map(
				(k) => `${printValue(k, verb, f, depth + 1)}:${printValue(m[k], verb, f, depth + 1)}`,
			);
			return `map[${parts.join(" ")}]`;
		}
		case "func":
			return badVerb(v, verb, f);
	}
}

/** %#v: a Go-syntax representation of the value. */
function goSyntax(v: unknown, depth: number): string {
	switch (kindOf(v)) {
		case "invalid":
		case "nil":
			return depth > 0 ? "interface {}(nil)" : "<nil>";
		case "string":
			return quoteString(v as string);
		case "float":
			return formatFloat(numberOf(v), "g", -1);
		case "slice":
			return `[]interface {}{${(v as unknown[]).map((e) => goSyntax(e, depth + 1)).join(", ")}}`;
		case "map": {
			const m = v as GoMap;
			const parts = sortedKeys(m).map((k) => `${quoteString(k)}:${goSyntax(m[k], depth + 1)}`);
			return `map[string]interface {}{${parts.join(", ")}}`;
		}
		case "func":
			return "(func)";
		default:
			return typeof v === "boolean" ? String(v) : String(numberOf(v));
	}
}

function badVerb(v: unknown, verb: string, f: Flags): string {
	const kind = kindOf(v);
	if (kind === "invalid" || kind === "nil") return `%!${verb}(<nil>)`;
	if (kind === "func") return `%!${verb}(func)`;
	return `%!${verb}(${typeName(v)}=${printValue(v, "v", f, 0)})`;
}

/** fmt.Sprint: operands separated by a space when neither side is a string. */
export function sprint(args: readonly unknown[]): string {
	let out = "";
	let prevString = false;
	args.forEach((arg, i) => {
		const isString = typeof arg === "string";
		if (i > 0 && !isString && !prevString) out += " ";
		out += printValue(arg, "v", noFlags(), 0);
		prevString = isString;
	});
	return out;
}

/** fmt.Sprintln: operands always separated by spaces, then a newline. */
export function sprintln(args: readonly unknown[]): string {
	return `${args.map((a) => printValue(a, "v", noFlags(), 0)).join(" ")}\n`;
}

/** fmt.Sprintf. */
export function sprintf(format: string, args: readonly unknown[]): string {
	let out = "";
	let argNum = 0;
	let reordered = false;
	let i = 0;
	const n = format.length;
	const parseDigits = (): number | null => {
		const start = i;
		while (i < n && /[0-9]/.test(format[i] ?? "")) i++;
		return i > start ? Number(format.slice(start, i)) : null;
	};
	const parseArgIndex = (): boolean => {
		if (format[i] !== "[") return true;
		reordered = true;
		const close = format.indexOf("]", i);
		const index = close === -1 ? Number.NaN : Number(format.slice(i + 1, close));
		if (close === -1 || !/^[0-9]+$/.test(format.slice(i + 1, close)) || index < 1 || index > args.length) {
			i = close === -1 ? n : close + 1;
			return false;
		}
		argNum = index - 1;
		i = close + 1;
		return true;
	};
	while (i < n) {
		const percent = format.indexOf("%", i);
		if (percent === -1) {
			out += format.slice(i);
			break;
		}
		out += format.slice(i, percent);
		i = percent + 1;
		const f = noFlags();
		for (; i < n; i++) {
			const c = format[i];
			if (c === "#") f.sharp = true;
			else if (c === "0") f.zero = !f.minus;
			else if (c === "+") f.plus = true;
			else if (c === "-") {
				f.minus = true;
				f.zero = false;
			} else if (c === " ") f.space = true;
			else break;
		}
		let goodIndex = parseArgIndex();
		if (format[i] === "*") {
			i++;
			const w = args[argNum];
			if (typeof w === "number" && Number.isInteger(w) && goodIndex) {
				argNum++;
				f.width = Math.abs(w);
				if (w < 0) {
					f.minus = true;
					f.zero = false;
				}
			} else {
				if (goodIndex && argNum < args.length) argNum++;
				out += "%!(BADWIDTH)";
			}
		} else {
			f.width = parseDigits();
		}
		if (format[i] === ".") {
			i++;
			goodIndex = parseArgIndex() && goodIndex;
			if (format[i] === "*") {
				i++;
				const p = args[argNum];
				if (typeof p === "number" && Number.isInteger(p) && p >= 0 && goodIndex) {
					argNum++;
					f.prec = p;
				} else {
					if (goodIndex && argNum < args.length) argNum++;
					out += "%!(BADPREC)";
				}
			} else {
				f.prec = parseDigits() ?? 0;
			}
		}
		goodIndex = parseArgIndex() && goodIndex;
		if (i >= n) {
			out += "%!(NOVERB)";
			break;
		}
		const verb = String.fromCodePoint(format.codePointAt(i) ?? 0);
		i += verb.length;
		if (verb === "%") {
			out += "%";
		} else if (!goodIndex) {
			out += `%!${verb}(BADINDEX)`;
		} else if (argNum >= args.length) {
			out += `%!${verb}(MISSING)`;
		} else {
			const arg = args[argNum++];
			// %+v is Go's struct-field syntax, which only matters for structs: no sign.
			if (verb === "v") f.plus = false;
			out += verb === "w" ? badVerb(arg, verb, f) : printValue(arg, verb, f, 0);
		}
	}
	if (!reordered && argNum < args.length) {
		const extra = args.slice(argNum).map((a) => {
			const kind = kindOf(a);
			return kind === "nil" || kind === "invalid"
				? "<nil>"
				: `${typeName(a)}=${printValue(a, "v", noFlags(), 0)}`;
		});
		out += `%!(EXTRA ${extra.join(", ")})`;
	}
	return out;
}
