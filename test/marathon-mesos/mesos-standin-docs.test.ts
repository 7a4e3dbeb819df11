// The stand-in and the client held to the Mesos documentation's own examples
// (test/standins/mesos/doc-examples.ts), not only to each other: the documented calls pass the
// stand-in's schemas and are answered as documented over HTTP; the documented events parse with
// the client's RecordIO decoder; a documented 307 (bare `host:port` Location) is followed by the
// client; unknown fields are refused.

import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { encodeRecord, RecordIODecoder } from "../../src/mesos/recordio.ts";
import type { Event } from "../../src/mesos/scheduler-api.ts";
import { SchedulerClient } from "../../src/mesos/scheduler-client.ts";
import { DOC_CALLS, DOC_EVENTS } from "../standins/mesos/doc-examples.ts";
import type { MesosMasterStandIn } from "../standins/mesos/master.ts";
import { validateCall, validateEvent } from "../standins/mesos/schema.ts";
import { startMaster } from "./mesos-helpers.ts";

function post(url: string, body: unknown, headers: Record<string, string> = {}) {
	return new Promise<{ status: number; headers: http.IncomingHttpHeaders; res: http.IncomingMessage }>(
		(resolve, reject) => {
			const req = http.request(
				`${url}/api/v1/scheduler`,
				{
					method: "POST",
					headers: { "Content-Type": "application/json", Accept: "application/json", ...headers },
				},
				(res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, res }),
			);
			req.on("error", reject);
			req.end(JSON.stringify(body));
		},
	);
}

/** The first `count` events of a SUBSCRIBE response. */
function events(res: http.IncomingMessage, count: number): Promise<Event[]> {
	const d = new RecordIODecoder();
	const got: Event[] = [];
	return new Promise((resolve, reject) => {
		res.on("data", (chunk: Buffer) => {
			for (const r of d.push(chunk)) got.push(JSON.parse(r));
			if (got.length >= count) resolve(got.slice(0, count));
		});
		res.on("error", reject);
		res.on("end", () => resolve(got));
	});
}

describe("mesos stand-in against the documentation's examples", () => {
	let master: MesosMasterStandIn;
	before(async () => {
		master = await startMaster([
			{ id: "agent-doc", hostname: "doc", cpus: 2, memMb: 1024, attributes: { os: "linux" } },
		]);
	});
	after(async () => master?.stop());

	test("every documented call and event passes the stand-in's schemas", () => {
		for (const [name, call] of Object.entries(DOC_CALLS)) assert.doesNotThrow(() => validateCall(call), name);
		for (const [name, event] of Object.entries(DOC_EVENTS))
			assert.doesNotThrow(() => validateEvent(event), name);
	});

	test("the schemas refuse what the protos do not have", () => {
		assert.throws(() => validateCall({ ...DOC_CALLS.DECLINE, declined: {} }), /unknown field 'declined'/);
		assert.throws(
			() =>
				validateEvent({
					type: "UPDATE",
					update: { status: { task_id: { value: "t" }, state: "TASK_RUNNING", bytes: "x" } },
				}),
			/unknown field 'bytes'/,
		);
		assert.throws(
			() => validateEvent({ type: "ERROR", message: "Framework is not authorized" }),
			/expected a Event.Message object/,
		);
		assert.throws(() => validateCall({ type: "ACCEPT", accept: {} }), /needs framework_id/);
		assert.throws(
			() => validateCall({ type: "SUBSCRIBE", subscribe: { framework_info: { name: "x" } } }),
			/needs 'user'/,
		);
		assert.throws(
			() => validateCall({ ...DOC_CALLS.KILL, kill: { task_id: { value: "t" } }, decline: {} }),
			/'decline' in a KILL/,
		);
	});

	test("the documented SUBSCRIBE opens a RecordIO stream that starts with SUBSCRIBED; the documented calls are accepted on it", async () => {
		const sub = await post(master.url, DOC_CALLS.SUBSCRIBE);
		assert.equal(sub.status, 200);
		assert.match(String(sub.headers["content-type"]), /^application\/json/);
		const streamId = String(sub.headers["mesos-stream-id"]);
		assert.ok(streamId.length > 0 && streamId.length <= 128);
		const [subscribed] = await events(sub.res, 1);
		assert.equal(subscribed!.type, "SUBSCRIBED");
		const fid = subscribed!.subscribed!.framework_id;
		const as = <T extends object>(c: T) => ({ ...c, framework_id: fid });
		// Without the stream id: refused; with it: 202 Accepted.
		assert.equal((await post(master.url, as(DOC_CALLS.DECLINE))).status, 400);
		const h = { "Mesos-Stream-Id": streamId };
		for (const name of ["DECLINE", "ACKNOWLEDGE", "RECONCILE", "KILL", "ACCEPT"] as const) {
			const r = await post(master.url, as(DOC_CALLS[name]), h);
			r.res.resume();
			assert.equal(r.status, 202, name);
		}
		// The documented ACCEPT names an offer this master never made: its task is not launched.
		const more = await events(sub.res, 8);
		const dropped = more.find(
			(e) =>
				e.type === "UPDATE" &&
				e.update?.status.task_id.value === "12220-3440-12532-my-task" &&
				e.update.status.reason === "REASON_INVALID_OFFERS",
		);
		assert.ok(dropped, JSON.stringify(more));
		assert.equal((await post(master.url, as(DOC_CALLS.TEARDOWN), h)).status, 202);
		assert.equal(
			master.violations.filter((v) => !v.includes("Mesos-Stream-Id")).length,
			0,
			master.violations.join("\n"),
		);
	});

	test("a body with a field the protos do not have is answered 400", async () => {
		const r = await post(master.url, {
			...DOC_CALLS.SUBSCRIBE,
			subscribe: { ...DOC_CALLS.SUBSCRIBE.subscribe, force_it: true },
		});
		assert.equal(r.status, 400);
		r.res.resume();
	});

	test("the client follows a documented redirect (Location: host:port) to the leader and reads its events", async () => {
		const leader = new URL(master.url);
		const standby = http.createServer((_req, res) => res.writeHead(307, { Location: leader.host }).end());
		await new Promise<void>((r) => standby.listen(0, "127.0.0.1", () => r()));
		try {
			const client = new SchedulerClient({
				masters: [`http://127.0.0.1:${(standby.address() as AddressInfo).port}`],
			});
			const seen: Event[] = [];
			const sub = await client.subscribe(
				{ type: "SUBSCRIBE", subscribe: { framework_info: { user: "foo", name: "Example HTTP Framework" } } },
				(e) => seen.push(e),
			);
			assert.equal(client.currentMaster, master.url);
			const deadline = Date.now() + 5000;
			while (!seen.some((e) => e.type === "HEARTBEAT") && Date.now() < deadline)
				await new Promise((r) => setTimeout(r, 50));
			assert.equal(seen[0]!.type, "SUBSCRIBED");
			assert.ok(seen.some((e) => e.type === "HEARTBEAT"));
			await client.call({ type: "TEARDOWN", framework_id: seen[0]!.subscribed!.framework_id });
			sub.close();
		} finally {
			standby.closeAllConnections();
			standby.close();
		}
	});

	test("the documented events, RecordIO-framed, read back whole through the client's decoder", () => {
		const wire = Buffer.concat(Object.values(DOC_EVENTS).map((e) => encodeRecord(JSON.stringify(e))));
		const d = new RecordIODecoder();
		const got = [...d.push(wire.subarray(0, 7)), ...d.push(wire.subarray(7))].map((r) => JSON.parse(r));
		assert.deepEqual(got, Object.values(DOC_EVENTS));
	});
});
