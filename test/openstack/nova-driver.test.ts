// The Nova driver against the OpenStack stand-in, at driver level (no cluster): a fake worker
// (test/openstack/nova-fake-worker.mjs) records the assignment it got from the boot script. Checks
// the server's flavor, image, tags, metadata; that the server is deleted at the job's end;
// quota and build errors; a server gone ERROR or vanished; adoption and orphan deletion by a
// restarted driver; token renewal; persistent workspaces on Cinder volumes.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { WorkerHandle } from "../../src/hatchery/contract.ts";
import type { OpenStackDriver } from "../../src/hatchery/drivers/openstack.ts";
import { hatcheryTag } from "../../src/hatchery/openstack/server-spec.ts";
import type { OpenStackStandin } from "../standins/openstack/cloud.ts";
import { assignment, FAKE_WORKER, novaDriver, startStandin, until } from "./nova-helpers.ts";

describe("Nova hatchery driver against the stand-in", () => {
	let cloud: OpenStackStandin;
	let work: string;
	let results: string;
	const drivers: OpenStackDriver[] = [];
	const exits: Array<{ handle: WorkerHandle; code: number | null }> = [];

	const driver = async (env: Record<string, string> = {}) => {
		const d = await novaDriver(cloud, work, {
			CDS_OPENSTACK_WORKER_COMMAND: `${process.execPath} ${FAKE_WORKER} ${results}`,
			CDS_OPENSTACK_IMAGES: "small-model=cds-worker,broken=broken-image",
			...env,
		});
		d.onExit((handle, code) => exits.push({ handle, code }));
		drivers.push(d);
		return d;
	};
	const result = (jobId: string) => {
		const f = path.join(results, `${jobId.replace(/[^A-Za-z0-9_-]/g, "_")}.json`);
		return existsSync(f) ? JSON.parse(readFileSync(f, "utf8")) : undefined;
	};
	const exitOf = (jobId: string) =>
		until(`the exit of ${jobId}`, () => exits.find((e) => e.handle.jobId === jobId));
	const serverOf = (jobId: string) => cloud.listServers().find((s) => s.metadata["cds-job"] === jobId);

	before(async () => {
		work = mkdtempSync(path.join(tmpdir(), "nova-driver-"));
		results = path.join(work, "results");
		const { mkdirSync } = await import("node:fs");
		mkdirSync(results);
		cloud = await startStandin({ dir: path.join(work, "cloud"), buildMs: 50 });
	});

	after(async () => {
		for (const d of drivers) await d.close().catch(() => {});
		await cloud.stop();
		rmSync(work, { recursive: true, force: true });
	});

	test("a job gets its own server (flavor by memory, image by model, tags, metadata); it is deleted at the job's end", async () => {
		const d = await driver();
		const jobId = "P/WF/1/run/job-a";
		const h = await d.spawn(
			assignment(jobId, {
				requirements: { binaries: [], services: [], model: "small-model", memoryMb: 3000 },
			}),
		);
		assert.equal(h.state, "provisioning");
		const server = serverOf(jobId)!;
		assert.ok(server, "a server was created");
		assert.deepEqual(server.tags.sort(), ["cds-ts", hatcheryTag("nova-test")].sort());
		assert.equal(server.metadata["cds-hatchery"], "nova-test");
		assert.equal(server.metadata["cds-run"], `run-of-${jobId}`);
		const r = await until("the worker to report", () => result(jobId));
		assert.equal(r.type, "assign");
		assert.equal(r.tokenLength, assignment(jobId).token.length);
		assert.equal(r.env.tokenInEnv, false, "the token is not in the worker's environment");
		assert.equal(r.env.CDS_WORKER_NAME, server.name);
		const exit = await exitOf(jobId);
		assert.equal(exit.handle.failure, undefined);
		await until("the server to be deleted", () => !serverOf(jobId));
		// Jobs may ask up to the largest flavor's RAM (m1.large), not the hatchery host's.
		assert.equal((await d.capabilities()).memoryMb, 8192);
	});

	test("the flavor is the smallest whose RAM covers the job's memory", async () => {
		const d = await driver({ CDS_HATCHERY_NAME: "nova-flavor" });
		const jobId = "P/WF/1/run/job-flavor-hold";
		await d.spawn(assignment(jobId, { requirements: { binaries: [], services: [], memoryMb: 3000 } }));
		const server = serverOf(jobId)!;
		const full = await fetchServer(server.id);
		assert.equal(full.flavor.id, "3", "m1.medium (4096 MiB) for 3000 MiB");
		await d.kill(jobId);
		await until("the server to be deleted", () => !serverOf(jobId));
	});

	test("a quota refusal (403 forbidden, 413 overLimit) fails the spawn with Nova's message", async () => {
		const d = await driver({ CDS_HATCHERY_NAME: "nova-quota" });
		for (const code of [403, 413] as const) {
			cloud.quota = { instances: 0, code };
			await assert.rejects(d.spawn(assignment(`P/WF/1/run/quota-${code}`)), /Quota exceeded for instances/);
		}
		cloud.quota = undefined;
		assert.equal((await d.list()).length, 0);
	});

	test("a build error (ERROR with a fault) fails the job with Nova's fault message", async () => {
		const d = await driver({ CDS_HATCHERY_NAME: "nova-build" });
		const jobId = "P/WF/1/run/broken";
		await d.spawn(assignment(jobId, { requirements: { binaries: [], services: [], model: "broken" } }));
		const exit = await exitOf(jobId);
		assert.match(exit.handle.failure?.reason ?? "", /ERROR: Build of instance .* aborted/);
		assert.equal(exit.handle.failure?.started, false);
		await until("the ERROR server to be deleted", () => !serverOf(jobId));
	});

	test("a server that goes ERROR while running, or vanishes, fails its job with the reason", async () => {
		const d = await driver({ CDS_HATCHERY_NAME: "nova-faults" });
		const crashJob = "P/WF/1/run/crash-hold";
		const vanishJob = "P/WF/1/run/vanish-hold";
		const a = await d.spawn(assignment(crashJob));
		const b = await d.spawn(assignment(vanishJob));
		await until(
			"both workers to run",
			async () => (await d.list()).filter((w) => w.state === "running").length === 2,
		);
		cloud.crash(a.name, "Host compute-3 is down");
		cloud.vanish(b.name);
		const crashed = await exitOf(crashJob);
		assert.match(crashed.handle.failure?.reason ?? "", /ERROR: Host compute-3 is down/);
		assert.equal(crashed.handle.failure?.started, true);
		const vanished = await exitOf(vanishJob);
		assert.match(vanished.handle.failure?.reason ?? "", /vanished/);
	});

	test("a restarted driver of the same name adopts the servers of live jobs and deletes those whose job is over", async () => {
		const first = await driver({ CDS_HATCHERY_NAME: "nova-restart" });
		const live = "P/WF/1/run/live-hold";
		const over = "P/WF/1/run/over-hold";
		await first.spawn(assignment(live));
		await first.spawn(assignment(over));
		await until(
			"both workers to run",
			async () => (await first.list()).filter((w) => w.state === "running").length === 2,
		);
		await first.close({ leaveRunning: true });
		const second = await driver({ CDS_HATCHERY_NAME: "nova-restart" });
		const r = await second.reconcile([live]);
		assert.deepEqual(r, { adopted: 1, killed: 1 });
		await until("the orphan server to be deleted", () => !serverOf(over));
		const workers = await second.list();
		assert.equal(workers.length, 1);
		assert.equal(workers[0]!.jobId, live);
		assert.equal(workers[0]!.adopted, true);
		assert.equal((await second.capacity()).running, 1);
		// A live job whose server is gone fails at the second reconcile in a row.
		cloud.vanish(workers[0]!.name);
		await until("the vanished server to be noticed", async () => (await second.list()).length === 0);
		const ghost = "P/WF/1/run/never-had-a-server";
		await second.reconcile([ghost]);
		assert.equal(
			exits.some((e) => e.handle.jobId === ghost),
			false,
			"not at the first reconcile",
		);
		await second.reconcile([ghost]);
		assert.match((await exitOf(ghost)).handle.failure?.reason ?? "", /server is gone/);
	});

	test("no more servers than CDS_HATCHERY_MAX_WORKERS", async () => {
		const d = await driver({ CDS_HATCHERY_NAME: "nova-max", CDS_HATCHERY_MAX_WORKERS: "2" });
		await d.spawn(assignment("P/WF/1/run/max1-hold"));
		assert.equal(await d.freeSlots(), 1);
		await d.spawn(assignment("P/WF/1/run/max2-hold"));
		assert.equal(await d.freeSlots(), 0);
		await d.close();
		await until(
			"the servers to be deleted",
			() => !serverOf("P/WF/1/run/max1-hold") && !serverOf("P/WF/1/run/max2-hold"),
		);
	});

	test("an expired or revoked Keystone token is renewed", async () => {
		const d = await driver({ CDS_HATCHERY_NAME: "nova-token" });
		const tokensBefore = cloud.requests.filter((r) => r === "POST /identity/v3/auth/tokens").length;
		cloud.revokeTokens();
		const jobId = "P/WF/1/run/after-revoke";
		await d.spawn(assignment(jobId));
		await exitOf(jobId);
		assert.ok(cloud.requests.filter((r) => r === "POST /identity/v3/auth/tokens").length > tokensBefore);
	});

	test("a persistent workspace: a Cinder volume created, attached, written, detached; the next job sees the file; deleteWorkspace deletes it", async () => {
		const d = await driver({ CDS_HATCHERY_NAME: "nova-ws" });
		const workspace = {
			id: "p-wf-build-main-cache",
			name: "cache",
			sizeBytes: 1.5 * 1024 ** 3,
			leaseId: "l1",
		};
		const first = "P/WF/1/run/ws-first";
		await d.spawn(assignment(first, { workspace }));
		const r1 = await until("the first job to report", () => result(first));
		assert.deepEqual(r1.workspace, { name: "cache", path: path.join(work, "mnt", workspace.id) });
		assert.deepEqual(r1.jobs, [first]);
		const volumes = () => cloud.listVolumes().filter((v) => v.name === `cds-ws-${workspace.id}`);
		assert.equal(volumes().length, 1);
		assert.equal(volumes()[0]!.size, 2, "1.5 GiB rounds up to 2");
		await exitOf(first);
		await until("the volume to be detached", () => volumes()[0]?.status === "available");
		assert.ok(
			cloud.requests.some((r) => /^DELETE \/compute\/v2\.1\/servers\/[^/]+\/os-volume_attachments\//.test(r)),
		);
		const second = "P/WF/2/run/ws-second";
		await d.spawn(assignment(second, { workspace: { ...workspace, leaseId: "l2" } }));
		const r2 = await until("the second job to report", () => result(second));
		assert.deepEqual(r2.jobs, [first, second], "the second job sees what the first wrote");
		assert.equal(volumes().length, 1, "the same volume");
		await exitOf(second);
		await until("the volume to be detached", () => volumes()[0]?.status === "available");
		await d.deleteWorkspace(workspace.id);
		assert.equal(volumes().length, 0);
	});

	test("a workspace volume in-use by the server of a job that is over is detached at reconcile, for the next job", async () => {
		const first = await driver({ CDS_HATCHERY_NAME: "nova-ws-stuck" });
		const workspace = { id: "stuck-ws", name: "w", sizeBytes: 1, leaseId: "a" };
		const dead = "P/WF/1/run/ws-dead-hold";
		await first.spawn(assignment(dead, { workspace }));
		await until("the volume to be in use", () =>
			cloud.listVolumes().some((v) => v.name === "cds-ws-stuck-ws" && v.status === "in-use"),
		);
		await until("the dead job's worker to write", () => result(dead));
		await first.close({ leaveRunning: true });
		const second = await driver({ CDS_HATCHERY_NAME: "nova-ws-stuck" });
		await second.reconcile([]);
		await until("the dead job's server to be deleted", () => !serverOf(dead));
		assert.ok(
			cloud.listVolumes().some((v) => v.name === "cds-ws-stuck-ws" && v.status === "available"),
			"detached before its server was deleted",
		);
		const next = "P/WF/2/run/ws-next";
		await second.spawn(assignment(next, { workspace }));
		const r = await until("the next job to report", () => result(next));
		assert.deepEqual(r.jobs, [dead, next]);
	});

	test("a workspace volume left in-use by a server that vanished is detached on Cinder's side for the next job", async () => {
		const d = await driver({ CDS_HATCHERY_NAME: "nova-ws-vanish" });
		const workspace = { id: "vanish-ws", name: "w", sizeBytes: 1, leaseId: "a" };
		const lost = "P/WF/1/run/ws-lost-hold";
		const h = await d.spawn(assignment(lost, { workspace }));
		await until("the lost job's worker to write", () => result(lost));
		cloud.vanish(h.name, { keepVolumes: true });
		assert.match((await exitOf(lost)).handle.failure?.reason ?? "", /vanished/);
		assert.equal(cloud.listVolumes().find((v) => v.name === "cds-ws-vanish-ws")?.status, "in-use");
		const next = "P/WF/2/run/ws-after-vanish";
		await d.spawn(assignment(next, { workspace }));
		const r = await until("the next job to report", () => result(next));
		assert.deepEqual(r.jobs, [lost, next]);
		assert.ok(cloud.requests.some((x) => /^POST \/volume\/v3\/[^/]+\/volumes\/[^/]+\/action$/.test(x)));
	});

	async function fetchServer(id: string) {
		// Through the stand-in's own API, with a token of its own.
		const auth = await fetch(`${cloud.url}/identity/v3/auth/tokens`, {
			method: "POST",
			headers: { "Content-Type": "application/json" },
			body: JSON.stringify({
				auth: {
					identity: {
						methods: ["password"],
						password: { user: { name: "cds", domain: { name: "Default" }, password: "s3cret-standin" } },
					},
					scope: { project: { name: "cds-ci", domain: { name: "Default" } } },
				},
			}),
		});
		const token = auth.headers.get("x-subject-token")!;
		const r = await fetch(`${cloud.url}/compute/v2.1/servers/${id}`, { headers: { "X-Auth-Token": token } });
		return ((await r.json()) as { server: { flavor: { id: string } } }).server;
	}

	test("release file", () => {
		writeFileSync(path.join(results, "release"), "");
	});
});
