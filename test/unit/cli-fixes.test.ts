// The CLI problems a new user met (issue #18, item 5), each against a fake API that answers
// like the server does: logs of a skipped node, report exit code, the manual webhook's secret,
// track right after a push, status after a restart, login's default port.

import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { after, before, beforeEach, describe, test } from "node:test";
import { loadConfig } from "../../config/index.ts";
import { webhookLines } from "../../src/cli/commands/push.ts";
import { memoryIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";

type Reply = { status?: number; body: unknown };
type Handler = (query: URLSearchParams, req: IncomingMessage) => Reply | unknown;

let server: Server;
let port = 0;
let routes = new Map<string, Handler>();
const seen: string[] = [];

before(async () => {
	server = createServer((req, res) => {
		const url = new URL(req.url ?? "/", "http://x");
		const key = `${req.method} ${url.pathname.replace(/^\/api\/v1/, "")}`;
		seen.push(key);
		const handler = routes.get(key);
		const reply = handler
			? (handler(url.searchParams, req) as Reply | unknown)
			: { status: 404, body: { name: "NotFound", message: `no ${key}`, code: 404, type: "NOT_FOUND" } };
		const { status, body } =
			reply && typeof reply === "object" && "body" in reply ? (reply as Reply) : { status: 200, body: reply };
		res.writeHead(status ?? 200, { "content-type": "application/json" });
		res.end(JSON.stringify(body));
	});
	await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
	port = (server.address() as { port: number }).port;
});
after(() => server.close());
beforeEach(() => {
	routes = new Map();
	seen.length = 0;
});

async function cds(argv: string[]) {
	const out = memoryIo({
		CDS_CONFIG: "/nonexistent/cds-test/config.json",
		CDS_API_URL: `http://127.0.0.1:${port}`,
		CDS_TOKEN: "t",
		CDS_POLL_INTERVAL: "0.02",
	});
	const code = await main(argv, out.io);
	return { code, stdout: out.stdout, stderr: out.stderr };
}

const TARGET = ["--project", "P", "--workflow", "W"];
const RUNS = "/projects/P/workflows/W/runs";

function node(name: string, status: string, pipeline: string | null) {
	const jobs = status === "Skipped" ? [] : [{ name: "j", status }];
	return { name, status, pipeline, stages: [{ name: "s", status, jobs }] };
}

function run(number: number, sub: number, nodes: unknown[], extra: Record<string, unknown> = {}) {
	return {
		id: `r${number}.${sub}`,
		project: "P",
		workflow: "W",
		number,
		sub,
		status: "Success",
		branch: "main",
		created: new Date().toISOString(),
		nodes,
		...extra,
	};
}

describe("cds logs PIPELINE", () => {
	test("reads the node of the pipeline that ran, not a skipped one before it", async () => {
		const r1 = run(1, 0, [node("build-skipped", "Skipped", null), node("build", "Success", "build")]);
		routes.set(`GET ${RUNS}`, () => ({ items: [r1], next: null }));
		routes.set(`GET ${RUNS}/1`, () => r1);
		routes.set("GET /projects/P/workflows/W", () => ({
			name: "W",
			model: {
				nodes: [
					{ name: "build-skipped", pipeline: "build" },
					{ name: "build", pipeline: "build" },
				],
			},
		}));
		routes.set(`GET ${RUNS}/1/logs`, (q) => ({
			items:
				q.get("node") === "build"
					? [{ id: "1", job: "j1", node: "build", jobName: "j", step: 0, seq: 0, text: "compiled\n" }]
					: [],
			next: null,
			done: true,
		}));
		const r = await cds(["logs", "build", ...TARGET]);
		assert.equal(r.stdout, "compiled\n");
		assert.equal(r.code, 0);
	});

	test("when no node of the pipeline ran: names them with their status, exit 1", async () => {
		const r1 = run(1, 0, [node("deploy", "Skipped", null), node("build", "Success", "build")]);
		routes.set(`GET ${RUNS}`, () => ({ items: [r1], next: null }));
		routes.set(`GET ${RUNS}/1`, () => r1);
		routes.set("GET /projects/P/workflows/W", () => ({
			name: "W",
			model: {
				nodes: [
					{ name: "build", pipeline: "build" },
					{ name: "deploy", pipeline: "deploy" },
				],
			},
		}));
		const r = await cds(["logs", "deploy", ...TARGET]);
		assert.equal(r.code, 1);
		assert.equal(r.stdout, "");
		assert.match(r.stderr, /no node running pipeline deploy ran in run #1: deploy \(Skipped\)/);
		assert.match(r.stderr, /build \(Success\)/);
	});

	test("a node with no log line: says so on stderr, exit 1", async () => {
		const r1 = run(1, 0, [node("build", "Fail", "build")]);
		routes.set(`GET ${RUNS}`, () => ({ items: [r1], next: null }));
		routes.set(`GET ${RUNS}/1`, () => r1);
		routes.set(`GET ${RUNS}/1/logs`, () => ({ items: [], next: null, done: true }));
		const r = await cds(["logs", "--node", "build", ...TARGET]);
		assert.equal(r.code, 1);
		assert.match(r.stderr, /node build of run #1 \(Fail\) has no log lines/);
	});
});

describe("cds report", () => {
	function view(passed: boolean) {
		return {
			id: "x",
			runNumber: 3,
			branch: "main",
			node: "test",
			kind: "tests",
			name: "junit",
			format: "junit",
			summary: { kind: "tests", totals: { tests: 2, passed: 1, failures: 1, errors: 0, skipped: 0 } },
			gate: passed ? { passed: true, failures: [] } : { passed: false, failures: ["1 test failed"] },
			comparisons: {},
		};
	}

	for (const json of [false, true]) {
		test(`exits 1 when a gate failed, 0 when all passed${json ? " (--json)" : ""}`, async () => {
			const extra = json ? ["--json"] : [];
			routes.set("GET /projects/P/workflows/W/reports", () => ({
				runNumber: 3,
				branch: "main",
				items: [view(true), view(false)],
			}));
			const failed = await cds(["report", "-p", "P", "-w", "W", ...extra]);
			if (!json) assert.match(failed.stdout, /1 gate failed/);
			assert.equal(failed.code, 1);
			routes.set("GET /projects/P/workflows/W/reports", () => ({
				runNumber: 3,
				branch: "main",
				items: [view(true)],
			}));
			const passed = await cds(["report", "-p", "P", "-w", "W", ...extra]);
			if (!json) assert.match(passed.stdout, /all gates passed/);
			assert.equal(passed.code, 0);
		});
	}

	test("--help documents the exit codes", async () => {
		const r = await cds(["report", "--help"]);
		assert.match(r.stdout, /Exit codes: 0 every gate passed.*1 a gate failed/s);
	});
});

describe("cds push: the webhook a plain-git remote needs", () => {
	test("URL and secret are printed, with the one-time warning, when the server made a manual webhook", () => {
		const lines = webhookLines({ webhookUrl: "https://cds.example/hooks/abc", webhookSecret: "s3cr3t" });
		const text = lines.join("\n");
		assert.match(text, /url: +https:\/\/cds\.example\/hooks\/abc/);
		assert.match(text, /secret: +s3cr3t/);
		assert.match(text, /shown this once/);
	});

	test("a provider webhook made by CDS only shows its URL; no webhook shows nothing", () => {
		assert.deepEqual(webhookLines({ webhookUrl: "https://cds.example/hooks/abc" }), [
			"webhook: https://cds.example/hooks/abc",
		]);
		assert.deepEqual(webhookLines({ webhookUrl: null }), []);
	});
});

describe("cds track right after a push", () => {
	test("waits for the first run to appear, then follows it", async () => {
		let asked = 0;
		const r1 = run(1, 0, [node("build", "Success", "build")]);
		routes.set(`GET ${RUNS}`, () => {
			asked++;
			return { items: asked < 3 ? [] : [r1], next: null };
		});
		routes.set(`GET ${RUNS}/1`, () => r1);
		const r = await cds(["track", ...TARGET, "--json"]);
		assert.equal(r.code, 0, r.stderr);
		assert.equal(JSON.parse(r.stdout).number, 1);
		assert.ok(asked >= 3);
		assert.match(r.stderr, /waiting for a run of W to start/);
	});

	test("gives up after --timeout with a clear message, exit 1", async () => {
		routes.set(`GET ${RUNS}`, () => ({ items: [], next: null }));
		const r = await cds(["track", ...TARGET, "--timeout", "0.1"]);
		assert.equal(r.code, 1);
		assert.match(r.stderr, /no run of W in project P after waiting/);
	});

	test("on a branch, the give-up says how to run the branch now", async () => {
		routes.set(`GET ${RUNS}`, () => ({ items: [], next: null }));
		const r = await cds(["track", ...TARGET, "--branch", "main", "--timeout", "0.1"]);
		assert.equal(r.code, 1);
		assert.match(r.stderr, /to run main now: cds workflow run P W -p git\.branch=main\n/);
	});

	test("--no-follow prints what there is now: no waiting unless --timeout says so", async () => {
		routes.set(`GET ${RUNS}`, () => ({ items: [], next: null }));
		const r = await cds(["track", ...TARGET, "--no-follow"]);
		assert.equal(r.code, 1);
		assert.match(r.stderr, /^error: no run of W in project P\n/);
	});

	test("--timeout must be a number of seconds", async () => {
		const r = await cds(["track", ...TARGET, "--timeout", "soon"]);
		assert.equal(r.code, 2);
		assert.match(r.stderr, /invalid --timeout "soon"/);
	});
});

describe("cds status after a restart", () => {
	test("the last run on the branch and the last run overall are the same latest sub-run", async () => {
		// The listing shows a run by its number; fetching the number gives its latest sub-run.
		routes.set(`GET ${RUNS}`, () => ({ items: [run(1, 0, [])], next: null }));
		routes.set(`GET ${RUNS}/1`, () => run(1, 1, []));
		routes.set("GET /projects/P/workflows/W", () => ({ name: "W", branch: "main", version: 1 }));
		const r = await cds(["status", ...TARGET, "--branch", "main"]);
		assert.equal(r.code, 0, r.stderr);
		assert.match(r.stdout, /last run on main:\s+#1\.1 /);
		assert.match(r.stdout, /^last run:\s+#1\.1 /m);
		assert.doesNotMatch(r.stdout, /#1 /);
		const json = JSON.parse((await cds(["status", ...TARGET, "--branch", "main", "--json"])).stdout);
		assert.equal(json.lastRun.sub, 1);
		assert.equal(json.branchRun.sub, 1);
	});
});

describe("cds login --help", () => {
	test("shows the server's real default port", async () => {
		const r = await cds(["login", "--help"]);
		const { apiPort } = loadConfig({}, "/nonexistent");
		assert.match(r.stdout, new RegExp(`http://localhost:${apiPort}\\b`));
		assert.doesNotMatch(r.stdout, /8080/);
	});
});
