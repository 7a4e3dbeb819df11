// The gateway's catalog of routes (read from the services' schemas, without running them) must
// be exactly the routes moleculer-web serves when every service runs: a route missing from it
// would answer 404 while its node is down, an extra one 503 forever.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { knownRestRoutes } from "../../services/support/route-catalog.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

let server: TestServer;
before(async () => {
	server = await startTestServer();
});
after(async () => {
	await server?.stop();
});

test("the route catalog equals the gateway's routes with every service up", async () => {
	const api = server.server.broker.getLocalService("api") as unknown as {
		aliases: Array<{ method: string; fullPath?: string; action?: string; _generated?: boolean }>;
	};
	const served = api.aliases
		.filter((a) => a._generated && a.action && a.fullPath?.startsWith("/api/v1/"))
		.map((a) => `${a.method} ${a.fullPath} ${a.action}`)
		.sort();
	const known = (await knownRestRoutes(server.server.config, "/api/v1"))
		.map((r) => `${r.method} ${r.path} ${r.action}`)
		.sort();
	assert.ok(served.length > 50, `the gateway serves the services' routes (${served.length})`);
	assert.deepEqual(known, served);
});
