// What a hatchery driver that keeps persistent workspaces (it implements `deleteWorkspace`) must
// do, against a real cluster (NATS + a MongoDB-wire server), the hatchery in a node of its own
// (`CDS_HATCHERY_DRIVER=<kind>`): a node's `persistent_workspace` written by one run is read by
// the next run on the same branch, a run on another branch has its own, and deleting the
// workflow makes the hatchery delete what its driver kept (the store's record goes once it has).
// A driver's suite calls `describeWorkspaceConformance(kind, setup)` (see
// test/integration/hatchery-local-workspace-conformance.test.ts).

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { MongoStore } from "../../src/store/index.ts";
import { type NodeProcess, spawnNode, testCluster } from "../helpers/cluster.ts";
import { apiClient, waitReady } from "../helpers/server.ts";
import { serverUrl } from "../helpers/servers.ts";

export interface WorkspaceConformanceSetup {
	/** Environment of a hatchery of this driver besides the cluster's; `work` is a fresh directory. */
	hatcheryEnv(name: string, work: string): Record<string, string>;
}

const WF = "/api/v1/projects/PWSC/workflows";
const FINAL = new Set(["Success", "Fail", "Stopped", "Skipped"]);

export function describeWorkspaceConformance(
	kind: string,
	setup: () => WorkspaceConformanceSetup | Promise<WorkspaceConformanceSetup>,
): void {
	const nats = serverUrl("NATS_URL");
	const mongo = serverUrl("MONGO_URL");

	describe(`persistent workspace conformance: ${kind}`, { skip: nats.skip || mongo.skip }, () => {
		const nodes: NodeProcess[] = [];
		let api: ReturnType<typeof apiClient>;
		let dbUrl: string;
		let work: string;

		async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 120_000) {
			const deadline = Date.now() + timeoutMs;
			for (;;) {
				const v = await fn();
				if (v) return v;
				if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
				await new Promise((r) => setTimeout(r, 200));
			}
		}

		const run = async (branch: string) => {
			const r = await api("POST", `${WF}/PWS/runs`, { params: { "git.branch": branch } });
			assert.equal(r.status, 201, JSON.stringify(r.body));
			const n = r.body.number as number;
			const done = await until(`run #${n}`, async () => {
				const got = (await api("GET", `${WF}/PWS/runs/${n}`)).body;
				return FINAL.has(got?.status) ? got : undefined;
			});
			assert.equal(done.status, "Success", JSON.stringify(done.nodes));
			const page = (await api("GET", `${WF}/PWS/runs/${n}/logs?limit=5000`)).body;
			return { n, log: page.items.map((l: { text: string }) => l.text).join("") as string };
		};

		before(async () => {
			const s = await setup();
			work = mkdtempSync(path.join(tmpdir(), `cds-pws-conformance-${kind}-`));
			const cluster = await testCluster(
				"cds_pws_conformance",
				{ natsUrl: nats.url!, mongoUrl: mongo.url! },
				{ CDS_WORKER_HEARTBEAT_SECONDS: "1", CDS_WORKER_HEARTBEAT_TIMEOUT_MS: "5000" },
			);
			dbUrl = cluster.dbUrl;
			const core = spawnNode("core", { ...cluster.env, SERVICES: "api,auth,project,workflow,run" });
			nodes.push(core);
			await waitReady(cluster.url, 60_000).catch((e) => {
				throw new Error(`${e.message}\n${core.output.join("")}`);
			});
			nodes.push(
				spawnNode("pws-h", {
					...cluster.env,
					...s.hatcheryEnv("pws-h", work),
					SERVICES: "hatchery",
					CDS_HATCHERY_DRIVER: kind,
					CDS_HATCHERY_NAME: "pws-h",
					CDS_HATCHERY_MODELS: "pws-model",
					CDS_HATCHERY_POLL_MS: "200",
				}),
			);
			api = apiClient(cluster.url, cluster.env.CDS_ADMIN_TOKEN!);
			assert.equal((await api("POST", "/api/v1/projects", { key: "PWSC", name: "Workspaces" })).status, 201);
			const files = [
				{
					path: "PWS.yml",
					content:
						"name: PWS\nversion: v1.0\npipeline: keep\npersistent_workspace: {name: data, size: 1GB}\n",
				},
				{
					path: "keep.pip.yml",
					content: [
						"version: v1.0",
						"name: keep",
						"jobs:",
						"- job: keep",
						"  requirements:",
						"  - model: pws-model",
						"  steps:",
						"  - script: |",
						'      test -n "$CDS_PERSISTENT_WORKSPACE" && test -w "$CDS_PERSISTENT_WORKSPACE"',
						'      echo "seen: $(cat "$CDS_PERSISTENT_WORKSPACE/marker" 2>/dev/null || echo nothing)"',
						'      echo "run $CDS_RUN_NUMBER" > "$CDS_PERSISTENT_WORKSPACE/marker"',
						"",
					].join("\n"),
				},
			];
			const r = await api("POST", "/api/v1/projects/PWSC/import", { files });
			assert.equal(r.status, 200, JSON.stringify(r.body));
		});

		after(async () => {
			for (const n of nodes) await n.stop().catch(() => {});
			const store = await MongoStore.connect(dbUrl).catch(() => undefined);
			await store?.dropDatabase().catch(() => {});
			await store?.close();
			rmSync(work, { recursive: true, force: true });
		});

		test("a workspace survives to the next run on its branch, not to another branch's", async () => {
			const first = await run("main");
			assert.match(first.log, /seen: nothing\n/);
			const second = await run("main");
			assert.match(second.log, new RegExp(`seen: run ${first.n}\\n`));
			const dev = await run("dev");
			assert.match(dev.log, /seen: nothing\n/);
		});

		test("deleting the workflow: the hatchery deletes what its driver kept", async () => {
			const store = await MongoStore.connect(dbUrl);
			try {
				const workspaces = await store.collection({ name: "workspaces" });
				assert.equal(await workspaces.count({}), 2, "one per branch");
				assert.equal((await api("DELETE", `${WF}/PWS`)).status, 200);
				// The record goes once every hatchery that kept the workspace deleted it.
				await until("the workspaces deleted", async () => (await workspaces.count({})) === 0);
			} finally {
				await store.close();
			}
		});
	});
}
