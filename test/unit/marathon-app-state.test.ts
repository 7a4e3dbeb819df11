// What a worker app's state in Marathon means for its job (src/hatchery/marathon/app-state.ts),
// and the worker app's definition (app-spec.ts): no token, labels, resources, image.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { readMarathonSettings } from "../../config/marathon.ts";
import { appState, notStartedReason } from "../../src/hatchery/marathon/app-state.ts";
import { appId, segment, workerApp } from "../../src/hatchery/marathon/app-spec.ts";
import type { MarathonApp, QueueItem, TaskFailure } from "../../src/marathon/types.ts";

const app = (extra: Partial<MarathonApp> = {}): MarathonApp => ({
	id: "/w/a",
	version: "v1",
	tasks: [],
	...extra,
});
const failure = (state: TaskFailure["state"], message: string): TaskFailure => ({
	appId: "/w/a",
	taskId: "t1",
	state,
	message,
	host: "agent-1",
	timestamp: "2026-01-01T00:00:00Z",
	version: "v1",
});
const queued = (overdue: boolean, rejects: QueueItem["processedOffersSummary"] = undefined): QueueItem => ({
	count: 1,
	delay: { timeLeftSeconds: overdue ? 0 : 3500, overdue },
	since: "2026-01-01T00:00:00Z",
	app: { id: "/w/a" },
	processedOffersSummary: rejects,
});
const unseen = { task: false, running: false };
const ran = { task: true, running: true };

describe("Marathon worker app state", () => {
	test("a running task is running; a staging one or none yet (launch overdue) is provisioning", () => {
		const running = app({ tasks: [{ id: "t", appId: "/w/a", host: "h", state: "TASK_RUNNING" }] });
		assert.deepEqual(appState(running, undefined, unseen), { kind: "running" });
		const staging = app({ tasks: [{ id: "t", appId: "/w/a", host: "h", state: "TASK_STAGING" }] });
		assert.deepEqual(appState(staging, undefined, unseen), { kind: "provisioning" });
		assert.deepEqual(appState(app(), queued(true), unseen), { kind: "provisioning" });
	});

	test("no task after one was seen, or held back by its backoff: over, 0 without a failure", () => {
		assert.deepEqual(appState(app(), undefined, ran), { kind: "over", exitCode: 0 });
		assert.deepEqual(appState(app(), queued(false), unseen), { kind: "over", exitCode: 0 });
	});

	test("a command's own end after running is the worker's; before running, or a Mesos failure, is a reason", () => {
		const exited = app({ lastTaskFailure: failure("TASK_FAILED", "Command exited with status 3") });
		assert.deepEqual(appState(exited, undefined, ran), { kind: "over", exitCode: 3 });
		const killed = app({ lastTaskFailure: failure("TASK_FAILED", "Command terminated with signal Killed") });
		assert.deepEqual(appState(killed, undefined, ran), { kind: "over", exitCode: null });
		assert.deepEqual(appState(exited, undefined, unseen), {
			kind: "over",
			exitCode: null,
			failure: "marathon task TASK_FAILED: Command exited with status 3",
		});
		const lost = app({ lastTaskFailure: failure("TASK_LOST", "Agent agent-1 removed") });
		assert.deepEqual(appState(lost, undefined, ran), {
			kind: "over",
			exitCode: null,
			failure: "marathon task TASK_LOST: Agent agent-1 removed",
		});
	});

	test("why a task does not start: the offers declined, else Marathon's delay", () => {
		const rejects = {
			processedOffersCount: 4,
			unusedOffersCount: 4,
			rejectSummaryLastOffers: [
				{ reason: "InsufficientMemory", declined: 4, processed: 4 },
				{ reason: "UnfulfilledRole", declined: 0, processed: 4 },
			],
		};
		assert.equal(
			notStartedReason(queued(true, rejects)),
			"no Mesos offer fits: InsufficientMemory (4/4 offers)",
		);
		assert.equal(notStartedReason(queued(false)), "Marathon delays its launch (3500s left)");
		assert.equal(notStartedReason(undefined), "its task never started");
	});
});

describe("Marathon worker app definition", () => {
	const settings = readMarathonSettings(
		{
			CDS_MARATHON_URL: "http://m:8080",
			CDS_MARATHON_IMAGES: "node=registry/cds-node:22",
			CDS_MARATHON_CONSTRAINTS: "hostname:UNIQUE",
		},
		true,
	);
	const assignment = {
		jobId: "P/W/3/job-9",
		runId: "r-3",
		token: "the-secret-token-value",
		apiUrl: "http://api",
		timeoutSeconds: 60,
		requirements: { model: "node", memoryMb: 512, binaries: [], services: [] },
	};

	test("one instance, the job's memory, the model's image, labels, a one-time fetch, and no token", () => {
		const id = appId(settings.appPrefix, "Hatchery_One", assignment.jobId, "n1");
		assert.match(id, /^\/cds-workers\/hatchery-one-[0-9a-f]{8}\/w-[0-9a-f]{16}$/);
		const def = workerApp({
			hatchery: "Hatchery_One",
			assignment,
			settings,
			id,
			assignmentUrl: "http://hatchery:9000/assignments/abc/assignment",
			workerEnv: { HOME: "/w" },
		});
		assert.equal(JSON.stringify(def).includes(assignment.token), false);
		assert.equal(def.instances, 1);
		assert.equal(def.mem, 512);
		assert.equal(def.cpus, 0.5);
		assert.deepEqual(def.container, { type: "DOCKER", docker: { image: "registry/cds-node:22" } });
		assert.deepEqual(def.constraints, [["hostname", "UNIQUE"]]);
		assert.deepEqual(def.fetch, [
			{
				uri: "http://hatchery:9000/assignments/abc/assignment",
				extract: false,
				executable: false,
				cache: false,
			},
		]);
		assert.equal(def.labels?.CDS_HATCHERY, "Hatchery_One");
		assert.equal(def.labels?.CDS_JOB, "P/W/3/job-9");
		assert.equal(def.cmd, "{ rm -f assignment; exec node /opt/cds/bin/cds-worker.mjs; } < assignment");
	});

	test("path segments are Marathon ids", () => {
		assert.equal(segment("simple-name"), "simple-name");
		assert.match(segment("Weird.Name"), /^weird-name-[0-9a-f]{8}$/);
		assert.match(segment("___"), /^h-[0-9a-f]{8}$/);
	});
});
