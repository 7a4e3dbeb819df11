// What the health check, SNMP trap and Marathon hook suites share: a cluster on the test's NATS and
// FerretDB — a home node in the test process (gateway, projects, workflows, runs) and hook source
// replicas as child processes (so a test can kill one -9) —, a project, workflows carrying the
// hook under test, and the runs they started, read from the store.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { type NodeProcess, spawnNode } from "../../helpers/cluster.ts";
import { startTestServer, type TestServer } from "../../helpers/server.ts";
import { mongoUrlFor, serverUrl, uniqueDbName } from "../../helpers/servers.ts";
import type { RunDoc } from "../../../schemas/run.ts";

const mongo = serverUrl("MONGO_URL");
const nats = serverUrl("NATS_URL");
export const skip = mongo.skip || nats.skip;

export async function waitFor(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 30_000) {
	const deadline = Date.now() + timeoutMs;
	while (!(await probe())) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ProbeCluster {
	env: Record<string, string>;
	home: TestServer;
	project: string;
	nodes: NodeProcess[];
	/** A hook source replica (`SERVICES=<services>`) as a child process, registered once it serves its source. */
	spawnHookNode(name: string, services: string, extra?: Record<string, string>): Promise<NodeProcess>;
	/** Imports a workflow `name` of one pipeline whose root node carries `hooksYaml` (the list under the node). */
	importWorkflow(name: string, hooksYaml: string): Promise<void>;
	/** The runs of a workflow of the project, oldest first. */
	runs(workflow: string): Promise<RunDoc[]>;
	/** The stored hook source state documents of a source. */
	sourceState(source: string): Promise<Array<{ _id: string; value: any }>>;
	stop(): Promise<void>;
}

export async function startProbeCluster(
	prefix: string,
	extraEnv: Record<string, string> = {},
): Promise<ProbeCluster> {
	const db = uniqueDbName(prefix);
	const project = `${prefix.toUpperCase().replace(/[^A-Z]/g, "")}${randomBytes(3).toString("hex").toUpperCase()}`;
	const env: Record<string, string> = {
		NATS_URL: nats.url ?? "",
		MONGO_URL: mongo.url ? mongoUrlFor(mongo.url, db) : "",
		CDS_NAMESPACE: db,
		CDS_SECRET_KEY: randomBytes(32).toString("base64"),
		CDS_HOOKS_PROCESS_INTERVAL_MS: "100",
		CDS_HOOKS_RETRY_BASE_MS: "100",
		CDS_HOOKS_RETRY_MAX_MS: "500",
		CDS_HOOKS_RECONCILE_MS: "300",
		// Short for a quick takeover, long enough that a replica slowed down by a loaded machine keeps
		// its slot (it claims the next one from half-way through the current one).
		CDS_HOOKS_LEADER_SLOT_MS: "1000",
		CDS_HOOKS_SOURCE_RETRY_BASE_MS: "100",
		CDS_HOOKS_SOURCE_RETRY_MAX_MS: "400",
		// The targets, traps' senders and the Marathon stand-in are on loopback.
		CDS_OUTBOUND_ALLOW: "127.0.0.1/32",
		...extraEnv,
	};
	// The gateway, projects, workflows, runs and the hook processor (`hook-webhook` brings it; no
	// webhook is sent). The hook sources run in their own processes and only store what they hear
	// (CDS_HOOKS_PROCESSOR=false): a replica killed -9 holds no processing lease that would delay
	// the runs of its events.
	const home = await startTestServer({
		...env,
		SERVICES: "api,auth,project,workflow,run,hook-webhook",
		NODE_ID: `${prefix}-home-${process.pid}`,
	});
	const created = await home.api("POST", "/api/v1/projects", { key: project, name: project });
	assert.equal(created.status, 201, JSON.stringify(created.body));
	const nodes: NodeProcess[] = [];
	return {
		env,
		home,
		project,
		nodes,
		async spawnHookNode(name, services, extra = {}) {
			const node = spawnNode(`${name}-${process.pid}`, {
				...env,
				SERVICES: services,
				CDS_HOOKS_PROCESSOR: "false",
				LOG_LEVEL: "warn",
				...extra,
			});
			nodes.push(node);
			const service = services.split(",").find((s) => s.startsWith("hook-"))!;
			await waitFor(
				`${name} to serve ${service}`,
				() => {
					if (node.child.exitCode !== null) throw new Error(`${name} exited: ${node.output.join("")}`);
					const list = home.server.broker.registry.getServiceList({ onlyAvailable: true }) as Array<{
						name: string;
						nodeID: string;
					}>;
					return list.some((s) => s.nodeID === node.name && s.name === service);
				},
				60_000,
			);
			return node;
		},
		async importWorkflow(name, hooksYaml) {
			const hooks = hooksYaml
				.trim()
				.split("\n")
				.map((l) => `  ${l}`)
				.join("\n");
			const files = [
				{
					path: `${name}.yml`,
					content: `name: ${name}\nversion: v2.0\nworkflow:\n  heal:\n    pipeline: heal\nhooks:\n  heal:\n${hooks}\n`,
				},
				{
					path: "heal.pip.yml",
					content: "version: v1.0\nname: heal\njobs:\n- job: heal\n  steps:\n  - script: echo healing\n",
				},
			];
			const r = await home.api("POST", `/api/v1/projects/${project}/import`, { files, force: true });
			assert.equal(r.status, 200, JSON.stringify(r.body));
		},
		async runs(workflow) {
			const c = await home.server.store.collection<RunDoc>({ name: "runs" });
			return (await c.find({ project, workflow, sub: 0 })).sort((a, b) => a.number - b.number);
		},
		async sourceState(source) {
			const c = await home.server.store.collection<{ _id: string; value: any }>({
				name: "hook_source_state",
			});
			return (await c.find({})).filter((d) => d._id.startsWith(`${source}:`));
		},
		async stop() {
			for (const n of nodes) await n.kill9().catch(() => {});
			await home.stop();
		},
	};
}
