// Health check hooks (HTTP, TCP, UDP) on two hook replicas over real NATS and FerretDB, against
// servers this test starts and stops: a target going down starts one run, coming back one more,
// never a run per probe; the leader killed -9, the other replica carries on from the stored state
// and fires no duplicate; a target outside the outbound allow-list is the binding's error, not a run.

import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import http from "node:http";
import { createServer, type Server, type Socket as TcpSocket } from "node:net";
import { after, before, describe, test } from "node:test";
import type { NodeProcess } from "../helpers/cluster.ts";
import { type ProbeCluster, skip, sleep, startProbeCluster, waitFor } from "./support/probe-hooks.ts";

// Short intervals for a quick suite; a timeout long enough that a loaded machine's slow answer is
// not taken for a target down.
const probe = "interval: 200ms\n    timeout: 1500ms\n    failure_threshold: 2\n    recovery_threshold: 2";

describe("health check hooks over NATS and FerretDB", { skip }, () => {
	let cluster: ProbeCluster;
	let httpServer: http.Server;
	let httpStatus = 200;
	let httpPort = 0;
	let tcpServer: Server | null = null;
	let tcpPort = 0;
	const tcpSockets = new Set<TcpSocket>();
	let udp: Socket;
	let udpAnswers = true;
	const replicas: NodeProcess[] = [];

	const startTcp = async (port = 0) => {
		tcpServer = createServer((s) => {
			tcpSockets.add(s);
			s.on("close", () => tcpSockets.delete(s));
		});
		await new Promise<void>((r) => tcpServer!.listen(port, "127.0.0.1", r));
		tcpPort = (tcpServer.address() as { port: number }).port;
	};
	const stopTcp = async () => {
		for (const s of tcpSockets) s.destroy();
		await new Promise<void>((r) => tcpServer!.close(() => r()));
		tcpServer = null;
	};
	/** Which replica leads (serves the checks) now. */
	const leader = async (): Promise<NodeProcess | null> => {
		for (const node of replicas) {
			if (node.child.exitCode !== null || node.child.signalCode !== null) continue;
			const answer = (await cluster.home.server.broker
				.call("hook-healthcheck.bindings", {}, { nodeID: node.name })
				.catch(() => null)) as { active: boolean; bindings: unknown[] } | null;
			if (answer?.active && answer.bindings.length > 0) return node;
		}
		return null;
	};
	const states = async () => {
		const docs = await cluster.sourceState("healthcheck");
		return docs.map((d) => d.value.status as string);
	};

	before(async () => {
		cluster = await startProbeCluster("hc");
		httpServer = http.createServer((_req, res) => {
			res.writeHead(httpStatus, { "content-type": "text/plain" });
			res.end(httpStatus === 200 ? "ready: yes" : "ready: no");
		});
		await new Promise<void>((r) => httpServer.listen(0, "127.0.0.1", r));
		httpPort = (httpServer.address() as { port: number }).port;
		await startTcp();
		udp = createSocket("udp4");
		udp.on("message", (msg, rinfo) => {
			if (udpAnswers && msg.toString() === "ping") udp.send("pong 1", rinfo.port, rinfo.address);
		});
		await new Promise<void>((r) => udp.bind(0, "127.0.0.1", r));

		await cluster.importWorkflow(
			"hc-http",
			`- type: HTTP health check\n  config:\n    url: http://127.0.0.1:${httpPort}/ready\n    body_match: "ready: yes"\n    ${probe}`,
		);
		await cluster.importWorkflow(
			"hc-tcp",
			`- type: TCP health check\n  config:\n    host: 127.0.0.1\n    port: ${tcpPort}\n    ${probe}`,
		);
		await cluster.importWorkflow(
			"hc-udp",
			`- type: UDP health check\n  config:\n    host: 127.0.0.1\n    port: ${udp.address().port}\n    send: ping\n    expect: "^pong"\n    ${probe}`,
		);
		const extra = { CDS_HOOKS_HEALTHCHECK_MIN_INTERVAL_MS: "100" };
		replicas.push(await cluster.spawnHookNode("hc-a", "hook-healthcheck", extra));
		replicas.push(await cluster.spawnHookNode("hc-b", "hook-healthcheck", extra));
	});
	after(async () => {
		await cluster?.stop();
		httpServer?.close();
		if (tcpServer) await stopTcp();
		udp?.close();
	});

	test("down starts one run, up again one more, never a run per probe (HTTP, TCP, UDP)", async () => {
		await waitFor("the three targets to be up", async () => {
			const s = await states();
			return s.length === 3 && s.every((x) => x === "up");
		});
		for (const w of ["hc-http", "hc-tcp", "hc-udp"])
			assert.deepEqual(await cluster.runs(w), [], `${w}: healthy from the start: no run`);

		httpStatus = 503;
		await stopTcp();
		udpAnswers = false;
		for (const w of ["hc-http", "hc-tcp", "hc-udp"])
			await waitFor(`${w} to start a run for down`, async () => (await cluster.runs(w)).length >= 1);
		// About ten more failed probes: still one run each.
		await sleep(2000);
		for (const w of ["hc-http", "hc-tcp", "hc-udp"]) {
			const runs = await cluster.runs(w);
			assert.equal(runs.length, 1, `${w}: one run for one change of state`);
			assert.equal(runs[0]!.vars["state"], "down");
			assert.equal(runs[0]!.vars["previous"], "up");
			assert.equal(runs[0]!.vars["cds.hook.state"], "down");
			assert.equal(runs[0]!.vars["cds.hook.type"], `${w.slice(3).toUpperCase()} health check`);
			assert.equal(runs[0]!.vars["probe.ok"], "false");
			assert.ok(runs[0]!.vars["probe.latency_ms"] !== undefined);
		}
		const http1 = (await cluster.runs("hc-http"))[0]!;
		assert.equal(http1.vars["probe.status"], "503");
		assert.equal(http1.vars["target"], `http://127.0.0.1:${httpPort}/ready`);
		assert.equal(http1.vars["transition"], "1");
		assert.ok(
			(await cluster.runs("hc-tcp"))[0]!.vars["probe.error"],
			"the TCP probe's error is in the payload",
		);

		httpStatus = 200;
		await startTcp(tcpPort);
		udpAnswers = true;
		for (const w of ["hc-http", "hc-tcp", "hc-udp"])
			await waitFor(`${w} to start a run for up`, async () => (await cluster.runs(w)).length >= 2);
		await sleep(1500);
		for (const w of ["hc-http", "hc-tcp", "hc-udp"]) {
			const runs = await cluster.runs(w);
			assert.equal(runs.length, 2, `${w}: two changes, two runs`);
			assert.deepEqual([runs[1]!.vars["state"], runs[1]!.vars["previous"]], ["up", "down"]);
			assert.equal(runs[1]!.vars["probe.ok"], "true");
		}

		// Operators see each event, processed, with the run it started.
		const events = await cluster.home.api("GET", `/api/v1/projects/${cluster.project}/hooks/events?limit=50`);
		assert.equal(events.status, 200, JSON.stringify(events.body));
		const hc = events.body.items.filter((e: { source: string }) => e.source === "healthcheck");
		assert.equal(hc.length, 6);
		assert.ok(
			hc.every((e: { state: string }) => e.state === "done"),
			JSON.stringify(hc),
		);
	});

	test("the leader killed -9: the other replica carries on from the stored state, no duplicate run", async () => {
		const first = await leader();
		assert.ok(first, "one replica leads");
		const before = (await cluster.runs("hc-http")).length;
		httpStatus = 500;
		// Killed while the target is going down: the change may be seen by the old leader, the new one, or both.
		await sleep(250);
		await first.kill9();
		await waitFor(
			"the HTTP check's down run",
			async () => (await cluster.runs("hc-http")).length > before,
			20_000,
		);
		let second: NodeProcess | null = null;
		await waitFor("the other replica to take over", async () => {
			second = await leader();
			return second !== null;
		});
		assert.notEqual(second, first);
		// The new leader probes the failing target again and again: it finds the change recorded.
		await sleep(1500);
		const runs = await cluster.runs("hc-http");
		assert.equal(runs.length, before + 1, "one run for the change, whoever saw it");
		assert.equal(runs.at(-1)!.vars["state"], "down");
		assert.equal(runs.at(-1)!.vars["transition"], "3", "numbered after the previous leader's transitions");
		httpStatus = 200;
		await waitFor(
			"the HTTP check's up run",
			async () => (await cluster.runs("hc-http")).length === before + 2,
		);
		await sleep(1000);
		assert.equal((await cluster.runs("hc-http")).length, before + 2);
		// The other checks, which did not change, started nothing on the new leader.
		assert.equal((await cluster.runs("hc-tcp")).length, 2);
		assert.equal((await cluster.runs("hc-udp")).length, 2);
	});

	test("a target outside the outbound allow-list is the binding's error, not a run", async () => {
		await cluster.importWorkflow(
			"hc-refused",
			`- type: TCP health check\n  config:\n    host: 10.255.255.1\n    port: 22\n    ${probe}`,
		);
		let status: { state: string; error: string | null } | undefined;
		await waitFor("the refused binding to report its error", async () => {
			const node = await leader();
			if (!node) return false;
			const answer = (await cluster.home.server.broker.call(
				"hook-healthcheck.bindings",
				{},
				{ nodeID: node.name },
			)) as {
				bindings: Array<{ workflow: string; state: string; error: string | null }>;
			};
			status = answer.bindings.find((b) => b.workflow === "hc-refused");
			return status?.state === "retrying";
		});
		assert.match(status!.error!, /private address.*CDS_OUTBOUND_ALLOW/);
		assert.deepEqual(await cluster.runs("hc-refused"), []);
	});
});
