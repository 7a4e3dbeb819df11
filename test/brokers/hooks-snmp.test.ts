// The SNMP trap hook on two replicas over real NATS and FerretDB, with Debian's `snmptrap` (net-snmp
// tools, package `snmp`) as the real sender, v1 and v2c. Every datagram goes through a relay in the
// test that hands the same bytes to both replicas, and twice to the first (an agent resending):
// one run per trap all the same, with its varbinds in the payload, for the bindings whose
// filters (trap OID exact or prefix, agent, community) match it only.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { freePort } from "../helpers/server.ts";
import type { NodeProcess } from "../helpers/cluster.ts";
import {
	type ProbeCluster,
	skip as noServers,
	sleep,
	startProbeCluster,
	waitFor,
} from "./support/probe-hooks.ts";

const run = promisify(execFile);

async function hasSnmptrap(): Promise<boolean> {
	return run("snmptrap", ["--version"]).then(
		() => true,
		() => false,
	);
}
const snmptrapMissing = !(await hasSnmptrap());
if (snmptrapMissing && process.env.CI === "true")
	throw new Error("snmptrap is missing but CI=true: .ci/run's snmp step installs Debian's snmp");
const skip = noServers || (snmptrapMissing ? "snmptrap is not installed (apt-get install snmp)" : false);

async function freeUdpPort(): Promise<number> {
	// A TCP port free now is very likely free for UDP too; bind it to be sure.
	for (;;) {
		const port = await freePort();
		const s = createSocket("udp4");
		const ok = await new Promise<boolean>((resolve) => {
			s.once("error", () => resolve(false));
			s.bind(port, "127.0.0.1", () => resolve(true));
		});
		await new Promise<void>((r) => (ok ? s.close(() => r()) : r()));
		if (ok) return port;
	}
}

describe("SNMP trap hook with snmptrap over NATS and FerretDB", { skip }, () => {
	let cluster: ProbeCluster;
	let relay: Socket;
	let relayPort = 0;
	const replicaPorts: number[] = [];
	const replicas: NodeProcess[] = [];
	const persistent = mkdtempSync(path.join(tmpdir(), "snmptrap-"));

	/** Sends a trap with snmptrap to the relay. */
	const snmptrap = (args: string[]) =>
		run("snmptrap", ["-m", "", "-M", "", ...args], {
			env: { ...process.env, SNMP_PERSISTENT_DIR: persistent, SNMPCONFPATH: persistent },
		});
	const traps = async (node: NodeProcess) =>
		(await cluster.home.server.broker.call("hook-snmp.traps", {}, { nodeID: node.name })) as {
			received: number;
			listening: boolean;
		};
	const varbinds = (vars: Record<string, string>) =>
		JSON.parse(vars["varbinds"] ?? "[]") as Array<{ oid: string; type: string; value: unknown }>;

	before(async () => {
		cluster = await startProbeCluster("snmp");
		await cluster.importWorkflow(
			"snmp-v2",
			"- type: SNMP trap hook\n  config:\n    trap_oid: .1.3.6.1.4.1.8072.2.3.0.1\n    community: public",
		);
		await cluster.importWorkflow(
			"snmp-v1",
			"- type: SNMP trap hook\n  config:\n    trap_oid: 1.3.6.1.4.1.8072.2.3.0.*\n    agent: 192.0.2.99",
		);
		await cluster.importWorkflow(
			"snmp-other",
			"- type: SNMP trap hook\n  config:\n    trap_oid: 1.3.6.1.4.1.9.*",
		);
		for (const name of ["snmp-a", "snmp-b"]) {
			const port = await freeUdpPort();
			replicaPorts.push(port);
			replicas.push(
				await cluster.spawnHookNode(name, "hook-snmp", {
					CDS_HOOKS_SNMP_PORT: String(port),
					CDS_HOOKS_SNMP_ADDRESS: "127.0.0.1",
				}),
			);
		}
		relay = createSocket("udp4");
		relay.on("message", (msg) => {
			relay.send(msg, replicaPorts[0]!, "127.0.0.1");
			relay.send(msg, replicaPorts[1]!, "127.0.0.1");
			setTimeout(() => relay.send(msg, replicaPorts[0]!, "127.0.0.1"), 50);
		});
		await new Promise<void>((r) => relay.bind(0, "127.0.0.1", r));
		relayPort = relay.address().port;
		for (const node of replicas)
			await waitFor(`${node.name}'s receiver`, async () => (await traps(node)).listening);
	});
	after(async () => {
		await cluster?.stop();
		relay?.close();
	});

	test("a v2c trap heard by two replicas, and resent, starts one run with its varbinds", async () => {
		await snmptrap([
			"-v",
			"2c",
			"-c",
			"public",
			`127.0.0.1:${relayPort}`,
			"",
			"1.3.6.1.4.1.8072.2.3.0.1",
			"1.3.6.1.4.1.8072.2.3.2.1",
			"s",
			"disk full on /var",
			"1.3.6.1.4.1.8072.2.3.2.2",
			"i",
			"97",
		]);
		await waitFor("the v2c trap's run", async () => (await cluster.runs("snmp-v2")).length === 1);
		await waitFor("both replicas to hear it (three copies)", async () => {
			const [a, b] = await Promise.all(replicas.map(traps));
			return a!.received === 2 && b!.received === 1;
		});
		await sleep(1000);
		const runs = await cluster.runs("snmp-v2");
		assert.equal(runs.length, 1, "one run for one trap");
		const vars = runs[0]!.vars;
		assert.equal(vars["version"], "2c");
		assert.equal(vars["trap_oid"], "1.3.6.1.4.1.8072.2.3.0.1");
		assert.equal(vars["cds.hook.trap_oid"], "1.3.6.1.4.1.8072.2.3.0.1");
		assert.equal(vars["agent"], "127.0.0.1");
		assert.equal(vars["community"], undefined, "the community is not in the payload");
		assert.deepEqual(varbinds(vars), [
			{ oid: "1.3.6.1.4.1.8072.2.3.2.1", type: "OctetString", value: "disk full on /var" },
			{ oid: "1.3.6.1.4.1.8072.2.3.2.2", type: "Integer", value: 97 },
		]);
		assert.ok(Number(vars["uptime"]) >= 0);
		assert.deepEqual(await cluster.runs("snmp-v1"), [], "another agent");
		assert.deepEqual(await cluster.runs("snmp-other"), [], "another trap OID");
	});

	test("a v1 trap: the enterprise-specific trap OID and agent-addr filters; another community is not a match", async () => {
		await snmptrap([
			"-v",
			"1",
			"-c",
			"private",
			`127.0.0.1:${relayPort}`,
			"1.3.6.1.4.1.8072.2.3",
			"192.0.2.99",
			"6",
			"17",
			"",
			"1.3.6.1.4.1.8072.2.3.2.1",
			"s",
			"fan failure",
		]);
		await waitFor("the v1 trap's run", async () => (await cluster.runs("snmp-v1")).length === 1);
		// The v2c binding asks for community `public`: the same trap OID with another community is not its.
		await snmptrap(["-v", "2c", "-c", "other", `127.0.0.1:${relayPort}`, "", "1.3.6.1.4.1.8072.2.3.0.1"]);
		await waitFor("the last trap to arrive", async () => (await traps(replicas[1]!)).received === 3);
		await sleep(1000);
		const runs = await cluster.runs("snmp-v1");
		assert.equal(runs.length, 1);
		const vars = runs[0]!.vars;
		assert.equal(vars["version"], "1");
		assert.equal(vars["agent"], "192.0.2.99");
		assert.equal(vars["trap_oid"], "1.3.6.1.4.1.8072.2.3.0.17");
		assert.equal(vars["enterprise"], "1.3.6.1.4.1.8072.2.3");
		assert.equal(vars["specific"], "17");
		assert.deepEqual(varbinds(vars), [
			{ oid: "1.3.6.1.4.1.8072.2.3.2.1", type: "OctetString", value: "fan failure" },
		]);
		assert.equal((await cluster.runs("snmp-v2")).length, 1, "community other: no run");
		assert.deepEqual(await cluster.runs("snmp-other"), []);

		const events = await cluster.home.api("GET", `/api/v1/projects/${cluster.project}/hooks/events?limit=50`);
		const snmp = events.body.items.filter((e: { source: string }) => e.source === "snmp");
		assert.equal(snmp.length, 2, "one event per trap and binding that matched");
	});
});
