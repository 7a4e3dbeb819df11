// Two nodes, each with its own workflow service over the same store: a run created through one
// node right after an import through the other uses the imported version (each node keeps the
// latest definition it read under its workflow head's stamp: src/workflow/latest-definitions.ts),
// and while nothing changes, a run's creation reads no definition from the store.

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { WorkflowDoc } from "../../schemas/workflow.ts";
import { MongoStore } from "../../src/store/index.ts";
import { type NodeProcess, tearDownCluster, testCluster, twoGateways } from "../helpers/cluster.ts";
import { apiClient } from "../helpers/server.ts";
import { serverUrl } from "../helpers/servers.ts";

const nats = serverUrl("NATS_URL");
const mongo = serverUrl("MONGO_URL");
const WF = "/api/v1/projects/DEMO/workflows";

const filesSaying = (word: string) => [
	{ path: "w.yml", content: "name: W\nversion: v1.0\npipeline: say\n" },
	{
		path: "say.pip.yml",
		content: `version: v1.0\nname: say\njobs:\n- job: say\n  steps:\n  - script: echo ${word}\n`,
	},
];

/** The store operations on `collection` counted by every node's metrics (cds_store_operation_seconds). */
function storeOps(exposition: string, collection: string): number {
	let total = 0;
	for (const line of exposition.split("\n")) {
		if (!line.startsWith("cds_store_operation_seconds_count{")) continue;
		if (!line.includes(`collection="${collection}"`)) continue;
		total += Number(line.slice(line.lastIndexOf(" ") + 1));
	}
	return total;
}

describe("cluster: the latest definition a node keeps", { skip: nats.skip || mongo.skip }, () => {
	const nodes: NodeProcess[] = [];
	let dbUrl: string | undefined;
	after(() => tearDownCluster(nodes, [dbUrl]));

	test("an import through node A is what the next run through node B uses, at once", async () => {
		const cluster = await testCluster("cds_def_cache", { natsUrl: nats.url!, mongoUrl: mongo.url! });
		dbUrl = cluster.dbUrl;
		const services = "api,auth,project,workflow,run";
		const { urlB: otherUrl } = await twoGateways(
			cluster,
			nodes,
			{ name: "def-a", env: { SERVICES: services } },
			{ name: "def-b", env: { SERVICES: services } },
		);
		const admin = cluster.env.CDS_ADMIN_TOKEN!;
		const a = apiClient(cluster.url, admin);
		const b = apiClient(otherUrl, admin);
		const run = async (via: typeof a) => {
			const r = await via("POST", `${WF}/W/runs`, {});
			assert.equal(r.status, 201, JSON.stringify(r.body));
			return r.body as { number: number; definitionVersion: number };
		};
		const definitionOps = async () => {
			const res = await fetch(`${cluster.url}/metrics`, { headers: { authorization: `Bearer ${admin}` } });
			assert.equal(res.status, 200);
			return storeOps(await res.text(), "definitions");
		};

		assert.equal((await a("POST", "/api/v1/projects", { key: "DEMO", name: "Demo" })).status, 201);
		assert.equal(
			(await a("POST", "/api/v1/projects/DEMO/import", { files: filesSaying("one") })).status,
			200,
		);
		// Both nodes read version 1 and keep it.
		assert.equal((await run(b)).definitionVersion, 1);
		assert.equal((await run(a)).definitionVersion, 1);

		// Nothing changed since: runs through either node read no definition.
		const before = await definitionOps();
		// (Within the few seconds an entry is kept: src/workflow/latest-definitions.ts.)
		for (let i = 0; i < 2; i++) {
			assert.equal((await run(b)).definitionVersion, 1);
			assert.equal((await run(a)).definitionVersion, 1);
		}
		assert.equal(await definitionOps(), before, "a run's creation read a definition the node already had");

		// Version 2 through A: the very next run through B uses it.
		const imported = await a("POST", "/api/v1/projects/DEMO/import", {
			files: filesSaying("two"),
			force: true,
		});
		assert.equal(imported.status, 200, JSON.stringify(imported.body));
		assert.deepEqual(imported.body.updated, ["W"]);
		assert.equal((await run(b)).definitionVersion, 2);
		const shown = await b("GET", `${WF}/W`);
		assert.equal(shown.body.version, 2);
		assert.match(JSON.stringify(shown.body.pipelines), /echo two/);

		// Deleted and imported again through A: B starts over at the new workflow's version 1.
		assert.equal((await a("DELETE", `${WF}/W`)).status, 200);
		assert.equal((await b("POST", `${WF}/W/runs`, {})).status, 404);
		assert.equal(
			(await a("POST", "/api/v1/projects/DEMO/import", { files: filesSaying("three"), force: true })).status,
			200,
		);
		const again = await b("GET", `${WF}/W`);
		assert.equal(again.body.version, 1);
		assert.match(JSON.stringify(again.body.pipelines), /echo three/);

		// A head written before stamps existed is stamped by its first read, then kept as any other.
		const store = await MongoStore.connect(dbUrl);
		try {
			const heads = await store.collection<WorkflowDoc>({ name: "workflows" });
			await heads.update({ _id: "DEMO/W" }, { $unset: { definitionsStamp: "" } });
			assert.equal((await run(b)).definitionVersion, 1);
			assert.ok((await heads.findOne({ _id: "DEMO/W" }))?.definitionsStamp);
			const stamped = await definitionOps();
			assert.equal((await run(b)).definitionVersion, 1);
			assert.equal(await definitionOps(), stamped, "the stamped head's definition was read again");
		} finally {
			await store.close();
		}
	});
});
