// A cluster for the Mesos suites that need more than the conformance suite: the API and run
// services in one node, Mesos hatcheries in nodes of their own against one stand-in master,
// and what the tests ask of runs (import a workflow, start it, wait for its end, read its logs).

import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { MesosMasterStandIn } from "../standins/mesos/master.ts";
import {
	type NodeProcess,
	spawnNode,
	stepWritableDir,
	tearDownCluster,
	testCluster,
} from "../helpers/cluster.ts";
import { apiClient, waitReady } from "../helpers/server.ts";
import { mesosEnv } from "./mesos-helpers.ts";

const FINAL = new Set(["Success", "Fail", "Stopped", "Skipped"]);

export interface RunView {
	status: string;
	nodes: Array<{ stages: Array<{ jobs: Array<{ status: string; reason?: string }> }> }>;
}

export async function mesosCluster(
	project: string,
	servers: { natsUrl: string; mongoUrl: string },
	master: MesosMasterStandIn,
) {
	const nodes: NodeProcess[] = [];
	const work = mkdtempSync(path.join(tmpdir(), "cds-mesos-"));
	const shared = stepWritableDir(path.join(work, "shared"));
	const cluster = await testCluster(`cds_mesos_${project.toLowerCase()}`, servers, {
		CDS_WORKER_HEARTBEAT_SECONDS: "1",
		CDS_WORKER_HEARTBEAT_TIMEOUT_MS: "5000",
	});
	const core = spawnNode("core", { ...cluster.env, SERVICES: "api,auth,project,workflow,run" });
	nodes.push(core);
	await waitReady(cluster.url, 60_000).catch((e) => {
		throw new Error(`${e.message}\n${core.output.join("")}`);
	});
	const api = apiClient(cluster.url, cluster.env.CDS_ADMIN_TOKEN!);
	assert.equal((await api("POST", "/api/v1/projects", { key: project, name: project })).status, 201);
	const wf = `/api/v1/projects/${project}/workflows`;

	const until = async <T>(
		what: string,
		fn: () => Promise<T | undefined | false>,
		timeoutMs = 60_000,
	): Promise<T> => {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const v = await fn();
			if (v) return v;
			if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
			await new Promise((r) => setTimeout(r, 150));
		}
	};

	return {
		api,
		work,
		shared,
		until,
		hatchery(name: string, extra: Record<string, string> = {}): NodeProcess {
			const n = spawnNode(name, {
				...cluster.env,
				...mesosEnv(master, name, work),
				SERVICES: "hatchery",
				CDS_HATCHERY_DRIVER: "mesos",
				CDS_HATCHERY_NAME: name,
				CDS_HATCHERY_MODELS: name,
				CDS_HATCHERY_POLL_MS: "200",
				...extra,
			});
			nodes.push(n);
			return n;
		},
		/** Imports a workflow of one pipeline whose jobs (`- job: …` YAML items) are given. */
		async workflow(name: string, jobs: string, stages = ""): Promise<void> {
			const files = [
				{ path: `${name}.yml`, content: `name: ${name}\nversion: v1.0\npipeline: ${name}-p\n` },
				{ path: `${name}-p.pip.yml`, content: `version: v1.0\nname: ${name}-p\n${stages}jobs:\n${jobs}` },
			];
			const r = await api("POST", `/api/v1/projects/${project}/import`, { files });
			assert.equal(r.status, 200, JSON.stringify(r.body));
		},
		/** One job requiring model `model` that runs `script`. */
		job(model: string, script: string, name = "j", extra = ""): string {
			const body = script
				.split("\n")
				.map((l) => `      ${l}`)
				.join("\n");
			return `- job: ${name}\n${extra}  requirements:\n  - model: ${model}\n  steps:\n  - script: |\n${body}\n`;
		},
		async start(name: string): Promise<number> {
			const r = await api("POST", `${wf}/${name}/runs`, {});
			assert.equal(r.status, 201, JSON.stringify(r.body));
			return r.body.number;
		},
		async run(name: string, n: number): Promise<RunView> {
			return (await api("GET", `${wf}/${name}/runs/${n}`)).body;
		},
		async wait(name: string, n: number, timeoutMs = 90_000): Promise<RunView> {
			return until(
				`run ${name} #${n} to end`,
				async () => {
					const r = (await api("GET", `${wf}/${name}/runs/${n}`)).body as RunView;
					return FINAL.has(r?.status) ? r : undefined;
				},
				timeoutMs,
			);
		},
		async logs(name: string, n: number): Promise<string> {
			return ((await api("GET", `${wf}/${name}/runs/${n}/logs`)).body?.items ?? [])
				.map((l: { text: string }) => l.text)
				.join("");
		},
		async close(): Promise<void> {
			await tearDownCluster(nodes, [cluster.dbUrl], [work]);
		},
	};
}

export type MesosCluster = Awaited<ReturnType<typeof mesosCluster>>;
