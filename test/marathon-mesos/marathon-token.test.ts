// Where the Marathon driver puts a job's token: not in the app definition (anyone with read
// access to Marathon sees it), not in the task's environment, nowhere in Marathon's API or
// event stream; the worker reads it on stdin, from a file the Mesos fetcher downloads once
// from the hatchery and the app's command removes before the worker starts. The one-time URL
// then answers 404 (a reader of the app definition comes too late). Settings errors are
// ConfigErrors.

import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { readHatcherySettings } from "../../config/hatchery.ts";
import { ConfigError } from "../../config/settings.ts";
import type { HatcheryDriver } from "../../src/hatchery/contract.ts";
import { createDriver } from "../../src/hatchery/drivers/index.ts";
import { type Marathon, startMarathon, until } from "./marathon-helpers.ts";

const TOKEN = `tok-${"x".repeat(20)}-${process.pid}`;

describe("Marathon driver: the job token", () => {
	let m: Marathon;
	let driver: HatcheryDriver;
	let received: string;
	const events: string[] = [];
	let stream: AbortController;

	before(async () => {
		m = await startMarathon();
		received = path.join(m.dir, "received");
		stream = new AbortController();
		// Everything Marathon publishes while the job runs.
		void fetch(`${m.url}/v2/events`, { signal: stream.signal })
			.then(async (r) => {
				for await (const chunk of r.body!) events.push(Buffer.from(chunk).toString());
			})
			.catch(() => {});
		const env = {
			CDS_HATCHERY_DRIVER: "marathon",
			CDS_HATCHERY_NAME: "token-check",
			CDS_HATCHERY_SANDBOX: "none",
			CDS_MARATHON_URL: m.url,
			CDS_MARATHON_POLL_MS: "100",
			CDS_MARATHON_ASSIGNMENT_LISTEN: "127.0.0.1:0",
			// The "worker": keeps its stdin, its environment and the sandbox's files, then waits.
			CDS_MARATHON_WORKER_COMMAND: `sh -c 'cat > ${received}.stdin; env > ${received}.env; ls -a > ${received}.files; sleep 30'`,
		};
		driver = await createDriver(readHatcherySettings(env, path.join(m.dir, "data")));
	});
	after(async () => {
		stream.abort();
		await driver.close();
		await m.stop();
	});

	test("the worker gets the token on stdin; the app, its versions, its tasks, its environment and the events do not hold it", async () => {
		await driver.spawn({
			jobId: "P/W/1/job-1",
			runId: "run-1",
			token: TOKEN,
			apiUrl: "http://127.0.0.1:1",
			timeoutSeconds: 60,
			requirements: { binaries: [], services: [], memoryMb: 64 },
		});
		await until(
			"the worker to read its stdin",
			() => existsSync(`${received}.files`) && readFileSync(`${received}.files`, "utf8"),
		);
		const stdin = JSON.parse(readFileSync(`${received}.stdin`, "utf8"));
		assert.deepEqual(stdin, {
			type: "assign",
			apiUrl: "http://127.0.0.1:1",
			token: TOKEN,
			jobId: "P/W/1/job-1",
		});
		assert.doesNotMatch(readFileSync(`${received}.env`, "utf8"), new RegExp(TOKEN));
		assert.doesNotMatch(
			readFileSync(`${received}.files`, "utf8"),
			/^assignment$/m,
			"the fetched file is removed",
		);

		const [id] = [...m.apps.apps.keys()];
		assert.match(id!, /^\/cds-workers\/token-check\/w-[0-9a-f]{16}$/);
		const app = await (await fetch(`${m.url}/v2/apps${id}`)).text();
		const versions = (await (await fetch(`${m.url}/v2/apps${id}/versions`)).json()) as { versions: string[] };
		const v = await (await fetch(`${m.url}/v2/apps${id}/versions/${versions.versions[0]}`)).text();
		const all = await (await fetch(`${m.url}/v2/apps?embed=apps.tasks`)).text();
		const queue = await (await fetch(`${m.url}/v2/queue`)).text();
		for (const text of [app, v, all, queue, events.join("")]) assert.equal(text.includes(TOKEN), false);
		const def = JSON.parse(app).app;
		assert.deepEqual(def.labels, {
			CDS_HATCHERY: "token-check",
			CDS_JOB: "P/W/1/job-1",
			CDS_RUN: "run-1",
			CDS_MANAGED_BY: "cds-ts",
		});
		assert.equal(def.instances, 1);
		assert.equal(def.mem, 64);
		assert.equal(def.container.docker.image, "ovhcom/cds-worker:latest");
		// The one-time URL is spent: whoever reads the app definition now gets nothing.
		const again = await fetch(def.fetch[0].uri);
		assert.equal(again.status, 404);
		assert.equal((await again.text()).includes(TOKEN), false);

		const workers = await driver.list();
		assert.equal(workers.length, 1);
		await driver.kill("P/W/1/job-1");
		await until("the app to be deleted", () => m.apps.apps.size === 0);
		// The stand-in published the task's life on Marathon's event bus, as Marathon does.
		const seen = await until("the events of the task's end", () => {
			const text = events.join("");
			return text.includes('"taskStatus":"TASK_KILLED"') && text.includes("app_terminated_event")
				? text
				: undefined;
		});
		const statuses = [...seen.matchAll(/"taskStatus":"(TASK_[A-Z]+)"/g)].map((x) => x[1]);
		assert.deepEqual(statuses, ["TASK_STAGING", "TASK_RUNNING", "TASK_KILLING", "TASK_KILLED"]);
		assert.match(seen, /event: deployment_success\n/);
		assert.equal(readdirSync(path.join(m.dir, "sandboxes")).length, 0, "the task's sandbox is gone");
	});

	test("the Marathon knobs are checked: a missing URL, a bad prefix, a user without password are ConfigErrors", () => {
		const base = { CDS_HATCHERY_DRIVER: "marathon" };
		assert.throws(
			() => readHatcherySettings(base, "/tmp/x"),
			(e: Error) => e instanceof ConfigError && /CDS_MARATHON_URL/.test(e.message),
		);
		assert.throws(
			() => readHatcherySettings({ ...base, CDS_MARATHON_URL: "ftp://x" }, "/tmp/x"),
			(e: Error) => e instanceof ConfigError && /must start with http: or https:/.test(e.message),
		);
		assert.throws(
			() =>
				readHatcherySettings(
					{ ...base, CDS_MARATHON_URL: "http://m:8080", CDS_MARATHON_APP_PREFIX: "/Bad_Prefix" },
					"/tmp/x",
				),
			(e: Error) => e instanceof ConfigError && /CDS_MARATHON_APP_PREFIX/.test(e.message),
		);
		assert.throws(
			() =>
				readHatcherySettings(
					{ ...base, CDS_MARATHON_URL: "http://m:8080", CDS_MARATHON_USER: "u" },
					"/tmp/x",
				),
			(e: Error) => e instanceof ConfigError && /CDS_MARATHON_PASSWORD/.test(e.message),
		);
		// Another driver does not need the URL.
		assert.equal(readHatcherySettings({}, "/tmp/x").marathon.url, undefined);
	});
});
