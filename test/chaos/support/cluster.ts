// A small supervisor for the chaos suite: a CDS cluster whose nodes are `node server.ts` child
// processes (test/helpers/cluster.ts) with fixed roles, which a scenario kills (-9), stops
// (SIGTERM) and restarts by name. A restarted node keeps its role, its environment, its
// hatchery name and its workers' directory — what an operator's restart keeps.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { MongoStore } from "../../../src/store/index.ts";
import { type NodeProcess, spawnNode, stepWritableDir, testCluster } from "../../helpers/cluster.ts";
import { apiClient, waitReady } from "../../helpers/server.ts";

export interface Role {
	/** The node's name: its NODE_ID, and how a scenario names it. */
	name: string;
	/** SERVICES of the node. */
	services: string;
	/** A route with the admin token that answers 200 once this node serves it (api nodes use /health/ready). */
	readyRoute?: string;
	env?: Record<string, string>;
}

/** The three nodes of the issue: the gateway, the definitions, the engine with its workers and hooks. */
export const THREE_NODES: Role[] = [
	{
		name: "B",
		services: "project,workflow,repository,template,report",
		readyRoute: "/api/v1/projects/CHAOS",
	},
	{ name: "C", services: "run,hatchery,hook", readyRoute: "/api/v1/projects/CHAOS/workflows/OK/runs" },
	{ name: "A", services: "api,auth" },
];

export const PROJECT = "CHAOS";

export class ChaosCluster {
	readonly url: string;
	readonly env: Record<string, string>;
	readonly dbUrl: string;
	readonly api: ReturnType<typeof apiClient>;
	/** Host directory every step can write (markers, ledgers). */
	readonly shared: string;
	private readonly work: string;
	private readonly roles = new Map<string, Role>();
	private readonly nodes = new Map<string, NodeProcess>();
	/** Every process ever started, for the output of a failing scenario. */
	private readonly history: NodeProcess[] = [];

	private constructor(work: string, cluster: { url: string; env: Record<string, string>; dbUrl: string }) {
		this.work = work;
		this.url = cluster.url;
		this.env = cluster.env;
		this.dbUrl = cluster.dbUrl;
		this.api = apiClient(this.url, this.env.CDS_ADMIN_TOKEN!);
		this.shared = stepWritableDir(path.join(work, "shared"));
	}

	/** Starts the roles in order (back ends first, so the gateway's routes are known when it is ready). */
	static async start(
		servers: { natsUrl: string; mongoUrl: string },
		roles: Role[],
		env: Record<string, string> = {},
	): Promise<ChaosCluster> {
		const work = mkdtempSync(path.join(tmpdir(), "cds-chaos-"));
		const cluster = await testCluster("cds_chaos", servers, {
			CDS_WORKER_HEARTBEAT_SECONDS: "2",
			...env,
		});
		const c = new ChaosCluster(work, cluster);
		for (const role of roles) c.roles.set(role.name, role);
		// Nodes without the gateway have no readiness of their own before the gateway is up:
		// start them all, then wait for the gateway, then for each role's route.
		for (const role of roles) c.spawn(role.name);
		await c.waitReady("A");
		const created = await c.api("POST", "/api/v1/projects", { key: PROJECT, name: "Chaos" });
		if (created.status !== 201) throw new Error(`project: ${created.status} ${JSON.stringify(created.body)}`);
		for (const role of roles) await c.waitReady(role.name);
		return c;
	}

	/** Adds a node with a role not started at the beginning (a replica). */
	async add(role: Role): Promise<void> {
		this.roles.set(role.name, role);
		this.spawn(role.name);
		await this.waitReady(role.name);
	}

	node(name: string): NodeProcess {
		const n = this.nodes.get(name);
		if (!n) throw new Error(`no node ${name}`);
		return n;
	}

	private spawn(name: string): NodeProcess {
		const role = this.roles.get(name);
		if (!role) throw new Error(`no role ${name}`);
		const services = role.services.split(",");
		const extra: Record<string, string> = {};
		if (services.includes("hatchery")) {
			const workers = path.join(this.work, `workers-${name}`);
			mkdirSync(workers, { recursive: true });
			// Stable across restarts: the restarted hatchery adopts what it finds there.
			extra.CDS_HATCHERY_NAME = `chaos-${name}`;
			extra.CDS_WORKER_BASEDIR = workers;
			extra.CDS_SANDBOX_SHARE = this.shared;
			// As in production: SIGTERM drains (up to 30 s), then leaves running jobs for adoption.
			extra.CDS_HATCHERY_DRAIN_SECONDS = "30";
			extra.CDS_HATCHERY_ON_STOP = "leave";
		}
		const n = spawnNode(name, { ...this.env, ...extra, SERVICES: role.services, ...role.env });
		this.nodes.set(name, n);
		this.history.push(n);
		return n;
	}

	/** Waits until the node serves its role: the gateway says ready, or its route answers 200. */
	async waitReady(name: string, timeoutMs = 60_000): Promise<void> {
		const role = this.roles.get(name)!;
		const n = this.node(name);
		const died = n.exited.then((code) => {
			throw new Error(`node ${name} exited with ${code} while starting:\n${n.output.join("").slice(-4000)}`);
		});
		const ready = async () => {
			if (role.services.split(",").includes("api")) return waitReady(this.url, timeoutMs);
			if (!role.readyRoute) return;
			const deadline = Date.now() + timeoutMs;
			let last = "";
			while (Date.now() < deadline) {
				const r = await this.api("GET", role.readyRoute).catch((e: Error) => ({
					status: 0,
					body: e.message,
				}));
				if (r.status === 200) return;
				last = `${r.status} ${JSON.stringify(r.body).slice(0, 300)}`;
				await new Promise((res) => setTimeout(res, 200));
			}
			throw new Error(`node ${name} not serving ${role.readyRoute} after ${timeoutMs} ms: ${last}`);
		};
		await Promise.race([ready(), died]);
	}

	/** kill -9: the node loses everything in memory, as in a crash. */
	async kill9(name: string): Promise<void> {
		await this.node(name).kill9();
	}

	/** SIGTERM: the node stops as an operator stops it (drain), killed after 10 s. */
	async terminate(name: string): Promise<void> {
		// Past the drain time (30 s) the node exits by itself; SIGKILL only if it hangs.
		await this.node(name).stop(60_000);
	}

	/** Starts a stopped or killed node again with the same role and environment. */
	async start(name: string): Promise<void> {
		this.spawn(name);
		await this.waitReady(name);
	}

	/** kill -9, down for `downMs`, started again and serving. */
	async crashAndRestart(name: string, downMs: number): Promise<void> {
		await this.kill9(name);
		await new Promise((r) => setTimeout(r, downMs));
		await this.start(name);
	}

	/**
	 * Workers outlive a node killed -9 (that is the point) and retry until their job's deadline:
	 * those the hatcheries of this cluster recorded and that still run are ended with the suite.
	 */
	private killStrayWorkers(): void {
		for (const dir of readdirSync(this.work).filter((d) => d.startsWith("workers-"))) {
			for (const file of readdirSync(path.join(this.work, dir)).filter((f) => f.endsWith(".pids"))) {
				let records: { pid?: number }[] = [];
				try {
					records = JSON.parse(readFileSync(path.join(this.work, dir, file), "utf8"));
				} catch {
					continue;
				}
				for (const { pid } of records) {
					if (typeof pid !== "number") continue;
					// Only a process that is still one of this cluster's workers (pids are reused).
					let cmdline = "";
					try {
						cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
					} catch {
						continue;
					}
					if (!cmdline.includes("cds-worker")) continue;
					for (const target of [-pid, pid]) {
						try {
							process.kill(target, "SIGKILL");
						} catch {
							/* already gone */
						}
					}
				}
			}
		}
	}

	/** The last output of every process a scenario started, for an assertion's message. */
	outputs(chars = 3000): string {
		return this.history
			.map(
				(n) =>
					`--- node ${n.name} (pid ${n.child.pid}, exit ${n.child.exitCode ?? n.child.signalCode}):\n${n.output.join("").slice(-chars)}`,
			)
			.join("\n");
	}

	async stop(): Promise<void> {
		for (const n of [...this.nodes.values()].reverse()) await n.stop().catch(() => {});
		this.killStrayWorkers();
		const store = await MongoStore.connect(this.dbUrl).catch(() => undefined);
		await store?.dropDatabase().catch(() => {});
		await store?.close();
		rmSync(this.work, { recursive: true, force: true });
	}
}
