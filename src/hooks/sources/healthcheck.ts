// The health check hooks (`HTTP health check`, `TCP health check`, `UDP health check`): each
// binding probes its target every `interval`, and a run starts when the target changes state —
// down after `failure_threshold` failed probes in a row, up again after `recovery_threshold` good
// ones — never per probe. Probing runs on the one leader replica (src/hooks/leadership.ts); the
// state (status, counters, the number of the last transition) is in the shared store, so the
// replica that takes over a dead leader's checks carries on from the same counts, and a
// transition is emitted under its own number: recorded first, emitted next, so whoever emits it
// (the leader, or its successor finding it pending) stores it once.

import { OutboundRefusedError, type OutboundPolicy } from "../../net/outbound-policy.ts";
import {
	BINDING_SETTINGS_SCHEMA,
	type BindingListener,
	BindingSource,
	type BindingSourceSettings,
	type ListenContext,
} from "../binding-source.ts";
import { hookTypesOfSource } from "../hook-types.ts";
import {
	firesOn,
	type ProbeResult,
	type ProbeState,
	probeStateOf,
	stepProbe,
	type Transition,
} from "../probe-state.ts";
import { type CheckPlan, checkPlanOf, checkProbeTarget, runProbe } from "../probes.ts";

export interface HealthCheckSettings extends BindingSourceSettings {
	/** No check probes more often than this (ms), whatever its `interval` says. */
	minIntervalMs: number;
}

export interface HealthCheckDeps {
	/** The server's outbound policy (CDS_OUTBOUND_ALLOW). */
	outbound: OutboundPolicy;
}

const STATE_KEY = "probe";

export class HealthCheckSource extends BindingSource<HealthCheckSettings> {
	readonly name = "healthcheck";
	readonly idPrefix = "hc";
	readonly hookTypes = hookTypesOfSource("healthcheck");
	readonly activeOn = "leader" as const;
	override readonly settingsSchema: Record<string, unknown> = {
		...BINDING_SETTINGS_SCHEMA,
		minIntervalMs: { type: "number", integer: true, min: 10 },
	};
	#deps: HealthCheckDeps;
	/** The last probe of each binding on this replica (operators' view). */
	#last = new Map<string, { state: ProbeState; probe: ProbeResult | null }>();

	constructor(deps: HealthCheckDeps) {
		super();
		this.#deps = deps;
	}

	/** The status and last probe of each check this replica runs. */
	checks(): Array<{ binding: string; status: string; probe: ProbeResult | null }> {
		return [...this.#last].map(([binding, v]) => ({ binding, status: v.state.status, probe: v.probe }));
	}

	protected async listen(ctx: ListenContext): Promise<BindingListener> {
		const settings = this.ctx!.settings;
		const plan = checkPlanOf(ctx.binding.type, ctx.binding.config, settings.minIntervalMs);
		// A target the policy refuses is the binding's error (retried: the policy may change), not "down".
		await checkProbeTarget(plan.probe, this.#deps.outbound);
		let state = probeStateOf(await ctx.state.get(STATE_KEY));
		if (state.pending) state = await this.#deliver(ctx, plan, state, state.pending);
		this.#last.set(ctx.binding.id, { state, probe: null });

		const stop = new AbortController();
		const signal = AbortSignal.any([ctx.signal, stop.signal]);
		const loop = (async () => {
			while (!signal.aborted) {
				const started = ctx.now();
				try {
					const probe = await runProbe(plan.probe, this.#deps.outbound, ctx.now);
					if (signal.aborted) return;
					const { state: next, transition } = stepProbe(state, probe, plan.thresholds);
					if (JSON.stringify(next) !== JSON.stringify(state)) await ctx.state.set(STATE_KEY, next);
					state = next;
					if (transition) state = await this.#deliver(ctx, plan, state, transition);
					this.#last.set(ctx.binding.id, { state, probe });
					ctx.ok();
				} catch (e) {
					if (signal.aborted) return;
					// Refused by the policy, or the store did not take the state or the event: the
					// source restarts this check after a backoff (a pending transition is kept).
					ctx.fail(
						e instanceof OutboundRefusedError ? e : new Error(`health check: ${(e as Error).message}`),
					);
					return;
				}
				await sleep(Math.max(0, plan.intervalMs - (ctx.now() - started)), signal);
			}
		})();
		return {
			stop: async () => {
				stop.abort();
				await loop;
				this.#last.delete(ctx.binding.id);
			},
		};
	}

	/** Emits a transition (when `on` wants it), then records it as delivered. */
	async #deliver(ctx: ListenContext, plan: CheckPlan, state: ProbeState, t: Transition): Promise<ProbeState> {
		if (firesOn(plan.on, t)) {
			await ctx.emit(
				{
					payload: {
						target: plan.target,
						check: ctx.binding.type,
						state: t.to,
						previous: t.from,
						transition: t.seq,
						at: new Date(t.at).toISOString(),
						probe: {
							ok: t.probe.ok,
							...(t.probe.status !== undefined ? { status: t.probe.status } : {}),
							...(t.probe.error !== undefined ? { error: t.probe.error } : {}),
							latency_ms: t.probe.latencyMs,
						},
					},
					vars: { state: t.to, previous_state: t.from, target: plan.target },
					origin: { target: plan.target, state: t.to, transition: String(t.seq) },
				},
				`transition:${t.seq}`,
			);
		}
		const next = { ...state, pending: null };
		await ctx.state.set(STATE_KEY, next);
		return next;
	}
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
	return new Promise((resolve) => {
		if (signal.aborted) return resolve();
		const timer = setTimeout(done, ms);
		function done() {
			clearTimeout(timer);
			signal.removeEventListener("abort", done);
			resolve();
		}
		signal.addEventListener("abort", done, { once: true });
	});
}
