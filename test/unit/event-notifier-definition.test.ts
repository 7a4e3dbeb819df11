// The event notifications of a run come from the definition the run uses, also when the run's
// git branch is not that definition's branch: an imported workflow (its definitions on the
// default branch) run with `-p git.branch=main`, as the README's first start does. The run
// engine's own run.updated event is fed to the notifier, whose port answers like workflow.get:
// a definition exists only at its own branch and version.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createRun } from "../../src/engine/run-commands.ts";
import { EventNotifier } from "../../src/notifications/event-notifier.ts";
import type { RunStatusEvent } from "../../src/notifications/run-events.ts";
import type { WorkflowNotification } from "../../src/workflow/model.ts";
import { engineFixture, type Fixture, simpleWorkflow } from "../helpers/engine-fixture.ts";

let f: Fixture;
before(async () => {
	f = await engineFixture();
	f.define("P", simpleWorkflow("W"), "master");
});
after(() => f.close());

test("a run with git.branch=main of a workflow defined on master: its Building is published, nothing is warned", async () => {
	const notifications: WorkflowNotification[] = [
		{ type: "event", nodes: [], integration: "all", settings: {} },
	];
	const published: string[] = [];
	const warnings: string[] = [];
	const notifier = new EventNotifier({
		async notifications(_project, workflow, at) {
			if (at && at.branch !== "master")
				throw new Error(`definition of workflow ${workflow} on branch ${at.branch} not found`);
			return notifications;
		},
		integration: async (_p, name) => ({ name, model: "Kafka", config: { "broker url": "h:1", topic: "t" } }),
		async publish(_integration, messages) {
			for (const m of messages) published.push(String(m.value["status"]));
		},
		once: async () => true,
		warn: (m) => warnings.push(m),
		now: () => 0,
	});

	const run = await createRun(f.engine, {
		project: "P",
		workflow: "W",
		params: { "git.branch": "main" },
		triggeredBy: "t",
	});
	assert.equal(run.branch, "main");
	const emitted = f.events.find((e) => e.event === "run.updated" && e.payload["runId"] === run._id);
	assert.ok(emitted, "the engine emitted run.updated");
	const sent = await notifier.runUpdated(emitted.payload as unknown as RunStatusEvent);
	assert.deepEqual(warnings, []);
	assert.equal(sent, 1);
	assert.deepEqual(published, [run.status]);
});
