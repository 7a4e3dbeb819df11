// CDS-TS nodes as separate OS processes (`npm start`'s bin/cds-server.mjs), so tests can kill -9 them.

import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { MongoStore } from "../../src/store/index.ts";
import { freePort, waitReady } from "./server.ts";
import { mongoUrlFor, uniqueDbName } from "./servers.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

export interface NodeProcess {
	name: string;
	env: Record<string, string>;
	child: ChildProcess;
	output: string[];
	/** kill -9, and wait until the process is gone. */
	kill9(): Promise<void>;
	/** SIGTERM, then SIGKILL after `graceMs` (10 s). */
	stop(graceMs?: number): Promise<void>;
	exited: Promise<number | null>;
}

export function spawnNode(name: string, env: Record<string, string>): NodeProcess {
	const dataDir = mkdtempSync(path.join(tmpdir(), `cds-node-${name}-`));
	const fullEnv: Record<string, string> = {
		PATH: process.env.PATH ?? "/usr/bin:/bin",
		HOME: process.env.HOME ?? "/root",
		CDS_DATA_DIR: dataDir,
		LOG_LEVEL: "warn",
		NODE_ID: name,
		// A test's node stops at once and takes its workers with it (production drains and leaves
		// them for adoption: the chaos suite uses those defaults).
		CDS_HATCHERY_DRAIN_SECONDS: "0",
		CDS_HATCHERY_ON_STOP: "stop",
		...env,
	};
	const child = spawn(process.execPath, [path.join(ROOT, "bin", "cds-server.mjs")], {
		env: fullEnv,
		cwd: dataDir,
		stdio: ["ignore", "pipe", "pipe"],
	});
	const output: string[] = [];
	const keep = (chunk: Buffer) => {
		output.push(chunk.toString());
		if (process.env.CDS_TRACE_ECHO) process.stderr.write(chunk);
		if (output.length > 2000) output.splice(0, 1000);
	};
	child.stdout?.on("data", keep);
	child.stderr?.on("data", keep);
	const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
	return {
		name,
		env: fullEnv,
		child,
		output,
		exited,
		async kill9() {
			if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
			await exited;
		},
		async stop(graceMs = 10_000) {
			if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
			const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
			await exited;
			clearTimeout(timer);
		},
	};
}

export interface TestCluster {
	/** What every node of the cluster shares: transport, store database, namespace, keys, gateway. */
	env: Record<string, string>;
	dbUrl: string;
	/** The gateway's address (the node that hosts `api` listens there). */
	url: string;
}

/** A fresh cluster on the test's NATS and MongoDB: its own database and namespace, a free gateway port. */
export async function testCluster(
	prefix: string,
	servers: { natsUrl: string; mongoUrl: string },
	extra: Record<string, string> = {},
): Promise<TestCluster> {
	const db = uniqueDbName(prefix);
	const dbUrl = mongoUrlFor(servers.mongoUrl, db);
	const port = await freePort();
	const url = `http://127.0.0.1:${port}`;
	const env = {
		NATS_URL: servers.natsUrl,
		MONGO_URL: dbUrl,
		CDS_NAMESPACE: db,
		CDS_SECRET_KEY: randomBytes(32).toString("base64"),
		CDS_ADMIN_TOKEN: `admin-token-${db}`,
		CDS_API_PORT: String(port),
		CDS_API_HOST: "127.0.0.1",
		CDS_PUBLIC_URL: url,
		...extra,
	};
	return { env, dbUrl, url };
}

/**
 * Two gateways on one cluster: node `a` at the cluster's URL, node `b` on a port of its own (its
 * public URL with it), each with its own extra environment; returns once both answer ready (the
 * nodes' logs in the error otherwise). The nodes are pushed to `nodes` for tearDownCluster.
 */
export async function twoGateways(
	cluster: TestCluster,
	nodes: NodeProcess[],
	a: { name: string; env?: Record<string, string> },
	b: { name: string; env?: Record<string, string> },
): Promise<{ urlA: string; urlB: string }> {
	const urlB = `http://127.0.0.1:${await freePort()}`;
	nodes.push(spawnNode(a.name, { ...cluster.env, ...a.env }));
	nodes.push(
		spawnNode(b.name, {
			...cluster.env,
			...b.env,
			CDS_API_PORT: new URL(urlB).port,
			CDS_PUBLIC_URL: urlB,
		}),
	);
	for (const url of [cluster.url, urlB])
		await waitReady(url, 60_000).catch((e) => {
			throw new Error(`${e.message}\n${nodes.map((n) => n.output.join("")).join("\n")}`);
		});
	return { urlA: cluster.url, urlB };
}

/** A directory sandboxed steps can write although they may run as another uid than the test. */
export function stepWritableDir(dir: string): string {
	mkdirSync(dir, { recursive: true, mode: 0o777 });
	chmodSync(dir, 0o777);
	return dir;
}

/** Ends a multi-node test: stops its nodes, drops its databases, removes its directories. */
export async function tearDownCluster(
	nodes: readonly NodeProcess[],
	dbUrls: readonly (string | undefined)[],
	dirs: readonly (string | undefined)[] = [],
): Promise<void> {
	for (const n of nodes) await n.stop().catch(() => {});
	for (const url of dbUrls) {
		if (!url) continue;
		const store = await MongoStore.connect(url).catch(() => undefined);
		await store?.dropDatabase().catch(() => {});
		await store?.close();
	}
	for (const d of dirs) if (d) rmSync(d, { recursive: true, force: true });
}
