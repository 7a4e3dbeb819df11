// oslo.messaging notifications as the OpenStack hooks read them (src/hooks/oslo-notification.ts):
// the envelope of real messages captured from RabbitMQ (Nova legacy, Swift's ceilometermiddleware),
// Nova's versioned format, and the filters of the Nova and Swift hooks.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import {
	eventTypeMatches,
	novaMatches,
	novaServer,
	parseOsloMessage,
	swiftEvent,
	swiftMatches,
} from "../../src/hooks/oslo-notification.ts";
import { NOVA_HOOK, notificationDelivery, SWIFT_HOOK } from "../../src/hooks/sources/openstack.ts";

const FIXTURES = path.resolve(import.meta.dirname, "../fixtures/hooks");
const raw = (name: string) => readFileSync(path.join(FIXTURES, name));

// Nova's documented versioned `instance.update` (doc/notification_samples), abridged.
const VERSIONED = {
	"oslo.version": "2.0",
	"oslo.message": JSON.stringify({
		message_id: "5a8d3e57-0000-4c4a-9f0f-1b2c3d4e5f60",
		event_type: "instance.update",
		priority: "INFO",
		publisher_id: "nova-compute:compute",
		timestamp: "2026-12-03 10:00:00.000000",
		payload: {
			"nova_object.name": "InstanceUpdatePayload",
			"nova_object.namespace": "nova",
			"nova_object.version": "2.0",
			"nova_object.data": {
				uuid: "178b0921-8f85-4257-88b6-2e743b5a975c",
				display_name: "some-server",
				host: "compute",
				state: "active",
				task_state: null,
				state_update: {
					"nova_object.name": "InstanceStateUpdatePayload",
					"nova_object.data": {
						old_state: "building",
						state: "active",
						old_task_state: null,
						new_task_state: null,
					},
				},
			},
		},
	}),
};

describe("oslo.messaging notifications", () => {
	test("a legacy Nova notification as oslo.messaging publishes it (bytes of the envelope)", () => {
		const n = parseOsloMessage(raw("oslo-nova-legacy.json"))!;
		assert.equal(n.eventType, "compute.instance.update");
		assert.equal(n.messageId, "b68f7c78-9356-4924-9b92-11f35d92c82e");
		assert.equal(n.publisherId, "compute.cds-test-host");
		assert.deepEqual(novaServer(n), {
			id: "abc",
			name: "web-1",
			state: "error",
			oldState: "active",
			taskState: null,
			host: null,
		});
	});

	test("a versioned Nova notification (decoded JSON, states under state_update)", () => {
		const n = parseOsloMessage(VERSIONED)!;
		assert.equal(n.eventType, "instance.update");
		const s = novaServer(n);
		assert.equal(s.id, "178b0921-8f85-4257-88b6-2e743b5a975c");
		assert.equal(s.name, "some-server");
		assert.equal(s.state, "active");
		assert.equal(s.oldState, "building");
		assert.equal(s.host, "compute");
	});

	test("a notification without the envelope (driver messaging) and bodies that are none", () => {
		const n = parseOsloMessage(
			JSON.stringify({ event_type: "compute.instance.delete.end", payload: { instance_id: "x" } }),
		);
		assert.equal(n?.eventType, "compute.instance.delete.end");
		assert.equal(n?.messageId, null);
		assert.equal(parseOsloMessage("not json"), null);
		assert.equal(parseOsloMessage({ "oslo.version": "2.0", "oslo.message": "{" }), null);
		assert.equal(parseOsloMessage({ payload: {} }), null);
		assert.equal(parseOsloMessage([1, 2]), null);
	});

	test("a Swift event from ceilometermiddleware: container, object, method", () => {
		const n = parseOsloMessage(raw("oslo-swift-ceilometermiddleware.json"))!;
		assert.equal(n.eventType, "objectstore.http.request");
		assert.deepEqual(swiftEvent(n), {
			account: "p1",
			container: "builds",
			object: "app.tgz",
			method: "PUT",
			action: "update",
			outcome: "success",
			path: "v1/AUTH_p1/builds/app.tgz",
		});
	});

	test("event types: exact, or a prefix with a trailing *", () => {
		assert.ok(eventTypeMatches("compute.instance.update", ["compute.instance.*"]));
		assert.ok(eventTypeMatches("instance.update", ["instance.update"]));
		assert.ok(!eventTypeMatches("instance.update.end", ["instance.update"]));
		assert.ok(!eventTypeMatches("volume.create", ["compute.*", "instance.*"]));
		assert.ok(eventTypeMatches("anything", ["*"]));
	});

	test("Nova filters: event types (default compute.instance.*, instance.*), server id and name, states", () => {
		const legacy = parseOsloMessage(raw("oslo-nova-legacy.json"))!;
		const versioned = parseOsloMessage(VERSIONED)!;
		assert.ok(novaMatches(legacy, {}));
		assert.ok(novaMatches(versioned, {}));
		assert.ok(!novaMatches(legacy, { event_types: "instance.*" }));
		assert.ok(novaMatches(legacy, { server_id: "abc", server_name: "web-1" }));
		assert.ok(!novaMatches(legacy, { server_id: "other" }));
		assert.ok(!novaMatches(legacy, { server_name: "web-2" }));
		assert.ok(novaMatches(legacy, { states: "ERROR, deleted" }));
		assert.ok(!novaMatches(versioned, { states: "error" }));
		const swift = parseOsloMessage(raw("oslo-swift-ceilometermiddleware.json"))!;
		assert.ok(!novaMatches(swift, {}));
	});

	test("Swift filters: event types (default objectstore.*), container, methods", () => {
		const n = parseOsloMessage(raw("oslo-swift-ceilometermiddleware.json"))!;
		assert.ok(swiftMatches(n, {}));
		assert.ok(swiftMatches(n, { container: "builds", methods: "put,post" }));
		assert.ok(!swiftMatches(n, { container: "other" }));
		assert.ok(!swiftMatches(n, { methods: "DELETE" }));
		assert.ok(!swiftMatches(n, { event_types: "objectstore.http.response" }));
	});

	test("what a matching notification becomes: payload and cds.hook.openstack.* variables", () => {
		const nova = notificationDelivery(NOVA_HOOK, parseOsloMessage(raw("oslo-nova-legacy.json"))!);
		assert.equal(nova.type, "nova");
		assert.deepEqual(nova.vars, {
			"openstack.event_type": "compute.instance.update",
			"openstack.publisher_id": "compute.cds-test-host",
			"openstack.server_id": "abc",
			"openstack.server_name": "web-1",
			"openstack.state": "error",
			"openstack.old_state": "active",
		});
		assert.equal((nova.payload as { state: string }).state, "error");
		const swift = notificationDelivery(
			SWIFT_HOOK,
			parseOsloMessage(raw("oslo-swift-ceilometermiddleware.json"))!,
		);
		assert.equal(swift.type, "swift");
		assert.equal(swift.vars!["openstack.container"], "builds");
		assert.equal(swift.vars!["openstack.method"], "PUT");
	});
});
