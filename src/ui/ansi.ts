// ANSI escape sequences of a log line turned into styled segments for the web UI (docs/ui.md).
// Pure and DOM-free: the page renders each segment as a text node in a span whose look comes
// from classes (16 colours, bold, italic, underline) or, for 256-colour and true-colour codes, a
// colour value set through the CSSOM — never markup built from the line.

export interface AnsiStyle {
	/** "0"–"15" (a palette class) or "#rrggbb". */
	fg?: string;
	bg?: string;
	bold?: boolean;
	dim?: boolean;
	italic?: boolean;
	underline?: boolean;
}

export interface AnsiSegment {
	text: string;
	style: AnsiStyle;
}

// CSI sequences (ESC [ … final byte), OSC sequences (ESC ] … BEL or ESC \), other two-byte escapes.
// biome-ignore lint/suspicious/noControlCharactersInRegex: escape sequences are what is parsed
const ESCAPE = /\x1b\[([0-9;:?]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?/g;

const hex = (n: number) => Math.max(0, Math.min(255, n)).toString(16).padStart(2, "0");

/** The colour of a 256-colour palette index: 0–15 as palette classes, the rest as #rrggbb. */
export function color256(n: number): string {
	if (n < 16) return String(n);
	if (n < 232) {
		const i = n - 16;
		const level = (v: number) => (v === 0 ? 0 : 55 + v * 40);
		return `#${hex(level(Math.floor(i / 36)))}${hex(level(Math.floor(i / 6) % 6))}${hex(level(i % 6))}`;
	}
	const grey = 8 + (n - 232) * 10;
	return `#${hex(grey)}${hex(grey)}${hex(grey)}`;
}

/** Applies one SGR parameter list to a style (returns a new style). */
export function applySgr(style: AnsiStyle, params: string): AnsiStyle {
	const codes = params === "" ? [0] : params.split(/[;:]/).map((p) => (p === "" ? 0 : Number(p)));
	let s: AnsiStyle = { ...style };
	for (let i = 0; i < codes.length; i++) {
		const c = codes[i]!;
		if (c === 0) s = {};
		else if (c === 1) s.bold = true;
		else if (c === 2) s.dim = true;
		else if (c === 3) s.italic = true;
		else if (c === 4) s.underline = true;
		else if (c === 22) s.bold = s.dim = undefined;
		else if (c === 23) s.italic = undefined;
		else if (c === 24) s.underline = undefined;
		else if (c >= 30 && c <= 37) s.fg = String(c - 30);
		else if (c >= 90 && c <= 97) s.fg = String(c - 90 + 8);
		else if (c === 39) s.fg = undefined;
		else if (c >= 40 && c <= 47) s.bg = String(c - 40);
		else if (c >= 100 && c <= 107) s.bg = String(c - 100 + 8);
		else if (c === 49) s.bg = undefined;
		else if (c === 38 || c === 48) {
			const key = c === 38 ? "fg" : "bg";
			if (codes[i + 1] === 5 && codes[i + 2] !== undefined) {
				s[key] = color256(codes[i + 2]!);
				i += 2;
			} else if (codes[i + 1] === 2 && codes[i + 4] !== undefined) {
				s[key] = `#${hex(codes[i + 2]!)}${hex(codes[i + 3]!)}${hex(codes[i + 4]!)}`;
				i += 4;
			} else break;
		}
	}
	for (const k of Object.keys(s) as Array<keyof AnsiStyle>) if (s[k] === undefined) delete s[k];
	return s;
}

/**
 * The segments of one line. `start` is the style the line begins with (colours carry over lines);
 * the returned `end` is the style after it. Escape sequences other than colours are dropped, as
 * are control characters other than tab.
 */
export function parseAnsi(line: string, start: AnsiStyle = {}): { segments: AnsiSegment[]; end: AnsiStyle } {
	const segments: AnsiSegment[] = [];
	let style = start;
	let last = 0;
	const push = (text: string) => {
		// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
		const clean = text.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, "");
		if (clean) segments.push({ text: clean, style });
	};
	for (const m of line.matchAll(ESCAPE)) {
		push(line.slice(last, m.index));
		last = m.index + m[0].length;
		if (m[2] === "m") style = applySgr(style, m[1]!);
	}
	push(line.slice(last));
	return { segments, end: style };
}

/** The visible text of a line (what search matches). */
export function stripAnsi(line: string): string {
	return parseAnsi(line)
		.segments.map((s) => s.text)
		.join("");
}

/** The CSS classes of a style (palette colours and font flags); hex colours go through the CSSOM. */
export function styleClasses(style: AnsiStyle): string[] {
	const out: string[] = [];
	if (style.fg && !style.fg.startsWith("#")) out.push(`ansi-fg-${style.fg}`);
	if (style.bg && !style.bg.startsWith("#")) out.push(`ansi-bg-${style.bg}`);
	if (style.bold) out.push("ansi-bold");
	if (style.dim) out.push("ansi-dim");
	if (style.italic) out.push("ansi-italic");
	if (style.underline) out.push("ansi-underline");
	return out;
}
