// The health check source's listener with an in-memory context: a transition left pending by a
// dead leader is emitted by its successor under the same key before it probes; a target that stays
// down starts nothing more; `on: up` records a down transition without a run.

import { checkOutbound, DEFAULT_OUTBOUND_POLICY } from "../../src/net/outbound-policy.ts";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, test } from "node:test";
import type { ListenContext } from "../../src/hooks/binding-source.ts";
import type { BindingDelivery, HookBinding } from "../../src/hooks/bindings.ts";
import { INITIAL_PROBE_STATE, type ProbeState } from "../../src/hooks/probe-state.ts";
import { HealthCheckSource } from "../../src/hooks/sources/healthcheck.ts";
import { parseOutboundAllow } from "../../src/net/outbound-policy.ts";

const outbound = { allow: parseOutboundAllow(["127.0.0.1/32"]) };

function harness(config: Record<string, string>, stored: ProbeState | null) {
	const source = new HealthCheckSource({ outbound });
	// The listener reads its settings from the source's context; only minIntervalMs matters here.
	(source as unknown as { ctx: unknown }).ctx = { settings: { minIntervalMs: 10 } };
	const state = new Map<string, unknown>(stored ? [["probe", stored]] : []);
	const emitted: Array<{ delivery: BindingDelivery; key: string }> = [];
	const failures: unknown[] = [];
	const abort = new AbortController();
	const binding: HookBinding = {
		id: "b1",
		project: "P",
		workflow: "w",
		node: "n",
		type: "TCP health check",
		config,
		integration: null,
	};
	const ctx: ListenContext = {
		binding,
		signal: abort.signal,
		logger: { debug() {}, info() {}, warn() {}, error() {} },
		now: Date.now,
		state: {
			get: async <T>(k: string) => (state.get(k) ?? null) as T | null,
			set: async (k, v) => void state.set(k, JSON.parse(JSON.stringify(v))),
			delete: async (k) => void state.delete(k),
		},
		emit: async (delivery, key) => {
			emitted.push({ delivery, key });
			return "stored";
		},
		fail: (e) => failures.push(e),
		ok: () => {},
		outbound: (target) => checkOutbound(target, DEFAULT_OUTBOUND_POLICY),
	};
	const listen = () =>
		(source as unknown as { listen(c: ListenContext): Promise<{ stop(): Promise<void> }> }).listen(ctx);
	return { listen, state, emitted, failures, abort };
}

async function closedPort(): Promise<number> {
	const s = createServer();
	await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
	const port = (s.address() as { port: number }).port;
	await new Promise<void>((r) => s.close(() => r()));
	return port;
}

const waitUntil = async (what: string, ok: () => boolean) => {
	const deadline = Date.now() + 5000;
	while (!ok()) {
		if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
		await new Promise((r) => setTimeout(r, 20));
	}
};

describe("health check source", () => {
	test("a successor emits the pending transition under its number, then starts nothing more for the same state", async () => {
		const port = await closedPort();
		const pending = {
			seq: 4,
			from: "up" as const,
			to: "down" as const,
			at: 1,
			probe: { ok: false, error: "ECONNREFUSED", latencyMs: 1, at: 1 },
		};
		const h = harness(
			{ host: "127.0.0.1", port: String(port), interval: "20ms", failure_threshold: "2" },
			{ ...INITIAL_PROBE_STATE, status: "down", failures: 2, seq: 4, since: 1, pending },
		);
		const listener = await h.listen();
		assert.deepEqual(
			h.emitted.map((e) => e.key),
			["transition:4"],
		);
		assert.equal((h.state.get("probe") as ProbeState).pending, null, "recorded as delivered");
		await new Promise((r) => setTimeout(r, 200)); // several more failed probes
		await listener.stop();
		assert.equal(h.emitted.length, 1, "still down: no other run");
		assert.deepEqual(h.failures, []);
		const payload = h.emitted[0]!.delivery.payload as Record<string, unknown>;
		assert.deepEqual([payload.state, payload.previous, payload.transition], ["down", "up", 4]);
	});

	test("`on: up` records a down transition without a run, and runs when the target comes back", async () => {
		const server = createServer((s) => s.destroy());
		await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
		const port = (server.address() as { port: number }).port;
		const h = harness(
			{
				host: "127.0.0.1",
				port: String(port),
				interval: "20ms",
				failure_threshold: "1",
				recovery_threshold: "1",
				on: "up",
			},
			{ ...INITIAL_PROBE_STATE, status: "up", seq: 1 },
		);
		const listener = await h.listen();
		await new Promise<void>((r) => server.close(() => r()));
		await waitUntil("down", () => (h.state.get("probe") as ProbeState | undefined)?.status === "down");
		assert.equal(h.emitted.length, 0);
		const again = createServer((s) => s.destroy());
		await new Promise<void>((r) => again.listen(port, "127.0.0.1", r));
		await waitUntil("the up run", () => h.emitted.length === 1);
		await listener.stop();
		again.close();
		assert.equal(h.emitted[0]!.key, "transition:3");
		assert.equal(h.emitted[0]!.delivery.vars?.state, "up");
	});

	test("a target the outbound policy refuses fails the listener before any probe", async () => {
		const h = harness({ host: "10.0.0.1", port: "22" }, null);
		await assert.rejects(h.listen(), /private address.*CDS_OUTBOUND_ALLOW/);
		assert.equal(h.state.size, 0);
	});
});
