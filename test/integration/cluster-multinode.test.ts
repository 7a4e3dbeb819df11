// Three nodes over real NATS with a shared MongoDB-wire store: the gateway, the workflow
// service and the project/auth services each on their own broker. A request entering the
// gateway is served end to end across them.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { mongoUrlFor, serverUrl, uniqueDbName } from "../helpers/servers.ts";
import { startTestServer, type TestServer, waitReady } from "../helpers/server.ts";
import { corpus, corpusPath } from "../helpers/corpus.ts";

const nats = serverUrl("NATS_URL");
const mongo = serverUrl("MONGO_URL");

describe("a three-node cluster over NATS and MongoDB", {
	skip: nats.skip || mongo.skip || corpus.skip,
}, () => {
	const nodes: TestServer[] = [];
	let gateway: TestServer;

	before(async () => {
		const db = uniqueDbName("cds_multinode");
		const shared = {
			NATS_URL: nats.url!,
			MONGO_URL: mongoUrlFor(mongo.url!, db),
			CDS_NAMESPACE: db,
			CDS_SECRET_KEY: Buffer.alloc(32, 7).toString("base64"),
			CDS_ADMIN_TOKEN: `admin-${db}-token-for-tests`,
		};
		// Start the back ends first so their services are known when the gateway starts.
		nodes.push(await startTestServer({ ...shared, SERVICES: "project,auth", NODE_ID: `${db}-project` }));
		nodes.push(await startTestServer({ ...shared, SERVICES: "workflow", NODE_ID: `${db}-workflow` }));
		gateway = await startTestServer({ ...shared, SERVICES: "api", NODE_ID: `${db}-api` });
		nodes.push(gateway);
		await waitReady(gateway.url);
	});

	after(async () => {
		for (const n of nodes.reverse()) await n.stop().catch(() => {});
	});

	test("each node runs only its services", () => {
		const local = (n: TestServer) =>
			n.server.broker.services
				.map((s) => s.name)
				.filter((s) => !s.startsWith("$"))
				.sort();
		assert.deepEqual(local(nodes[0]), ["auth", "project"]);
		assert.deepEqual(local(nodes[1]), ["workflow"]);
		assert.deepEqual(local(nodes[2]), ["api"]);
	});

	test("create a project, import a workflow, list and export it through the gateway", async () => {
		const api = (m: string, r: string, b?: unknown) =>
			fetch(`${gateway.url}${r}`, {
				method: m,
				headers: { authorization: `Bearer ${gateway.adminToken}`, "content-type": "application/json" },
				body: b === undefined ? undefined : JSON.stringify(b),
			}).then(async (res) => ({ status: res.status, body: (await res.json()) as any }));
		assert.equal((await api("POST", "/api/v1/projects", { key: "MULTI", name: "Multi" })).status, 201);
		const dir = corpusPath("ITSCWRKFLW3");
		const files = readdirSync(dir).map((f) => ({
			path: f,
			content: readFileSync(path.join(dir, f), "utf8"),
		}));
		const imported = await api("POST", "/api/v1/projects/MULTI/import", { files });
		assert.equal(imported.status, 200, JSON.stringify(imported.body));
		const list = await api("GET", "/api/v1/projects/MULTI/workflows");
		assert.deepEqual(
			list.body.items.map((w: { name: string }) => w.name),
			["ITSCWRKFLW3-WORKFLOW"],
		);
		const exported = await api("GET", "/api/v1/projects/MULTI/workflows/ITSCWRKFLW3-WORKFLOW/export");
		assert.equal(exported.status, 200);
		assert.ok(exported.body.files.some((f: { path: string }) => f.path === "ITSCWRKFLW3-WORKFLOW.yml"));
		const denied = await fetch(`${gateway.url}/api/v1/projects/MULTI`);
		assert.equal(denied.status, 401);
	});
});
