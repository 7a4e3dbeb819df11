// A Python with PyPI's oslo.messaging and ceilometermiddleware, the real OpenStack notification
// senders of test/brokers/openstack.test.ts: a venv under the CI cache
// (${CDS_CI_CACHE:-~/.cache/cds-ts}/openstack-venv-<versions>), created on first use (about 30 s
// from the package index) and reused afterwards. Built aside and renamed into place, under a lock
// directory, so concurrent suites neither see nor make a half-built one.

import { execFile } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Pinned: what the fixtures of test/fixtures/hooks/oslo-*.json were captured with. */
export const OPENSTACK_REQUIREMENTS = ["oslo.messaging==18.3.1", "ceilometermiddleware==3.13.0"];

export const OPENSTACK_TOOLS = path.resolve(import.meta.dirname, "../tools/openstack");

function cacheDir(): string {
	return process.env.CDS_CI_CACHE || path.join(homedir(), ".cache", "cds-ts");
}

export async function openstackPython(): Promise<string> {
	const tag = OPENSTACK_REQUIREMENTS.map((r) => r.replace(/[^a-z0-9.]+/gi, "-")).join("_");
	const venv = path.join(cacheDir(), `openstack-venv-${tag}`);
	const python = path.join(venv, "bin", "python");
	if (existsSync(python)) return python;
	mkdirSync(cacheDir(), { recursive: true });
	const lock = `${venv}.lock`;
	const deadline = Date.now() + 300_000;
	for (;;) {
		try {
			mkdirSync(lock);
			break;
		} catch {
			if (existsSync(python)) return python;
			// A lock older than the longest build is a dead builder's.
			if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 300_000)
				rmSync(lock, { recursive: true, force: true });
			if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
			await new Promise((r) => setTimeout(r, 1000));
		}
	}
	try {
		if (existsSync(python)) return python;
		const building = `${venv}.building-${process.pid}`;
		rmSync(building, { recursive: true, force: true });
		await run("python3", ["-m", "venv", building]);
		await run(
			path.join(building, "bin", "pip"),
			["install", "-q", "--disable-pip-version-check", ...OPENSTACK_REQUIREMENTS],
			{
				timeout: 280_000,
				maxBuffer: 16 * 1024 * 1024,
			},
		);
		// A venv runs from where it is moved to when started through its bin/python.
		renameSync(building, venv);
		return python;
	} finally {
		rmSync(lock, { recursive: true, force: true });
	}
}

/** The oslo.messaging transport URL of a RabbitMQ URL (`amqp://u:p@h:port` → `rabbit://u:p@h:port/`). */
export function transportUrl(amqpUrl: string): string {
	const u = new URL(amqpUrl);
	return `rabbit://${u.username}:${u.password}@${u.hostname}:${u.port}/`;
}

/** Runs a script of test/tools/openstack with the venv's Python; its stdout. */
export async function runOpenstackTool(script: string, args: string[], input?: string): Promise<string> {
	const python = await openstackPython();
	return new Promise((resolve, reject) => {
		const child = execFile(
			python,
			["-W", "ignore", path.join(OPENSTACK_TOOLS, script), ...args],
			{ timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
			(err, stdout, stderr) =>
				err ? reject(new Error(`${script}: ${err.message}\n${stderr}`)) : resolve(stdout),
		);
		if (input !== undefined) child.stdin!.end(input);
	});
}
