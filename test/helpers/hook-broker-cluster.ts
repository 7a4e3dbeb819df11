// A cluster for the hook sources' broker suites (test/brokers): a home node in the test process
// (gateway, projects, workflows, runs and the hook processor) and hook-source replicas as separate
// processes (so a test can kill -9 one), all over the real NATS and FerretDB; a project with a
// RabbitMQ integration and a workflow holding the hook under test, imported through the API.

import { randomBytes } from "node:crypto";
import type { Doc } from "../../src/store/types.ts";
import { type NodeProcess, spawnNode, tearDownCluster } from "./cluster.ts";
import { ALLOW_LOOPBACK_OUTBOUND, startTestServer, type TestServer } from "./server.ts";
import { mongoUrlFor, uniqueDbName } from "./servers.ts";

export const PIPELINE =
	"version: v1.0\nname: build\njobs:\n- job: compile\n  steps:\n  - script:\n    - echo hi\n";

export interface RunRow extends Doc {
	_id: string;
	number: number;
	workflow: string;
	vars: Record<string, string>;
}

export interface HookBrokerCluster {
	home: TestServer;
	env: Record<string, string>;
	replicas: NodeProcess[];
	spawnReplica(name: string, services: string): NodeProcess;
	/** Waits until the replica serves `count` bindings, all listening. */
	waitListening(service: string, node: NodeProcess, count?: number, timeoutMs?: number): Promise<void>;
	runs(project: string, workflow?: string): Promise<RunRow[]>;
	stop(): Promise<void>;
}

export async function waitFor(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 30_000) {
	const deadline = Date.now() + timeoutMs;
	while (!(await probe())) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 200));
	}
}

export async function startHookBrokerCluster(
	prefix: string,
	natsUrl: string,
	mongoUrl: string,
): Promise<HookBrokerCluster> {
	const db = uniqueDbName(prefix);
	const env: Record<string, string> = {
		...ALLOW_LOOPBACK_OUTBOUND,
		NATS_URL: natsUrl,
		MONGO_URL: mongoUrlFor(mongoUrl, db),
		CDS_NAMESPACE: db,
		CDS_SECRET_KEY: randomBytes(32).toString("base64"),
		CDS_HOOKS_RECONCILE_MS: "1000",
		CDS_HOOKS_SOURCE_RETRY_BASE_MS: "200",
		CDS_HOOKS_SOURCE_RETRY_MAX_MS: "2000",
		CDS_HOOKS_PROCESS_INTERVAL_MS: "100",
		CDS_HOOKS_LEASE_MS: "5000",
	};
	// `hook-webhook` brings the processor (`hook`) without the broker sources under test.
	const home = await startTestServer({
		...env,
		SERVICES: "api,auth,project,workflow,run,hook-webhook",
		NODE_ID: `${prefix}-home-${process.pid}`,
	});
	const replicas: NodeProcess[] = [];
	return {
		home,
		env,
		replicas,
		spawnReplica(name, services) {
			const node = spawnNode(`${prefix}-${name}-${process.pid}`, {
				...env,
				SERVICES: services,
				LOG_LEVEL: "warn",
			});
			replicas.push(node);
			return node;
		},
		async waitListening(service, node, count = 1, timeoutMs = 60_000) {
			let last: unknown = null;
			await waitFor(
				`${node.name} to listen (${JSON.stringify(last)})\n${node.output.join("").slice(-3000)}`,
				async () => {
					if (node.child.exitCode !== null) throw new Error(`${node.name} exited: ${node.output.join("")}`);
					// Asked only once the node announced the service (no "not found" warnings meanwhile).
					const services = home.server.broker.registry.getServiceList({ onlyAvailable: true }) as Array<{
						name: string;
						nodeID: string;
					}>;
					if (!services.some((x) => x.name === service && x.nodeID === node.name)) return false;
					const answer = (await home.server.broker
						.call(`${service}.bindings`, {}, { nodeID: node.name, timeout: 5000 })
						.catch((e: Error) => ({ error: e.message }))) as { bindings?: Array<{ state: string }> };
					last = answer;
					const b = answer.bindings ?? [];
					return b.length === count && b.every((x) => x.state === "listening");
				},
				timeoutMs,
			);
		},
		async runs(project, workflow) {
			const c = await home.server.store.collection<RunRow>({ name: "runs" });
			return c.find(workflow ? { project, workflow } : { project });
		},
		async stop() {
			for (const r of replicas) await r.kill9();
			await home.stop();
			await tearDownCluster([], [env.MONGO_URL]);
		},
	};
}

/** A project with a RabbitMQ integration `bus` on `rabbitUrl`, and the file set imported. */
export async function projectWithRabbit(
	home: TestServer,
	key: string,
	rabbitUrl: string,
	files: Array<{ path: string; content: string }>,
): Promise<void> {
	const ok = async (method: string, route: string, body: unknown) => {
		const r = await home.api(method, route, body);
		if (r.status >= 300) throw new Error(`${method} ${route} → ${r.status} ${JSON.stringify(r.body)}`);
		return r.body;
	};
	const url = new URL(rabbitUrl);
	await ok("POST", "/api/v1/projects", { key, name: key });
	await ok("POST", `/api/v1/projects/${key}/integrations`, {
		name: "bus",
		model: "RabbitMQ",
		config: {
			uri: { value: `amqp://${url.host}/` },
			username: { value: decodeURIComponent(url.username) },
			password: { type: "password", value: decodeURIComponent(url.password) },
		},
	});
	await ok("POST", `/api/v1/projects/${key}/import`, {
		files: [{ path: "build.pip.yml", content: PIPELINE }, ...files],
	});
}

/**
 * The project's hook events as `GET /api/v1/projects/{key}/hooks/events` lists them, with `runs`
 * as the numbers of the runs each started (the listing gives `{workflow, number}`).
 */
export async function hookEvents(
	home: TestServer,
	key: string,
): Promise<
	Array<{ id: string; source: string; state: string; origin: Record<string, string>; runs: number[] }>
> {
	const out = [];
	let cursor: string | null = null;
	do {
		const r = await home.api(
			"GET",
			`/api/v1/projects/${key}/hooks/events?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
		);
		if (r.status !== 200) throw new Error(`hooks/events → ${r.status} ${JSON.stringify(r.body)}`);
		for (const e of r.body.items as Array<any>)
			out.push({ ...e, runs: (e.runs as Array<{ number: number }>).map((run) => run.number) });
		cursor = r.body.next as string | null;
	} while (cursor);
	return out;
}
