/**
 * Secret masking for job logs. Every secret is searched in several forms — as is, reversed,
 * hex (lower and upper case, also `\xNN`), URL-encoded (as encodeURIComponent writes it,
 * RFC 3986 strict, and `%XX` for every byte), JSON-escaped (also with `\/`, with non-ASCII
 * as `\uXXXX`, and `\uXXXX` for every character), and base64 std/url-safe at
 * each of the three byte alignments a secret can have inside a longer base64 text — and every
 * stretch of text covered by one or more occurrences becomes a single `**********`.
 *
 * Whitespace is transparent: forms are searched in the text with spaces, tabs and line breaks
 * left out (the masked stretch then covers them too), so a secret cut across lines (`fold`),
 * spaced out (`s e c r e t`, one character per line) or a base64 wrapped at any width is
 * caught. Secrets shorter than MIN_FORMS_LENGTH are searched as written only, contiguous:
 * their other forms are short enough to turn up in ordinary text.
 *
 * The search is one Aho–Corasick automaton over every form of every secret, so a log line
 * costs the same whatever the number of secrets. Streaming: chunks are fed one by one and the
 * masker holds back only the text that could be the start of an occurrence (the longest tail
 * that is a prefix of some form), so ordinary text flows through at once. The concatenation of
 * every mask() output and flush() equals masking the whole input at once, unless more than
 * MAX_HELD_CHARS were held (then the held text is let go and matching starts afresh).
 */

export const MASK = "**********";
/** Secrets shorter than this are ignored: masking "a" or "yes" would blank the log. */
export const MIN_SECRET_LENGTH = 4;
/** Secrets shorter than this are masked only as written (no encoded, reversed or spaced form). */
export const MIN_FORMS_LENGTH = 6;
/** A base64 fragment shorter than this matches too much ordinary text to be worth masking. */
const MIN_ENCODED_FRAGMENT = 4;
/** Past this many held characters (a long run of whitespace in a candidate) the masker lets go. */
export const MAX_HELD_CHARS = 256 * 1024;

export interface Masker {
	/** Masks a chunk; may return less than it was given (held back until the next chunk or flush). */
	mask(chunk: string): string;
	/** Returns what was held back, masked, and starts afresh. Call at the end of the stream. */
	flush(): string;
	/** Characters held back now (fed but not yet returned). */
	readonly held: number;
	/** Non-whitespace characters of the held text that already match the start of a form. */
	readonly partial: number;
	/** Secrets given that were too short to be masked. */
	readonly ignored: readonly string[];
}

/** The searchable forms of a set of secrets, compiled once and shared by maskers. */
export interface CompiledSecrets {
	readonly ignored: readonly string[];
	/** Whether `text` holds any secret in any form the masker recognises. */
	test(text: string): boolean;
	/** A fresh streaming masker. */
	masker(): Masker;
}

interface Pattern {
	/** The form without whitespace. */
	text: string;
	/** Only an occurrence with no whitespace inside counts (short secrets, searched as written). */
	contiguous: boolean;
}

function isSpace(c: number): boolean {
	return c === 32 || (c >= 9 && c <= 13);
}

function stripSpace(text: string): string {
	return text.replace(/[ \t\n\v\f\r]+/g, "");
}

/** Every form a secret is searched in (with whitespace removed), empty for a too short secret. */
export function secretForms(secret: string): string[] {
	return patternsOf(secret).map((p) => p.text);
}

function patternsOf(secret: string): Pattern[] {
	if (secret.length < MIN_SECRET_LENGTH) return [];
	if (secret.length < MIN_FORMS_LENGTH) {
		const text = stripSpace(secret);
		return text.length >= MIN_SECRET_LENGTH ? [{ text, contiguous: true }] : [];
	}
	const forms = new Set<string>([secret, [...secret].reverse().join("")]);
	const bytes = Buffer.from(secret, "utf8");
	const hex = bytes.toString("hex");
	forms.add(hex);
	forms.add(hex.toUpperCase());
	forms.add(encodeURIComponent(secret));
	forms.add(encodeURIComponent(secret).replace(/%20/g, "+"));
	const percent = hex.replace(/../g, "%$&");
	forms.add(percent);
	forms.add(percent.toUpperCase());
	// RFC 3986 strict (Python's quote(safe="")): also !'()* escaped.
	forms.add(
		encodeURIComponent(secret).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
	);
	forms.add(hex.replace(/../g, "\\x$&"));
	const json = JSON.stringify(secret).slice(1, -1);
	forms.add(json);
	forms.add(json.replace(/\//g, "\\/"));
	// JSON with non-ASCII characters escaped (Python's json.dumps, jq -a).
	forms.add(json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`));
	let unicode = "";
	for (let i = 0; i < secret.length; i++)
		unicode += `\\u${secret.charCodeAt(i).toString(16).padStart(4, "0")}`;
	forms.add(unicode);
	forms.add(unicode.replace(/\\u([0-9a-f]{4})/g, (_, h: string) => `\\u${h.toUpperCase()}`));
	// A multi-line secret (a key) is often printed one line at a time.
	if (secret.includes("\n")) {
		for (const line of secret.split(/\r?\n/)) if (line.trim().length >= 8) forms.add(line.trim());
	}
	for (const form of base64Forms(bytes)) forms.add(form);
	const out: Pattern[] = [];
	for (const form of forms) {
		const text = stripSpace(form);
		if (text.length >= MIN_SECRET_LENGTH) out.push({ text, contiguous: false });
	}
	return out;
}

/**
 * Base64 of the secret alone (with and without padding), and for each offset 0, 1, 2 of the
 * secret inside longer data the characters that depend only on the secret's bytes: character
 * i covers bits [6i, 6i + 6), stable when that range lies within the secret's bits.
 */
function base64Forms(bytes: Buffer): string[] {
	const forms: string[] = [];
	const whole = bytes.toString("base64");
	forms.push(whole, whole.replace(/=+$/, ""));
	for (let offset = 0; offset < 3; offset++) {
		const shifted = Buffer.concat([Buffer.alloc(offset), bytes, Buffer.alloc(3)]);
		const encoded = shifted.toString("base64");
		const first = Math.ceil((8 * offset) / 6);
		const last = Math.floor((8 * (offset + bytes.length)) / 6); // exclusive
		const fragment = encoded.slice(first, last);
		if (fragment.length >= MIN_ENCODED_FRAGMENT) forms.push(fragment);
	}
	const std = [...forms];
	for (const form of std) forms.push(form.replace(/\+/g, "-").replace(/\//g, "_"));
	return forms;
}

/**
 * Aho–Corasick automaton over UTF-16 code units. Root transitions are a flat table; a state
 * with one child (most of them: forms are long chains) keeps it in two numbers, a branching
 * state in a Map.
 */
class Automaton {
	readonly rootNext = new Int32Array(65536).fill(-1);
	readonly edgeChar: Int32Array;
	readonly edgeNext: Int32Array;
	readonly edgeMap: (Map<number, number> | undefined)[];
	readonly fail: Int32Array;
	readonly depth: Int32Array;
	/** Length of the pattern ending at a state, 0 when none does. */
	readonly termLen: Int32Array;
	readonly termContiguous: Uint8Array;
	/** The nearest state on the failure chain (itself included) where a pattern ends, or -1. */
	readonly out: Int32Array;
	readonly maxLen: number;

	constructor(patterns: Pattern[]) {
		// Built straight into the compact form (a Map per state would cost more than the search).
		const edgeChar: number[] = [-1];
		const edgeNext: number[] = [-1];
		const edgeMap: (Map<number, number> | undefined)[] = [undefined];
		const depth: number[] = [0];
		const termLen: number[] = [0];
		const contiguous: number[] = [0];
		const rootChildren: number[] = [];
		let maxLen = 0;
		const addChild = (s: number, c: number): number => {
			const next = depth.length;
			edgeChar.push(-1);
			edgeNext.push(-1);
			edgeMap.push(undefined);
			depth.push(depth[s]! + 1);
			termLen.push(0);
			contiguous.push(0);
			if (s === 0) {
				this.rootNext[c] = next;
				rootChildren.push(next);
			} else if (edgeMap[s]) edgeMap[s]!.set(c, next);
			else if (edgeChar[s] === -1) {
				edgeChar[s] = c;
				edgeNext[s] = next;
			} else {
				edgeMap[s] = new Map([
					[edgeChar[s]!, edgeNext[s]!],
					[c, next],
				]);
				edgeChar[s] = -1;
			}
			return next;
		};
		this.edgeChar = new Int32Array(0);
		this.edgeNext = new Int32Array(0);
		this.edgeMap = edgeMap;
		for (const { text, contiguous: only } of patterns) {
			let s = 0;
			for (let i = 0; i < text.length; i++) {
				const c = text.charCodeAt(i);
				const next = s === 0 ? this.rootNext[c]! : this.childOf(edgeChar, edgeNext, s, c);
				s = next >= 0 ? next : addChild(s, c);
			}
			// The same text wanted both ways: the looser search wins.
			contiguous[s] = termLen[s] === 0 ? (only ? 1 : 0) : contiguous[s]! & (only ? 1 : 0);
			termLen[s] = text.length;
			maxLen = Math.max(maxLen, text.length);
		}
		const n = depth.length;
		this.maxLen = maxLen;
		this.edgeChar = Int32Array.from(edgeChar);
		this.edgeNext = Int32Array.from(edgeNext);
		this.fail = new Int32Array(n);
		this.depth = Int32Array.from(depth);
		this.termLen = Int32Array.from(termLen);
		this.termContiguous = Uint8Array.from(contiguous);
		this.out = new Int32Array(n).fill(-1);
		// Failure links, breadth first.
		const queue: number[] = [...rootChildren];
		const link = (s: number, c: number, next: number) => {
			let f = this.fail[s]!;
			while (f !== 0 && this.child(f, c) < 0) f = this.fail[f]!;
			const target = this.child(f, c);
			this.fail[next] = target >= 0 && target !== next ? target : 0;
			queue.push(next);
		};
		for (let head = 0; head < queue.length; head++) {
			const s = queue[head]!;
			this.out[s] = this.termLen[s]! > 0 ? s : this.out[this.fail[s]!]!;
			const map = this.edgeMap[s];
			if (map) for (const [c, next] of map) link(s, c, next);
			else if (this.edgeChar[s]! >= 0) link(s, this.edgeChar[s]!, this.edgeNext[s]!);
		}
	}

	private childOf(edgeChar: number[], edgeNext: number[], s: number, c: number): number {
		const map = this.edgeMap[s];
		if (map) return map.get(c) ?? -1;
		return edgeChar[s] === c ? edgeNext[s]! : -1;
	}

	child(s: number, c: number): number {
		if (s === 0) return this.rootNext[c]!;
		const map = this.edgeMap[s];
		if (map) return map.get(c) ?? -1;
		return this.edgeChar[s] === c ? this.edgeNext[s]! : -1;
	}

	step(s: number, c: number): number {
		for (;;) {
			const next = this.child(s, c);
			if (next >= 0) return next;
			if (s === 0) return 0;
			s = this.fail[s]!;
		}
	}
}

/** Compiles the forms of `secrets` once; maskers made from the result share the automaton. */
export function compileSecrets(secrets: readonly string[]): CompiledSecrets {
	const ignored: string[] = [];
	const patterns: Pattern[] = [];
	const seen = new Set<string>();
	for (const secret of secrets) {
		if (typeof secret !== "string" || secret.length === 0) continue;
		const forms = patternsOf(secret);
		if (forms.length === 0) {
			ignored.push(secret);
			continue;
		}
		for (const p of forms) {
			const key = `${p.contiguous ? 1 : 0}${p.text}`;
			if (!seen.has(key)) patterns.push(p);
			seen.add(key);
		}
	}
	const automaton = patterns.length > 0 ? new Automaton(patterns) : undefined;
	const masker = () => (automaton ? streamingMasker(automaton, ignored) : passThrough(ignored));
	return {
		ignored,
		masker,
		test(text: string): boolean {
			if (!automaton) return false;
			const m = masker();
			return m.mask(text) + m.flush() !== text;
		},
	};
}

export function createMasker(secrets: readonly string[] | CompiledSecrets): Masker {
	return ("masker" in secrets ? secrets : compileSecrets(secrets)).masker();
}

function passThrough(ignored: readonly string[]): Masker {
	return { ignored, held: 0, partial: 0, mask: (chunk) => chunk, flush: () => "" };
}

function streamingMasker(ac: Automaton, ignored: readonly string[]): Masker {
	const { rootNext, out, termLen, termContiguous, fail, depth } = ac;
	// Raw offsets of the latest non-whitespace characters, by their index among them.
	let ringSize = 1;
	while (ringSize < ac.maxLen + 1) ringSize *= 2;
	const ringMask = ringSize - 1;
	const ring = new Float64Array(ringSize);
	let state = 0;
	/** Non-whitespace characters seen so far. */
	let count = 0;
	/** Text fed but not returned yet, starting at raw offset bufferStart. */
	let buffer = "";
	let bufferStart = 0;
	/** Masked stretches not yet returned: sorted, disjoint, not touching (raw offsets). */
	let coverStart: number[] = [];
	let coverEnd: number[] = [];
	/** True when the last character returned was inside a masked stretch. */
	let inMask = false;

	function cover(start: number, end: number): void {
		// Occurrences are found in order of their end: only the last stretches can meet this one.
		while (coverEnd.length > 0 && coverEnd[coverEnd.length - 1]! >= start) {
			start = Math.min(start, coverStart.pop()!);
			end = Math.max(end, coverEnd.pop()!);
		}
		coverStart.push(start);
		coverEnd.push(end);
	}

	function release(upTo: number): string {
		let result = "";
		let pos = bufferStart;
		let used = 0;
		while (used < coverStart.length && coverStart[used]! < upTo) {
			const start = Math.max(coverStart[used]!, pos);
			const end = coverEnd[used]!;
			if (start > pos) {
				result += buffer.slice(pos - bufferStart, start - bufferStart);
				inMask = false;
			}
			// Touching or overlapping occurrences make one masked stretch, one MASK.
			if (!inMask && end > start) result += MASK;
			if (end > start) inMask = true;
			pos = Math.max(pos, Math.min(end, upTo));
			if (end > upTo) break;
			used++;
		}
		if (used > 0) {
			coverStart = coverStart.slice(used);
			coverEnd = coverEnd.slice(used);
		}
		if (pos < upTo) {
			result += buffer.slice(pos - bufferStart, upTo - bufferStart);
			inMask = false;
		}
		buffer = buffer.slice(upTo - bufferStart);
		bufferStart = upTo;
		return result;
	}

	return {
		ignored,
		get held() {
			return buffer.length;
		},
		get partial() {
			return depth[state]!;
		},
		mask(chunk: string): string {
			const base = bufferStart + buffer.length;
			buffer += chunk;
			for (let i = 0; i < chunk.length; i++) {
				const c = chunk.charCodeAt(i);
				if (c <= 32 && isSpace(c)) continue;
				const at = base + i;
				ring[count & ringMask] = at;
				count++;
				if (state === 0) {
					const next = rootNext[c]!;
					if (next < 0) continue;
					state = next;
				} else state = ac.step(state, c);
				for (let t = out[state]!; t > 0; t = out[fail[t]!]!) {
					const len = termLen[t]!;
					const start = ring[(count - len) & ringMask]!;
					if (termContiguous[t] === 1 && at - start !== len - 1) continue;
					cover(start, at + 1);
				}
			}
			const end = bufferStart + buffer.length;
			const candidate = depth[state]!;
			let upTo = candidate > 0 ? ring[(count - candidate) & ringMask]! : end;
			if (end - upTo > MAX_HELD_CHARS) {
				upTo = end;
				state = 0;
			}
			return release(upTo);
		},
		flush(): string {
			const rest = release(bufferStart + buffer.length);
			state = 0;
			inMask = false;
			return rest;
		},
	};
}
