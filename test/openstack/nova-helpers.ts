// What the Nova driver's suites share: the OpenStack stand-in (test/standins/openstack), a
// driver built the way a hatchery node builds it, and a bounded wait.

import path from "node:path";
import { readHatcherySettings } from "../../config/hatchery.ts";
import type { WorkerAssignment } from "../../src/hatchery/contract.ts";
import type { OpenStackDriver } from "../../src/hatchery/drivers/openstack.ts";
import { createDriver } from "../../src/hatchery/drivers/index.ts";
import { OpenStackStandin, type OpenStackStandinOptions } from "../standins/openstack/cloud.ts";

/** The real worker, as the stand-in's "VMs" run it: this repository's launcher with this Node. */
export const WORKER_COMMAND = `${process.execPath} ${path.resolve(import.meta.dirname, "../../bin/cds-worker.mjs")}`;
export const FAKE_WORKER = path.resolve(import.meta.dirname, "nova-fake-worker.mjs");

export async function startStandin(opts: OpenStackStandinOptions = {}): Promise<OpenStackStandin> {
	const cloud = new OpenStackStandin({
		log: (m) => process.stderr.write(`[openstack-standin] ${m}\n`),
		...opts,
	});
	await cloud.start();
	return cloud;
}

export async function novaDriver(
	cloud: OpenStackStandin,
	work: string,
	env: Record<string, string> = {},
): Promise<OpenStackDriver> {
	const settings = readHatcherySettings(
		{
			...cloud.env(),
			PATH: process.env.PATH,
			CDS_HATCHERY_DRIVER: "openstack",
			CDS_HATCHERY_NAME: "nova-test",
			CDS_HATCHERY_SANDBOX: "none",
			CDS_OPENSTACK_POLL_MS: "100",
			CDS_OPENSTACK_WORKSPACE_MOUNT: path.join(work, "mnt"),
			...env,
		},
		work,
	);
	return (await createDriver(settings)) as OpenStackDriver;
}

export function assignment(jobId: string, extra: Partial<WorkerAssignment> = {}): WorkerAssignment {
	return {
		jobId,
		runId: `run-of-${jobId}`,
		token: `tok-${jobId.replace(/\W/g, "")}-0123456789abcdef`,
		apiUrl: "http://127.0.0.1:9/",
		timeoutSeconds: 60,
		requirements: { binaries: [], services: [] },
		...extra,
	};
}

export async function until<T>(
	what: string,
	fn: () => T | undefined | false | Promise<T | undefined | false>,
	timeoutMs = 30_000,
): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const v = await fn();
		if (v) return v;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}
