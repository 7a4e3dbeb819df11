import assert from "node:assert/strict";
import { test } from "node:test";
import { BodyError, jsonDepthExceeds, parseJsonBody } from "../../src/api/json-body.ts";

const bytes = (s: string) => Buffer.from(s, "utf8");

test("nesting is counted outside strings only", () => {
	assert.equal(jsonDepthExceeds(bytes("[[[]]]"), 3), false);
	assert.equal(jsonDepthExceeds(bytes("[[[[]]]]"), 3), true);
	assert.equal(jsonDepthExceeds(bytes('{"a":{"b":[1]}}'), 3), false);
	assert.equal(jsonDepthExceeds(bytes('{"a":{"b":[{}]}}'), 3), true);
	assert.equal(jsonDepthExceeds(bytes('["[[[[[[", "\\"[[[[", "é{{{{"]'), 1), false);
	// Siblings do not add up.
	assert.equal(jsonDepthExceeds(bytes("[[],[],[],[]]"), 2), false);
});

test("parseJsonBody refuses deep documents before parsing and reports broken JSON as 400", () => {
	assert.deepEqual(parseJsonBody(bytes('{"a":[1,{"b":2}]}')), { a: [1, { b: 2 }] });
	assert.deepEqual(parseJsonBody(Buffer.alloc(0)), {});
	const deep = "[".repeat(65) + "]".repeat(65);
	assert.throws(
		() => parseJsonBody(bytes(deep)),
		(e: unknown) => e instanceof BodyError && e.code === 400 && e.type === "JSON_TOO_DEEP",
	);
	assert.deepEqual(parseJsonBody(bytes("[".repeat(64) + "]".repeat(64))) !== undefined, true);
	assert.throws(
		() => parseJsonBody(bytes('{"a": ')),
		(e: unknown) => e instanceof BodyError && e.code === 400 && e.type === "INVALID_JSON",
	);
	// Unbalanced garbage deep enough is refused as too deep, never handed to JSON.parse.
	assert.throws(() => parseJsonBody(bytes("{".repeat(1000))), /deeper than 64/);
});

test("parseJsonBody turns \\u0000 and lone surrogate escapes into U+FFFD, keys included", () => {
	const text = '{"log":"a\\u0000b","cut":["\\ud83d"],"\\udc00":1,"pair":"\\ud83d\\ude80","list":[[1]]}';
	assert.deepEqual(parseJsonBody(bytes(text)), {
		log: "a\uFFFDb",
		cut: ["\uFFFD"],
		"\uFFFD": 1,
		pair: "🚀",
		list: [[1]],
	});
});
