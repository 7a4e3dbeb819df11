// Job limits across a cluster: three nodes hosting the run service over real NATS and one
// FerretDB (MongoDB wire), three hatcheries booking at once through them, round after round.
// With a limit of 2 (per project and per workflow) the store never holds 3 live bookings: the
// limits are slot claims (unique inserts), not a count read before booking.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { BookResult } from "../../schemas/run.ts";
import { MongoStore } from "../../src/store/index.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { mongoUrlFor, serverUrl, uniqueDbName } from "../helpers/servers.ts";

const nats = serverUrl("NATS_URL");
const mongo = serverUrl("MONGO_URL");
const ROUNDS = 100;

describe("job limits across nodes over NATS and FerretDB", { skip: nats.skip || mongo.skip }, () => {
	const nodes: TestServer[] = [];
	let probe: MongoStore;
	let dbUrl: string;
	let admin: string;
	/** The API of node a, as the cluster's admin (the token of CDS_ADMIN_TOKEN). */
	const api = (method: string, route: string, body?: unknown) => nodes[0]!.api(method, route, body, admin);

	before(async () => {
		const db = uniqueDbName("cds_limits");
		dbUrl = mongoUrlFor(mongo.url!, db);
		const shared = {
			NATS_URL: nats.url!,
			MONGO_URL: dbUrl,
			CDS_NAMESPACE: db,
			CDS_SECRET_KEY: Buffer.alloc(32, 7).toString("base64"),
			CDS_ADMIN_TOKEN: `admin-token-${db}`,
			CDS_MAX_JOBS_PER_PROJECT: "2",
			CDS_MAX_JOBS_PER_WORKFLOW: "2",
		};
		nodes.push(
			await startTestServer({ ...shared, NODE_ID: "limits-a", SERVICES: "api,auth,project,workflow,run" }),
		);
		admin = shared.CDS_ADMIN_TOKEN;
		nodes.push(await startTestServer({ ...shared, NODE_ID: "limits-b", SERVICES: "run" }));
		nodes.push(await startTestServer({ ...shared, NODE_ID: "limits-c", SERVICES: "run" }));
		// Every node sees the others' run service before the race starts.
		for (const n of nodes) await n.server.broker.waitForServices(["run", "auth"], 30_000);
		assert.equal((await api("POST", "/api/v1/projects", { key: "LIM", name: "Limits" })).status, 201);
		const jobs = Array.from({ length: 3 }, (_, i) => `- job: j${i}\n  steps:\n  - script: echo ${i}\n`).join(
			"",
		);
		const files = [
			{ path: "w.yml", content: "name: FAN\nversion: v2.0\nworkflow:\n  build:\n    pipeline: fan\n" },
			{ path: "fan.pip.yml", content: `version: v1.0\nname: fan\njobs:\n${jobs}` },
		];
		const imported = await api("POST", "/api/v1/projects/LIM/import", { files });
		assert.equal(imported.status, 200, JSON.stringify(imported.body));
		probe = await MongoStore.connect(dbUrl);
	});

	after(async () => {
		for (const n of nodes.reverse()) await n.stop().catch(() => {});
		await probe?.dropDatabase().catch(() => {});
		await probe?.close();
	});

	test(`three hatcheries race through three nodes for ${ROUNDS} rounds: never 3 booked at once`, async () => {
		const a = nodes[0]!;
		const activeJobs = await probe.collection({ name: "active_jobs" });
		const report = (token: string) =>
			fetch(`${a.url}/api/v1/worker/job/result`, {
				method: "POST",
				headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
				body: JSON.stringify({ status: "Success" }),
			}).then(async (r) => ({ status: r.status, body: await r.json() }));
		let full = 0;
		for (let round = 0; round < ROUNDS; round++) {
			const created = await api("POST", "/api/v1/projects/LIM/workflows/FAN/runs", {});
			assert.equal(created.status, 201);
			const run = created.body as { id: string; number: number };
			const ids = [0, 1, 2].map((i) => `${run.id}/build/j${i}/a1`);
			// Each hatchery books through its own node: three engines, one store.
			const results = (await Promise.all(
				nodes.map((n, i) =>
					n.server.broker.call(
						"run.book",
						{ jobId: ids[i], hatchery: `h${i}` },
						{ nodeID: n.server.broker.nodeID },
					),
				),
			)) as BookResult[];
			const live = await activeJobs.count({ project: "LIM" });
			const won = results.filter((r) => r.won);
			assert.ok(won.length <= 2, `round ${round}: ${won.length} bookings won`);
			assert.ok(live <= 2, `round ${round}: the store holds ${live} live bookings`);
			if (won.length === 2) full++;
			// The winners' workers report; then the refused jobs book and report too.
			for (const r of won) assert.equal((await report(r.token)).status, 200);
			for (const [i, r] of results.entries()) {
				if (r.won) continue;
				assert.match(r.reason ?? "", /concurrency limit/);
				const again = (await a.server.broker.call("run.book", {
					jobId: ids[i],
					hatchery: "late",
				})) as BookResult;
				assert.equal(again.won, true, `round ${round}: a freed slot is bookable`);
				if (again.won) assert.equal((await report(again.token)).status, 200);
			}
			const done = await api("GET", `/api/v1/projects/LIM/workflows/FAN/runs/${run.number}`);
			assert.equal(done.body.status, "Success", `round ${round}`);
		}
		assert.ok(full > ROUNDS / 2, `the limit was reached in most rounds (${full} of ${ROUNDS})`);
		assert.equal(await activeJobs.count({}), 0);
	});
});
