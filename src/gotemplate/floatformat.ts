/**
 * Go's strconv.FormatFloat for float64 ('e', 'E', 'f', 'g', 'G'), including
 * the shortest representation (precision -1) and exact round-half-even
 * rounding of the binary value (JS toFixed/toPrecision round differently).
 */

interface Decimal {
	/** Significant digits without trailing zeros ("" for zero). */
	digits: string;
	/** Position of the decimal point: value = 0.digits × 10^dp. */
	dp: number;
}

function trimZeros(d: Decimal): Decimal {
	const digits = d.digits.replace(/0+$/, "");
	return digits === "" ? { digits: "", dp: 0 } : { digits, dp: d.dp };
}

/** The exact decimal expansion of a positive finite double. */
function exactDecimal(x: number): Decimal {
	const view = new DataView(new ArrayBuffer(8));
	view.setFloat64(0, x);
	const bits = view.getBigUint64(0);
	const exponentBits = Number((bits >> 52n) & 0x7ffn);
	let mantissa = bits & ((1n << 52n) - 1n);
	let exponent: number;
	if (exponentBits === 0) exponent = -1074;
	else {
		mantissa |= 1n << 52n;
		exponent = exponentBits - 1075;
	}
	if (exponent >= 0) {
		const digits = (mantissa << BigInt(exponent)).toString();
		return trimZeros({ digits, dp: digits.length });
	}
	const k = -exponent;
	const digits = (mantissa * 5n ** BigInt(k)).toString();
	return trimZeros({ digits, dp: digits.length - k });
}

/** Shortest digits that round-trip, as JS (and Go) compute them. */
function shortestDecimal(x: number): Decimal {
	const [mant = "", exp = "0"] = x.toExponential().split("e");
	return trimZeros({ digits: mant.replace(".", ""), dp: Number(exp) + 1 });
}

/** Rounds to `nd` significant digits, half to even on exact ties (Go's decimal.Round). */
function roundDecimal(d: Decimal, nd: number): Decimal {
	if (nd < 0 || nd >= d.digits.length) return nd < 0 ? { digits: "", dp: 0 } : d;
	const next = d.digits.charCodeAt(nd) - 48;
	let up: boolean;
	if (next > 5) up = true;
	else if (next < 5) up = false;
	else if (nd + 1 < d.digits.length) up = true;
	else up = nd > 0 && (d.digits.charCodeAt(nd - 1) - 48) % 2 === 1;
	if (!up) return trimZeros({ digits: d.digits.slice(0, nd), dp: d.dp });
	const kept = d.digits.slice(0, nd).split("");
	let i = kept.length - 1;
	while (i >= 0 && kept[i] === "9") i--;
	if (i < 0) return { digits: "1", dp: d.dp + 1 };
	kept[i] = String(Number(kept[i]) + 1);
	return trimZeros({ digits: kept.slice(0, i + 1).join(""), dp: d.dp });
}

function formatE(d: Decimal, prec: number, letter: string): string {
	let out = d.digits[0] ?? "0";
	if (prec > 0) {
		out += ".";
		out += d.digits.slice(1, prec + 1).padEnd(prec, "0");
	}
	const exp = d.digits === "" ? 0 : d.dp - 1;
	const abs = Math.abs(exp);
	return `${out}${letter}${exp < 0 ? "-" : "+"}${abs < 10 ? `0${abs}` : abs}`;
}

function formatF(d: Decimal, prec: number): string {
	let out = d.dp > 0 ? d.digits.slice(0, d.dp).padEnd(d.dp, "0") : "0";
	if (prec > 0) {
		out += ".";
		for (let i = 1; i <= prec; i++) {
			const j = d.dp + i - 1;
			out += j >= 0 && j < d.digits.length ? d.digits[j] : "0";
		}
	}
	return out;
}

/** strconv.FormatFloat(x, fmt, prec, 64) for finite and special values. */
export function formatFloat(x: number, fmt: "e" | "E" | "f" | "g" | "G", prec: number): string {
	if (Number.isNaN(x)) return "NaN";
	if (!Number.isFinite(x)) return x > 0 ? "+Inf" : "-Inf";
	const neg = x < 0 || Object.is(x, -0);
	const abs = Math.abs(x);
	const shortest = prec < 0;
	let d: Decimal;
	if (abs === 0) d = { digits: "", dp: 0 };
	else if (shortest) d = shortestDecimal(abs);
	else {
		const exact = exactDecimal(abs);
		if (fmt === "e" || fmt === "E") d = roundDecimal(exact, prec + 1);
		else if (fmt === "f") d = roundDecimal(exact, exact.dp + prec);
		else d = roundDecimal(exact, prec === 0 ? 1 : prec);
	}
	if (shortest) {
		if (fmt === "e" || fmt === "E") prec = Math.max(d.digits.length - 1, 0);
		else if (fmt === "f") prec = Math.max(d.digits.length - d.dp, 0);
		else prec = d.digits.length;
	}
	let body: string;
	if (fmt === "e" || fmt === "E") body = formatE(d, prec, fmt);
	else if (fmt === "f") body = formatF(d, prec);
	else {
		let eprec = prec;
		const nd = d.digits.length;
		if (eprec > nd && nd >= d.dp) eprec = nd;
		if (shortest) eprec = 6;
		const exp = d.dp - 1;
		if (abs !== 0 && (exp < -4 || exp >= eprec)) {
			body = formatE(d, Math.min(prec, nd) - 1, fmt === "g" ? "e" : "E");
		} else {
			if (prec > d.dp) prec = nd;
			body = formatF(d, Math.max(prec - d.dp, 0));
		}
	}
	return neg ? `-${body}` : body;
}
