import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createMasker, MASK } from "../../src/run/mask.ts";

/** Feeds `chunks` one by one and returns the whole output. */
function stream(secrets: string[], chunks: string[]): string {
	const masker = createMasker(secrets);
	return chunks.map((c) => masker.mask(c)).join("") + masker.flush();
}

/** Every way to cut `text` in two, plus one character at a time. */
function allSplits(text: string): string[][] {
	const splits: string[][] = [[text], [...text]];
	for (let i = 1; i < text.length; i++) splits.push([text.slice(0, i), text.slice(i)]);
	return splits;
}

describe("createMasker", () => {
	const secret = "s3cr3t-P@ss";

	test("replaces every occurrence of a secret", () => {
		assert.equal(stream([secret], [`pwd=${secret} again ${secret}\n`]), `pwd=${MASK} again ${MASK}\n`);
		assert.equal(stream([secret], ["nothing secret here"]), "nothing secret here");
	});

	test("a secret split across chunks never leaks, whatever the cut", () => {
		const text = `line 1\nthe password is ${secret}, ok\nline 3 ${secret}`;
		const expected = `line 1\nthe password is ${MASK}, ok\nline 3 ${MASK}`;
		for (const chunks of allSplits(text)) {
			const masker = createMasker([secret]);
			const outputs = chunks.map((c) => masker.mask(c));
			outputs.push(masker.flush());
			assert.equal(outputs.join(""), expected);
		}
	});

	test("holds back only what could start a secret", () => {
		const masker = createMasker([secret]);
		assert.equal(masker.mask("x".repeat(1000)), "x".repeat(1000));
		assert.equal(masker.held, 0);
		assert.equal(masker.mask(`line\nabc ${secret.slice(0, 5)}`), "line\nabc ");
		assert.equal(masker.partial, 5);
		assert.equal(masker.flush(), secret.slice(0, 5));
		assert.equal(masker.held, 0);
	});

	test("multi-line secrets, also in CRLF and line by line", () => {
		const key = "-----BEGIN KEY-----\nMIIEowIBAAKCAQEA1234\nabcdefghijklmnop\n-----END KEY-----";
		const log = `key:\n${key}\ndone`;
		assert.equal(stream([key], [log]), `key:\n${MASK}\ndone`);
		assert.equal(stream([key], [key.replace(/\n/g, "\r\n")]), MASK);
		assert.equal(stream([key], ["  MIIEowIBAAKCAQEA1234  "]), `  ${MASK}  `);
		assert.equal(stream([key], [JSON.stringify({ key })]), `{"key":"${MASK}"}`);
		for (const chunks of allSplits(log)) assert.equal(stream([key], chunks), `key:\n${MASK}\ndone`);
	});

	test("encoded forms: base64 std and url-safe, hex, URL-encoded", () => {
		const s = "p4ss w/rd?~>";
		const b64 = Buffer.from(s).toString("base64");
		const b64url = Buffer.from(s).toString("base64url");
		assert.notEqual(b64, b64url);
		assert.equal(stream([s], [`a ${b64} b`]), `a ${MASK} b`);
		assert.equal(stream([s], [`a ${b64url} b`]), `a ${MASK} b`);
		assert.equal(stream([s], [`hex=${Buffer.from(s).toString("hex")}`]), `hex=${MASK}`);
		assert.equal(stream([s], [`hex=${Buffer.from(s).toString("hex").toUpperCase()}`]), `hex=${MASK}`);
		assert.equal(stream([s], [`url=${encodeURIComponent(s)}`]), `url=${MASK}`);
		assert.equal(stream([s], [`q=${encodeURIComponent(s).replace(/%20/g, "+")}`]), `q=${MASK}`);
	});

	test("base64 of a longer text containing the secret, at every alignment", () => {
		for (const prefix of ["", "a", "ab", "abc", "user:", "Authorization: Basic x"]) {
			for (const suffix of ["", "\n", "!", "tail text"]) {
				const encoded = Buffer.from(prefix + secret + suffix).toString("base64");
				const masked = stream([secret], [`token ${encoded} end`]);
				assert.ok(masked.includes(MASK), `${prefix}|${suffix}: ${masked}`);
				// What is left of the encoding cannot be decoded back to the secret.
				const leftover = masked.replace(MASK, "");
				assert.ok(!Buffer.from(leftover.slice(6, -4), "base64").toString().includes(secret));
				const url = Buffer.from(prefix + secret + suffix).toString("base64url");
				assert.ok(stream([secret], [url]).includes(MASK), `url-safe ${prefix}|${suffix}`);
			}
		}
	});

	test("several secrets; overlapping occurrences become one mask", () => {
		assert.equal(stream(["alpha-1", "beta-22"], ["alpha-1 beta-22 alpha-1"]), `${MASK} ${MASK} ${MASK}`);
		assert.equal(stream(["abcdef", "defghi"], ["xxabcdefghixx"]), `xx${MASK}xx`);
		assert.equal(stream(["abcdef", "defghi"], ["xxabc", "defg", "hixx"]), `xx${MASK}xx`);
		assert.equal(stream(["abcd"], ["abcdabcd"]), MASK);
	});

	test("streaming output equals one-shot output on random input", () => {
		const secrets = ["hunter22", "tok-3n", "XyZ9"];
		let seed = 7;
		const rand = (n: number) => {
			seed = (seed * 1103515245 + 12345) % 2147483648;
			return seed % n;
		};
		const alphabet = ["hunter22", "tok-3n", "XyZ9", "hun", "ter", "a", "\n", " ", "Xy", "Z9tok"];
		for (let round = 0; round < 200; round++) {
			let text = "";
			for (let i = 0; i < 30; i++) text += alphabet[rand(alphabet.length)];
			const oneShot = stream(secrets, [text]);
			const chunks: string[] = [];
			for (let at = 0; at < text.length; ) {
				const len = 1 + rand(9);
				chunks.push(text.slice(at, at + len));
				at += len;
			}
			assert.equal(stream(secrets, chunks), oneShot, JSON.stringify(chunks));
			for (const s of secrets) assert.ok(!oneShot.includes(s));
		}
	});

	test("secrets shorter than 4 characters are ignored and reported", () => {
		const masker = createMasker(["abc", "", "abcd"]);
		assert.deepEqual(masker.ignored, ["abc"]);
		assert.equal(masker.mask("abc abcd") + masker.flush(), `abc ${MASK}`);
		const none = createMasker(["ab"]);
		assert.equal(none.mask("ab ab"), "ab ab");
		assert.equal(none.flush(), "");
	});

	test("flush resets: the masker can carry on with a new stream", () => {
		const masker = createMasker([secret]);
		assert.equal(masker.mask(`a ${secret.slice(0, 4)}`) + masker.flush(), `a ${secret.slice(0, 4)}`);
		assert.equal(masker.mask(secret) + masker.flush(), MASK);
	});
});
