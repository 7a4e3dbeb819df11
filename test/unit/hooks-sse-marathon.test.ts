// The event stream reader (Server-Sent Events, cut anywhere) and Marathon's events as the Marathon
// hook reads them: filters per binding and each event's identity.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
	appIdsOf,
	marathonEventKey,
	marathonFilterOf,
	marathonMatches,
	parseMarathonEvent,
} from "../../src/hooks/marathon-events.ts";
import { eventStreamUrl } from "../../src/hooks/sources/marathon.ts";
import { SseParser } from "../../src/hooks/sse.ts";
import {
	deploymentFailed,
	instanceChanged,
	statusUpdate,
	unhealthyInstanceKill,
} from "../standins/marathon/server.ts";

describe("Server-Sent Events", () => {
	test("events split across chunks anywhere, comments, multi-line data, CRLF, ids", () => {
		const text =
			': keep-alive\r\nevent: status_update_event\r\nid: 7\r\ndata: {"a":\r\ndata: 1}\r\n\r\n' +
			"data: second\n\nevent: ignored-without-data\n\n";
		const bytes = Buffer.from(text);
		for (const size of [1, 2, 3, 7, bytes.length]) {
			const p = new SseParser();
			const events = [];
			for (let i = 0; i < bytes.length; i += size) events.push(...p.feed(bytes.subarray(i, i + size)));
			assert.deepEqual(events, [
				{ event: "status_update_event", data: '{"a":\n1}', id: "7" },
				{ event: "message", data: "second", id: "7" },
			]);
		}
	});

	test("a multi-byte character cut between chunks is read whole", () => {
		const bytes = Buffer.from("data: héllo\n\n");
		const p = new SseParser();
		const events = [...p.feed(bytes.subarray(0, 8)), ...p.feed(bytes.subarray(8))];
		assert.equal(events[0]!.data, "héllo");
	});

	test("a line that never ends is refused past the limit", () => {
		const p = new SseParser(16);
		assert.throws(() => p.feed("data: 0123456789abcdef"), /longer than 16/);
	});
});

describe("Marathon events", () => {
	test("the stream URL asks for the binding's event types", () => {
		assert.equal(
			eventStreamUrl("https://marathon.example/base", ["status_update_event", "deployment_failed"]).href,
			"https://marathon.example/base/v2/events?event_type=status_update_event&event_type=deployment_failed",
		);
	});

	test("default event types, app id and task status filters", () => {
		const filter = marathonFilterOf({ app_id: "shop/api", task_statuses: "task_failed, TASK_KILLED" });
		assert.deepEqual(filter.eventTypes, [
			"status_update_event",
			"unhealthy_instance_kill_event",
			"deployment_failed",
		]);
		assert.equal(filter.appId, "/shop/api");
		assert.equal(marathonMatches(statusUpdate("/shop/api", "TASK_FAILED"), filter), true);
		assert.equal(marathonMatches(statusUpdate("/shop/api", "TASK_RUNNING"), filter), false);
		assert.equal(marathonMatches(statusUpdate("/shop/web", "TASK_FAILED"), filter), false);
		assert.equal(
			marathonMatches(unhealthyInstanceKill("/shop/api"), filter),
			true,
			"statuses filter status updates only",
		);
		assert.equal(
			marathonMatches(deploymentFailed("/shop/api"), filter),
			true,
			"a deployment's app is in its plan",
		);
		assert.equal(
			marathonMatches(instanceChanged("/shop/api", "Failed"), filter),
			false,
			"not a default type",
		);
		const instances = marathonFilterOf({ event_types: "instance_changed_event" });
		assert.equal(marathonMatches(instanceChanged("/shop/api", "Failed"), instances), true);
	});

	test("apps of an event: appId, runSpecId, a deployment plan's steps", () => {
		assert.deepEqual(appIdsOf(instanceChanged("/a/b", "Running")), ["/a/b"]);
		assert.deepEqual(appIdsOf(deploymentFailed("/c")), ["/c"]);
	});

	test("an event's identity: the same event twice is one key, another task or time another", () => {
		const e = statusUpdate("/api", "TASK_FAILED", { taskId: "api.1", timestamp: "2026-01-01T00:00:00.000Z" });
		const again = parseMarathonEvent(JSON.stringify(e))!;
		assert.equal(marathonEventKey(again), marathonEventKey(e));
		assert.notEqual(marathonEventKey({ ...e, taskId: "api.2" }), marathonEventKey(e));
		assert.notEqual(marathonEventKey({ ...e, timestamp: "2026-01-01T00:00:00.001Z" }), marathonEventKey(e));
		assert.notEqual(marathonEventKey({ ...e, taskStatus: "TASK_KILLED" }), marathonEventKey(e));
	});

	test("what is not a Marathon event is dropped", () => {
		assert.equal(parseMarathonEvent("not json"), null);
		assert.equal(parseMarathonEvent("[1]"), null);
		assert.equal(parseMarathonEvent('{"type":"x"}'), null);
	});
});
