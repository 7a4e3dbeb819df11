// A warm worker runs one job after another, each with its own API client (its own job token):
// they share the process's keep-alive connections instead of opening one a job.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createApiClient } from "../../src/worker/api-client.ts";
import { FakeApi, jobSpec } from "../fixtures/worker/fake-api.ts";

let api: FakeApi;
before(async () => {
	api = await new FakeApi().start();
});
after(async () => {
	await api.close();
});

test("successive jobs' clients reuse one connection, each with its own token", async () => {
	for (const token of ["job-a", "job-b", "job-c"]) {
		api.addJob(token, jobSpec(["true"]));
		const client = createApiClient(api.url, token);
		const job = await client.getJob();
		assert.ok(job, `the job of ${token} is answered to its own token`);
		await client.heartbeat();
	}
	assert.equal(api.jobs.get("job-c")?.heartbeats, 1, "each job's calls carry its own token");
	assert.equal(api.jobs.get("job-a")?.heartbeats, 1);
	assert.equal(api.connections, 1, "one connection for the three jobs");
});
