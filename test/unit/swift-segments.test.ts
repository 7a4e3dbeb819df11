// The Swift store cuts a stream into segments of exactly the segment size (the last one shorter),
// whatever the chunks it arrives in; an empty stream is no segment (the store writes an empty object).

import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import { segmentsOf } from "../../src/artifacts/swift/segments.ts";

async function cut(chunks: string[], size: number): Promise<string[]> {
	const out: string[] = [];
	for await (const s of segmentsOf(Readable.from(chunks.map((c) => Buffer.from(c))), size))
		out.push(s.toString());
	return out;
}

describe("segments of a stream", () => {
	test("chunks across boundaries, an exact multiple, a short tail, nothing", async () => {
		assert.deepEqual(await cut(["ab", "cdefg", "h"], 3), ["abc", "def", "gh"]);
		assert.deepEqual(await cut(["abcdef"], 3), ["abc", "def"]);
		assert.deepEqual(await cut(["a", "b", "c", "d"], 2), ["ab", "cd"]);
		assert.deepEqual(await cut(["abcdefgh"], 100), ["abcdefgh"]);
		assert.deepEqual(await cut([], 3), []);
	});
});
