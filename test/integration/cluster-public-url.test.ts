// The gateway's public URL in a cluster of two processes over NATS: the run/hatchery/repository
// node sets no CDS_PUBLIC_URL (and a gateway port of its own where nothing listens). Alone, it
// says it knows no API URL; once the API node (CDS_PUBLIC_URL set) joins, it uses the URL that
// node announces: its workers reach the gateway, `cds.url` and the webhook URL `cds push`
// prints are the API node's.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { memoryIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { git } from "../helpers/ascode-repo.ts";
import { type NodeProcess, spawnNode, tearDownCluster, testCluster } from "../helpers/cluster.ts";
import { apiClient, freePort, waitReady } from "../helpers/server.ts";
import { serverUrl } from "../helpers/servers.ts";

const nats = serverUrl("NATS_URL");
const mongo = serverUrl("MONGO_URL");

const FILES = {
	"app.yml": "name: app\nversion: v1.0\npipeline: build\n",
	"build.pip.yml":
		"version: v1.0\nname: build\njobs:\n- job: compile\n  steps:\n  - script:\n    - echo api={{.cds.url}}\n",
};

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 60_000) {
	const deadline = Date.now() + ms;
	for (;;) {
		const value = await Promise.resolve()
			.then(probe)
			.catch(() => undefined);
		if (value !== undefined) return value;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 200));
	}
}

describe("cluster: the API URL other nodes use is the one the API node announces", {
	skip: nats.skip || mongo.skip,
}, () => {
	const nodes: NodeProcess[] = [];
	let work: string;
	let dbUrl: string;

	before(() => {
		work = mkdtempSync(path.join(tmpdir(), "cds-public-url-"));
	});
	after(() => tearDownCluster(nodes, [dbUrl], [work]));

	test("workers, cds.url and webhook URLs use the API node's CDS_PUBLIC_URL", async () => {
		const cluster = await testCluster("cds_public_url", { natsUrl: nats.url!, mongoUrl: mongo.url! });
		dbUrl = cluster.dbUrl;
		const { CDS_PUBLIC_URL: _unused, ...shared } = cluster.env;
		const port = shared.CDS_API_PORT!;
		// Another spelling of the gateway's address than where it listens: only the announcement gives it.
		const publicUrl = `http://localhost:${port}`;

		const worker = spawnNode("url-run", {
			...shared,
			SERVICES: "run,hatchery,repository",
			// Where a gateway of this node would listen: nothing does (the old default's trap).
			CDS_API_PORT: String(await freePort()),
			CDS_REPOSITORY_ALLOW_LOCAL: "true",
			CDS_HATCHERY_POLL_MS: "200",
			CDS_WORKER_BASEDIR: path.join(work, "workers"),
			LOG_LEVEL: "info",
		});
		nodes.push(worker);
		const said = (re: RegExp) => () => (re.test(worker.output.join("")) ? true : undefined);
		await waitFor("the lone node's warning", said(/no API node announces its public URL/), 30_000);

		const api = spawnNode("url-api", {
			...shared,
			SERVICES: "api,auth,project,workflow",
			CDS_PUBLIC_URL: publicUrl,
		});
		nodes.push(api);
		await waitReady(cluster.url, 30_000).catch((e) => {
			throw new Error(`${e.message}\n${api.output.join("")}`);
		});
		await waitFor(
			"the announced URL on the other node",
			said(new RegExp(`API URL ${publicUrl} \\(announced by node url-api\\)`)),
			30_000,
		);

		// cds push from a clone: the repository service (on the node without CDS_PUBLIC_URL) prints the webhook URL.
		const client = apiClient(cluster.url, shared.CDS_ADMIN_TOKEN!);
		assert.equal((await client("POST", "/api/v1/projects", { key: "URL", name: "Url" })).status, 201);
		git(work, "init", "--quiet", "--bare", "--initial-branch=master", "remote.git");
		git(work, "clone", "--quiet", path.join(work, "remote.git"), "clone");
		const clone = path.join(work, "clone");
		mkdirSync(path.join(clone, ".cds"));
		for (const [name, content] of Object.entries(FILES))
			writeFileSync(path.join(clone, ".cds", name), content);
		git(clone, "add", "-A");
		git(clone, "commit", "--quiet", "-m", "as code");
		git(clone, "push", "--quiet", "origin", "master");
		const cli = memoryIo(
			{
				CDS_API_URL: cluster.url,
				CDS_TOKEN: shared.CDS_ADMIN_TOKEN!,
				CDS_CONFIG: path.join(work, "cli.json"),
			},
			clone,
		);
		assert.equal(await main(["push", "--yes", "URL", "."], cli.io), 0, cli.stderr);
		const webhook = /^\s*url:\s+(\S+)$/m.exec(cli.stdout)?.[1] ?? "";
		assert.match(webhook, new RegExp(`^${publicUrl}/api/v1/hooks/repository/[0-9a-f-]{36}$`), cli.stdout);

		// A run: the hatchery of the other node starts a worker that reaches the gateway.
		const created = await client("POST", "/api/v1/projects/URL/workflows/app/runs", { branch: "master" });
		assert.equal(created.status, 201, JSON.stringify(created.body));
		const run = await waitFor(
			"the run to end",
			async () => {
				const r = await client("GET", `/api/v1/projects/URL/workflows/app/runs/${created.body.number}`);
				return ["Success", "Fail", "Stopped"].includes(r.body.status) ? r.body : undefined;
			},
			90_000,
		);
		assert.equal(run.status, "Success", `${JSON.stringify(run)}\n${worker.output.join("").slice(-3000)}`);
		const logs = await client("GET", `/api/v1/projects/URL/workflows/app/runs/${created.body.number}/logs`);
		const lines = (logs.body.items as Array<{ line?: string; text?: string }>).map((l) =>
			(l.line ?? l.text ?? "").trimEnd(),
		);
		assert.ok(lines.includes(`api=${publicUrl}`), JSON.stringify(lines));
	});
});
