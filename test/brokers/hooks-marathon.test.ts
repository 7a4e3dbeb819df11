// The Marathon hook on two replicas over real NATS and FerretDB, against the Marathon stand-in
// (test/standins/marathon/: Marathon does not install here; its events follow Marathon's documented
// event bus JSON). One replica — the leader — follows the event stream with the integration's
// credentials; events matching a binding's filters start one run each (the same event sent twice,
// one); a cut stream is reconnected and the events after it start their runs.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
	deploymentFailed,
	instanceChanged,
	MarathonStandin,
	statusUpdate,
	unhealthyInstanceKill,
} from "../standins/marathon/server.ts";
import type { NodeProcess } from "../helpers/cluster.ts";
import { type ProbeCluster, skip, sleep, startProbeCluster, waitFor } from "./support/probe-hooks.ts";

describe("Marathon hook against the Marathon stand-in over NATS and FerretDB", { skip }, () => {
	let cluster: ProbeCluster;
	const marathon = new MarathonStandin({ credentials: { username: "cds", password: "s3cret" } });
	const replicas: NodeProcess[] = [];

	before(async () => {
		const url = await marathon.start();
		cluster = await startProbeCluster("marathon");
		const integration = await cluster.home.api("POST", `/api/v1/projects/${cluster.project}/integrations`, {
			name: "mesos-prod",
			model: "Marathon",
			config: {
				url: { type: "string", value: url },
				username: { type: "string", value: "cds" },
				password: { type: "password", value: "s3cret" },
			},
		});
		assert.equal(integration.status, 201, JSON.stringify(integration.body));
		await cluster.importWorkflow(
			"heal-api",
			"- type: Marathon hook\n  config:\n    integration: mesos-prod\n    app_id: /shop/api\n    task_statuses: TASK_FAILED",
		);
		await cluster.importWorkflow(
			"watch-all",
			"- type: Marathon hook\n  config:\n    integration: mesos-prod\n    event_types: deployment_failed, instance_changed_event",
		);
		replicas.push(await cluster.spawnHookNode("marathon-a", "hook-marathon"));
		replicas.push(await cluster.spawnHookNode("marathon-b", "hook-marathon"));
		await waitFor("the leader to follow the stream once per hook", () => marathon.streams === 2);
	});
	after(async () => {
		await cluster?.stop();
		await marathon.stop();
	});

	test("one replica subscribes, with the integration's credentials and the hooks' event types", async () => {
		await sleep(1500);
		assert.equal(marathon.streams, 2, "the other replica does not subscribe");
		assert.ok(
			marathon.subscriptions.every(
				(s) => s.authorization === `Basic ${Buffer.from("cds:s3cret").toString("base64")}`,
			),
		);
		// Leadership may have moved once under load (a replica that missed its slot hands over):
		// whoever subscribed asked for the same things.
		const types = [...new Set(marathon.subscriptions.map((s) => s.eventTypes.join(",")))].sort();
		assert.deepEqual(types, [
			"deployment_failed,instance_changed_event",
			"status_update_event,unhealthy_instance_kill_event,deployment_failed",
		]);
	});

	test("events matching a hook's filters start one run each, with the event as payload", async () => {
		const failed = statusUpdate("/shop/api", "TASK_FAILED", { message: "Command exited with status 137" });
		marathon.publish(statusUpdate("/shop/api", "TASK_RUNNING"));
		marathon.publish(statusUpdate("/shop/web", "TASK_FAILED"));
		marathon.publish(failed);
		marathon.publish(failed); // sent twice: one run
		marathon.publish(unhealthyInstanceKill("/shop/api"));
		marathon.publish(deploymentFailed("/shop/web"));
		marathon.publish(instanceChanged("/shop/api", "Failed"));
		await waitFor(
			"the runs",
			async () =>
				(await cluster.runs("heal-api")).length === 2 && (await cluster.runs("watch-all")).length === 2,
		);
		await sleep(1000);
		const heal = await cluster.runs("heal-api");
		assert.equal(heal.length, 2, "TASK_FAILED of /shop/api once, and the unhealthy kill");
		// Events are processed side by side: the runs' numbers need not follow the stream's order.
		assert.deepEqual(heal.map((r) => r.vars["eventType"]).sort(), [
			"status_update_event",
			"unhealthy_instance_kill_event",
		]);
		const v = heal.find((r) => r.vars["eventType"] === "status_update_event")!.vars;
		assert.equal(v["taskStatus"], "TASK_FAILED");
		assert.equal(v["appId"], "/shop/api");
		assert.equal(v["taskId"], failed.taskId);
		assert.equal(v["message"], "Command exited with status 137");
		assert.equal(v["cds.hook.task_status"], "TASK_FAILED");
		assert.equal(v["cds.hook.app_id"], "/shop/api");
		assert.equal(v["cds.hook.type"], "Marathon hook");
		const watch = await cluster.runs("watch-all");
		assert.deepEqual(watch.map((r) => r.vars["eventType"]).sort(), [
			"deployment_failed",
			"instance_changed_event",
		]);
		assert.equal(
			watch.find((r) => r.vars["eventType"] === "instance_changed_event")!.vars["condition"],
			"Failed",
		);
	});

	test("a cut stream is reconnected and the events after it start their runs", async () => {
		const subscriptions = marathon.subscriptions.length;
		marathon.cutStreams();
		await waitFor("the streams to be followed again", () => marathon.streams === 2, 20_000);
		assert.equal(marathon.subscriptions.length, subscriptions + 2);
		marathon.publish(statusUpdate("/shop/api", "TASK_FAILED"));
		await waitFor(
			"the run after the reconnection",
			async () => (await cluster.runs("heal-api")).length === 3,
		);
		await sleep(500);
		assert.equal((await cluster.runs("heal-api")).length, 3);

		const events = await cluster.home.api("GET", `/api/v1/projects/${cluster.project}/hooks/events?limit=50`);
		const marathonEvents = events.body.items.filter((e: { source: string }) => e.source === "marathon");
		assert.equal(marathonEvents.length, 5);
		assert.ok(
			marathonEvents.every((e: { state: string }) => e.state === "done"),
			JSON.stringify(marathonEvents),
		);
	});

	test("the leader killed -9: the other replica follows the stream", async () => {
		const leading: NodeProcess[] = [];
		for (const node of replicas) {
			const answer = (await cluster.home.server.broker.call(
				"hook-marathon.bindings",
				{},
				{ nodeID: node.name },
			)) as {
				active: boolean;
			};
			if (answer.active) leading.push(node);
		}
		assert.equal(leading.length, 1, "one leader");
		const subscriptions = marathon.subscriptions.length;
		await leading[0]!.kill9();
		const survivor = replicas.find((r) => r !== leading[0])!;
		await waitFor(
			"the other replica to subscribe",
			() => marathon.subscriptions.length >= subscriptions + 2,
			20_000,
		).catch(async (e: Error) => {
			const status = await cluster.home.server.broker
				.call("hook-marathon.bindings", {}, { nodeID: survivor.name })
				.catch((err: Error) => err.message);
			throw new Error(
				`${e.message}: ${marathon.subscriptions.length - subscriptions} new subscriptions, ${marathon.streams} streams; the survivor: ${JSON.stringify(status)}\n${survivor.output.join("")}`,
			);
		});
		await waitFor("the dead leader's streams to close", () => marathon.streams === 2, 20_000);
		marathon.publish(deploymentFailed("/shop/api"));
		await waitFor("the run", async () => (await cluster.runs("watch-all")).length === 3);
	});
});
