// The OpenStack Nova and Swift hooks against real senders on a real RabbitMQ: PyPI's
// oslo.messaging Notifier publishes Nova notifications (legacy and versioned) on the `nova`
// exchange, and a real Swift proxy (Debian's, the all-in-one of test/tools/start-swift.sh, started
// with SWIFT_NOTIFY_TRANSPORT_URL on the same RabbitMQ) publishes through PyPI's
// ceilometermiddleware a notification per request on the `swift` exchange. The hook replica runs as
// a process over real NATS and FerretDB; only matching notifications start the workflow, once each.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
	type HookBrokerCluster,
	hookEvents,
	projectWithRabbit,
	startHookBrokerCluster,
	waitFor,
} from "../helpers/hook-broker-cluster.ts";
import { openstackPython, runOpenstackTool, transportUrl } from "../helpers/openstack-python.ts";
import { serverUrl } from "../helpers/servers.ts";
import { type SwiftSession, swiftSession } from "../helpers/swift-client.ts";

const mongo = serverUrl("MONGO_URL");
const nats = serverUrl("NATS_URL");
const rabbit = serverUrl("RABBITMQ_URL");
const swift = serverUrl("SWIFT_URL");
const skip = mongo.skip || nats.skip || rabbit.skip || swift.skip;

const KEY = `OS${Date.now().toString(36).toUpperCase()}`;
const SERVER = "6f1ae8d2-0c1d-4a3b-9e55-7b3d2c1a0f99";

const workflow = (name: string, hook: string) => `name: ${name}
version: v2.0
workflow:
  ${name}:
    pipeline: build
hooks:
  ${name}:
${hook}`;

const NOVA = workflow(
	"heal",
	`  - type: OpenStack Nova hook
    config:
      integration: bus
      event_types: compute.instance.update, instance.update
      server_name: web-1
      states: error
`,
);
const SWIFT = workflow(
	"publish",
	`  - type: OpenStack Swift hook
    config:
      integration: bus
      container: releases
      methods: PUT
`,
);

describe("OpenStack Nova and Swift hooks with oslo.messaging and a Swift proxy with ceilometermiddleware", {
	skip,
}, () => {
	let cluster: HookBrokerCluster;
	let objects: SwiftSession;
	const runs = (wf: string) => cluster.runs(KEY, wf);
	const tempUrlKey = `k${KEY}`;

	before(async () => {
		// The Swift side first, before the hook's queue exists (what is published before is not
		// kept for it): the containers, an object to delete later, the account's TempURL key.
		objects = await swiftSession(swift.url!, process.env.SWIFT_USER!, process.env.SWIFT_KEY!);
		await objects.request("POST", "", { headers: { "X-Account-Meta-Temp-URL-Key": tempUrlKey } });
		for (const c of ["releases", "scratch"]) await objects.request("PUT", c);
		await objects.request("PUT", "releases/app-1.3.tgz", { body: "old" });
		// On an empty cache the venv is built first (about 30 s); then the cluster.
		await openstackPython();
		cluster = await startHookBrokerCluster("os", nats.url!, mongo.url!);
		await projectWithRabbit(cluster.home, KEY, rabbit.url!, [
			{ path: "heal.yml", content: NOVA },
			{ path: "publish.yml", content: SWIFT },
		]);
		const node = cluster.spawnReplica("a", "hook-openstack");
		await cluster.waitListening("hook-openstack", node, 2);
	});
	after(async () => {
		await cluster?.stop();
	});

	test("Nova: only the matching server's change to error starts the workflow, legacy and versioned", async () => {
		const legacy = (name: string, state: string, old: string) => ({
			event_type: "compute.instance.update",
			payload: { instance_id: SERVER, display_name: name, state, old_state: old, host: "compute-1" },
		});
		const versioned = {
			event_type: "instance.update",
			publisher_id: "nova-compute:compute-2",
			payload: {
				"nova_object.name": "InstanceUpdatePayload",
				"nova_object.namespace": "nova",
				"nova_object.version": "2.0",
				"nova_object.data": {
					uuid: SERVER,
					display_name: "web-1",
					state: "error",
					host: "compute-2",
					state_update: {
						"nova_object.name": "InstanceStateUpdatePayload",
						"nova_object.data": { old_state: "active", state: "error" },
					},
				},
			},
		};
		const lines = [
			legacy("web-1", "active", "building"), // not an error
			legacy("db-1", "error", "active"), // another server
			{
				event_type: "compute.instance.delete.end",
				payload: { instance_id: SERVER, display_name: "web-1", state: "error" },
			},
			legacy("web-1", "error", "active"), // matches
			versioned, // matches
		];
		const sent = await runOpenstackTool(
			"notify.py",
			["--url", transportUrl(rabbit.url!), "--exchange", "nova"],
			lines.map((l) => JSON.stringify(l)).join("\n"),
		);
		assert.equal(sent.trim(), "5");
		await waitFor("two runs", async () => (await runs("heal")).length >= 2, 60_000);
		await new Promise((r) => setTimeout(r, 2000));
		const got = await runs("heal");
		assert.equal(got.length, 2);
		const byType = new Map(got.map((r) => [r.vars["cds.hook.openstack.event_type"], r]));
		const l = byType.get("compute.instance.update")!;
		assert.equal(l.vars["cds.hook.openstack.server_id"], SERVER);
		assert.equal(l.vars["cds.hook.openstack.state"], "error");
		assert.equal(l.vars["cds.hook.openstack.old_state"], "active");
		assert.equal(l.vars["cds.hook.openstack.publisher_id"], "compute.cds-test-host");
		assert.equal(l.vars.host, "compute-1", "the run's payload is the notification");
		const v = byType.get("instance.update")!;
		assert.equal(v.vars["cds.hook.openstack.server_name"], "web-1");
		assert.equal(v.vars["cds.hook.openstack.host"], "compute-2");
		await waitFor("the events listed with their runs", async () => {
			const events = (await hookEvents(cluster.home, KEY)).filter((e) => e.source === "openstack");
			return got.every((r) => events.some((e) => e.runs.includes(r.number) && e.origin.workflow === "heal"));
		});
	});

	test("Swift: object PUTs into the container through the proxy start the workflow; other containers and methods do not", async () => {
		// Each request goes through the proxy's pipeline, whose ceilometer filter publishes it.
		await objects.request("PUT", "releases/app-1.4.tgz", { body: "release 1.4" });
		await objects.request("GET", "releases/app-1.4.tgz");
		await objects.request("POST", "releases/app-1.4.tgz", { headers: { "X-Object-Meta-Channel": "stable" } });
		await objects.request("PUT", "scratch/tmp.bin", { body: "scratch" });
		await objects.request("DELETE", "releases/app-1.3.tgz");
		// A worker's upload: a TempURL, no token (the tempurl middleware authorizes it).
		const upload = await fetch(objects.tempUrl("PUT", "releases/app-1.5.tgz", tempUrlKey), {
			method: "PUT",
			body: "release 1.5",
		});
		assert.equal(upload.status, 201, "the TempURL upload is accepted");
		await waitFor(
			"two runs (the proxy publishes only when start-swift.sh had SWIFT_NOTIFY_TRANSPORT_URL = this RabbitMQ)",
			async () => (await runs("publish")).length >= 2,
			60_000,
		);
		await new Promise((r) => setTimeout(r, 2000));
		const got = await runs("publish");
		assert.equal(got.length, 2);
		const byObject = new Map(got.map((r) => [r.vars["cds.hook.openstack.object"], r]));
		assert.deepEqual([...byObject.keys()].sort(), ["app-1.4.tgz", "app-1.5.tgz"]);
		for (const run of got) {
			assert.equal(run.vars["cds.hook.openstack.container"], "releases");
			assert.equal(run.vars["cds.hook.openstack.method"], "PUT");
			assert.equal(run.vars["cds.hook.openstack.account"], "test", "TempAuth's account AUTH_test");
			assert.equal(run.vars["cds.hook.openstack.event_type"], "objectstore.http.request");
			assert.equal(run.vars["cds.hook.openstack.publisher_id"], "ceilometermiddleware");
			assert.equal(run.vars["cds.hook.type"], "OpenStack Swift hook");
		}
		assert.equal(
			byObject.get("app-1.4.tgz")!.vars["cds.hook.openstack.path"],
			"v1/AUTH_test/releases/app-1.4.tgz", // as ceilometermiddleware writes it: no leading slash
		);
		await waitFor("the events listed with their runs", async () => {
			const events = (await hookEvents(cluster.home, KEY)).filter((e) => e.source === "openstack");
			return got.every((r) =>
				events.some((e) => e.runs.includes(r.number) && e.origin.workflow === "publish"),
			);
		});
	});
});
