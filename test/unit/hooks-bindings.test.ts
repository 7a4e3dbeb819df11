// Workflow hooks served by hook sources: a hook's config is checked against its type where it is
// written, bindings open the integration they name (or say why they cannot), a binding source
// keeps one listener per binding in step with the workflows, and leadership stays on one replica
// while it lives and moves when it dies.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { openBindings, servedHooks } from "../../src/hooks/binding-index.ts";
import {
	BindingSource,
	type BindingListener,
	type BindingSourceSettings,
	type ListenContext,
} from "../../src/hooks/binding-source.ts";
import { bindingEvent, bindingId, type HookBinding, storablePayload } from "../../src/hooks/bindings.ts";
import { checkHookConfig, parseDuration } from "../../src/hooks/hook-types.ts";
import { Leadership } from "../../src/hooks/leadership.ts";
import { parseOutboundAllow } from "../../src/net/outbound-policy.ts";
import type { HookSourceContext, SourceEvent } from "../../src/hooks/source.ts";
import { exportWorkflow } from "../../src/workflow/export.ts";
import { formatDiagnostic, parseFileSet } from "../../src/workflow/index.ts";

const PIPELINE = {
	path: "p.pip.yml",
	content: "version: v1.0\nname: p\njobs:\n- job: j\n  steps:\n  - script: [echo]\n",
};

function lintWorkflow(hooks: string) {
	const content = `name: w\nversion: v2.0\nworkflow:\n  root:\n    pipeline: p\nhooks:\n  root:\n${hooks}`;
	const result = parseFileSet([{ path: "w.yml", content }, PIPELINE], { integrations: ["myKafka"] });
	return { result, errors: result.errors.map(formatDiagnostic) };
}

describe("hook configs in the workflow file", () => {
	test("a valid Kafka hook (as the public corpus writes it) lints clean and keeps its config", () => {
		const { errors, result } = lintWorkflow(
			"  - type: Kafka hook\n    config:\n      integration: myKafka\n      topic: test.hook\n",
		);
		assert.deepEqual(errors, []);
		assert.deepEqual(result.model.workflows[0]!.hooks[0]!.config, {
			integration: "myKafka",
			topic: "test.hook",
		});
	});

	test("an unknown key is an error at the key, a bad value at the value, a missing key at config", () => {
		const { errors } = lintWorkflow(
			[
				"  - type: HTTP health check",
				"    config:",
				"      url: ftp://example.org/",
				"      interval: soon",
				"      failure_treshold: '3'",
				"",
			].join("\n"),
		);
		assert.equal(errors.length, 3, errors.join("\n"));
		assert.ok(
			errors.some((e) =>
				/^w\.yml:10:12: error: 'url' of a 'HTTP health check' hook: .*scheme 'ftp:'/.test(e),
			),
			errors.join("\n"),
		);
		assert.ok(
			errors.some((e) => /^w\.yml:11:17: error: 'interval' .*duration/.test(e)),
			errors.join("\n"),
		);
		assert.ok(
			errors.some((e) => /^w\.yml:12:7: error: unknown key 'failure_treshold'/.test(e)),
			errors.join("\n"),
		);
		const missing = lintWorkflow("  - type: TCP health check\n    config:\n      host: db\n").errors;
		assert.equal(missing.length, 1, missing.join("\n"));
		assert.match(missing[0]!, /^w\.yml:9:5: error: a 'TCP health check' hook needs 'port' in its config/);
	});

	test("a workflow's hooks of every served type export as they were written, and read back the same", () => {
		const hooks = [
			"  - type: Kafka hook\n    config:\n      integration: myKafka\n      topic: builds\n      consumer_group: ci\n",
			"  - type: RabbitMQ hook\n    config:\n      integration: myKafka\n      queue: q\n      exchange_type: topic\n      exchange_name: ex\n      binding_key: a.*\n",
			"  - type: HTTP health check\n    config:\n      url: https://example.org/health\n      interval: 30s\n      on: down\n",
			"  - type: SNMP trap hook\n    config:\n      trap_oid: 1.3.6.1.4.1.8072.*\n",
		].join("");
		const { result, errors } = lintWorkflow(hooks);
		assert.deepEqual(errors, []);
		const workflow = result.model.workflows[0]!;
		const exported = exportWorkflow(workflow);
		const again = parseFileSet([{ path: "w.yml", content: exported }, PIPELINE], {
			integrations: ["myKafka"],
		});
		assert.deepEqual(again.errors.map(formatDiagnostic), []);
		assert.deepEqual(again.model.workflows[0]!.hooks, workflow.hooks);
		assert.match(exported, /type: Kafka hook\n\s+config:\n\s+consumer_group: ci\n/);
	});

	test("values are checked by kind: integers within bounds, enums, booleans", () => {
		assert.deepEqual(checkHookConfig("TCP health check", { host: "h", port: "80" }), []);
		assert.match(
			checkHookConfig("TCP health check", { host: "h", port: "70000" })[0]!.message,
			/at most 65535/,
		);
		assert.match(
			checkHookConfig("RabbitMQ hook", { integration: "r", queue: "q", exchange_type: "star" })[0]!.message,
			/one of direct, fanout, topic, headers/,
		);
		assert.match(
			checkHookConfig("HTTP health check", { url: "https://x", tls_verify: "yes" })[0]!.message,
			/true or false/,
		);
		// Types kept from CDS take their config as it is.
		assert.deepEqual(checkHookConfig("Scheduler", { anything: "x" }), []);
		assert.equal(parseDuration("250ms"), 250);
		assert.equal(parseDuration("2m"), 120_000);
		assert.equal(parseDuration("7"), 7000);
		assert.equal(parseDuration("7 s"), null);
	});

	test("only served hook types are indexed for the sources", () => {
		const served = servedHooks([
			{ node: "a", type: "Scheduler", ref: undefined, config: {} },
			{ node: "a", type: "Kafka hook", ref: undefined, config: { integration: "k", topic: "t" } },
		]);
		assert.deepEqual(served, [{ node: "a", type: "Kafka hook", config: { integration: "k", topic: "t" } }]);
	});
});

describe("bindings", () => {
	const kafkaHook = {
		node: "root",
		type: "Kafka hook",
		ref: undefined,
		config: { integration: "k", topic: "t" },
	};

	test("open the integration they name; a missing one or one of another model is a problem, not a binding", async () => {
		const calls: string[] = [];
		const bindings = await openBindings(
			[
				{ project: "P", workflow: "w1", hook: kafkaHook },
				{ project: "P", workflow: "w2", hook: { ...kafkaHook, config: { integration: "gone", topic: "t" } } },
				{
					project: "P",
					workflow: "w3",
					hook: { ...kafkaHook, config: { integration: "rabbit", topic: "t" } },
				},
			],
			async (project, names) => {
				calls.push(`${project}:${names.join(",")}`);
				if (names[0] === "gone") throw new Error("integration gone not found");
				const model = names[0] === "k" ? "Kafka" : "RabbitMQ";
				return {
					integrations: [
						{
							name: names[0]!,
							model,
							config: { "broker url": { type: "string", value: "127.0.0.1:9092" } },
							modelDef: {} as never,
						},
					],
				};
			},
		);
		assert.deepEqual(calls.sort(), ["P:gone", "P:k", "P:rabbit"]);
		assert.deepEqual(bindings[0]!.integration, {
			name: "k",
			model: "Kafka",
			config: { "broker url": "127.0.0.1:9092" },
		});
		assert.equal(bindings[0]!.problem, undefined);
		assert.match(bindings[1]!.problem!, /integration 'gone' cannot be used: integration gone not found/);
		assert.match(bindings[2]!.problem!, /is a RabbitMQ; a 'Kafka hook' hook takes Kafka/);
	});

	test("an id changes with the hook's config or its integration, not otherwise", () => {
		const base = {
			project: "P",
			workflow: "w",
			node: "root",
			type: "Kafka hook",
			config: { topic: "t" },
			integration: null,
		};
		assert.equal(bindingId(base), bindingId({ ...base, config: { topic: "t" } }));
		assert.notEqual(bindingId(base), bindingId({ ...base, config: { topic: "u" } }));
		assert.notEqual(
			bindingId(base),
			bindingId({ ...base, integration: { name: "k", model: "Kafka", config: { password: "x" } } }),
		);
	});

	test("a delivery is one run of the binding's workflow with cds.hook.* variables; payloads stay in the store's subset", () => {
		const binding: HookBinding = {
			id: "b1",
			project: "P",
			workflow: "w",
			node: "root",
			type: "Kafka hook",
			config: {},
			integration: null,
		};
		const event = bindingEvent(binding, "kafka", {
			payload: { a: 1 },
			vars: { topic: "t", offset: "4" },
			origin: { partition: "0" },
		});
		assert.equal(event.project, "P");
		assert.deepEqual(event.origin, {
			hook: "Kafka hook",
			workflow: "w",
			node: "root",
			binding: "b1",
			partition: "0",
		});
		assert.deepEqual(event.intents, [
			{
				kind: "start-run",
				type: "kafka",
				workflow: "w",
				payload: { a: 1 },
				vars: {
					"cds.hook.type": "Kafka hook",
					"cds.hook.node": "root",
					"cds.hook.binding": "b1",
					"cds.hook.topic": "t",
					"cds.hook.offset": "4",
				},
			},
		]);
		assert.deepEqual(storablePayload({ m: [[1, 2]] }), { raw: '{"m":[[1,2]]}' });
		assert.deepEqual(storablePayload([{ a: [1] }]), [{ a: [1] }]);
		const big = storablePayload({ s: "x".repeat(300_000) }) as { raw: string; truncated: boolean };
		assert.equal(big.truncated, true);
		assert.equal(big.raw.length, 256 * 1024);
	});
});

/** A source whose listeners record what they were started for. */
class RecordingSource extends BindingSource {
	readonly name = "recording";
	readonly idPrefix = "rec";
	readonly hookTypes = ["TCP health check"];
	activeOn: "all" | "leader";
	started: string[] = [];
	stopped: string[] = [];
	failFirst = new Set<string>();
	contexts = new Map<string, ListenContext>();
	constructor(activeOn: "all" | "leader" = "all") {
		super();
		this.activeOn = activeOn;
	}
	protected async listen(ctx: ListenContext): Promise<BindingListener> {
		if (this.failFirst.delete(ctx.binding.id)) throw new Error("broker down");
		this.started.push(ctx.binding.id);
		this.contexts.set(ctx.binding.id, ctx);
		return {
			stop: async () => {
				this.stopped.push(ctx.binding.id);
			},
		};
	}
}

function binding(id: string, extra: Partial<HookBinding> = {}): HookBinding {
	return {
		id,
		project: "P",
		workflow: `w-${id}`,
		node: "root",
		type: "TCP health check",
		config: {},
		integration: null,
		...extra,
	};
}

function fakeContext(bindings: () => HookBinding[] | null, now = () => 1_000_000) {
	const emitted: Array<{ event: SourceEvent; key: string }> = [];
	const claims = new Set<string>();
	const settings: BindingSourceSettings = {
		reconcileMs: 1000,
		leaderSlotMs: 1000,
		retryBaseMs: 5,
		retryMaxMs: 20,
	};
	const ctx: HookSourceContext<BindingSourceSettings> = {
		settings,
		async emit(event, key) {
			if (emitted.some((e) => e.key === key)) return "duplicate";
			emitted.push({ event, key });
			return "stored";
		},
		now,
		logger: { debug() {}, info() {}, warn() {}, error() {} },
		state: { get: async () => null, set: async () => {}, delete: async () => {} },
		async once(key) {
			if (claims.has(key)) return false;
			claims.add(key);
			return true;
		},
		forget: async (key) => void claims.delete(key),
		every: () => {},
		ports: {
			repositoryByHookUuid: async () => null,
			pollableRepositories: async () => [],
			schedules: async () => [],
			hookBindings: async () => bindings(),
		},
	};
	return { ctx, emitted, claims };
}

describe("a binding source", () => {
	test("starts a listener per binding, restarts a changed one, stops a removed one, keeps all when the hooks cannot be read", async () => {
		let current: HookBinding[] | null = [binding("a"), binding("b")];
		const source = new RecordingSource();
		const { ctx, emitted } = fakeContext(() => current);
		await source.start(ctx);
		await source.refresh();
		await new Promise((r) => setImmediate(r));
		assert.deepEqual(source.started.sort(), ["a", "b"]);
		assert.deepEqual(
			source.bindings().map((b) => b.state),
			["listening", "listening"],
		);

		// What a listener hears is stored once per key, scoped to where its hook is.
		const a = source.contexts.get("a")!;
		assert.equal(await a.emit({ payload: { x: 1 } }, "m1"), "stored");
		assert.equal(await a.emit({ payload: { x: 1 } }, "m1"), "duplicate");
		assert.equal(emitted.length, 1);
		assert.equal((emitted[0]!.event.intents[0] as { workflow: string }).workflow, "w-a");

		current = null; // the workflow service is away
		await source.refresh();
		assert.deepEqual(source.stopped, []);

		current = [binding("a2", { workflow: "w-a" }), binding("c")];
		await source.refresh();
		await new Promise((r) => setImmediate(r));
		assert.deepEqual(source.stopped.sort(), ["a", "b"]);
		assert.deepEqual(source.started.sort(), ["a", "a2", "b", "c"]);
		// The edited hook (same place) keeps its keys: a message delivered before is still a duplicate.
		assert.equal(await source.contexts.get("a2")!.emit({ payload: { x: 1 } }, "m1"), "duplicate");
		await source.stop();
		assert.deepEqual(source.stopped.sort(), ["a", "a2", "b", "c"]);
	});

	test("a listener that fails to start is retried after a backoff; a binding with a problem is refused", async () => {
		const source = new RecordingSource();
		source.failFirst.add("a");
		const { ctx } = fakeContext(() => [
			binding("a"),
			binding("bad", { problem: "integration 'x' cannot be used" }),
		]);
		// At least 100 ms before the retry (half the base, full jitter): "retrying" is seen first.
		ctx.settings.retryBaseMs = 200;
		ctx.settings.retryMaxMs = 400;
		await source.start(ctx);
		await source.refresh();
		await new Promise((r) => setImmediate(r));
		const states = () => Object.fromEntries(source.bindings().map((b) => [b.binding, b.state]));
		assert.deepEqual(states(), { a: "retrying", bad: "refused" });
		assert.equal(source.health().ok, false);
		for (let i = 0; i < 200 && states().a !== "listening"; i++) await new Promise((r) => setTimeout(r, 10));
		assert.equal(states().a, "listening");
		assert.deepEqual(source.started, ["a"]);
		await source.stop();
	});

	test("connections go through the outbound allow-list: internal addresses are refused unless allowed", async () => {
		const source = new RecordingSource();
		const { ctx } = fakeContext(() => [binding("a")]);
		await source.start(ctx);
		await source.refresh();
		await new Promise((r) => setImmediate(r));
		const lc = source.contexts.get("a")!;
		await assert.rejects(lc.outbound({ label: "kafka broker", host: "127.0.0.1", port: 9092 }), {
			name: "OutboundRefusedError",
			message:
				/kafka broker: 127\.0\.0\.1 is a loopback address; allow it with CDS_OUTBOUND_ALLOW=127\.0\.0\.1\/32/,
		});
		await source.stop();
		const allowed = new RecordingSource();
		const open = fakeContext(() => [binding("a")]);
		open.ctx.settings.outbound = { allow: parseOutboundAllow(["127.0.0.1/32"]) };
		await allowed.start(open.ctx);
		await allowed.refresh();
		await new Promise((r) => setImmediate(r));
		const checked = await allowed.contexts
			.get("a")!
			.outbound({ label: "kafka broker", host: "127.0.0.1", port: 9092 });
		assert.deepEqual(checked.addresses, [{ address: "127.0.0.1", family: 4 }]);
		await allowed.stop();
	});

	test("a leader source serves nothing until it leads", async () => {
		let now = 5_000_050; // a tenth into a slot not yet reached: too early to claim
		const source = new RecordingSource("leader");
		const { ctx } = fakeContext(
			() => [binding("a")],
			() => now,
		);
		await source.start(ctx);
		await source.refresh();
		assert.deepEqual(source.started, []);
		now = 5_000_200;
		assert.equal(await source.leadershipTick(), true);
		await source.refresh();
		await new Promise((r) => setImmediate(r));
		assert.deepEqual(source.started, ["a"]);
		await source.stop();
	});
});

describe("leadership", () => {
	function replicas(n: number) {
		const claims = new Set<string>();
		let now = 0;
		const ports = {
			now: () => now,
			async once(key: string) {
				if (claims.has(key)) return false;
				claims.add(key);
				return true;
			},
			forget: async (key: string) => void claims.delete(key),
		};
		const all = Array.from({ length: n }, () => new Leadership(1000, ports, () => {}));
		return { all, claims, setNow: (t: number) => (now = t) };
	}

	test("one replica leads, keeps leading while it lives, and another takes over within two slots of its death", async () => {
		const { all, claims, setNow } = replicas(3);
		const leadersAt = async (t: number, alive = all) => {
			setNow(t);
			for (const r of alive) await r.tick();
			return alive.filter((r) => r.leading);
		};
		const first = await leadersAt(10_200);
		assert.equal(first.length, 1);
		const leader = first[0]!;
		for (let t = 10_300; t < 20_000; t += 100) {
			const leaders = await leadersAt(t);
			assert.deepEqual(leaders, [leader], `at ${t}`);
		}
		const others = all.filter((r) => r !== leader);
		let tookOver: number | null = null;
		for (let t = 20_000; t < 24_000; t += 100) {
			const leaders = await leadersAt(t, others);
			assert.ok(leaders.length <= 1);
			if (leaders.length === 1 && tookOver === null) tookOver = t;
		}
		assert.ok(tookOver !== null && tookOver - 20_000 <= 2000, `took over at ${tookOver}`);
		// Old slots' claims are forgotten: a handful of keys, not one per slot since the start.
		assert.ok(claims.size <= 5, `${claims.size} claims kept`);
	});

	test("a replica that resigns stops leading at once and a successor takes the next slot", async () => {
		const { all, setNow } = replicas(2);
		setNow(3_200);
		for (const r of all) await r.tick();
		const leader = all.find((r) => r.leading)!;
		const other = all.find((r) => r !== leader)!;
		leader.resign();
		assert.equal(leader.leading, false);
		for (let t = 3_300; t <= 5_200; t += 100) {
			setNow(t);
			await other.tick();
		}
		assert.equal(other.leading, true);
	});
});
