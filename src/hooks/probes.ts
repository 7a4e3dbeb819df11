// The probes of the health check hooks: an HTTP GET, a TCP connect, a UDP datagram and its
// answer. Each target goes through the outbound policy first (src/net/outbound-policy.ts), as
// every connection made on a project's behalf does: a refused target throws OutboundRefusedError
// (the caller reports it on the binding, it is not the target being down), an allowed one is
// connected to at the addresses that were checked, never at what DNS says a moment later.

import { createSocket } from "node:dgram";
import http from "node:http";
import https from "node:https";
import { connect as tcpConnect } from "node:net";
import {
	type CheckedTarget,
	checkOutbound,
	checkOutboundUrl,
	type OutboundPolicy,
} from "../net/outbound-policy.ts";
import { parseDuration } from "./hook-types.ts";
import type { ProbeResult, Thresholds } from "./probe-state.ts";

export type ProbeSpec =
	| {
			kind: "http";
			url: string;
			expected: (status: number) => boolean;
			bodyMatch: RegExp | null;
			tlsVerify: boolean;
			timeoutMs: number;
	  }
	| { kind: "tcp"; host: string; port: number; timeoutMs: number }
	| { kind: "udp"; host: string; port: number; send: string; expect: RegExp | null; timeoutMs: number };

export interface CheckPlan {
	probe: ProbeSpec;
	intervalMs: number;
	thresholds: Thresholds;
	on: "up" | "down" | "both";
	/** What the payload and operators call the target (the URL, host:port). */
	target: string;
}

/** The largest body read to match `body_match`. */
const MAX_BODY_BYTES = 1024 * 1024;

/** `2xx,3xx,418` → a test on a status; throws Error on anything else. */
export function parseExpectedStatus(text: string | undefined): (status: number) => boolean {
	const items = (text ?? "2xx,3xx")
		.split(",")
		.map((s) => s.trim().toLowerCase())
		.filter((s) => s !== "");
	if (items.length === 0) throw new Error("expected_status names no status");
	const tests = items.map((item) => {
		if (/^[1-5]xx$/.test(item)) {
			const cls = Number(item[0]);
			return (s: number) => Math.floor(s / 100) === cls;
		}
		if (/^[1-5]\d\d$/.test(item)) {
			const code = Number(item);
			return (s: number) => s === code;
		}
		throw new Error(`expected_status: '${item}' is neither a status code (200) nor a class (2xx)`);
	});
	return (status) => tests.some((t) => t(status));
}

function regex(key: string, text: string | undefined): RegExp | null {
	if (text === undefined || text === "") return null;
	try {
		return new RegExp(text);
	} catch (e) {
		throw new Error(`${key}: not a regular expression (${(e as Error).message})`);
	}
}

/**
 * What a health check hook's config asks for. `minIntervalMs` keeps a check from probing more
 * often than the server allows (CDS_HOOKS_HEALTHCHECK_MIN_INTERVAL_MS). Throws Error on a config
 * the linter cannot judge alone (a regular expression, a status list).
 */
export function checkPlanOf(type: string, config: Record<string, string>, minIntervalMs: number): CheckPlan {
	const ms = (key: string, fallback: number) => {
		const v = config[key];
		return v ? (parseDuration(v) ?? fallback) : fallback;
	};
	const int = (key: string, fallback: number) => {
		const v = config[key];
		return v && /^\d+$/.test(v) ? Math.max(1, Number(v)) : fallback;
	};
	const intervalMs = Math.max(minIntervalMs, ms("interval", 30_000));
	// Probes never overlap: a slow one delays the next, whatever the interval.
	const timeoutMs = ms("timeout", 5000);
	const thresholds = { failure: int("failure_threshold", 3), recovery: int("recovery_threshold", 2) };
	const on = (["up", "down", "both"] as const).find((o) => o === config.on) ?? "both";
	const port = Number(config.port);
	switch (type) {
		case "HTTP health check": {
			const url = config.url ?? "";
			return {
				probe: {
					kind: "http",
					url,
					expected: parseExpectedStatus(config.expected_status),
					bodyMatch: regex("body_match", config.body_match),
					tlsVerify: config.tls_verify !== "false",
					timeoutMs,
				},
				intervalMs,
				thresholds,
				on,
				target: url,
			};
		}
		case "TCP health check":
			return {
				probe: { kind: "tcp", host: config.host ?? "", port, timeoutMs },
				intervalMs,
				thresholds,
				on,
				target: `${config.host}:${port}`,
			};
		case "UDP health check":
			return {
				probe: {
					kind: "udp",
					host: config.host ?? "",
					port,
					send: config.send ?? "",
					expect: regex("expect", config.expect),
					timeoutMs,
				},
				intervalMs,
				thresholds,
				on,
				target: `udp://${config.host}:${port}`,
			};
		default:
			throw new Error(`not a health check: ${type}`);
	}
}

/** Checks a probe's target against the policy (throws OutboundRefusedError), without probing. */
export async function checkProbeTarget(spec: ProbeSpec, policy: OutboundPolicy): Promise<CheckedTarget> {
	if (spec.kind === "http") return checkOutboundUrl(spec.url, policy);
	return checkOutbound({ label: `${spec.host}:${spec.port}`, host: spec.host, port: spec.port }, policy);
}

/**
 * One probe. Resolves with its result (a target that is down is a result, not an error); throws
 * OutboundRefusedError when the policy refuses the target.
 */
export async function runProbe(
	spec: ProbeSpec,
	policy: OutboundPolicy,
	now: () => number,
): Promise<ProbeResult> {
	const checked = await checkProbeTarget(spec, policy);
	const started = now();
	const done = (r: { ok: boolean; status?: number; error?: string }): ProbeResult => ({
		...r,
		latencyMs: Math.max(0, now() - started),
		at: started,
	});
	try {
		switch (spec.kind) {
			case "http":
				return done(await httpProbe(spec, checked));
			case "tcp":
				return done(await tcpProbe(spec, checked));
			case "udp":
				return done(await udpProbe(spec, checked));
		}
	} catch (e) {
		return done({ ok: false, error: (e as Error).message });
	}
}

function pinnedLookup(checked: CheckedTarget) {
	const first = checked.addresses[0]!;
	return (_host: string, options: { all?: boolean }, cb: (...args: any[]) => void) => {
		if (options?.all) cb(null, checked.addresses);
		else cb(null, first.address, first.family);
	};
}

function httpProbe(
	spec: Extract<ProbeSpec, { kind: "http" }>,
	checked: CheckedTarget,
): Promise<{ ok: boolean; status?: number; error?: string }> {
	const url = new URL(spec.url);
	const lib = url.protocol === "https:" ? https : http;
	return new Promise((resolve, reject) => {
		const req = lib.request(url, {
			method: "GET",
			agent: false,
			lookup: pinnedLookup(checked) as any,
			rejectUnauthorized: spec.tlsVerify,
			headers: { "user-agent": "cds-ts-healthcheck", accept: "*/*" },
		});
		const timer = setTimeout(
			() => req.destroy(new Error(`no answer within ${spec.timeoutMs} ms`)),
			spec.timeoutMs,
		);
		req.on("error", (e) => {
			clearTimeout(timer);
			reject(e);
		});
		req.on("response", (res) => {
			const status = res.statusCode ?? 0;
			const finish = (r: { ok: boolean; status?: number; error?: string }) => {
				clearTimeout(timer);
				res.destroy();
				resolve(r);
			};
			if (!spec.expected(status)) return finish({ ok: false, status, error: `unexpected status ${status}` });
			if (!spec.bodyMatch) return finish({ ok: true, status });
			const chunks: Buffer[] = [];
			let size = 0;
			res.on("data", (c: Buffer) => {
				if (size >= MAX_BODY_BYTES) return;
				chunks.push(c);
				size += c.length;
			});
			res.on("error", (e) => {
				clearTimeout(timer);
				reject(e);
			});
			res.on("end", () => {
				const body = Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString("utf8");
				finish(
					spec.bodyMatch!.test(body)
						? { ok: true, status }
						: { ok: false, status, error: `the body does not match /${spec.bodyMatch!.source}/` },
				);
			});
		});
		req.end();
	});
}

function tcpProbe(
	spec: Extract<ProbeSpec, { kind: "tcp" }>,
	checked: CheckedTarget,
): Promise<{ ok: boolean; error?: string }> {
	return new Promise((resolve, reject) => {
		const socket = tcpConnect({ host: checked.addresses[0]!.address, port: spec.port });
		const timer = setTimeout(
			() => socket.destroy(new Error(`not connected within ${spec.timeoutMs} ms`)),
			spec.timeoutMs,
		);
		socket.once("connect", () => {
			clearTimeout(timer);
			socket.destroy();
			resolve({ ok: true });
		});
		socket.once("error", (e) => {
			clearTimeout(timer);
			reject(e);
		});
	});
}

function udpProbe(
	spec: Extract<ProbeSpec, { kind: "udp" }>,
	checked: CheckedTarget,
): Promise<{ ok: boolean; error?: string }> {
	const { address, family } = checked.addresses[0]!;
	return new Promise((resolve, reject) => {
		const socket = createSocket(family === 6 ? "udp6" : "udp4");
		let answers = 0;
		let finished = false;
		const end = (r: { ok: boolean; error?: string } | Error) => {
			if (finished) return;
			finished = true;
			clearTimeout(timer);
			socket.close();
			if (r instanceof Error) reject(r);
			else resolve(r);
		};
		const timer = setTimeout(
			() =>
				end({
					ok: false,
					error:
						answers === 0
							? `no answer within ${spec.timeoutMs} ms`
							: `no answer matching /${spec.expect?.source}/ within ${spec.timeoutMs} ms`,
				}),
			spec.timeoutMs,
		);
		// A connected socket gets only its peer's datagrams, and an ICMP "port unreachable" as an error.
		socket.on("error", (e) => end(e));
		socket.on("message", (msg) => {
			answers++;
			if (!spec.expect || spec.expect.test(msg.toString("utf8"))) end({ ok: true });
		});
		socket.connect(spec.port, address, () => socket.send(Buffer.from(spec.send, "utf8")));
	});
}
