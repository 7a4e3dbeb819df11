// A root worker's step files under bubblewrap (src/sandbox/launch.ts): the script holding an
// interpolated secret is the step user's own file in the sandbox, lives in memory in a
// root-only directory of the host while the step runs, and is gone once the step ended.

import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { openJobSandbox } from "../../src/sandbox/launch.ts";
import { resolveSandbox } from "../../src/sandbox/probe.ts";
import { runProcess } from "../../src/worker/process-runner.ts";
import { createJobDirs, removeJobDirs } from "../../src/worker/workspace.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const base = mkdtempSync(path.join(tmpdir(), "cds-step-files-"));
after(() => rmSync(base, { recursive: true, force: true }));

const held = () => new Set(readdirSync("/dev/shm").filter((n) => n.startsWith("cds-files-")));

// CI runs as root, as a hatchery with the steps' NAT does.
describe("a root worker's step files (bubblewrap)", () => {
	test("owned by the step's user inside, root-only on the host meanwhile, removed after the step", async () => {
		const { plan } = resolveSandbox({
			kind: "bwrap",
			network: "none",
			uid: 65534,
			gid: 65534,
			hide: [],
			expose: [ROOT],
			share: [],
			searchPath: process.env.PATH ?? "/usr/bin:/bin",
		});
		const dirs = await createJobDirs(base, "files-job");
		writeFileSync(dirs.socket, ""); // where the worker's command socket would be
		const sandbox = await openJobSandbox(plan, { ...dirs });
		const before = held();
		const secret = "s3cret-value";
		let out = "";
		let during: Array<{ uid: number; mode: number }> = [];
		const script = sandbox.filePath("step-0.sh");
		const result = await runProcess({
			command: "bash",
			args: ["-e", script],
			files: [
				{
					name: "step-0.sh",
					content: `echo "$(id -u) $(stat -c '%u %a' ${script}) ${secret}"; sleep 0.3\n`,
					mode: 0o700,
				},
			],
			sandbox,
			cwd: dirs.workspace,
			env: { PATH: "/usr/bin:/bin" },
			onOutput: (chunk) => {
				out += chunk.toString();
				during = [...held()]
					.filter((n) => !before.has(n))
					.map((n) => statSync(`/dev/shm/${n}`))
					.map((st) => ({ uid: st.uid, mode: st.mode & 0o777 }));
			},
			signal: new AbortController().signal,
			graceMs: 1000,
		});
		await sandbox.close();
		await removeJobDirs(dirs);
		assert.equal(result.exitCode, 0, out);
		assert.equal(out.trim(), `65534 65534 700 ${secret}`);
		assert.deepEqual(
			during,
			[{ uid: 0, mode: 0o700 }],
			"in one root-only directory of /dev/shm while it ran",
		);
		const after = [...held()].filter((n) => !before.has(n));
		assert.deepEqual(after, [], "the step's files are gone once it ended");
	});
});
