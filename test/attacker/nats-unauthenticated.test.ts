// Attack: join the cluster's NATS as a Moleculer node without credentials and call an internal
// action — `auth.issueJobToken` mints a token for any project. Internal actions trust every
// node of the namespace, so the transport must turn strangers away: the NATS of the tests (as
// of the compose file) requires a user and password. The same call made with the cluster's
// credentials succeeds, so the attack is real and only the credentials stop it.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ServiceBroker } from "moleculer";
import { connect } from "nats";
import { natsEndpoint } from "../../config/nats-auth.ts";
import { spawnNode, type NodeProcess } from "../helpers/cluster.ts";
import { freePort, waitReady } from "../helpers/server.ts";
import { serverUrl, uniqueDbName } from "../helpers/servers.ts";

const nats = serverUrl("NATS_URL");
const endpoint = nats.url ? natsEndpoint("NATS_URL", nats.url) : undefined;
if (endpoint && !endpoint.credentials && process.env.CI === "true")
	throw new Error("CI=true but NATS_URL has no credentials: .ci/run must start NATS with authentication");
const skip =
	nats.skip || (!endpoint?.credentials && "NATS_URL has no credentials (this NATS lets anyone in)");

const ISSUE = { job: "j1", run: "r1", project: "VICTIM", ttlSeconds: 600 };

describe("attack: call internal actions through NATS without credentials", { skip }, () => {
	const namespace = uniqueDbName("cds_attack_nats");
	let victim: NodeProcess;

	before(async () => {
		const port = await freePort();
		victim = spawnNode("nats-victim", {
			NATS_URL: nats.url!,
			CDS_NAMESPACE: namespace,
			CDS_API_PORT: String(port),
			CDS_API_HOST: "127.0.0.1",
		});
		await waitReady(`http://127.0.0.1:${port}`, 60_000).catch((e) => {
			throw new Error(`${e.message}\n${victim.output.join("")}`);
		});
	});
	after(async () => victim?.stop());

	test("a plain NATS client without credentials is refused", async () => {
		await assert.rejects(
			connect({ servers: endpoint!.url, maxReconnectAttempts: 0 }),
			(e: Error & { code?: string }) => {
				assert.match(`${e.code} ${e.message}`, /AUTHORIZATION_VIOLATION|Authorization Violation/i);
				return true;
			},
		);
	});

	test("a Moleculer node without credentials cannot join, so auth.issueJobToken is unreachable", async () => {
		const attacker = new ServiceBroker({
			namespace,
			nodeID: `attacker-${process.pid}`,
			transporter: { type: "NATS", options: { servers: [endpoint!.url], maxReconnectAttempts: 0 } },
			transit: { disableReconnect: true },
			logger: false,
			requestTimeout: 5000,
		});
		const refused = new Promise<{ error?: Error }>((resolve) =>
			attacker.localBus.once("$transporter.error", resolve),
		);
		void attacker.start().catch(() => {});
		const { error } = await refused;
		assert.match(String(error?.message), /Authorization Violation/i);
		await assert.rejects(attacker.call("auth.issueJobToken", ISSUE), /not found|not available/i);
		await attacker.stop().catch(() => {});
	});

	test("with the cluster's credentials the same call mints a token (the attack is real)", async () => {
		const node = new ServiceBroker({
			namespace,
			nodeID: `insider-${process.pid}`,
			transporter: { type: "NATS", options: { url: nats.url! } },
			logger: false,
			requestTimeout: 10_000,
		});
		await node.start();
		try {
			await node.waitForServices(["auth"], 30_000);
			const issued = (await node.call("auth.issueJobToken", ISSUE)) as { token: string };
			assert.equal(typeof issued.token, "string");
			assert.ok(issued.token.length > 20);
		} finally {
			await node.stop();
		}
	});
});
