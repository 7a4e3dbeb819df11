import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createMasker } from "../../src/run/mask.ts";
import { createApiClient, isTransient, type LogEntry } from "../../src/worker/api-client.ts";
import { LogShipper } from "../../src/worker/log-shipper.ts";
import { LINE_TRUNCATED, StepLog } from "../../src/worker/step-log.ts";
import { FakeApi, jobSpec } from "../fixtures/worker/fake-api.ts";

let api: FakeApi;
before(async () => {
	api = await new FakeApi().start();
});
after(() => api.close());

async function spillPath(): Promise<string> {
	return join(await mkdtemp(join(tmpdir(), "cds-shipper-")), "spill");
}

function shipperFor(
	token: string,
	spillFile: string,
	extra: Partial<ConstructorParameters<typeof LogShipper>[0]> = {},
) {
	const client = createApiClient(api.url, token);
	return new LogShipper({
		send: (entries) => client.postLogs(entries),
		isRetryable: isTransient,
		spillFile,
		initialRetryMs: 20,
		maxRetryMs: 100,
		...extra,
	});
}

describe("LogShipper", () => {
	test("while the API refuses requests, every entry is buffered and arrives exactly once, in order", async () => {
		const job = api.addJob("ship-503", jobSpec([]));
		const shipper = shipperFor("ship-503", await spillPath(), { maxBatchBytes: 200 });
		api.failFor(400, "503", /\/job\/logs$/);
		for (let seq = 0; seq < 500; seq++) shipper.push({ step: 0, seq, text: `line ${seq}\n` });
		await new Promise((resolve) => setTimeout(resolve, 200));
		assert.equal(api.logText(job, 0), "", "nothing is stored while the API refuses");
		assert.ok(await shipper.close(10_000));
		const expected = Array.from({ length: 500 }, (_, i) => `line ${i}\n`).join("");
		assert.equal(api.logText(job, 0), expected);
		assert.ok(api.refusedRequests > 0);
		assert.ok(shipper.stats.failedRequests > 0);
	});

	test("dropped connections: retried batches never double a line", async () => {
		const job = api.addJob("ship-reset", jobSpec([]));
		const shipper = shipperFor("ship-reset", await spillPath(), { maxBatchBytes: 64 });
		for (let seq = 0; seq < 100; seq++) {
			if (seq === 30) api.failFor(300, "reset", /\/job\/logs$/);
			shipper.push({ step: 2, seq, text: `${seq}\n` });
			await new Promise((resolve) => setImmediate(resolve));
		}
		assert.ok(await shipper.close(10_000));
		assert.equal(api.logText(job, 2), Array.from({ length: 100 }, (_, i) => `${i}\n`).join(""));
		assert.equal(job.logs.get(2)!.size, 100);
	});

	test("past the memory limit entries spill to a file, read back in order, and the file is removed", async () => {
		const job = api.addJob("ship-spill", jobSpec([]));
		const spill = await spillPath();
		const shipper = shipperFor("ship-spill", spill, { memoryLimitBytes: 1000, maxBatchBytes: 500 });
		api.failFor(300, "503", /\/job\/logs$/);
		const entries: LogEntry[] = [];
		for (let seq = 0; seq < 400; seq++)
			entries.push({ step: 1, seq, text: `spilled line number ${seq} ✓\n` });
		for (const entry of entries) shipper.push(entry);
		assert.ok(shipper.stats.spilledEntries > 300, "most entries went to the spill file");
		assert.ok(existsSync(spill));
		assert.ok(await shipper.close(10_000));
		assert.equal(api.logText(job, 1), entries.map((e) => e.text).join(""));
		assert.equal(existsSync(spill), false);
	});

	test("a 401 ends shipping instead of retrying forever", async () => {
		const client = createApiClient(api.url, "no-such-token");
		let sends = 0;
		const shipper = shipperFor("no-such-token", await spillPath(), {
			send: (entries) => {
				sends++;
				return client.postLogs(entries);
			},
		});
		shipper.push({ step: 0, seq: 0, text: "x\n" });
		assert.equal(await shipper.close(5000), false);
		// Retrying would have sent again every 20-100 ms until close gave up.
		assert.equal(sends, 1, "one request, no retry after the 401");
	});
});

describe("StepLog", () => {
	const limits = { maxLineBytes: 100, maxStepBytes: 1000 };
	function collect(masker = createMasker([]), custom = limits) {
		const entries: LogEntry[] = [];
		const log = new StepLog(3, (entry) => entries.push(entry), masker, custom);
		return { log, entries, text: () => entries.map((e) => e.text).join("") };
	}

	test("partial lines wait for their end; sequence numbers are contiguous from 0", () => {
		const { log, entries, text } = collect();
		log.write("hel");
		assert.equal(entries.length, 0);
		log.write("lo\nwor");
		log.write(Buffer.from("ld\nlast without newline"));
		log.end();
		assert.equal(text(), "hello\nworld\nlast without newline\n");
		assert.deepEqual(
			entries.map((e) => [e.step, e.seq]),
			entries.map((_, i) => [3, i]),
		);
	});

	test("a multi-byte character split between two chunks stays whole", () => {
		const { log, text } = collect();
		const bytes = Buffer.from("héllo\n");
		log.write(bytes.subarray(0, 2));
		log.write(bytes.subarray(2));
		log.end();
		assert.equal(text(), "héllo\n");
	});

	test("a line over maxLineBytes is cut and marked; the next lines are intact", () => {
		const { log, text } = collect();
		log.write("a".repeat(250) + "\nshort\n");
		log.end();
		assert.equal(text(), "a".repeat(100) + LINE_TRUNCATED + "\nshort\n");
	});

	test("an endless line without newline is cut, the rest of it skipped", () => {
		const { log, text } = collect(createMasker([]), { maxLineBytes: 100, maxStepBytes: 100_000 });
		for (let i = 0; i < 100; i++) log.write("b".repeat(1000));
		log.write("\nnext\n");
		log.end();
		assert.equal(text(), "b".repeat(100) + LINE_TRUNCATED + "\nnext\n");
	});

	test("past maxStepBytes the rest is dropped and one line says how much", () => {
		const { log, text } = collect();
		for (let i = 0; i < 200; i++) log.write(`line ${String(i).padStart(4, "0")}\n`); // 10 bytes each
		log.end();
		const lines = text().split("\n");
		assert.equal(lines.at(-2), "…[log truncated: 1000 bytes dropped]");
		assert.equal(lines.length - 2, 100, "exactly maxStepBytes of whole lines were kept");
		assert.equal(lines[99], "line 0099");
	});

	test("secrets are masked, also base64-encoded and written in several pieces", () => {
		const secret = "s3cr3t-P4ssw0rd";
		const { log, text } = collect(createMasker([secret]));
		log.write(`password is ${secret}\n`);
		log.write(`encoded ${Buffer.from(secret).toString("base64")}\n`);
		log.write("split s3cr");
		log.write("3t-P4s");
		log.write("sw0rd done\n");
		log.line(`worker message with ${secret}`);
		log.end();
		const out = text();
		assert.ok(!out.includes(secret));
		assert.ok(!out.includes(Buffer.from(secret).toString("base64")));
		assert.ok(!out.includes("P4ssw0rd"));
		assert.equal(out.split("**********").length - 1, 4);
		assert.ok(out.includes("split ********** done\n"));
	});
});
