// SNMP traps as the SNMP trap hook sees them: a notification decoded by net-snmp (v1 Trap-PDU,
// v2c SNMPv2-Trap-PDU or InformRequest) made into one shape — version, agent, trap OID, uptime,
// varbinds with printable values —, the per-binding filters, and the key that makes the same
// trap one event however many replicas heard it (or however often an agent resent it).

import { createHash } from "node:crypto";

export interface SnmpVarbind {
	oid: string;
	type: string;
	value: string | number | boolean | null;
}

export interface SnmpTrap {
	version: "1" | "2c";
	/** `trap` (v1 and v2c traps) or `inform` (acknowledged v2c notification). */
	kind: "trap" | "inform";
	/** The agent: a v1 trap's agent-addr; for v2c, snmpTrapAddress.0 when sent, else the sender's address. */
	agent: string;
	community: string | null;
	/** snmpTrapOID.0 (v2c), or the v1 trap's translated per RFC 3584 §3.1. */
	trapOid: string;
	/** sysUpTime.0 in hundredths of a second (v2c), the v1 trap's time-stamp. */
	uptime: number | null;
	/** The v2c request id (v1 traps have none). */
	requestId: number | null;
	/** v1 only: enterprise, generic-trap, specific-trap. */
	enterprise?: string;
	generic?: number;
	specific?: number;
	/** The trap's own varbinds (sysUpTime.0 and snmpTrapOID.0 of v2c are in `uptime`/`trapOid`). */
	varbinds: SnmpVarbind[];
	/** Where the datagram came from. */
	from: { address: string; port: number };
}

const SYS_UPTIME = "1.3.6.1.2.1.1.3.0";
const SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0";
const SNMP_TRAP_ADDRESS = "1.3.6.1.6.3.18.1.3.0";
const SNMP_TRAPS = "1.3.6.1.6.3.1.1.5";

// ASN.1 / SMI tags as net-snmp reports them.
const TYPE_NAMES: Record<number, string> = {
	1: "Boolean",
	2: "Integer",
	3: "BitString",
	4: "OctetString",
	5: "Null",
	6: "OID",
	64: "IpAddress",
	65: "Counter32",
	66: "Gauge32",
	67: "TimeTicks",
	68: "Opaque",
	70: "Counter64",
	128: "NoSuchObject",
	129: "NoSuchInstance",
	130: "EndOfMibView",
};

const PDU_TRAP_V1 = 164;
const PDU_INFORM = 166;
const PDU_TRAP_V2 = 167;

/** What net-snmp's receiver hands over (the fields read here). */
export interface RawNotification {
	pdu: {
		type: number;
		id?: number;
		enterprise?: string;
		agentAddr?: string;
		generic?: number;
		specific?: number;
		upTime?: number;
		community?: string;
		user?: string;
		varbinds: Array<{ oid: string; type: number; value: unknown }>;
	};
	rinfo: { address: string; port: number };
}

/** A byte string as text when it is printable UTF-8, else as hex (`0x…`). */
function octets(value: Buffer): string {
	const text = value.toString("utf8");
	// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is tested for
	if (!text.includes("\uFFFD") && !/[\u0000-\u0008\u000E-\u001F\u007F]/.test(text)) return text;
	return `0x${value.toString("hex")}`;
}

/** A varbind's value as a string, number, boolean or null (never a Buffer or bigint). */
export function varbindValue(type: number, value: unknown): SnmpVarbind["value"] {
	if (value === null || value === undefined) return null;
	if (type === 5 || type >= 128) return null;
	if (Buffer.isBuffer(value)) {
		if (type === 70) {
			// Counter64: a number while it is exact, else its decimal text.
			const n = value.length === 0 ? 0n : BigInt(`0x${value.toString("hex")}`);
			return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
		}
		return octets(value);
	}
	if (typeof value === "bigint")
		return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
	if (typeof value === "number" || typeof value === "boolean" || typeof value === "string") return value;
	return String(value);
}

/** A decoded notification as a trap; null for what is not a v1/v2c trap or inform (v3: not served). */
export function trapOf(n: RawNotification): SnmpTrap | null {
	const { pdu, rinfo } = n;
	if (pdu.user !== undefined) return null;
	const varbinds = (pdu.varbinds ?? []).map((v) => ({
		oid: v.oid,
		type: TYPE_NAMES[v.type] ?? String(v.type),
		value: varbindValue(v.type, v.value),
	}));
	const from = { address: rinfo.address, port: rinfo.port };
	const community = pdu.community ?? null;
	if (pdu.type === PDU_TRAP_V1) {
		const generic = pdu.generic ?? 0;
		const specific = pdu.specific ?? 0;
		const enterprise = pdu.enterprise ?? "";
		return {
			version: "1",
			kind: "trap",
			agent: pdu.agentAddr ?? rinfo.address,
			community,
			trapOid: generic === 6 ? `${enterprise}.0.${specific}` : `${SNMP_TRAPS}.${generic + 1}`,
			uptime: pdu.upTime ?? null,
			requestId: null,
			enterprise,
			generic,
			specific,
			varbinds,
			from,
		};
	}
	if (pdu.type !== PDU_TRAP_V2 && pdu.type !== PDU_INFORM) return null;
	const find = (oid: string) => varbinds.find((v) => v.oid === oid)?.value;
	const uptime = find(SYS_UPTIME);
	const address = find(SNMP_TRAP_ADDRESS);
	return {
		version: "2c",
		kind: pdu.type === PDU_INFORM ? "inform" : "trap",
		agent: typeof address === "string" && address !== "" ? address : rinfo.address,
		community,
		trapOid: String(find(SNMP_TRAP_OID) ?? ""),
		uptime: typeof uptime === "number" ? uptime : null,
		requestId: pdu.id ?? null,
		varbinds: varbinds.filter((v) => v.oid !== SYS_UPTIME && v.oid !== SNMP_TRAP_OID),
		from,
	};
}

/** The same trap, heard twice (two replicas, an agent's resend), gives the same key. */
export function trapKey(trap: SnmpTrap): string {
	return createHash("sha256")
		.update(
			JSON.stringify([
				trap.version,
				trap.agent,
				trap.trapOid,
				trap.uptime,
				trap.requestId,
				trap.varbinds.map((v) => [v.oid, v.type, v.value]),
			]),
		)
		.digest("hex")
		.slice(0, 32);
}

export interface TrapFilter {
	/** The exact trap OID, or a prefix (`1.3.6.1.4.1.8072` written `….8072.*`). */
	trapOid: { oid: string; prefix: boolean } | null;
	agent: string | null;
	community: string | null;
}

const stripDot = (oid: string) => oid.trim().replace(/^\./, "");

/** A binding's filters from its config (`trap_oid`, `agent`, `community`). */
export function trapFilterOf(config: Record<string, string>): TrapFilter {
	const raw = config.trap_oid ? stripDot(config.trap_oid) : "";
	const prefix = raw.endsWith(".*");
	const oid = prefix ? raw.slice(0, -2) : raw;
	if (oid !== "" && !/^\d+(\.\d+)*$/.test(oid))
		throw new Error(`trap_oid: '${config.trap_oid}' is not an OID (1.3.6.1…, or a prefix ending in .*)`);
	return {
		trapOid: oid === "" ? null : { oid, prefix },
		agent: config.agent ? config.agent.trim() : null,
		community: config.community ?? null,
	};
}

export function trapMatches(trap: SnmpTrap, filter: TrapFilter): boolean {
	if (filter.trapOid) {
		const oid = stripDot(trap.trapOid);
		const f = filter.trapOid;
		if (f.prefix ? !(oid === f.oid || oid.startsWith(`${f.oid}.`)) : oid !== f.oid) return false;
	}
	if (filter.agent !== null && trap.agent !== filter.agent) return false;
	if (filter.community !== null && trap.community !== filter.community) return false;
	return true;
}

/** The run's payload: the trap without its community (a shared secret, even if a weak one). */
export function trapPayload(trap: SnmpTrap): Record<string, unknown> {
	const { community: _community, from, trapOid, requestId, ...rest } = trap;
	return {
		...rest,
		trap_oid: trapOid,
		...(requestId !== null ? { request_id: requestId } : {}),
		from,
	};
}
