// The README's "Clusters" block, as written: its NATS (the block's own nats-server, with its
// password in a configuration file) and its three nodes, in a temporary directory, on the
// MongoDB-wire server of MONGO_URL; then a first run through them. What changes, said here:
// the ports (free ones instead of 4222 and 8081, through CDS_API_PORT for the gateway), a fresh
// database instead of `cds`, and `npm start` spelled as the script package.json gives it (run
// from the checkout it would write its files there). A README edit that breaks the cluster breaks
// this test.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { memoryIo } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { ROOT, readmeShellBlock } from "../helpers/readme.ts";
import { freePort } from "../helpers/server.ts";
import { mongoUrlFor, serverUrl, uniqueDbName } from "../helpers/servers.ts";

const MONGO = serverUrl("MONGO_URL");

/** The block's lines, continuations joined, comments kept (bash reads them). */
const clusterBlock = () => readmeShellBlock("## Clusters");

/** The local address of the TCP socket listening on `port` (from /proc/net/tcp), e.g. 127.0.0.1. */
function listeningAddresses(port: number): string[] {
	const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
	const found: string[] = [];
	for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
		for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
			const [, local, , state] = line.trim().split(/\s+/);
			if (state !== "0A" || !local?.endsWith(`:${hexPort}`)) continue;
			const hex = local.split(":")[0]!;
			found.push(
				hex.length === 8
					? hex
							.match(/../g)!
							.reverse()
							.map((b) => Number.parseInt(b, 16))
							.join(".")
					: `v6:${hex}`,
			);
		}
	}
	return found;
}

describe("the README's cluster block", { skip: MONGO.skip }, () => {
	let work: string;
	let shell: ChildProcess;
	let output = "";
	let apiPort: number;
	let cliEnv: Record<string, string>;
	const lines = clusterBlock();

	async function cds(argv: string[]) {
		const io = memoryIo(cliEnv, ROOT);
		const code = await main(argv, io.io);
		return { code, stdout: io.stdout, stderr: io.stderr };
	}

	before(async () => {
		const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
		assert.equal(pkg.scripts.start, "node bin/cds-server.mjs", "npm start is what the test runs instead");
		work = mkdtempSync(path.join(tmpdir(), "cds-readme-cluster-"));
		const natsPort = await freePort();
		apiPort = await freePort();
		const mongo = mongoUrlFor(MONGO.url!, uniqueDbName("readme_cluster"));
		const script = lines
			.map((l) =>
				l
					.replaceAll("127.0.0.1:4222", `127.0.0.1:${natsPort}`)
					.replaceAll("127.0.0.1:8081", `127.0.0.1:${apiPort}`)
					.replaceAll("mongodb://127.0.0.1:27017/cds", mongo)
					.replaceAll("npm start", `node ${path.join(ROOT, "bin", "cds-server.mjs")}`),
			)
			.join("\n");
		const env: Record<string, string> = {
			PATH: process.env.PATH ?? "/usr/bin:/bin",
			HOME: work,
			CDS_API_PORT: String(apiPort),
			LOG_LEVEL: "warn",
		};
		// Its own process group: the nodes and NATS are stopped together at the end.
		shell = spawn("bash", ["-c", `set -e\n${script}\nwait`], { cwd: work, env, detached: true });
		shell.stdout!.on("data", (b: Buffer) => (output += b.toString()));
		shell.stderr!.on("data", (b: Buffer) => (output += b.toString()));
		const deadline = Date.now() + 90_000;
		let token: string | undefined;
		while (!token) {
			if (Date.now() > deadline) throw new Error(`no admin token printed:\n${output}`);
			if (shell.exitCode !== null) throw new Error(`the block ended (${shell.exitCode}):\n${output}`);
			token = /(cds_admin-first\.[A-Za-z0-9_-]+)/.exec(output)?.[1];
			await new Promise((r) => setTimeout(r, 200));
		}
		cliEnv = { HOME: work, PATH: env.PATH!, CDS_CONFIG: path.join(work, "cli.json") };
		const login = await cds(["login", "--api-url", `http://127.0.0.1:${apiPort}`, "--token", token]);
		assert.equal(login.code, 0, login.stderr);
		// The other nodes join a moment after the API node printed its token: the projects answer
		// once the project node has.
		for (
			let listed = await cds(["project", "list"]);
			listed.code !== 0;
			listed = await cds(["project", "list"])
		) {
			if (Date.now() > deadline)
				throw new Error(`the project node never answered: ${listed.stderr}\n${output}`);
			await new Promise((r) => setTimeout(r, 300));
		}
	});
	after(async () => {
		if (shell?.pid) {
			try {
				process.kill(-shell.pid, "SIGTERM");
			} catch {
				// already gone
			}
			await new Promise((r) => (shell.exitCode !== null ? r(null) : shell.once("exit", r)));
		}
		if (work) rmSync(work, { recursive: true, force: true });
	});

	test("the three nodes run the README's first run to Success", async () => {
		const created = await cds(["project", "create", "DEMO", "Demo"]);
		assert.equal(created.code, 0, created.stderr);
		const imported = await cds(["workflow", "import", "DEMO", "examples/hello"]);
		assert.equal(imported.code, 0, imported.stderr);
		// The run and hatchery node may join a moment after the API node printed its token.
		let run = await cds(["workflow", "run", "DEMO", "hello", "-p", "git.branch=main", "--wait"]);
		for (let i = 0; run.code !== 0 && /not available/.test(run.stderr) && i < 20; i++) {
			await new Promise((r) => setTimeout(r, 500));
			run = await cds(["workflow", "run", "DEMO", "hello", "-p", "git.branch=main", "--wait"]);
		}
		assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}\n${output}`);
		assert.match(run.stdout, /hello #\d+ +Success/);
	});

	test("the key, the password and NATS's configuration are the user's only; the password is on no command line", () => {
		for (const file of ["secret.key", "nats.pass", "nats.conf"])
			assert.equal(statSync(path.join(work, file)).mode & 0o777, 0o600, file);
		const password = readFileSync(path.join(work, "nats.pass"), "utf8").trim();
		assert.ok(password.length >= 32);
		for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
			let cmdline = "";
			try {
				cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
			} catch {
				continue; // gone, or not ours to read
			}
			assert.ok(!cmdline.includes(password), `process ${pid} shows the NATS password: ${cmdline}`);
		}
	});

	test("the gateway listens on 127.0.0.1 only", () => {
		assert.deepEqual(listeningAddresses(apiPort), ["127.0.0.1"]);
	});

	test("running the block's key line again keeps the master key", async () => {
		const keyLine = lines.find((l) => l.includes("secret.key") && l.includes("openssl"));
		assert.ok(keyLine, "the block makes secret.key");
		const before = readFileSync(path.join(work, "secret.key"), "utf8");
		const again = spawn("bash", ["-c", keyLine], { cwd: work });
		assert.equal(await new Promise((r) => again.once("exit", r)), 0);
		assert.equal(readFileSync(path.join(work, "secret.key"), "utf8"), before);
	});
});
