// The cluster's NATS requires credentials (CI starts it so, like the compose file): a client
// without them is refused, nodes join with the URL's userinfo or with NATS_USER and
// NATS_PASSWORD_FILE, and the password shows neither in a node's log (at debug level) nor in
// its /proc/<pid>/environ.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { ServiceBroker } from "moleculer";
import { connect } from "nats";
import { natsEndpoint } from "../../config/nats-auth.ts";
import { spawnNode, type NodeProcess } from "../helpers/cluster.ts";
import { freePort, waitReady } from "../helpers/server.ts";
import { serverUrl, uniqueDbName } from "../helpers/servers.ts";

const nats = serverUrl("NATS_URL");
const endpoint = nats.url ? natsEndpoint("NATS_URL", nats.url) : undefined;
const credentials = endpoint?.credentials;
if (endpoint && !credentials && process.env.CI === "true")
	throw new Error("CI=true but NATS_URL has no credentials: .ci/run must start NATS with authentication");
const skip =
	nats.skip ||
	(!credentials || !("user" in credentials)
		? "NATS_URL has no user and password (this NATS lets anyone in)"
		: false);

describe("NATS with authentication", { skip }, () => {
	const namespace = uniqueDbName("cds_nats_auth");
	const nodes: NodeProcess[] = [];
	const dir = mkdtempSync(path.join(tmpdir(), "cds-nats-auth-"));
	const { user, pass } = credentials as { user: string; pass: string };

	async function start(name: string, env: Record<string, string>) {
		const port = await freePort();
		const node = spawnNode(name, {
			CDS_NAMESPACE: namespace,
			CDS_API_PORT: String(port),
			CDS_API_HOST: "127.0.0.1",
			LOG_LEVEL: "debug",
			...env,
		});
		nodes.push(node);
		await waitReady(`http://127.0.0.1:${port}`, 60_000).catch((e) => {
			throw new Error(`${e.message}\n${node.output.join("").slice(-4000)}`);
		});
		return node;
	}

	before(async () => {
		writeFileSync(path.join(dir, "nats-password"), `${pass}\n`, { mode: 0o600 });
		await start("auth-url", { NATS_URL: nats.url! });
		await start("auth-file", {
			NATS_URL: endpoint!.url,
			NATS_USER: user,
			NATS_PASSWORD_FILE: path.join(dir, "nats-password"),
		});
	});
	after(async () => {
		for (const n of nodes) await n.stop();
		rmSync(dir, { recursive: true, force: true });
	});

	test("a client without credentials is refused", async () => {
		await assert.rejects(
			connect({ servers: endpoint!.url, maxReconnectAttempts: 0 }),
			(e: Error & { code?: string }) => {
				assert.match(`${e.code} ${e.message}`, /AUTHORIZATION_VIOLATION|Authorization Violation/i);
				return true;
			},
		);
	});

	test("a client with a wrong password is refused", async () => {
		await assert.rejects(
			connect({ servers: endpoint!.url, user, pass: `${pass}-wrong`, maxReconnectAttempts: 0 }),
			/Authorization Violation/i,
		);
	});

	test("nodes joined with the URL's credentials and with NATS_USER + NATS_PASSWORD_FILE", async () => {
		const probe = new ServiceBroker({
			namespace,
			nodeID: `probe-${process.pid}`,
			transporter: { type: "NATS", options: { url: nats.url! } },
			logger: false,
		});
		await probe.start();
		try {
			const seen = async () =>
				((await probe.call("$node.list", { onlyAvailable: true })) as Array<{ id: string }>).map((n) => n.id);
			const deadline = Date.now() + 30_000;
			let ids = await seen();
			while (!(ids.includes("auth-url") && ids.includes("auth-file")) && Date.now() < deadline) {
				await new Promise((r) => setTimeout(r, 200));
				ids = await seen();
			}
			assert.ok(ids.includes("auth-url") && ids.includes("auth-file"), ids.join(", "));
		} finally {
			await probe.stop();
		}
	});

	test("the password is in no node's log nor /proc/<pid>/environ", () => {
		for (const node of nodes) {
			const log = node.output.join("");
			assert.match(log, /NATS client is connected/, `${node.name} logged its connection (debug)`);
			assert.ok(!log.includes(pass), `${node.name}'s log shows the NATS password`);
			const environ = readFileSync(`/proc/${node.child.pid}/environ`, "latin1");
			assert.ok(environ.includes(`NODE_ID=${node.name}`), "the read sees the environment");
			assert.ok(!environ.includes(pass), `${node.name}'s /proc/<pid>/environ shows the NATS password`);
		}
	});
});
