// What the Marathon suites share: the Marathon stand-in (test/standins/marathon: the events
// server with the apps, deployments, tasks and queue routes mounted) in this test process,
// its tasks running as local processes under a directory of the test's own.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { MarathonApps } from "../standins/marathon/apps.ts";
import { MarathonStandin } from "../standins/marathon/server.ts";

export interface Marathon {
	standin: MarathonStandin;
	apps: MarathonApps;
	url: string;
	dir: string;
	stop(): Promise<void>;
}

export async function startMarathon(
	options: { credentials?: { username: string; password: string } } = {},
): Promise<Marathon> {
	const dir = mkdtempSync(path.join(tmpdir(), "cds-marathon-"));
	const standin = new MarathonStandin({ credentials: options.credentials });
	const apps = new MarathonApps(standin, {
		dir: path.join(dir, "sandboxes"),
		taskEnv: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
		log: process.env.CDS_TEST_VERBOSE ? (m) => process.stderr.write(`[marathon] ${m}\n`) : undefined,
	});
	const url = await standin.start();
	return {
		standin,
		apps,
		url,
		dir,
		async stop() {
			await apps.stop();
			await standin.stop();
			rmSync(dir, { recursive: true, force: true });
		},
	};
}

/** The worker command of apps on the stand-in: this repository's launcher with this Node. */
export const WORKER_COMMAND = `${process.execPath} ${path.resolve(import.meta.dirname, "../../bin/cds-worker.mjs")}`;

export async function until<T>(
	what: string,
	fn: () => Promise<T | undefined | false> | T | undefined | false,
	timeoutMs = 30_000,
): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const v = await fn();
		if (v) return v;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 100));
	}
}
