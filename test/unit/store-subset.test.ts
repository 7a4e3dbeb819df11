// The store subset's pure helpers (src/store/subset.ts); what the stores refuse is in the store
// contract (test/helpers/store-contract.ts), run on every backend.

import assert from "node:assert/strict";
import { test } from "node:test";
import mongoose from "mongoose";
import { encodeFields } from "../../src/store/field-names.ts";
import {
	bsonSize,
	jsonMayHoldBadStrings,
	MAX_NESTING,
	subsetProblem,
	toStorable,
	withWellFormedStrings,
} from "../../src/store/subset.ts";

test("bsonSize is the size the MongoDB driver sends (escaped field names included)", () => {
	const docs: Record<string, unknown>[] = [
		{ _id: "a" },
		{ _id: "b", n: 1, big: 2 ** 31, neg: -(2 ** 31), f: 1.5, t: true, nothing: null, when: new Date(0) },
		{ _id: "c", text: "naïve 🚀", list: [1, "two", { three: [3] }, []], nested: { a: { b: {} } } },
		{ _id: "d", "git.branch": "main", $weird: "x", "100%": { "a.b": [{ "c.d": 1 }] }, skipped: undefined },
		{ _id: "e", many: Array.from({ length: 1234 }, (_, i) => i) },
	];
	for (const doc of docs) {
		const expected = mongoose.mongo.BSON.calculateObjectSize(encodeFields(doc), { ignoreUndefined: true });
		assert.equal(bsonSize(doc), expected, JSON.stringify(doc).slice(0, 80));
	}
});

test("subsetProblem names the first problem and where, or nothing", () => {
	assert.equal(subsetProblem({ a: [1, { b: [2] }], c: "ok" }), undefined);
	assert.match(subsetProblem({ matrix: [[1, 2]] }) ?? "", /^an array inside an array .* at matrix\[0\]$/);
	assert.match(subsetProblem([1, [2]]) ?? "", /array inside an array .* at \[1\]$/);
	assert.match(subsetProblem({ s: "a\u0000b" }) ?? "", /"\\0" character .* at s$/);
	assert.match(subsetProblem(Number.NaN) ?? "", /^NaN/);
	let deep: unknown = 1;
	for (let i = 0; i < MAX_NESTING; i++) deep = { a: deep };
	assert.match(subsetProblem(deep) ?? "", /more than 100 levels/);
	assert.equal(subsetProblem(deep, -5), undefined, "the depth it is stored at counts");
});

test("toStorable converts user-shaped data into the subset and keeps what is already in it", () => {
	const clean = { a: [1, { b: ["x"] }], s: "naïve", when: new Date(0) };
	assert.equal(toStorable(clean), clean, "nothing to convert: the same object");
	const converted = toStorable({
		matrix: [
			[1, 2],
			[3, [4]],
		],
		text: "a\u0000b\ud800",
		"k\u0000": -0,
		nums: [Number.NaN, Number.POSITIVE_INFINITY, undefined, 2],
		gone: () => 1,
		when: new Date(Number.NaN),
	});
	assert.deepEqual(converted, {
		matrix: [{ items: [1, 2] }, { items: [3, { items: [4] }] }],
		text: "a\uFFFDb\uFFFD",
		"k\uFFFD": 0,
		nums: [null, null, null, 2],
		when: null,
	});
	assert.equal(subsetProblem(converted), undefined);
	let deep: unknown = "leaf";
	for (let i = 0; i < MAX_NESTING + 20; i++) deep = { a: [deep] };
	assert.equal(subsetProblem(toStorable(deep)), undefined, "nesting is cut at the limit");
});

test("withWellFormedStrings fixes strings and field names only", () => {
	const value = { list: [[1]], n: -0, s: "ok", bad: ["a\u0000", { "\udc00": "\ud83d" }] };
	const fixed = withWellFormedStrings(value);
	assert.deepEqual(fixed, { list: [[1]], n: -0, s: "ok", bad: ["a\uFFFD", { "\uFFFD": "\uFFFD" }] });
	assert.equal(fixed.list, value.list, "untouched parts are shared");
	const clean = { a: ["b", 1, null] };
	assert.equal(withWellFormedStrings(clean), clean);
	assert.equal(jsonMayHoldBadStrings(JSON.stringify(value)), true);
	assert.equal(jsonMayHoldBadStrings('{"a":"\\u00e9 \\ud83d\\ude80"}'), true, "a pair is checked too");
	assert.equal(jsonMayHoldBadStrings('{"a":"\\u00e9 é"}'), false);
});
