// The CLI as a user installs it: `npm pack` (which builds dist/ at prepack), a global install of
// the tarball into a temporary prefix, and `cds` run from that prefix's bin on PATH with the
// machine's own Node — not the Node 22 of node_modules, which an installed package never has.
// Takes about 10 s (the build ~5 s, the install a few seconds from npm's cache or the registry).

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runCommand } from "../helpers/run-command.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const FIXTURE = join(ROOT, "test", "fixtures", "run", "ITSCWRKFLW3");

/** The first `node` on PATH that is not a node_modules one: what `#!/usr/bin/env node` gets once installed. */
function machineNode(): string | undefined {
	const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/local/bin", "/usr/bin", "/bin"];
	for (const dir of dirs) {
		if (!dir || dir.includes("node_modules")) continue;
		const candidate = join(dir, "node");
		if (existsSync(candidate)) return candidate;
	}
	return undefined;
}

const NODE = machineNode();

describe("the installed CLI", { skip: NODE ? false : "no node outside node_modules on this machine" }, () => {
	let dir = "";
	let prefix = "";
	/** Only the prefix's bin and the machine Node's directory: the checkout's node_modules is nowhere. */
	let env: NodeJS.ProcessEnv = {};
	let nodeVersion = "";

	before(async () => {
		dir = await mkdtemp(join(tmpdir(), "cds-install-"));
		prefix = join(dir, "prefix");
		// npm runs `prepack` (the build) with node_modules/.bin on PATH, so with the checkout's tsc.
		const pack = await runCommand("npm", ["pack", "--pack-destination", dir, "--silent"], {
			cwd: ROOT,
			env: { ...process.env, npm_config_update_notifier: "false" },
			timeoutMs: 120_000,
		});
		assert.equal(pack.code, 0, pack.stderr);
		const tarball = join(dir, pack.stdout.trim().split("\n").pop()!);
		assert.ok(existsSync(tarball), `npm pack made ${tarball}`);
		const listing = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" });
		assert.match(listing, /package\/dist\/bin\/cds\.js/);
		assert.doesNotMatch(
			listing,
			/^(?!.*\.d\.ts$).*\.ts$/m,
			"no TypeScript in the package but declarations (cds-ts/hooks): Node would refuse it under node_modules",
		);
		const install = await runCommand(
			"npm",
			["install", "-g", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", tarball],
			{ cwd: dir, env: { ...process.env, npm_config_update_notifier: "false" }, timeoutMs: 180_000 },
		);
		assert.equal(install.code, 0, install.stderr);
		env = {
			PATH: [join(prefix, "bin"), dirname(NODE!), "/usr/bin", "/bin"].join(delimiter),
			HOME: dir,
			CDS_CONFIG: join(dir, "no-config.json"),
		};
		nodeVersion = execFileSync(NODE!, ["-p", "process.versions.node"], { encoding: "utf8" }).trim();
	});

	after(async () => {
		if (dir) await rm(dir, { recursive: true, force: true });
	});

	test("`cds` is on PATH and `cds version` runs on the machine's Node", async () => {
		const which = spawnSync("sh", ["-c", "command -v cds"], { encoding: "utf8", env });
		assert.equal(which.stdout.trim(), join(prefix, "bin", "cds"));
		const r = await runCommand("cds", ["version"], { env });
		assert.equal(r.code, 0, r.stderr);
		const { version } = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8"));
		assert.equal(
			r.stdout,
			`cds ${version} (node ${nodeVersion})\nserver: none configured (cds login --api-url URL --token T, or CDS_API_URL)\n`,
		);
	});

	test("`cds version` names the server it talks to and whether it answers", async () => {
		const server = createServer((req, res) => {
			res.writeHead(req.url === "/health/live" ? 200 : 404, { "Content-Type": "application/json" });
			res.end(JSON.stringify({ status: "live", node: "node-under-test" }));
		});
		await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
		const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
		try {
			const live = await runCommand("cds", ["version"], { env: { ...env, CDS_API_URL: `${url}/api/v1` } });
			assert.equal(live.code, 0, live.stderr);
			assert.match(live.stdout, new RegExp(`\\nserver: ${url} \\(live, node node-under-test\\)\\n$`));
			// From the `cds login` file as well.
			await writeFile(env.CDS_CONFIG!, JSON.stringify({ apiUrl: url, token: "t".repeat(24) }));
			const fromFile = await runCommand("cds", ["version"], { env });
			assert.match(fromFile.stdout, new RegExp(`\\nserver: ${url} \\(live, node node-under-test\\)\\n$`));
		} finally {
			await rm(env.CDS_CONFIG!, { force: true });
			await new Promise((resolve) => server.close(resolve));
		}
		const closed = await runCommand("cds", ["version"], { env: { ...env, CDS_API_URL: url } });
		assert.equal(closed.code, 0);
		assert.match(closed.stdout, new RegExp(`\\nserver: ${url} \\(unreachable: ECONNREFUSED\\)\\n$`));
	});

	test("`cds workflow lint` accepts a valid file set and rejects a broken file, with its location", async () => {
		const ok = await runCommand("cds", ["workflow", "lint", FIXTURE], { env });
		assert.equal(ok.code, 0, ok.stdout + ok.stderr);
		assert.match(ok.stdout, /ITSCWRKFLW3\.yml\s+workflow\s+accepted/);
		const broken = join(dir, "broken");
		await mkdir(broken);
		await writeFile(
			join(broken, "bad.pip.yml"),
			"version: v1.0\nname: bad\njobs:\n- job: build\n  steps: [[1]]\n",
		);
		const bad = await runCommand("cds", ["workflow", "lint", join(broken, "bad.pip.yml")], { env });
		assert.equal(bad.code, 2, bad.stdout + bad.stderr);
		assert.match(bad.stdout + bad.stderr, /bad\.pip\.yml:\d+:\d+: /);
	});
});
