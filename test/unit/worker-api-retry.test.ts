// What a worker does while the API is away (a node of the cluster restarts): which answers are
// worth retrying, how long it waits (Retry-After, backoff) and until when (the job's deadline),
// and that a job whose reports meet such answers still delivers every line and its result.

import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ApiError, isJobLost, isTransient, parseRetryAfter } from "../../src/worker/api-client.ts";
import { MAX_RETRY_AFTER_MS, retry, retryDelay } from "../../src/worker/backoff.ts";
import { reportWindowMs } from "../../src/worker/job-runner.ts";
import { LogShipper } from "../../src/worker/log-shipper.ts";
import { FakeApi, jobSpec } from "../fixtures/worker/fake-api.ts";
import { runTestJob } from "../fixtures/worker/run-job.ts";

describe("which API answers a worker retries", () => {
	test("Retry-After in seconds or as an HTTP date; anything else is ignored", () => {
		const now = Date.parse("2026-01-01T00:00:00Z");
		assert.equal(parseRetryAfter("3", now), 3000);
		assert.equal(parseRetryAfter(" 0 ", now), 0);
		assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:05 GMT", now), 5000);
		assert.equal(parseRetryAfter("Wed, 31 Dec 2025 23:59:00 GMT", now), 0, "a date in the past: now");
		assert.equal(parseRetryAfter("soon", now), undefined);
		assert.equal(parseRetryAfter("", now), undefined);
		assert.equal(parseRetryAfter(undefined, now), undefined);
	});

	test("the gateway's 404 for an unknown route is transient; an action's 404 is not", () => {
		assert.equal(isTransient(new ApiError(404, "x", { apiMessage: "Not found" })), true);
		assert.equal(isTransient(new ApiError(404, "x")), false, "not the API's answer (a proxy's)");
		assert.equal(isTransient(new ApiError(404, "x", { apiMessage: "job not found" })), false);
		assert.equal(isJobLost(new ApiError(404, "x", { apiMessage: "job not found" })), true);
		assert.equal(isJobLost(new ApiError(404, "x", { apiMessage: "Not found" })), false);
		assert.equal(isTransient(new ApiError(503, "x")), true);
		assert.equal(isTransient(new ApiError(504, "x")), true);
		assert.equal(isTransient(new Error("connect ECONNREFUSED")), true);
		assert.equal(isTransient(new ApiError(422, "x")), false);
		assert.equal(isJobLost(new ApiError(401, "x")), true);
		assert.equal(isJobLost(new ApiError(409, "x")), true);
		assert.equal(isJobLost(new ApiError(503, "x")), false);
	});

	test("a Retry-After longer than the backoff is waited for, within a cap", () => {
		assert.equal(retryDelay(new ApiError(503, "x", { retryAfterMs: 2000 }), 1, 100, 5000), 2000);
		assert.equal(retryDelay({ retryAfterMs: 10 * 60_000 }, 1, 100, 5000), MAX_RETRY_AFTER_MS);
		const plain = retryDelay(new ApiError(503, "x"), 3, 100, 5000);
		assert.ok(plain >= 320 && plain <= 480, `backoff of the third try: ${plain}`);
		const shorter = retryDelay({ retryAfterMs: 1 }, 5, 100, 5000);
		assert.ok(shorter >= 1280, "a shorter Retry-After does not hasten the backoff");
	});

	test("retry waits what Retry-After asks, and tries a last time at its deadline", async () => {
		const times: number[] = [];
		await assert.rejects(
			retry(
				async () => {
					times.push(Date.now());
					throw new ApiError(503, "busy", { retryAfterMs: 300 });
				},
				{ deadlineMs: 500, initialDelayMs: 1, isRetryable: isTransient },
			),
			/busy/,
		);
		assert.ok(times.length >= 2, `tried ${times.length} times`);
		assert.ok(times[1]! - times[0]! >= 290, `waited ${times[1]! - times[0]!} ms`);
	});

	test("reports are retried until the job's deadline, never less than the report deadline", () => {
		assert.equal(reportWindowMs(1000, 300_000, undefined), 300_000);
		assert.equal(reportWindowMs(1000, 300_000, 1000 + 3_600_000), 3_600_000);
		assert.equal(reportWindowMs(1000, 300_000, 500), 300_000, "past the job's deadline: the floor");
	});
});

describe("a job while the API restarts", () => {
	let api: FakeApi;
	before(async () => {
		api = await new FakeApi().start();
	});
	after(() => api.close());

	test("404 'Not found' from a gateway that does not know the worker routes yet: nothing is dropped", async () => {
		const token = "retry-no-route";
		const job = api.addJob(token, jobSpec(["echo one; sleep 0.3; echo two", "echo three"]));
		setTimeout(() => api.failFor(1500, "no-route", /\/job\/(logs|steps|result)/), 100);
		const outcome = await runTestJob(api, token);
		assert.equal(outcome.status, "Success");
		assert.equal(outcome.reported, true, outcome.diagnostics.join("\n"));
		assert.equal(job.result?.status, "Success");
		assert.equal(api.allLogs(job), "one\ntwo\nthree\n");
		const last = (i: number) => job.stepReports.filter((r) => r.index === i).at(-1)?.body.status;
		assert.deepEqual([last(0), last(1)], ["Success", "Success"]);
		assert.ok(api.refusedRequests > 0);
	});

	test("a download meeting the gateway's 404 waits for the route; a missing file is absent", async () => {
		const token = "retry-download";
		api.addJob(token, jobSpec([]));
		api.artifacts.set("t/present.txt", Buffer.from("here"));
		const { createApiClient } = await import("../../src/worker/api-client.ts");
		const client = createApiClient(api.url, token);
		api.failFor(60_000, "no-route", /\/artifacts\//);
		await assert.rejects(client.getFile("artifacts", "t", "present.txt"), (err: unknown) => isTransient(err));
		api.failFor(0);
		assert.equal(await client.getFile("artifacts", "t", "absent.txt"), undefined);
	});

	test("503 with Retry-After: the worker waits at least that long, then delivers", async () => {
		const token = "retry-after";
		const job = api.addJob(token, jobSpec(["echo done"]));
		api.failFor(500, "503-retry-after", /\/job\/result$/);
		const start = Date.now();
		const outcome = await runTestJob(api, token);
		assert.equal(outcome.reported, true, outcome.diagnostics.join("\n"));
		assert.equal(job.result?.status, "Success");
		assert.ok(Date.now() - start >= 1000, "Retry-After: 1 was honoured");
	});

	test("log lines beyond the memory budget go to a spill file, and the worker says so once", async () => {
		const token = "spill-report";
		const job = api.addJob(token, jobSpec([]));
		const { createApiClient } = await import("../../src/worker/api-client.ts");
		const client = createApiClient(api.url, token);
		const spilled: string[] = [];
		const shipper = new LogShipper({
			send: (entries) => client.postLogs(entries),
			isRetryable: isTransient,
			spillFile: join(await mkdtemp(join(tmpdir(), "cds-spill-")), "spill"),
			memoryLimitBytes: 100,
			initialRetryMs: 20,
			maxRetryMs: 100,
			onSpill: (file) => spilled.push(file),
		});
		api.failFor(300, "reset", /\/job\/logs$/);
		for (let seq = 0; seq < 50; seq++) shipper.push({ step: 0, seq, text: `line ${seq}\n` });
		assert.ok(await shipper.close(10_000));
		assert.equal(spilled.length, 1, "reported once");
		assert.ok(shipper.stats.spilledEntries > 0);
		assert.equal(api.logText(job, 0), Array.from({ length: 50 }, (_, i) => `line ${i}\n`).join(""));
	});
});
