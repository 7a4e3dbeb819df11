// The web UI's live run stream survives the death of the API node serving it: two gateways over
// NATS and one store; the browser's session cookie (opened through A) streams a run from B, B is
// killed mid-run, and the stream resumes on A with B's last Last-Event-ID — every stored log entry
// arrives exactly once, in order (src/ui/sse.ts, services/support/ui-events.ts).

import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { type NodeProcess, spawnNode, tearDownCluster, testCluster } from "../helpers/cluster.ts";
import { apiClient, freePort, waitReady } from "../helpers/server.ts";
import { serverUrl } from "../helpers/servers.ts";
import { readSse } from "./sse-client.ts";

const nats = serverUrl("NATS_URL");
const mongo = serverUrl("MONGO_URL");

describe("the live run stream resumes on another API node", { skip: nats.skip || mongo.skip }, () => {
	const nodes: NodeProcess[] = [];
	let dbUrl: string | undefined;
	let gate: string | undefined;
	after(() => tearDownCluster(nodes, [dbUrl], [gate]));

	test("kill the node serving the stream: Last-Event-ID on the other node misses and repeats nothing", async () => {
		gate = mkdtempSync(path.join("/var/tmp", "cds-ui-failover-"));
		chmodSync(gate, 0o755);
		const cluster = await testCluster("cds_ui_failover", { natsUrl: nats.url!, mongoUrl: mongo.url! });
		dbUrl = cluster.dbUrl;
		const bUrl = `http://127.0.0.1:${await freePort()}`;
		nodes.push(spawnNode("ui-a", { ...cluster.env, CDS_SANDBOX_SHARE: gate, CDS_HATCHERY_POLL_MS: "100" }));
		const b = spawnNode("ui-b", {
			...cluster.env,
			SERVICES: "api,auth",
			CDS_API_PORT: new URL(bUrl).port,
			CDS_PUBLIC_URL: bUrl,
		});
		nodes.push(b);
		await waitReady(cluster.url, 60_000);
		await waitReady(bUrl, 60_000);
		const api = apiClient(cluster.url, cluster.env.CDS_ADMIN_TOKEN!);
		assert.equal((await api("POST", "/api/v1/projects", { key: "SSE", name: "SSE" })).status, 201);
		const files = [
			{ path: "live.yml", content: "name: live\nversion: v2.0\nworkflow:\n  talk:\n    pipeline: talk\n" },
			{
				path: "talk.pip.yml",
				content: [
					"version: v1.0",
					"name: talk",
					"jobs:",
					"- job: talk",
					"  steps:",
					"  - script:",
					"    - 'for i in $(seq 1 300); do echo \"before $i\"; done'",
					`    - 'while [ ! -f ${gate}/go ]; do sleep 0.1; done'`,
					"    - 'for i in $(seq 1 300); do echo \"after $i\"; sleep 0.005; done'",
					"",
				].join("\n"),
			},
		];
		assert.equal((await api("POST", "/api/v1/projects/SSE/import", { files })).status, 200);
		assert.equal((await api("POST", "/api/v1/projects/SSE/workflows/live/runs", {})).status, 201);

		// The session opened through A is a cookie B accepts too: sessions live in the store.
		const signIn = await fetch(`${cluster.url}/api/v1/ui/session`, {
			method: "POST",
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ token: cluster.env.CDS_ADMIN_TOKEN }),
		});
		assert.equal(signIn.status, 201);
		const cookie = signIn.headers.get("set-cookie")!.split(";")[0]!;
		const stream = "/api/v1/ui/projects/SSE/workflows/live/runs/1/events";

		// From B until it has sent some lines; then B dies.
		let killed = false;
		const fromB = readSse(`${bUrl}${stream}`, { cookie }, () => false);
		for (let i = 0; ; i++) {
			const logs = await api("GET", "/api/v1/projects/SSE/workflows/live/runs/1/logs");
			if (logs.body.items?.some((l: { text: string }) => l.text.includes("before 300"))) break;
			assert.ok(i < 600, "the step never logged");
			await new Promise((r) => setTimeout(r, 100));
		}
		await new Promise((r) => setTimeout(r, 1_500));
		await b.kill9();
		killed = true;
		const first = await fromB;
		assert.ok(killed);
		assert.equal(first.status, 200);
		const firstLogs = first.events.filter((e) => e.event === "log");
		assert.ok(firstLogs.length > 0, "B sent no line before it died");
		const lastId = first.events[first.events.length - 1]!.id;
		assert.ok(lastId, "every message carries an id");

		// The run goes on; the stream resumes on A from B's last id.
		writeFileSync(path.join(gate, "go"), "");
		const second = await readSse(
			`${cluster.url}${stream}`,
			{ cookie, "last-event-id": lastId },
			(e) => e.event === "end",
		);
		assert.equal(second.status, 200);
		assert.equal(second.events.at(-1)?.event, "end", "the resumed stream ends with the run");
		const secondLogs = second.events.filter((e) => e.event === "log");
		assert.ok(secondLogs.length > 0);

		// Every stored entry exactly once, in order.
		const stored: Array<{ id: string; text: string }> = [];
		let cursor = "";
		for (;;) {
			const page = (
				await api(
					"GET",
					`/api/v1/projects/SSE/workflows/live/runs/1/logs?limit=5000${cursor ? `&cursor=${cursor}` : ""}`,
				)
			).body;
			stored.push(...page.items);
			if (!page.next || page.next === cursor) break;
			cursor = page.next;
		}
		const streamed = [...firstLogs, ...secondLogs].map(
			(e) => JSON.parse(e.data) as { id: string; text: string },
		);
		assert.deepEqual(
			streamed.map((l) => l.id),
			stored.map((l) => l.id),
		);
		const text = streamed.map((l) => l.text).join("");
		for (const n of [1, 300]) {
			assert.equal(text.split(`before ${n}\n`).length, 2, `"before ${n}" exactly once`);
			assert.equal(text.split(`after ${n}\n`).length, 2, `"after ${n}" exactly once`);
		}
	});
});
