// The forms a secret is masked in (split across chunks and lines, spaced, reversed, base64 at
// any wrapping and alignment, hex, URL- and JSON-escaped), what short secrets are spared, and
// that ordinary text goes through untouched.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compileSecrets, createMasker, MASK, MIN_FORMS_LENGTH } from "../../src/run/mask.ts";

const secret = "Tr0ub4dor&3-horse";

function stream(secrets: string[], chunks: string[]): string {
	const masker = createMasker(secrets);
	return chunks.map((c) => masker.mask(c)).join("") + masker.flush();
}

function once(secrets: string[], text: string): string {
	return stream(secrets, [text]);
}

/** `fold -w width` / `base64 -w width`: lines of `width` characters. */
function wrap(text: string, width: number, eol = "\n"): string {
	const lines: string[] = [];
	for (let i = 0; i < text.length; i += width) lines.push(text.slice(i, i + width));
	return lines.join(eol) + eol;
}

/** Fails when `output` still holds the secret in a form a reader could undo by eye. */
function assertNoLeak(output: string, s: string, label: string): void {
	const flat = output.replace(/\s+/g, "");
	const reversed = [...s].reverse().join("");
	for (const form of [s, reversed, Buffer.from(s).toString("hex"), encodeURIComponent(s)]) {
		assert.ok(
			!flat.includes(form) && !flat.toLowerCase().includes(form.toLowerCase()),
			`${label}: ${output}`,
		);
	}
	for (const b64 of flat.match(/[A-Za-z0-9+/_-]{8,}/g) ?? []) {
		for (let skip = 0; skip < 4; skip++) {
			const decoded = Buffer.from(b64.slice(skip), "base64").toString("latin1");
			assert.ok(!decoded.includes(s), `${label}: base64 still decodes to the secret: ${output}`);
		}
	}
}

describe("masking the forms of a secret", () => {
	test("plain, with a chunk boundary at every offset of the secret", () => {
		const text = `before ${secret} after\n`;
		const start = "before ".length;
		for (let cut = start; cut <= start + secret.length; cut++) {
			const out = stream([secret], [text.slice(0, cut), text.slice(cut)]);
			assert.equal(out, `before ${MASK} after\n`, `cut at ${cut}`);
		}
		// Three pieces, every pair of cuts inside the secret.
		for (let a = start + 1; a < start + secret.length; a++) {
			for (let b = a + 1; b < start + secret.length; b++) {
				const out = stream([secret], [text.slice(0, a), text.slice(a, b), text.slice(b)]);
				assert.equal(out, `before ${MASK} after\n`, `cuts at ${a}, ${b}`);
			}
		}
	});

	test("split across lines at every width (fold -w N), LF and CRLF", () => {
		for (let width = 1; width < secret.length; width++) {
			for (const eol of ["\n", "\r\n"]) {
				const folded = wrap(secret, width, eol);
				const out = once([secret], `start\n${folded}end\n`);
				assertNoLeak(out, secret, `fold -w ${width}`);
				assert.ok(out.startsWith("start\n") && out.endsWith(`${MASK}${eol}end\n`), JSON.stringify(out));
			}
		}
	});

	test("split across lines and across chunks: every chunk boundary of fold -w 3", () => {
		const text = `x\n${wrap(secret, 3)}y\n`;
		const expected = once([secret], text);
		assert.ok(expected.includes(MASK));
		for (let cut = 0; cut <= text.length; cut++) {
			assert.equal(stream([secret], [text.slice(0, cut), text.slice(cut)]), expected, `cut at ${cut}`);
		}
		assert.equal(stream([secret], [...text]), expected);
	});

	test("spaced out and one character per line", () => {
		assertNoLeak(once([secret], `${[...secret].join(" ")}\n`), secret, "spaced");
		assertNoLeak(once([secret], `${[...secret].join("\t")}\n`), secret, "tabs");
		assertNoLeak(once([secret], `${[...secret].join("\n")}\n`), secret, "one per line");
		assert.equal(once([secret], `a\n${[...secret].join("\n")}\nb\n`), `a\n${MASK}\nb\n`);
	});

	test("reversed (rev), also folded", () => {
		const reversed = [...secret].reverse().join("");
		assert.equal(once([secret], `r=${reversed}\n`), `r=${MASK}\n`);
		assertNoLeak(once([secret], wrap(reversed, 4)), secret, "reversed folded");
	});

	test("base64 std and url-safe, at every alignment in a longer text, wrapped at any width", () => {
		const prefixes = ["", "a", "ab", "abc", "user:", "Authorization: Basic x"];
		for (const prefix of prefixes) {
			for (const suffix of ["", "\n", "!", "tail text"]) {
				for (const encoding of ["base64", "base64url"] as const) {
					const encoded = Buffer.from(prefix + secret + suffix).toString(encoding);
					for (const width of [0, 4, 10, 64, 76]) {
						const text = width === 0 ? `${encoded}\n` : wrap(encoded, width);
						const out = once([secret], `token:\n${text}end\n`);
						assertNoLeak(out, secret, `${encoding} -w ${width} ${JSON.stringify(prefix)}`);
						assert.ok(out.includes(MASK) && out.endsWith("end\n"));
					}
				}
			}
		}
	});

	test("base64 -w 10 with a chunk boundary at every offset", () => {
		const text = `b64:\n${wrap(Buffer.from(`x${secret}\n`).toString("base64"), 10)}done\n`;
		const expected = once([secret], text);
		assertNoLeak(expected, secret, "b64 -w 10");
		for (let cut = 0; cut <= text.length; cut++)
			assert.equal(stream([secret], [text.slice(0, cut), text.slice(cut)]), expected, `cut at ${cut}`);
	});

	test("hex lower and upper, plain and as od/xxd print it", () => {
		const hex = Buffer.from(secret).toString("hex");
		assert.equal(once([secret], `h=${hex}\n`), `h=${MASK}\n`);
		assert.equal(once([secret], `h=${hex.toUpperCase()}\n`), `h=${MASK}\n`);
		// od -An -tx1: one byte per group, 16 per line.
		const od = `${wrap(hex.replace(/../g, " $&"), 48)}`;
		assertNoLeak(once([secret], od), secret, "od");
		// xxd -p: 60 hex digits per line, here inside a longer stream.
		const xxd = wrap(Buffer.from(`prefix ${secret} suffix\n`).toString("hex"), 60);
		assertNoLeak(once([secret], xxd), secret, "xxd -p");
		assertNoLeak(once([secret], wrap(hex, 7)), secret, "hex folded");
	});

	test("URL-encoded: encodeURIComponent, + for spaces, %XX of every byte", () => {
		const s = "p4ss w/rd?~>é";
		assert.equal(once([s], `u=${encodeURIComponent(s)}&x\n`), `u=${MASK}&x\n`);
		assert.equal(once([s], `q=${encodeURIComponent(s).replace(/%20/g, "+")}\n`), `q=${MASK}\n`);
		const every = Buffer.from(s).toString("hex").replace(/../g, "%$&");
		assert.equal(once([s], `e=${every}\n`), `e=${MASK}\n`);
		assert.equal(once([s], `E=${every.toUpperCase()}\n`), `E=${MASK}\n`);
		assert.equal(once([secret], `a=${encodeURIComponent(secret)}\n`), `a=${MASK}\n`);
	});

	test("JSON-escaped: quotes, backslashes, control characters, \\uXXXX of every character", () => {
		const s = 'q"uo\\te\tx';
		assert.equal(once([s], `{"k":${JSON.stringify(s)}}\n`), `{"k":"${MASK}"}\n`);
		const unicode = [...secret].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("");
		assert.equal(once([secret], `{"k":"${unicode}"}\n`), `{"k":"${MASK}"}\n`);
		assert.equal(
			once([secret], `{"k":"${unicode.toUpperCase().replace(/\\U/g, "\\u")}"}\n`),
			`{"k":"${MASK}"}\n`,
		);
	});

	test("what other tools write: RFC 3986 strict, \\xNN, JSON with \\/ and non-ASCII escaped", () => {
		const s = "it's(a)/pässword!*";
		const strict = encodeURIComponent(s).replace(
			/[!'()*]/g,
			(c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
		);
		assert.equal(once([s], `q=${strict}\n`), `q=${MASK}\n`);
		const escapedHex = Buffer.from(s).toString("hex").replace(/../g, "\\x$&");
		assert.equal(once([s], `b'${escapedHex}'\n`), `b'${MASK}'\n`);
		assert.equal(once([s], `{"k":"${s.replace(/\//g, "\\/")}"}\n`), `{"k":"${MASK}"}\n`);
		assert.equal(once([s], `{"k":"${s.replace("ä", "\\u00e4")}"}\n`), `{"k":"${MASK}"}\n`);
	});

	test("secrets shorter than the forms minimum are masked only as written", () => {
		const short = "k3y9x";
		assert.ok(short.length < MIN_FORMS_LENGTH);
		assert.equal(once([short], `a ${short} b\n`), `a ${MASK} b\n`);
		for (const text of [
			"k3y 9x\n",
			"k\n3\ny\n9\nx\n",
			"x9y3k\n",
			`${Buffer.from(short).toString("hex")}\n`,
			`${Buffer.from(short).toString("base64")}\n`,
		])
			assert.equal(once([short], text), text);
	});

	test("ordinary text, base64 and hex of other data go through untouched", () => {
		const secrets = Array.from({ length: 20 }, (_, i) => `secret-${i}-${"abcdefghij".slice(i % 5)}Z`);
		let seed = 11;
		const rand = () => {
			seed = (seed * 1103515245 + 12345) % 2147483648;
			return seed;
		};
		const words = ["build", "ok", "npm", "install", "warning:", "src/index.ts", "12ms", "PASS", "\n", "  "];
		let text = "";
		for (let i = 0; i < 5000; i++) text += `${words[rand() % words.length]} `;
		const data = Buffer.from(Array.from({ length: 3000 }, () => rand() % 256));
		text += `\n${wrap(data.toString("base64"), 76)}${wrap(data.toString("hex"), 60)}`;
		assert.equal(once(secrets, text), text);
		const compiled = compileSecrets(secrets);
		assert.equal(compiled.test(text), false);
		assert.equal(compiled.test(`${text}${secrets[7]}`), true);
	});

	test("several secrets in several forms in one stream", () => {
		const other = "another-s3cret-value";
		const text = [
			`plain ${secret}`,
			`b64 ${Buffer.from(other).toString("base64")}`,
			`spaced ${[...other].join(" ")}`,
			`hex ${Buffer.from(secret).toString("hex")}`,
			"marker-visible",
		].join("\n");
		const out = once([secret, other], text);
		assert.equal(out, `plain ${MASK}\nb64 ${MASK}\nspaced ${MASK}\nhex ${MASK}\nmarker-visible`);
	});

	test("a 10 MB log with 20 secrets, in 64 KiB chunks: every printing masked, nothing else touched", () => {
		// Speed is measured by `npm run bench:mask`; this checks the result at that size.
		const secrets = Array.from(
			{ length: 20 },
			(_, i) => `S${i}-${Buffer.from(`seed${i}`).toString("hex")}-x`,
		);
		const encodings = [
			(s: string) => s,
			(s: string) => wrap(Buffer.from(`u:${s}`).toString("base64"), 10).trimEnd(),
			(s: string) => Buffer.from(s).toString("hex"),
			(s: string) => [...s].join(" "),
			(s: string) => wrap(s, 3).trimEnd(),
		];
		const lines: string[] = [];
		const printedAt = new Set<number>();
		let printed = 0;
		for (let i = 0, size = 0; size < 10 * 1024 * 1024; i++) {
			let line = `[${String(i).padStart(7, "0")}] compiling src/module-${i % 97}.ts ok in ${i % 1000}ms`;
			if (i % 5000 === 2500) {
				line += ` ${encodings[printed % encodings.length]!(secrets[printed % secrets.length]!)}`;
				printed++;
				printedAt.add(i);
			}
			lines.push(`${line}\n`);
			size += line.length + 1;
		}
		const text = lines.join("");
		const masker = createMasker(secrets);
		let out = "";
		for (let at = 0; at < text.length; at += 65536) out += masker.mask(text.slice(at, at + 65536));
		out += masker.flush();
		assert.equal(out.split(MASK).length - 1, printed);
		const plainIn = lines.filter((_, i) => !printedAt.has(i));
		const plainOut = out.split("\n").filter((l) => l.startsWith("[") && !l.includes(MASK));
		assert.equal(plainOut.length, plainIn.length);
		assert.equal(plainOut.join("\n"), plainIn.map((l) => l.slice(0, -1)).join("\n"));
		const flat = out.replace(/\s+/g, "");
		for (const secret of secrets) assert.ok(!flat.includes(secret));
	});

	test("a long run of whitespace inside a candidate is let go, bounded", () => {
		const masker = createMasker([secret]);
		const out = masker.mask(`${secret.slice(0, 8)}${" ".repeat(300_000)}`);
		assert.ok(out.length > 0 && masker.held < 300_000);
		masker.flush();
	});
});
