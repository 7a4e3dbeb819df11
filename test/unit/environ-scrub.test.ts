// /proc/<pid>/environ is the memory block the kernel filled at exec, not process.env: the node
// overwrites secrets there (src/ops/environ-scrub.ts). Checked from outside, as another process
// of the same user reads it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { describe, test } from "node:test";
import { valueRanges } from "../../src/ops/environ-scrub.ts";

const MODULE = path.resolve(import.meta.dirname, "../../src/ops/environ-scrub.ts");
const SECRET = "s3cret-value-that-must-vanish";

/** Starts a node that scrubs `names`, waits for its result, and reads its environ while it runs. */
async function scrubInChild(names: string[], prefix: string[] = []) {
	const script = `
		import { scrubInitialEnvironment } from ${JSON.stringify(MODULE)};
		const result = scrubInitialEnvironment(${JSON.stringify(names)});
		console.log(JSON.stringify({ result, env: process.env.CDS_ADMIN_TOKEN ?? null }));
		process.stdin.resume(); process.stdin.on("end", () => process.exit(0));`;
	const [command, ...args] = [...prefix, process.execPath, "--input-type=module", "-e", script];
	const child = spawn(command!, args, {
		env: {
			PATH: process.env.PATH ?? "",
			CDS_ADMIN_TOKEN: SECRET,
			OTHER: "stays-as-it-is",
			CDS_SECRET_KEY: SECRET,
		},
		stdio: ["pipe", "pipe", "inherit"],
	});
	try {
		const line: string = await new Promise((resolve, reject) => {
			createInterface({ input: child.stdout! }).once("line", resolve);
			child.once("exit", (code) => reject(new Error(`child exited ${code}`)));
		});
		const environ = readFileSync(`/proc/${child.pid}/environ`, "latin1");
		return {
			...(JSON.parse(line) as { result: { scrubbed: string[]; error?: string }; env: string | null }),
			environ,
		};
	} finally {
		child.stdin!.end();
	}
}

describe("scrubbing secrets from /proc/self/environ", () => {
	test("valueRanges finds every occurrence of a name's value, and only whole names", () => {
		const block = Buffer.from("A=1\0SECRET=xyz\0SECRET_FILE=/f\0B=\0SECRET=again\0");
		const ranges = valueRanges(block, ["SECRET", "B"]);
		assert.deepEqual(
			ranges.map((r) => [r.name, block.toString("latin1", r.from, r.to)]),
			[
				["SECRET", "xyz"],
				["SECRET", "again"],
			],
		);
	});

	test("the values leave /proc/<pid>/environ; other variables stay", {
		skip: process.platform !== "linux",
	}, async () => {
		const seen = await scrubInChild(["CDS_ADMIN_TOKEN", "CDS_SECRET_KEY"]);
		assert.deepEqual(seen.result, { scrubbed: ["CDS_ADMIN_TOKEN", "CDS_SECRET_KEY"] });
		assert.ok(!seen.environ.includes(SECRET), "the secret is still in /proc/<pid>/environ");
		const vars = seen.environ.split("\0");
		assert.ok(vars.includes(`CDS_ADMIN_TOKEN=${"*".repeat(SECRET.length)}`));
		assert.ok(vars.includes("OTHER=stays-as-it-is"), "the read sees the block (the check is real)");
	});

	test("without names nothing is touched", async () => {
		const seen = await scrubInChild([]);
		assert.deepEqual(seen.result, { scrubbed: [] });
		assert.ok(seen.environ.includes(`CDS_ADMIN_TOKEN=${SECRET}`));
	});

	const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => {
		try {
			return readFileSync(p).length > 0;
		} catch {
			return false;
		}
	});
	test("it works for an unprivileged user too", {
		skip: process.getuid?.() !== 0 || !setpriv ? "needs root and setpriv to switch to nobody" : false,
	}, async () => {
		const seen = await scrubInChild(
			["CDS_ADMIN_TOKEN"],
			[setpriv!, "--reuid=65534", "--regid=65534", "--clear-groups"],
		);
		assert.deepEqual(seen.result, { scrubbed: ["CDS_ADMIN_TOKEN"] });
		assert.ok(seen.environ.includes(`CDS_SECRET_KEY=${SECRET}`), "only the named variable is scrubbed");
		assert.ok(!seen.environ.includes(`CDS_ADMIN_TOKEN=${SECRET}`));
	});
});
