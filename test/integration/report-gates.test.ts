// The acceptance scenario of the report service, on a real node (gateway, store, broker):
// a run on the default branch, then a feature branch with lower coverage and one new high
// vulnerability. Uses FerretDB when MONGO_URL is set, the embedded store otherwise.

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { runtimeOf } from "../../services/support/runtime.ts";
import ReportService from "../../services/report.service.ts";
import { main } from "../../src/cli/main.ts";
import { memoryIo } from "../../src/cli/io.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { mongoUrlFor, uniqueDbName } from "../helpers/servers.ts";

const ROOT = path.join(import.meta.dirname, "..", "fixtures");
const fixture = async (file: string) => (await readFile(path.join(ROOT, file))).toString("base64");

let server: TestServer;
const events: Array<Record<string, any>> = [];

async function ingest(params: Record<string, unknown>): Promise<any> {
	return server.server.broker.call("report.ingest", {
		project: "SHOP",
		workflow: "build",
		node: "build",
		application: "shop",
		...params,
	});
}

async function runOnMaster() {
	const common = { runId: "run-1", runNumber: 1, branch: "master", commit: "aaa111", jobId: "job-1" };
	const coverage = await ingest({
		...common,
		kind: "coverage",
		name: "coverage/lcov.info",
		content: await fixture("reports/c8/lcov.info"),
		stepParams: { path: "coverage/lcov.info", minimum: 50, maxDrop: 1.5 },
	});
	const security = await ingest({
		...common,
		kind: "security",
		name: "trivy.json",
		format: "trivy",
		content: await fixture("reports/samples/trivy.json"),
		stepParams: { path: "trivy.json", failOn: "high" },
	});
	return { coverage, security };
}

async function runOnFeature(runNumber: number) {
	const common = {
		runId: `run-${runNumber}`,
		runNumber,
		branch: "feature/cart",
		commit: `bbb${runNumber}`,
		jobId: `job-${runNumber}`,
	};
	const coverage = await ingest({
		...common,
		kind: "coverage",
		name: "coverage/lcov.info",
		content: await fixture("quality/feature-lcov.info"),
		stepParams: { path: "coverage/lcov.info", minimum: 50, maxDrop: 1.5 },
	});
	const security = await ingest({
		...common,
		kind: "security",
		name: "trivy.json",
		format: "trivy",
		content: await fixture("quality/feature-trivy.json"),
		stepParams: { path: "trivy.json", failOn: "high" },
	});
	return { coverage, security };
}

describe("report service: default branch, then a feature branch", () => {
	before(async () => {
		const env: Record<string, string> = {};
		if (process.env.MONGO_URL) env.MONGO_URL = mongoUrlFor(process.env.MONGO_URL, uniqueDbName("reports"));
		server = await startTestServer(env);
		const broker = server.server.broker;
		broker.createService({
			name: "report-listener",
			events: {
				"report.created"(ctx: { params: Record<string, any> }) {
					events.push(ctx.params);
				},
			},
		});
		// Until server.ts registers the report service, the test adds it to the node itself.
		if (!broker.getLocalService("report")) broker.createService(ReportService());
		await broker.waitForServices(["report", "report-listener"]);
		assert.equal((await server.api("POST", "/api/v1/projects", { key: "SHOP", name: "Shop" })).status, 201);
		const app = await server.api("POST", "/api/v1/projects/SHOP/applications", { name: "shop" });
		assert.equal(app.status, 201);
		// The gateway regenerates its routes when a service appears: wait for ours.
		const deadline = Date.now() + 10_000;
		for (;;) {
			const res = await server.api("GET", "/api/v1/projects/SHOP/applications/shop/vulnerability-ignores");
			if (res.status === 200) break;
			if (Date.now() > deadline) throw new Error(`report routes not published: ${res.status}`);
			await new Promise((r) => setTimeout(r, 100));
		}
	});
	after(async () => {
		await server?.stop();
	});

	test("first run on master: no baseline, so every vulnerability is new to the gate", async () => {
		const { coverage, security } = await runOnMaster();
		assert.equal(coverage.gate.passed, true, coverage.gate.failures.join("; "));
		assert.equal(coverage.summary.totals.lines.covered, 25);
		assert.deepEqual(coverage.comparisons, {});
		const listed = await server.api("GET", "/api/v1/projects/SHOP/workflows/build/runs/1/reports");
		assert.equal(listed.body.items[0].defaultBranch, "master");
		assert.equal(security.gate.passed, false);
		assert.match(
			security.gate.failures[0],
			/^2 new vulnerabilities at or above high: CVE-2021-3711.*CVE-2022-24999/,
		);
	});

	test("feature branch: coverage drop and one new high vulnerability fail the gates", async () => {
		const { coverage, security } = await runOnFeature(2);

		// Coverage: compared with master's latest run; no previous run on the feature branch.
		assert.equal(coverage.comparisons.previous, undefined);
		const vsMaster = coverage.comparisons.default;
		assert.deepEqual(vsMaster.against, {
			reportId: vsMaster.against.reportId,
			runNumber: 1,
			branch: "master",
		});
		assert.equal(vsMaster.delta.totals.lines, -20.59); // 73.53% → 52.94%
		assert.equal(vsMaster.delta.totals.branches, 0);
		assert.deepEqual(vsMaster.delta.files, [
			{ path: "src/math.js", before: 81.82, after: 50, delta: -31.82 },
		]);
		assert.equal(coverage.gate.passed, false);
		assert.deepEqual(coverage.gate.failures, [
			"line coverage dropped by 20.59 points (to 52.94%), more than the allowed 1.5",
		]);

		// Security: one new high, one fixed medium.
		const delta = security.comparisons.default.delta;
		assert.deepEqual(
			delta.newVulnerabilities.map((v: { id: string }) => v.id),
			["CVE-2022-25881"],
		);
		assert.deepEqual(
			delta.fixedVulnerabilities.map((v: { id: string }) => v.id),
			["GHSA-c2qf-rxjj-qqgw"],
		);
		assert.equal(delta.newBySeverity.high, 1);
		assert.equal(delta.fixedBySeverity.medium, 1);
		assert.equal(security.gate.passed, false);
		assert.deepEqual(security.gate.failures, [
			"1 new vulnerability at or above high: CVE-2022-25881 (high, http-cache-semantics@4.1.0)",
		]);
	});

	test("report.created carries the summary and the gate", () => {
		const created = events.filter((e) => e.runNumber === 2 && e.kind === "coverage");
		assert.equal(created.length, 1);
		assert.equal(created[0]!.summary.totals.lines.covered, 18);
		assert.equal(created[0]!.gate.passed, false);
		assert.equal(events.length, 4);
	});

	test("run listing, latest and history routes", async () => {
		const run = await server.api("GET", "/api/v1/projects/SHOP/workflows/build/runs/2/reports");
		assert.equal(run.status, 200);
		assert.equal(run.body.items.length, 2);
		assert.deepEqual(run.body.items.map((r: { kind: string }) => r.kind).sort(), ["coverage", "security"]);
		assert.equal(run.body.items[0].defaultBranch, "master");

		const latest = await server.api("GET", "/api/v1/projects/SHOP/workflows/build/reports?branch=master");
		assert.equal(latest.body.runNumber, 1);

		const history = await server.api(
			"GET",
			"/api/v1/projects/SHOP/workflows/build/reports/history?kind=coverage",
		);
		assert.equal(history.status, 200);
		assert.deepEqual(
			history.body.points.map((p: any) => [p.runNumber, p.branch, p.values.lines, p.gatePassed]),
			[
				[1, "master", 73.53, true],
				[2, "feature/cart", 52.94, false],
			],
		);
		const onMaster = await server.api(
			"GET",
			"/api/v1/projects/SHOP/workflows/build/reports/history?kind=security&branch=master",
		);
		assert.deepEqual(
			onMaster.body.points.map((p: any) => [p.runNumber, p.values.critical, p.values.high]),
			[[1, 1, 1]],
		);

		const detail = await server.api("GET", `/api/v1/projects/SHOP/reports/${run.body.items[0].id}`);
		assert.equal(detail.status, 200);
		assert.ok(Array.isArray(detail.body.detail.files ?? detail.body.detail.vulnerabilities));
	});

	test("an application's ignore lets the gate pass; it is listed and can be removed", async () => {
		const added = await server.api("POST", "/api/v1/projects/SHOP/applications/shop/vulnerability-ignores", {
			vulnerability: "cve-2022-25881",
			reason: "ReDoS only reachable from trusted upstream responses",
			expires: "30d",
		});
		assert.equal(added.status, 201, JSON.stringify(added.body));
		assert.equal(added.body.vulnerability, "CVE-2022-25881");
		assert.equal(added.body.active, true);

		const again = await server.api("POST", "/api/v1/projects/SHOP/applications/shop/vulnerability-ignores", {
			vulnerability: "CVE-2022-25881",
			reason: "twice",
			expires: "2d",
		});
		assert.equal(again.status, 409);

		const { security } = await runOnFeature(3);
		assert.equal(security.comparisons.default.delta.newVulnerabilities.length, 1);
		assert.equal(security.comparisons.previous.delta.newVulnerabilities.length, 0);
		assert.equal(security.gate.passed, true, security.gate.failures.join("; "));

		const list = await server.api("GET", "/api/v1/projects/SHOP/applications/shop/vulnerability-ignores");
		assert.deepEqual(
			list.body.items.map((i: any) => [i.vulnerability, i.reason]),
			[["CVE-2022-25881", "ReDoS only reachable from trusted upstream responses"]],
		);
		const removed = await server.api(
			"DELETE",
			`/api/v1/projects/SHOP/applications/shop/vulnerability-ignores/${added.body.id}`,
		);
		assert.deepEqual(removed.body, { id: added.body.id, deleted: true });
		const { security: withoutIgnore } = await runOnFeature(4);
		assert.equal(withoutIgnore.gate.passed, false);
	});

	test("bad input gets clear 4xx errors", async () => {
		const past = await server.api("POST", "/api/v1/projects/SHOP/applications/shop/vulnerability-ignores", {
			vulnerability: "CVE-2020-1",
			reason: "old",
			expires: "2020-01-01",
		});
		assert.equal(past.status, 422);
		assert.match(past.body.message, /not in the future/);
		const unknownApp = await server.api(
			"POST",
			"/api/v1/projects/SHOP/applications/nope/vulnerability-ignores",
			{
				vulnerability: "CVE-2020-1",
				reason: "none",
				expires: "1d",
			},
		);
		assert.equal(unknownApp.status, 404);

		await assert.rejects(
			ingest({
				runId: "r9",
				runNumber: 9,
				branch: "master",
				jobId: "j9",
				kind: "coverage",
				name: "junit.xml",
				content: await fixture("reports/vitest/junit.xml"),
			}),
			(e: any) => e.code === 422 && /is a tests report \(junit\), not a coverage report/.test(e.message),
		);
		await assert.rejects(
			ingest({
				runId: "r9",
				runNumber: 9,
				branch: "master",
				jobId: "j9",
				kind: "coverage",
				name: "lcov.info",
				content: await fixture("reports/c8/lcov.info"),
				stepParams: { path: "lcov.info", minimum: "lots" },
			}),
			(e: any) => e.code === 422 && /minimum must be a number/.test(e.message),
		);
		await assert.rejects(
			ingest({
				runId: "r9",
				runNumber: 9,
				branch: "master",
				jobId: "j9",
				kind: "security",
				name: "trivy.json",
				content: Buffer.from("{ not json").toString("base64"),
			}),
			(e: any) => e.code === 422 && /cannot read report trivy\.json/.test(e.message),
		);
	});

	test("the report file is read from the artifact store by its sha256", async () => {
		const { artifacts } = runtimeOf(server.server.broker);
		const bytes = await readFile(path.join(ROOT, "reports/vitest/junit.xml"));
		const { sha256 } = await artifacts.put(Readable.from([bytes]), { maxBytes: 1024 * 1024 });
		const common = {
			runId: "run-5",
			runNumber: 5,
			branch: "master",
			jobId: "job-5",
			kind: "tests",
			name: "junit.xml",
		};
		const tests = await ingest({ ...common, sha256, stepParams: "**/junit.xml" });
		assert.equal(tests.summary.totals.tests, 6);
		assert.deepEqual(tests.gate.failures, [
			"1 test failed: test/math.test.js › math > classifies (deliberately wrong)",
		]);
		await assert.rejects(
			ingest({ ...common, sha256: "0".repeat(64) }),
			(e: any) => e.code === 404 && /report file junit\.xml/.test(e.message),
		);
	});

	test("a token of another project cannot read the reports", async () => {
		assert.equal((await server.api("POST", "/api/v1/projects", { key: "OTHER", name: "Other" })).status, 201);
		const other = await server.api("POST", "/api/v1/auth/tokens", { project: "OTHER", role: "read" });
		assert.equal(other.status, 201);
		const res = await server.api(
			"GET",
			"/api/v1/projects/SHOP/workflows/build/runs/2/reports",
			undefined,
			other.body.token,
		);
		assert.equal(res.status, 403);
	});

	test("cds report prints the deltas with arrows, plain without a terminal", async () => {
		const out = memoryIo({ CDS_API_URL: server.url, CDS_TOKEN: server.adminToken, HOME: server.dataDir });
		const code = await main(["report", "--project", "SHOP", "--workflow", "build", "--run", "2"], out.io);
		assert.equal(code, 1, `a failed gate is exit 1: ${out.stderr}`);
		assert.match(out.stdout, /run #2 on feature\/cart \(default branch master\)/);
		assert.match(out.stdout, /lines ▼ 20\.59 pts, .* vs default branch #1 \(master\)/);
		assert.match(out.stdout, /src\/math\.js 50\.00% ▼ 31\.82 pts/);
		assert.match(out.stdout, /new high CVE-2022-25881 http-cache-semantics@4\.1\.0/);
		assert.match(out.stdout, /2 gates failed/);
		assert.ok(!out.stdout.includes("\u001b["), "no colour without a terminal");

		const json = memoryIo({ CDS_API_URL: server.url, CDS_TOKEN: server.adminToken, HOME: server.dataDir });
		const jsonCode = await main(
			["report", "-p", "SHOP", "-w", "build", "--branch", "feature/cart", "--json"],
			json.io,
		);
		const latest = JSON.parse(json.stdout);
		// The exit code says whether a gate of the run failed, with --json too.
		const gateFailed = latest.items.some((v: { gate?: { passed?: boolean } }) => v.gate?.passed === false);
		assert.equal(jsonCode, gateFailed ? 1 : 0, json.stderr);
		assert.equal(latest.runNumber, 4);
		assert.equal(latest.items.length, 2);
	});
});
