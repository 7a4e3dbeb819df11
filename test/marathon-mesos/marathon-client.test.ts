// The Marathon client against the Marathon stand-in: apps, versions, deployments and their
// rollback, tasks, the queue; auth; retries on 5xx and on an app locked by a deployment; and
// Marathon's validation errors as clear messages. The stand-in validates every body against
// the AppDefinition schema kept in the test tree and replays the documentation's examples.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { MarathonClient, type MarathonError } from "../../src/marathon/client.ts";
import { APP_SCHEMA } from "../standins/marathon/apps.ts";
import { validate } from "../standins/marathon/schema.ts";
import { type Marathon, startMarathon, until } from "./marathon-helpers.ts";

const EXAMPLES = JSON.parse(
	readFileSync(path.join(import.meta.dirname, "../standins/marathon/doc-examples.json"), "utf8"),
).apps as Array<Record<string, unknown> & { id: string }>;

describe("Marathon client against the stand-in", () => {
	let m: Marathon;
	let client: MarathonClient;
	const credentials = { username: "cds", password: "s3cret" };

	before(async () => {
		m = await startMarathon({ credentials });
		client = new MarathonClient({ url: m.url, auth: credentials, backoff: { baseMs: 10, maxMs: 50 } });
	});
	after(async () => {
		await client.close();
		await m.stop();
	});

	test("the documentation's example app definitions fit the schema, and a misspelt field does not", () => {
		for (const app of EXAMPLES) assert.deepEqual(validate(APP_SCHEMA, app), [], app.id);
		const errors = validate(APP_SCHEMA, { id: "x", cmd: "true", memory: 10 });
		assert.deepEqual(errors, [{ path: "/memory", errors: ["error.unknown.property"] }]);
		assert.ok(validate(APP_SCHEMA, { id: "Upper_Case" }).length > 0);
	});

	test("without credentials Marathon answers 401, and the client says so", async () => {
		const anonymous = new MarathonClient({ url: m.url });
		await assert.rejects(
			anonymous.listApps(),
			(e: MarathonError) => e.status === 401 && /Invalid username/.test(e.message),
		);
		await anonymous.close();
	});

	test("a token is sent as DC/OS does (Authorization: token=…); a timeout is an error naming the call", async () => {
		const seen: string[] = [];
		const server = http.createServer((req, res) => {
			seen.push(req.headers.authorization ?? "");
			if (req.url === "/v2/queue") return; // never answers
			res.writeHead(200, { "content-type": "application/json" });
			res.end('{"apps":[]}');
		});
		await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
		const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
		const c = new MarathonClient({ url: base, auth: { token: "acs-token" }, timeoutMs: 300, attempts: 1 });
		assert.deepEqual(await c.listApps(), []);
		assert.deepEqual(seen, ["token=acs-token"]);
		await assert.rejects(c.queue(), /marathon: GET \/v2\/queue: /);
		await c.close();
		server.closeAllConnections();
		server.close();
	});

	test("an app is created, runs its task, gets a new version, and is deleted", async () => {
		const created = await client.createApp({
			id: "/demo/sleeper",
			cmd: "sleep 30",
			cpus: 0.1,
			mem: 16,
			instances: 1,
		});
		assert.equal(created.id, "/demo/sleeper");
		assert.equal(created.deployments.length, 1);
		await until("its task to run", async () =>
			(await client.appTasks("/demo/sleeper")).some((t) => t.state === "TASK_RUNNING"),
		);
		await until("its deployment to end", async () => (await client.listDeployments()).length === 0);
		const v2 = await client.putApp({
			id: "/demo/sleeper",
			cmd: "sleep 31",
			cpus: 0.1,
			mem: 16,
			instances: 1,
		});
		assert.ok(v2.deploymentId);
		await until("the new version to run", async () => {
			const app = await client.getApp("/demo/sleeper");
			return app?.tasks?.some((t) => t.state === "TASK_RUNNING" && t.version === app.version) === true;
		});
		const before = (await client.appTasks("/demo/sleeper")).map((t) => t.id);
		const restart = await client.restartApp("/demo/sleeper");
		assert.ok(restart.deploymentId);
		await until("new tasks after the restart", async () => {
			const tasks = await client.appTasks("/demo/sleeper");
			return tasks.some((t) => t.state === "TASK_RUNNING" && !before.includes(t.id));
		});
		const versions = await client.appVersions("/demo/sleeper");
		assert.equal(versions.length, 3);
		assert.equal((await client.appVersion("/demo/sleeper", versions[2]!)).cmd, "sleep 30");
		assert.equal((await client.appVersion("/demo/sleeper", versions[0]!)).cmd, "sleep 31");
		assert.ok((await client.listTasks()).some((t) => t.appId === "/demo/sleeper"));
		assert.ok(await client.deleteApp("/demo/sleeper", { force: true }));
		await until("the app to be gone", async () => (await client.getApp("/demo/sleeper")) === null);
		assert.equal(await client.deleteApp("/demo/sleeper"), null, "deleting a missing app answers null");
	});

	test("a refused definition gives Marathon's message and the field at fault", async () => {
		await assert.rejects(
			client.createApp({ id: "/demo/bad", cmd: "true", cpus: -1 }),
			(e: MarathonError) =>
				e.status === 422 && /Object is not valid/.test(e.message) && /\/cpus/.test(e.message),
		);
	});

	test("5xx answers are retried with backoff; the call passes once Marathon is back", async () => {
		m.apps.failRequests(2, 503);
		assert.ok(Array.isArray(await client.listApps()));
		m.apps.failRequests(10, 502);
		const impatient = new MarathonClient({
			url: m.url,
			auth: credentials,
			attempts: 3,
			backoff: { baseMs: 5, maxMs: 10 },
		});
		await assert.rejects(impatient.listApps(), (e: MarathonError) => e.status === 502);
		m.apps.failRequests(0);
		await impatient.close();
	});

	test("an app locked by a deployment: 409 retried until the deployment ends; rollback through DELETE /v2/deployments", async () => {
		m.apps.failDeployment("/demo/locked");
		const first = await client.putApp({ id: "/demo/locked", cmd: "sleep 30", cpus: 0.1, mem: 16 });
		const locked = new MarathonClient({
			url: m.url,
			auth: credentials,
			attempts: 2,
			backoff: { baseMs: 5, maxMs: 10 },
		});
		await assert.rejects(
			locked.putApp({ id: "/demo/locked", cmd: "sleep 31", cpus: 0.1, mem: 16 }),
			(e: MarathonError) => e.locked && e.status === 409,
		);
		await locked.close();
		const queued = await until("the failing app in the queue", async () =>
			(await client.queue()).find((q) => q.app?.id === "/demo/locked"),
		);
		assert.ok(queued.count >= 1);
		const failure = await until(
			"its last task failure",
			async () => (await client.getApp("/demo/locked"))?.lastTaskFailure,
		);
		assert.equal(failure.state, "TASK_FAILED");
		// Rolling back a creation removes the app.
		const back = await client.deleteDeployment(first.deploymentId);
		assert.ok(back?.deploymentId);
		await until("the app to be gone", async () => (await client.getApp("/demo/locked")) === null);
		m.apps.failDeployment("/demo/locked", false);
	});

	test("the documentation's examples are accepted by the stand-in's API", async () => {
		for (const app of EXAMPLES) {
			const r = await client.putApp({ ...app, cmd: "sleep 30" });
			assert.ok(r.deploymentId, app.id);
		}
		for (const app of EXAMPLES) await client.deleteApp(app.id, { force: true });
		// Only the misdefined app of the test above was refused.
		assert.deepEqual(
			m.apps.refused.map((r) => r.details),
			[[{ path: "/cpus", errors: ["error.min: must be >= 0.001"] }]],
		);
	});
});
