// Hook events: git changes become intents, every intent one message, and events stored before
// intents existed (changes / schedule) are read as the intents they meant, progress included.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
	eventDoc,
	type HookEventDoc,
	intentOfChange,
	intentsOf,
	messagesOf,
	scheduleIntent,
	runsOf,
} from "../../src/hooks/events.ts";
import type { HookChange } from "../../src/hooks/payload.ts";

const vars = { "git.branch": "main", "git.repository": "org/app" };
const changes: HookChange[] = [
	{ type: "push", branch: "main", commit: "a".repeat(40), vars },
	{ type: "branch-created", branch: "x", commit: "b".repeat(40), vars },
	{ type: "branch-deleted", branch: "y", vars },
	{ type: "tag", tag: "v1", commit: "c".repeat(40), vars },
];

test("git changes ask for define-branch (with runs), delete-branch and notify", () => {
	assert.deepEqual(
		changes.map((c) => intentOfChange(c, "repo-1")),
		[
			{
				kind: "define-branch",
				type: "push",
				vars,
				repositoryId: "repo-1",
				branch: "main",
				commit: "a".repeat(40),
				run: true,
			},
			{
				kind: "define-branch",
				type: "branch-created",
				vars,
				repositoryId: "repo-1",
				branch: "x",
				commit: "b".repeat(40),
				run: true,
			},
			{ kind: "delete-branch", type: "branch-deleted", vars, repositoryId: "repo-1", branch: "y" },
			{ kind: "notify", type: "tag", vars, tag: "v1", commit: "c".repeat(40) },
		],
	);
});

test("one message per intent, with the source's name and the intent's type", () => {
	const event = eventDoc(
		"wh:repo-1:d1",
		"webhook",
		{
			project: "DEMO",
			repository: { id: "repo-1", name: "org/app" },
			intents: changes.map((c) => intentOfChange(c, "repo-1")),
		},
		Date.parse("2025-01-01T12:00:00Z"),
	);
	const messages = messagesOf(event);
	assert.deepEqual(
		messages.map((m) => [m.id, m.type, m.source, m.branch ?? m.tag]),
		[
			["wh:repo-1:d1#0", "push", "webhook", "main"],
			["wh:repo-1:d1#1", "branch-created", "webhook", "x"],
			["wh:repo-1:d1#2", "branch-deleted", "webhook", "y"],
			["wh:repo-1:d1#3", "tag", "webhook", "v1"],
		],
	);
	assert.deepEqual(messages[0]!.repository, { id: "repo-1", name: "org/app" });
	assert.equal(messages[0]!.receivedAt, "2025-01-01T12:00:00.000Z");
	const tick = eventDoc(
		"sched:s1:2025-01-01T13:05:00",
		"scheduler",
		{
			project: "DEMO",
			intents: [scheduleIntent({ id: "s1", workflow: "build", tick: "2025-01-01T13:05:00", payload: null })],
		},
		0,
	);
	const [m] = messagesOf(tick);
	assert.equal(m!.type, "schedule");
	assert.deepEqual(m!.schedule, { id: "s1", workflow: "build", tick: "2025-01-01T13:05:00" });
	assert.equal(m!.branch, undefined);
	assert.deepEqual(m!.vars, { "cds.hook.schedule": "s1", "cds.hook.tick": "2025-01-01T13:05:00" });
});

test("an event stored before intents existed is read as its intents, its progress carried over", () => {
	const legacy = {
		_id: "wh:repo-1:old",
		project: "DEMO",
		source: "webhook",
		repositoryId: "repo-1",
		repository: "org/app",
		changes,
		schedule: null,
		state: "pending",
		receivedAt: 0,
		doneAt: null,
		attempts: 1,
		progress: { published: true, c0: true },
		lastError: "x",
	} as unknown as HookEventDoc;
	assert.deepEqual(
		intentsOf(legacy).map((i) => i.kind),
		["define-branch", "define-branch", "delete-branch", "notify"],
	);
	const legacyTick = {
		...legacy,
		_id: "sched:s1:t",
		changes: [],
		schedule: { id: "s1", workflow: "build", tick: "t", payload: { deploy: true } },
		progress: { published: true, run: 7 },
	} as unknown as HookEventDoc;
	const [intent] = intentsOf(legacyTick);
	assert.deepEqual(
		{ kind: intent!.kind, workflow: (intent as any).workflow, payload: (intent as any).payload },
		{ kind: "start-run", workflow: "build", payload: { deploy: true } },
	);
	// Its run was created by the attempt before the upgrade: the step is known as done.
	assert.equal(legacyTick.progress.c0, 7);
});

test("an event lists the runs it started, with their workflows (old progress values still read)", () => {
	const change: HookChange = { type: "push", branch: "main", commit: "c".repeat(40), vars: {} };
	const event = eventDoc("e1", "webhook", { project: "P", intents: [intentOfChange(change, "repo")] }, 0);
	event.progress = { c0: true, c0wabc: { workflow: "build", number: 4 }, c0wdef: 7 };
	assert.deepEqual(runsOf(event), [
		{ workflow: "build", number: 4 },
		{ workflow: null, number: 7 },
	]);
	const tick = eventDoc(
		"e2",
		"scheduler",
		{ project: "P", intents: [scheduleIntent({ id: "s", workflow: "nightly", tick: "t", payload: null })] },
		0,
	);
	assert.deepEqual(runsOf(tick), []);
	tick.progress = { c0: 12 };
	assert.deepEqual(runsOf(tick), [{ workflow: "nightly", number: 12 }]);
});
