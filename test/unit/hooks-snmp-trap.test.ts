// SNMP traps as the SNMP trap hook reads them: v1 and v2c notifications (as net-snmp decodes
// them) in one shape, the binding filters, and the key that makes one trap one event.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
	type RawNotification,
	trapFilterOf,
	trapKey,
	trapMatches,
	trapOf,
	trapPayload,
	varbindValue,
} from "../../src/hooks/snmp-trap.ts";

const v2c = (over: Partial<RawNotification["pdu"]> = {}, from = "192.0.2.7"): RawNotification => ({
	pdu: {
		type: 167,
		id: 12345,
		community: "public",
		varbinds: [
			{ oid: "1.3.6.1.2.1.1.3.0", type: 67, value: 4242 },
			{ oid: "1.3.6.1.6.3.1.1.4.1.0", type: 6, value: "1.3.6.1.4.1.8072.2.3.0.1" },
			{ oid: "1.3.6.1.4.1.8072.2.3.2.1", type: 4, value: Buffer.from("disk full") },
			{ oid: "1.3.6.1.4.1.8072.2.3.2.2", type: 2, value: 97 },
		],
		...over,
	},
	rinfo: { address: from, port: 40000 },
});

describe("SNMP traps", () => {
	test("a v2c trap: trap OID and uptime from their varbinds, the agent from the sender", () => {
		const trap = trapOf(v2c())!;
		assert.equal(trap.version, "2c");
		assert.equal(trap.kind, "trap");
		assert.equal(trap.trapOid, "1.3.6.1.4.1.8072.2.3.0.1");
		assert.equal(trap.uptime, 4242);
		assert.equal(trap.agent, "192.0.2.7");
		assert.equal(trap.requestId, 12345);
		assert.deepEqual(trap.varbinds, [
			{ oid: "1.3.6.1.4.1.8072.2.3.2.1", type: "OctetString", value: "disk full" },
			{ oid: "1.3.6.1.4.1.8072.2.3.2.2", type: "Integer", value: 97 },
		]);
		const payload = trapPayload(trap);
		assert.equal(payload.community, undefined, "the community stays out of the payload");
		assert.equal(payload.trap_oid, "1.3.6.1.4.1.8072.2.3.0.1");
	});

	test("a v1 trap: the trap OID translated as RFC 3584 says, the agent from agent-addr", () => {
		const specific = trapOf({
			pdu: {
				type: 164,
				enterprise: "1.3.6.1.4.1.8072.2.3",
				agentAddr: "198.51.100.4",
				generic: 6,
				specific: 17,
				upTime: 99,
				community: "private",
				varbinds: [{ oid: "1.3.6.1.4.1.8072.2.3.2.1", type: 4, value: Buffer.from("x") }],
			},
			rinfo: { address: "127.0.0.1", port: 1 },
		})!;
		assert.equal(specific.version, "1");
		assert.equal(specific.trapOid, "1.3.6.1.4.1.8072.2.3.0.17");
		assert.equal(specific.agent, "198.51.100.4");
		assert.equal(specific.uptime, 99);
		const linkDown = trapOf({
			pdu: {
				type: 164,
				enterprise: "1.3.6.1.4.1.9",
				agentAddr: "198.51.100.4",
				generic: 2,
				specific: 0,
				upTime: 1,
				varbinds: [],
			},
			rinfo: { address: "127.0.0.1", port: 1 },
		})!;
		assert.equal(linkDown.trapOid, "1.3.6.1.6.3.1.1.5.3");
	});

	test("v3 notifications and other PDUs are not traps here", () => {
		assert.equal(trapOf(v2c({ user: "admin", community: undefined })), null);
		assert.equal(trapOf(v2c({ type: 162 })), null);
	});

	test("values: binary octets in hex, Counter64 as a number or its decimal text, null for Null", () => {
		assert.equal(varbindValue(4, Buffer.from([0, 1, 0xff])), "0x0001ff");
		assert.equal(varbindValue(70, Buffer.from("0100", "hex")), 256);
		assert.equal(varbindValue(70, Buffer.from("ffffffffffffffff", "hex")), "18446744073709551615");
		assert.equal(varbindValue(5, null), null);
		assert.equal(varbindValue(64, "10.0.0.1"), "10.0.0.1");
	});

	test("the same trap heard twice has one key; another request id or uptime is another trap", () => {
		const a = trapKey(trapOf(v2c())!);
		assert.equal(trapKey(trapOf(v2c({}, "192.0.2.7"))!), a);
		assert.notEqual(trapKey(trapOf(v2c({ id: 12346 }))!), a);
		const later = v2c();
		later.pdu.varbinds[0]!.value = 4243;
		assert.notEqual(trapKey(trapOf(later)!), a);
	});

	test("filters: trap OID exact or as a prefix, agent, community", () => {
		const trap = trapOf(v2c())!;
		const m = (config: Record<string, string>) => trapMatches(trap, trapFilterOf(config));
		assert.equal(m({}), true);
		assert.equal(m({ trap_oid: "1.3.6.1.4.1.8072.2.3.0.1" }), true);
		assert.equal(m({ trap_oid: ".1.3.6.1.4.1.8072.2.3.0.1" }), true, "a leading dot is the same OID");
		assert.equal(m({ trap_oid: "1.3.6.1.4.1.8072.2.3.0" }), false, "exact unless it ends in .*");
		assert.equal(m({ trap_oid: "1.3.6.1.4.1.8072.*" }), true);
		assert.equal(m({ trap_oid: "1.3.6.1.4.1.807.*" }), false, "a prefix ends at a dot");
		assert.equal(m({ agent: "192.0.2.7" }), true);
		assert.equal(m({ agent: "192.0.2.8" }), false);
		assert.equal(m({ community: "public" }), true);
		assert.equal(m({ community: "secret" }), false);
		assert.throws(() => trapFilterOf({ trap_oid: "ifDown" }), /not an OID/);
	});
});
