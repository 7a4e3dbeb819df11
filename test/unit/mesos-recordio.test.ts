import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeRecord, RecordIODecoder } from "../../src/mesos/recordio.ts";

const events = [
	JSON.stringify({
		type: "SUBSCRIBED",
		subscribed: { framework_id: { value: "f-1" }, heartbeat_interval_seconds: 15 },
	}),
	JSON.stringify({ type: "HEARTBEAT" }),
	JSON.stringify({ type: "ERROR", error: { message: "ünïcödé — bytes, not characters" } }),
];
const stream = Buffer.concat(events.map(encodeRecord));

test("a record is its byte length, a newline, then the bytes", () => {
	assert.equal(encodeRecord("héllo").toString("utf8"), "6\nhéllo");
});

test("every split of the stream into two chunks gives the same records", () => {
	for (let cut = 0; cut <= stream.length; cut++) {
		const d = new RecordIODecoder();
		const got = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
		assert.deepEqual(got, events, `cut at ${cut}`);
		assert.equal(d.pending, 0);
	}
});

test("byte by byte, a multi-byte character split across chunks included", () => {
	const d = new RecordIODecoder();
	const got: string[] = [];
	for (const b of stream) got.push(...d.push(Uint8Array.of(b)));
	assert.deepEqual(got, events);
});

test("several records in one chunk, and a partial one kept for the next", () => {
	const d = new RecordIODecoder();
	const tail = encodeRecord('{"type":"HEARTBEAT"}');
	assert.deepEqual(d.push(Buffer.concat([stream, tail.subarray(0, 5)])), events);
	assert.equal(d.pending, 5);
	assert.deepEqual(d.push(tail.subarray(5)), ['{"type":"HEARTBEAT"}']);
});

test("a corrupt length is an error, not a hang", () => {
	assert.throws(() => new RecordIODecoder().push(Buffer.from("12x\n{}")), /bad record length/);
	assert.throws(
		() => new RecordIODecoder().push(Buffer.from("123456789012345678901234")),
		/longer than 20 digits/,
	);
	assert.throws(() => new RecordIODecoder(10).push(Buffer.from("11\n")), /too large/);
});
