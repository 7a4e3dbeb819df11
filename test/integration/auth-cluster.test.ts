// Two gateways, each with its own auth service, over NATS: a token revoked through one stops
// working through the other at once, although the other had just resolved it (and keeps what it
// read of a token for a few seconds: src/auth/token-cache.ts).

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { TOKEN_CACHE_TTL_MS } from "../../src/auth/token-cache.ts";
import { type NodeProcess, tearDownCluster, testCluster, twoGateways } from "../helpers/cluster.ts";
import { apiClient } from "../helpers/server.ts";
import { serverUrl } from "../helpers/servers.ts";

const nats = serverUrl("NATS_URL");
const mongo = serverUrl("MONGO_URL");

describe("cluster: token revocation reaches every auth node", { skip: nats.skip || mongo.skip }, () => {
	const nodes: NodeProcess[] = [];
	let dbUrl: string | undefined;
	after(() => tearDownCluster(nodes, [dbUrl]));

	test("a token revoked through one gateway is refused by the other within a second", async () => {
		const cluster = await testCluster("cds_auth_cluster", { natsUrl: nats.url!, mongoUrl: mongo.url! });
		dbUrl = cluster.dbUrl;
		const { urlB: otherUrl } = await twoGateways(
			cluster,
			nodes,
			{ name: "auth-a" },
			{ name: "auth-b", env: { SERVICES: "api,auth" } },
		);
		const admin = cluster.env.CDS_ADMIN_TOKEN!;
		const a = apiClient(cluster.url, admin);
		const b = apiClient(otherUrl, admin);
		const created = await a("POST", "/api/v1/auth/tokens", { role: "read" });
		assert.equal(created.status, 201, JSON.stringify(created.body));
		const token = (created.body as { token: string }).token;
		const id = (created.body as { id: string }).id;
		// Resolved through B: B's auth node now holds the token's document.
		assert.equal((await b("GET", "/api/v1/auth/me", undefined, token)).status, 200);
		assert.equal((await b("GET", "/api/v1/auth/me", undefined, token)).status, 200);

		assert.equal((await a("DELETE", `/api/v1/auth/tokens/${id}`)).status, 200);
		const revokedAt = Date.now();
		let status = 0;
		while (Date.now() - revokedAt < 1_000) {
			status = (await b("GET", "/api/v1/auth/me", undefined, token)).status;
			if (status === 401) break;
			await new Promise((r) => setTimeout(r, 20));
		}
		assert.equal(status, 401, "B still accepted the revoked token a second after the revocation");
		// Not the cache's expiry: that takes longer.
		assert.ok(Date.now() - revokedAt < TOKEN_CACHE_TTL_MS);
	});
});
