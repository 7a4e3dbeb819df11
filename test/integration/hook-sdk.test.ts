// The hook SDK as a user meets it, outside this repository (docs/hook-sdk.md): `npm pack` (which
// builds dist/ with the `cds-ts/hooks` entry at prepack), the tarball installed into a temporary
// project, the guide's example source written there — the very text of the guide, which must
// equal examples/hook-source/file-source.ts — type-checked against the package's .d.ts, and run
// as its own node (`CDS_HOOK_SOURCES=<module>`, `SERVICES=hook-file`) beside an API node over NATS
// and FerretDB. A file dropped in the watched directory starts a run with its payload; the node
// killed and started again re-reads the directory and starts nothing twice (the dedup key).
// Takes about a minute: the build, the install (from npm's cache), tsc, two nodes.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type NodeProcess, spawnNode } from "../helpers/cluster.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { mongoUrlFor, serverUrl, uniqueDbName } from "../helpers/servers.ts";
import { runCommand } from "../helpers/run-command.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const mongo = serverUrl("MONGO_URL");
const nats = serverUrl("NATS_URL");
const KEY = `SDK${randomBytes(3).toString("hex").toUpperCase()}`;
const PIPELINE = "version: v1.0\nname: build\njobs:\n- job: compile\n  steps:\n  - script:\n    - echo hi\n";

/** The guide's example: the code block between its markers in docs/hook-sdk.md. */
async function guideExample(): Promise<string> {
	const doc = await readFile(join(ROOT, "docs", "hook-sdk.md"), "utf8");
	const m =
		/<!-- example: examples\/hook-source\/file-source\.ts -->\n```ts\n([\s\S]*?)```\n<!-- end of example -->/.exec(
			doc,
		);
	assert.ok(m, "docs/hook-sdk.md holds the example between its markers");
	return m[1]!;
}

async function waitFor<T>(
	what: string,
	probe: () => Promise<T | null | undefined | false>,
	timeoutMs = 60_000,
) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await probe();
		if (value) return value;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 200));
	}
}

describe("a hook source written with the SDK, outside the repository, run as its own node", {
	skip: mongo.skip || nats.skip,
}, () => {
	let dir = "";
	let project = "";
	let inbox = "";
	let home: TestServer;
	const nodes: NodeProcess[] = [];
	const db = uniqueDbName("hook_sdk");
	const env: Record<string, string> = {
		NATS_URL: nats.url ?? "",
		MONGO_URL: mongo.url ? mongoUrlFor(mongo.url, db) : "",
		CDS_NAMESPACE: db,
		CDS_SECRET_KEY: randomBytes(32).toString("base64"),
		CDS_HOOKS_PROCESS_INTERVAL_MS: "200",
		CDS_HOOKS_RECONCILE_MS: "500",
		CDS_HOOKS_LEADER_SLOT_MS: "500",
	};
	const fileNode = (name: string, extra: Record<string, string> = {}) => {
		const node = spawnNode(name, {
			...env,
			SERVICES: "hook-file",
			CDS_HOOK_SOURCES: join(project, "file-source.ts"),
			LOG_LEVEL: "warn",
			...extra,
		});
		nodes.push(node);
		return node;
	};
	const runsOf = async (workflow: string) => {
		const c = await home.server.store.collection<{
			_id: string;
			number: number;
			vars: Record<string, string>;
		}>({
			name: "runs",
		});
		return (await c.find({ project: KEY, workflow })).sort((a, b) => a.number - b.number);
	};
	/** What the hook-file node serves, once it is up (null before). */
	const bindings = async () => {
		const broker = home.server.broker;
		const up = (broker.registry.getServiceList({ onlyAvailable: true }) as Array<{ name: string }>).some(
			(s) => s.name === "hook-file",
		);
		if (!up) return null;
		return (await broker.call("hook-file.bindings", {}).catch(() => null)) as {
			bindings: Array<{ state: string; type: string }>;
		} | null;
	};

	before(async () => {
		dir = await mkdtemp(join(tmpdir(), "cds-hook-sdk-"));
		project = join(dir, "file-hook");
		inbox = join(dir, "inbox");
		await mkdir(project);
		await mkdir(inbox);
		// npm runs `prepack` (the build) with node_modules/.bin on PATH, so with the checkout's tsc.
		const pack = await runCommand("npm", ["pack", "--pack-destination", dir, "--silent"], {
			cwd: ROOT,
			env: { ...process.env, npm_config_update_notifier: "false" },
			timeoutMs: 180_000,
		});
		assert.equal(pack.code, 0, pack.stderr);
		const tarball = join(dir, pack.stdout.trim().split("\n").pop()!);
		const listing = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" });
		assert.match(listing, /package\/dist\/src\/hooks\/sdk\.js\n/);
		assert.match(listing, /package\/dist\/src\/hooks\/sdk\.d\.ts\n/);
		assert.doesNotMatch(listing, /^(?!.*\.d\.ts$).*\.ts$/m, "no TypeScript but declarations in the package");

		await writeFile(
			join(project, "package.json"),
			JSON.stringify({ name: "file-hook", version: "1.0.0", private: true, type: "module" }, null, 2),
		);
		const install = await runCommand(
			"npm",
			["install", "--prefer-offline", "--no-audit", "--no-fund", tarball],
			{
				cwd: project,
				env: { ...process.env, npm_config_update_notifier: "false" },
				timeoutMs: 300_000,
			},
		);
		assert.equal(install.code, 0, install.stderr);
		const example = await guideExample();
		assert.equal(
			example,
			await readFile(join(ROOT, "examples", "hook-source", "file-source.ts"), "utf8"),
			"the guide shows examples/hook-source/file-source.ts as it is",
		);
		await writeFile(join(project, "file-source.ts"), example);

		home = await startTestServer({
			...env,
			SERVICES: "api,auth,project,workflow,run",
			NODE_ID: `sdk-home-${process.pid}`,
		});
	});

	after(async () => {
		for (const n of nodes) await n.kill9();
		await home?.stop();
		if (dir) await rm(dir, { recursive: true, force: true });
	});

	test("the example type-checks against the package's declarations", async () => {
		await writeFile(
			join(project, "tsconfig.json"),
			JSON.stringify({
				compilerOptions: {
					target: "ES2023",
					module: "NodeNext",
					moduleResolution: "NodeNext",
					strict: true,
					noEmit: true,
					allowImportingTsExtensions: true,
					erasableSyntaxOnly: true,
					verbatimModuleSyntax: true,
					types: ["node"],
					typeRoots: [join(ROOT, "node_modules", "@types")],
				},
				files: ["file-source.ts"],
			}),
		);
		const tsc = await runCommand(
			process.execPath,
			[join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", project],
			{
				cwd: project,
				timeoutMs: 120_000,
			},
		);
		assert.equal(tsc.code, 0, tsc.stdout + tsc.stderr);
		// It resolved the package's declarations, not something else.
		const traced = await runCommand(
			process.execPath,
			[join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", project, "--listFiles"],
			{ cwd: project, timeoutMs: 120_000 },
		);
		assert.match(traced.stdout, /node_modules\/cds-ts\/dist\/src\/hooks\/binding-source\.d\.ts/);
	});

	test("a bad CDS_HOOK_SOURCES, or a SERVICES name no module serves, stops the node with exit 2", async () => {
		const missing = fileNode("sdk-missing", { CDS_HOOK_SOURCES: join(project, "nope.ts") });
		assert.equal(await missing.exited, 2);
		assert.match(missing.output.join(""), /CDS_HOOK_SOURCES: .*nope\.ts is not a file/);
		const unserved = fileNode("sdk-unserved", { SERVICES: "hook-files" });
		assert.equal(await unserved.exited, 2);
		assert.match(unserved.output.join(""), /SERVICES names hook-files.*loaded: hook-file/);
	});

	test("a file dropped in the directory starts a run; a restarted node starts nothing twice", async () => {
		const node = fileNode("sdk-file-1");
		await waitFor("the hook-file node", async () => (await bindings()) !== null);
		assert.equal((await home.api("POST", "/api/v1/projects", { key: KEY, name: "SDK" })).status, 201);
		const workflow = [
			"name: dropped",
			"version: v2.0",
			"workflow:",
			"  build:",
			"    pipeline: build",
			"hooks:",
			"  build:",
			"  - type: File hook",
			"    config:",
			`      directory: ${inbox}`,
			"      pattern: \\.json$",
			"      interval: 200ms",
			"",
		].join("\n");
		const imported = await home.api("POST", `/api/v1/projects/${KEY}/import`, {
			files: [
				{ path: "build.pip.yml", content: PIPELINE },
				{ path: "dropped.yml", content: workflow },
			],
		});
		assert.equal(imported.status, 200, JSON.stringify(imported.body));
		// The linter does not know the type: a warning, not an error.
		assert.ok(
			imported.body.warnings.some((w: { message: string }) =>
				/unknown hook type 'File hook'/.test(w.message),
			),
			JSON.stringify(imported.body.warnings),
		);
		await waitFor("the File hook to be listened to", async () => {
			const b = await bindings();
			return b?.bindings.some((x) => x.type === "File hook" && x.state === "listening");
		});

		await writeFile(join(inbox, "ignored.txt"), "not json");
		await writeFile(join(inbox, "order-1.json"), '{"order":1}');
		const [first] = await waitFor("the run of order-1.json", async () => {
			const runs = await runsOf("dropped");
			return runs.length > 0 ? runs : null;
		});
		assert.equal(first!.number, 1);
		assert.equal(first!.vars.file, "order-1.json");
		assert.equal(first!.vars.text, '{"order":1}');
		assert.equal(first!.vars["cds.hook.file"], "order-1.json");
		assert.equal(first!.vars["cds.hook.type"], "File hook");
		// The event records its run once processed (the run exists a moment before).
		const events = await waitFor("the event to be done", async () => {
			const r = await home.api("GET", `/api/v1/projects/${KEY}/hooks/events`);
			assert.equal(r.status, 200);
			return r.body.items.every((e: { state: string }) => e.state === "done") ? r : null;
		});
		assert.deepEqual(
			events.body.items.map((e: { source: string; runs: unknown[] }) => [e.source, e.runs]),
			[["file", [{ workflow: "dropped", number: 1 }]]],
		);

		// Killed and started again, the node reads the directory anew: the same key, no second run.
		await node.kill9();
		fileNode("sdk-file-2");
		await waitFor("the restarted node to listen", async () => {
			const b = await bindings();
			return b?.bindings.some((x) => x.type === "File hook" && x.state === "listening");
		});
		await writeFile(join(inbox, "order-2.json"), '{"order":2}');
		const runs = await waitFor("the run of order-2.json", async () => {
			const r = await runsOf("dropped");
			return r.length >= 2 ? r : null;
		});
		// Whatever was re-read in the meantime was a duplicate.
		await new Promise((r) => setTimeout(r, 1000));
		const all = await runsOf("dropped");
		assert.deepEqual(
			all.map((r) => r.vars.file),
			["order-1.json", "order-2.json"],
		);
		assert.equal(runs[1]!.vars.text, '{"order":2}');
		assert.ok(existsSync(join(project, "node_modules", "cds-ts", "dist", "src", "hooks", "sdk.js")));
	});
});
