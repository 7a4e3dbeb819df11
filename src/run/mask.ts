/**
 * Secret masking for job logs. Every secret is searched in several forms (as is, hex,
 * URL-encoded, JSON-escaped, and base64 std/url-safe at each of the three byte alignments a
 * secret can have inside a longer base64 text), and every stretch of text covered by one or
 * more occurrences becomes a single `**********`.
 *
 * Streaming-safe: chunks are fed one by one; the masker holds back the last
 * (longest form − 1) characters, which might be the start of a secret cut by a chunk
 * boundary. The concatenation of every mask() output and flush() equals masking the whole
 * input at once.
 */

export const MASK = "**********";
/** Secrets shorter than this are ignored: masking "a" or "yes" would blank the log. */
export const MIN_SECRET_LENGTH = 4;
/** A base64 fragment shorter than this matches too much ordinary text to be worth masking. */
const MIN_ENCODED_FRAGMENT = 4;

export interface Masker {
	/** Masks a chunk; may return less than it was given (held back until the next chunk or flush). */
	mask(chunk: string): string;
	/** Returns what was held back, masked. Call once at the end of the stream. */
	flush(): string;
	/** Secrets given that were too short to be masked. */
	readonly ignored: readonly string[];
}

export function createMasker(secrets: readonly string[]): Masker {
	const ignored: string[] = [];
	const forms = new Set<string>();
	for (const secret of secrets) {
		if (typeof secret !== "string" || secret.length === 0) continue;
		if (secret.length < MIN_SECRET_LENGTH) {
			ignored.push(secret);
			continue;
		}
		for (const form of secretForms(secret)) forms.add(form);
	}
	const patterns = [...forms].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
	const hold = patterns.length > 0 ? patterns[0]!.length - 1 : 0;

	let buffer = "";
	/** How many characters at the start of `buffer` are covered by an occurrence already seen. */
	let carriedCover = 0;
	/** True when the last character emitted was inside a masked stretch. */
	let inMask = false;

	function emit(final: boolean): string {
		const emitEnd = final ? buffer.length : Math.max(0, buffer.length - hold);
		if (emitEnd === 0) return "";
		// Coverage is final for every position before emitEnd: an occurrence covering such a
		// position starts before it, and every form starting before emitEnd fits in the buffer.
		const coverEnd = new Int32Array(emitEnd);
		for (const pattern of patterns) {
			let at = buffer.indexOf(pattern);
			while (at >= 0 && at < emitEnd) {
				const end = at + pattern.length;
				if (end > coverEnd[at]!) coverEnd[at] = end;
				at = buffer.indexOf(pattern, at + 1);
			}
		}
		let out = "";
		let coveredTo = carriedCover;
		let plainFrom = -1; // start of the current unmasked stretch, -1 inside a masked one
		for (let i = 0; i < emitEnd; i++) {
			if (coverEnd[i]! > coveredTo) coveredTo = coverEnd[i]!;
			if (i < coveredTo) {
				if (plainFrom >= 0) out += buffer.slice(plainFrom, i);
				plainFrom = -1;
				// Touching or overlapping occurrences make one masked stretch, one MASK.
				if (!inMask) out += MASK;
				inMask = true;
			} else if (plainFrom < 0) {
				plainFrom = i;
				inMask = false;
			}
		}
		if (plainFrom >= 0) out += buffer.slice(plainFrom, emitEnd);
		carriedCover = Math.max(0, coveredTo - emitEnd);
		buffer = buffer.slice(emitEnd);
		if (final) {
			carriedCover = 0;
			inMask = false;
		}
		return out;
	}

	return {
		ignored,
		mask(chunk: string): string {
			if (patterns.length === 0) return chunk;
			buffer += chunk;
			return emit(false);
		},
		flush(): string {
			if (patterns.length === 0) return "";
			return emit(true);
		},
	};
}

/** Every form a secret is searched in. */
export function secretForms(secret: string): string[] {
	const forms = new Set<string>([secret]);
	const bytes = Buffer.from(secret, "utf8");
	forms.add(bytes.toString("hex"));
	forms.add(bytes.toString("hex").toUpperCase());
	forms.add(encodeURIComponent(secret));
	forms.add(encodeURIComponent(secret).replace(/%20/g, "+"));
	forms.add(JSON.stringify(secret).slice(1, -1));
	if (secret.includes("\n")) {
		forms.add(secret.replace(/\r?\n/g, "\r\n"));
		// A multi-line secret (a key) is often printed re-indented or line by line.
		for (const line of secret.split(/\r?\n/)) {
			if (line.trim().length >= 8) forms.add(line.trim());
		}
	}
	for (const form of base64Forms(bytes)) forms.add(form);
	return [...forms].filter((f) => f.length >= MIN_SECRET_LENGTH);
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
