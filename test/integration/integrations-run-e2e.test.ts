// Integrations and plugins at run time, through a real broker and real sandboxed workers: a
// step prints its `cds.integration.*` variables (the password masked), `DeployApplication`
// deploys through the built-in deploy webhook to a real local HTTP server (and is refused an
// address the outbound allow-list does not allow), and CDS's plugin-simple fixture, installed
// with `cds admin plugin import`, runs in the job's sandbox.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { memoryIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { cdsIntegrations } from "../helpers/corpus.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const WF = "/api/v1/projects/INTEG/workflows";
const FINAL = new Set(["Success", "Fail", "Stopped", "Skipped"]);
const PLUGIN_FIXTURE = path.join(
	import.meta.dirname,
	"..",
	"fixtures",
	"plugins",
	"04SCWorkflowRunSimplePlugin",
);
const TOKEN = "hook-token-s3cret-value";

async function waitRun(srv: TestServer, wf: string, n: number, timeoutMs = 90_000) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const r = (await srv.api("GET", `${WF}/${wf}/runs/${n}`)).body;
		if (FINAL.has(r.status)) return r;
		if (Date.now() > deadline) throw new Error(`run ${wf} #${n} still ${r.status} after ${timeoutMs} ms`);
		await new Promise((res) => setTimeout(res, 100));
	}
}

async function logText(srv: TestServer, wf: string, n: number): Promise<string> {
	const page = (await srv.api("GET", `${WF}/${wf}/runs/${n}/logs?limit=5000`)).body;
	return page.items.map((l: { text: string }) => l.text).join("");
}

interface Received {
	method: string;
	url: string;
	headers: IncomingMessage["headers"];
	body: string;
}

let srv: TestServer;
let hook: Server;
let hookPort: number;
const received: Received[] = [];

/** An integration `name` of the deploy webhook model, an application deploying to it, a workflow naming it. */
function deploySet(url: string, name = "hook") {
	const set = [
		{
			path: "hook.integration.yml",
			content: `name: hook\nmodel:\n  name: DeployWebhook\nconfig:\n  token:\n    value: ${TOKEN}\n    type: password\n  url:\n    value: ${url}\n    type: string\n`,
		},
		{
			path: "webapp.app.yml",
			content:
				"version: v1.0\nname: webapp\ndeployments:\n  hook:\n    region:\n      type: string\n      value: eu-west\n",
		},
		{
			path: "deploy.pip.yml",
			content: [
				"version: v1.0",
				"name: deploy",
				"jobs:",
				"- job: deploy",
				"  steps:",
				"  - script:",
				'    - echo "integration={{.cds.integration.deployment}} url={{.cds.integration.deployment.url}} region={{.cds.integration.deployment.region}}"',
				'    - echo "token={{.cds.integration.deployment.token}} older={{.cds.integration.token}} timeout={{.cds.integration.deployment.timeout}}"',
				"    - env | grep '^CDS_INTEGRATION_DEPLOYMENT_URL='",
				"  - deploy: '{{.cds.application}}'",
				"",
			].join("\n"),
		},
		{
			path: "deploy-wf.yml",
			content:
				"name: deploy-wf\nversion: v2.0\nworkflow:\n  deploy:\n    pipeline: deploy\n    application: webapp\n    integration: hook\nintegrations:\n  hook: {}\n",
		},
	];
	if (name === "hook") return set;
	// The same set under other names: its own integration, application, pipeline and workflow.
	return set.map((f) => ({
		path: f.path.replace(/^(hook|webapp|deploy)/, (m) => `${m}-${name}`),
		content: f.content
			.replace(/deploy-wf/, `deploy-wf-${name}`)
			.replace(/\bhook\b/g, name)
			.replace(/\bwebapp\b/g, `webapp-${name}`)
			.replace(/name: deploy$/m, `name: deploy-${name}`)
			.replace(/pipeline: deploy\b/, `pipeline: deploy-${name}`),
	}));
}

describe("integrations and plugins in runs", () => {
	before(async () => {
		hook = createServer((req, res) => {
			let body = "";
			req.setEncoding("utf8");
			req.on("data", (c) => {
				body += c;
			});
			req.on("end", () => {
				received.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
				res.writeHead(200, { "content-type": "text/plain" });
				res.end("deployed");
			});
		});
		await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
		hookPort = (hook.address() as AddressInfo).port;
		srv = await startTestServer({
			// The deploy webhook listens on this host's loopback: allowed by the outbound allow-list, and
			// reachable from the sandbox on the host's network (under `nat` the host is out of reach).
			CDS_OUTBOUND_ALLOW: "127.0.0.1/32",
			CDS_SANDBOX_NETWORK: "host",
			CDS_MAX_PLUGIN_BYTES: "64KiB",
			CDS_WORKER_HEARTBEAT_SECONDS: "1",
			CDS_HATCHERY_POLL_MS: "100",
		});
		assert.equal((await srv.api("POST", "/api/v1/projects", { key: "INTEG", name: "Integ" })).status, 201);
	});
	after(async () => {
		await srv?.stop();
		await new Promise((resolve) => hook?.close(resolve));
	});

	test("a step prints its cds.integration.* variables, the password masked; DeployApplication calls the webhook", async () => {
		const url = `http://127.0.0.1:${hookPort}/deploy`;
		const imported = await srv.api("POST", "/api/v1/projects/INTEG/import", { files: deploySet(url) });
		assert.equal(imported.status, 200, JSON.stringify(imported.body));
		const n = (await srv.api("POST", `${WF}/deploy-wf/runs`, {})).body.number;
		const run = await waitRun(srv, "deploy-wf", n);
		const logs = await logText(srv, "deploy-wf", n);
		assert.equal(run.status, "Success", logs);
		assert.match(logs, new RegExp(`integration=hook url=${url.replace(/[.]/g, "\\.")} region=eu-west`));
		assert.match(logs, /token=\*{10} older=\*{10} timeout=60/);
		assert.match(logs, new RegExp(`CDS_INTEGRATION_DEPLOYMENT_URL=${url.replace(/[.]/g, "\\.")}`));
		assert.ok(!logs.includes(TOKEN), "the password never reaches the log");
		assert.match(logs, /with plugin deploy-webhook/);
		assert.match(logs, /the webhook accepted the deployment \(HTTP 200\): deployed/);

		assert.equal(received.length, 1, JSON.stringify(received));
		const call = received[0]!;
		assert.equal(call.method, "POST");
		assert.equal(call.url, "/deploy");
		assert.equal(call.headers.authorization, `Bearer ${TOKEN}`);
		const body = JSON.parse(call.body);
		assert.equal(body.application, "webapp");
		assert.equal(body.integration, "hook");
		assert.equal(body.project, "INTEG");
		assert.equal(body.settings.region, "eu-west");
		assert.ok(!call.body.includes(TOKEN), "no secret in the body");

		// The OpenAPI document lists what a job's variables hold.
		const doc = (await srv.api("GET", "/api/v1/openapi.json")).body;
		const jobRoute = doc.paths["/worker/job"].get;
		assert.match(jobRoute.description, /cds\.integration\.deployment\.<key>/);
		assert.ok(doc.paths["/admin/plugins/{name}/binaries/{os}/{arch}"]?.put, Object.keys(doc.paths).join(" "));
	});

	test("a webhook address outside the outbound allow-list is refused, naming the setting", async () => {
		const before = received.length;
		const files = deploySet(`http://127.0.0.2:${hookPort}/deploy`, "blocked");
		const imported = await srv.api("POST", "/api/v1/projects/INTEG/import", { files });
		assert.equal(imported.status, 200, JSON.stringify(imported.body));
		const created = await srv.api("POST", `${WF}/deploy-wf-blocked/runs`, {});
		assert.ok(created.body.number, JSON.stringify(created.body));
		const n = created.body.number;
		const run = await waitRun(srv, "deploy-wf-blocked", n);
		const logs = await logText(srv, "deploy-wf-blocked", n);
		assert.equal(run.status, "Fail", logs);
		assert.match(logs, /127\.0\.0\.2 is a loopback address; allow it with CDS_OUTBOUND_ALLOW/);
		assert.equal(received.length, before, "no request left");
	});

	test("the integrations fixture set (a model, two integrations, an application deploying to both) imports and runs", async () => {
		const dir = path.join(import.meta.dirname, "..", "fixtures", "integrations", "deploy-set");
		const files = readdirSync(dir)
			.filter((f) => f.endsWith(".yml"))
			.map((f) => ({ path: f, content: readFileSync(path.join(dir, f), "utf8") }));
		// A project of its own: its names are those of the set above.
		assert.equal((await srv.api("POST", "/api/v1/projects", { key: "FIXT", name: "Fixt" })).status, 201);
		const imported = await srv.api("POST", "/api/v1/projects/FIXT/import", { files });
		assert.equal(imported.status, 200, JSON.stringify(imported.body));
		const wf = imported.body.workflows[0] as string;
		const base = "/api/v1/projects/FIXT/workflows";
		const n = (await srv.api("POST", `${base}/${wf}/runs`, {})).body.number;
		let run: { status: string; nodes: unknown[] };
		for (const deadline = Date.now() + 90_000; ; ) {
			run = (await srv.api("GET", `${base}/${wf}/runs/${n}`)).body;
			if (FINAL.has(run.status) || Date.now() > deadline) break;
			await new Promise((res) => setTimeout(res, 100));
		}
		const page = (await srv.api("GET", `${base}/${wf}/runs/${n}/logs?limit=5000`)).body;
		const logs = page.items.map((l: { text: string }) => l.text).join("");
		assert.equal(run.status, "Success", `${JSON.stringify(run.nodes)}\n${logs}`);
		assert.equal(run.nodes.length, 2);
		for (const secret of ["prod-token-value", "staging-token-value", "staging-deploy-secret"])
			assert.ok(!logs.includes(secret), `${secret} is not in the log`);
	});

	test("cds admin plugin import installs CDS's plugin-simple; its pipeline runs it in the sandbox", async () => {
		const dir = await mkdtemp(path.join(tmpdir(), "cds-plugin-"));
		try {
			const env = {
				CDS_API_URL: srv.url,
				CDS_TOKEN: srv.adminToken,
				CDS_CONFIG: path.join(dir, "config.json"),
			};
			const cds = async (argv: string[], extra: Record<string, string> = {}) => {
				const io = memoryIo({ ...env, ...extra }, dir);
				return { code: await main(argv, io.io), stdout: io.stdout, stderr: io.stderr };
			};
			// A project token may not install plugins.
			const t = await srv.api("POST", "/api/v1/auth/tokens", { project: "INTEG", role: "admin" });
			const manifest = path.join(PLUGIN_FIXTURE, "plugin-simple.yml");
			const descriptor = path.join(PLUGIN_FIXTURE, "plugin-linux-amd64.yml");
			const refused = await cds(["admin", "plugin", "import", manifest, descriptor], {
				CDS_TOKEN: t.body.token,
			});
			assert.notEqual(refused.code, 0);
			assert.match(refused.stderr, /403|not grant/i);

			// Too large a binary: 413, nothing uploaded for that platform.
			const big = path.join(dir, "big.yml");
			await writeFile(big, "os: linux\narch: arm64\ncmd: ./big-bin\n");
			await writeFile(path.join(dir, "big-bin"), Buffer.alloc(100 * 1024, 1));
			const tooBig = await cds(["admin", "plugin", "import", manifest, big]);
			assert.notEqual(tooBig.code, 0);
			assert.match(tooBig.stderr, /CDS_MAX_PLUGIN_BYTES/);

			const ok = await cds(["admin", "plugin", "import", manifest, descriptor]);
			assert.equal(ok.code, 0, ok.stderr);
			assert.match(ok.stdout, /plugin-simple: linux\/amd64 .*plugin-simple-linux-amd64 \(\d+ bytes\)/);
			const listed = await cds(["admin", "plugin", "list"]);
			assert.match(listed.stdout, /plugin-simple\s+action/);

			const files = readdirSync(PLUGIN_FIXTURE)
				.filter((f) => f === "pipeline.yml" || f === "workflow.yml")
				.map((f) => ({ path: f, content: readFileSync(path.join(PLUGIN_FIXTURE, f), "utf8") }));
			const imported = await srv.api("POST", "/api/v1/projects/INTEG/import", { files });
			assert.equal(imported.status, 200, JSON.stringify(imported.body));
			const wf = "04SCWorkflowRunSimplePlugin-WORKFLOW";
			const n = (await srv.api("POST", `${WF}/${wf}/runs`, {})).body.number;
			const run = await waitRun(srv, wf, n);
			const logs = await logText(srv, wf, n);
			assert.equal(run.status, "Success", `${JSON.stringify(run.nodes)}\n${logs}`);
			assert.match(logs, /running plugin plugin-simple/);
			assert.match(logs, /Hello, I'm the simple plugin/);
			assert.match(logs, /plugin-simple runs for project INTEG in \//);

			// A worker gets the plugins its own job runs, and no other.
			const jobId = run.nodes[0].stages[0].jobs[0].id as string;
			// A fresh meta per call: a call's meta changes flow back into the object given.
			const asWorker = () => ({ meta: { user: { id: "w", role: "write", project: "INTEG", job: jobId } } });
			const { broker } = srv.server;
			const mine = (await broker.call(
				"worker.plugin",
				{ name: "plugin-simple", os: "linux", arch: "amd64" },
				asWorker(),
			)) as { binary: { file: { name: string } } };
			assert.equal(mine.binary.file.name, "plugin-simple-linux-amd64");
			await assert.rejects(
				broker.call("worker.plugin", { name: "other-plugin", os: "linux", arch: "amd64" }, asWorker()),
				(e: { code?: number; message?: string }) =>
					e.code === 403 && /runs no plugin other-plugin/.test(e.message ?? ""),
			);
		} finally {
			await rm(dir, { recursive: true, force: true });
		}
	});
	test("CDS's deployment-plugin manifests install for the models the server knows", {
		skip: cdsIntegrations.skip,
	}, async () => {
		const dir = await mkdtemp(path.join(tmpdir(), "cds-plugin-"));
		try {
			const env = { CDS_API_URL: srv.url, CDS_TOKEN: srv.adminToken, CDS_CONFIG: path.join(dir, "c.json") };
			const cds = async (argv: string[]) => {
				const io = memoryIo(env, dir);
				return { code: await main(argv, io.io), stdout: io.stdout, stderr: io.stderr };
			};
			const file = (name: string) => path.join(cdsIntegrations.root!, name);
			// Kubernetes is a built-in model: its plugin installs (no binary for now).
			const k8s = await cds([
				"admin",
				"plugin",
				"import",
				file("kubernetes-plugin-kubernetes-deployment.yml"),
			]);
			assert.equal(k8s.code, 0, k8s.stderr);
			const shown = await srv.api("GET", "/api/v1/admin/plugins/plugin-kubernetes-deployment");
			assert.equal(shown.body.type, "integration-deploy_application");
			assert.equal(shown.body.integration, "Kubernetes");
			// Hello is not known until its model is imported: refused with the file's location.
			const hello = await cds(["admin", "plugin", "import", file("hello-plugin.yml")]);
			assert.notEqual(hello.code, 0);
			assert.match(hello.stderr, /hello-plugin\.yml:3:\d+: integration model 'Hello'/);
		} finally {
			await rm(dir, { recursive: true, force: true });
		}
	});
});
