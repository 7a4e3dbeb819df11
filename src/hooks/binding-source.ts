// What every source serving workflow hooks shares (Kafka, RabbitMQ, OpenStack, Marathon, SNMP,
// health checks): it keeps one listener per binding of its hook types, in step with the
// workflows — a new hook starts a listener, a changed one restarts it, a removed one stops it —
// and turns what a listener hears into a `start-run` event of the binding's workflow.
//
// Where it runs: `all` replicas (brokers share their messages across a consumer group or a queue;
// pushed traps reach each replica and are de-duplicated by key), or the one `leader` replica
// (probes and pulled streams, src/hooks/leadership.ts), which a dead leader's successor takes
// over within two slots. A listener that fails to start is retried with backoff and jitter.

import {
	type CheckedTarget,
	checkOutbound,
	DEFAULT_OUTBOUND_POLICY,
	type OutboundPolicy,
} from "../net/outbound-policy.ts";
import { Backoff } from "./backoff.ts";
import { type BindingDelivery, bindingEvent, bindingPlace, type HookBinding } from "./bindings.ts";
import { Leadership } from "./leadership.ts";
import type {
	EmitResult,
	HookSource,
	HookSourceContext,
	SourceHealth,
	SourceLogger,
	SourceState,
} from "./source.ts";

export interface BindingSourceSettings {
	/** How often the bindings are read again (ms); `refresh()` reads them at once. */
	reconcileMs: number;
	/** `leader` sources: the leadership slot (ms). */
	leaderSlotMs: number;
	/** First retry delay of a listener that failed (ms), doubled up to `retryMaxMs`. */
	retryBaseMs: number;
	retryMaxMs: number;
	/**
	 * The allow-list every connection on a project's behalf goes through (CDS_OUTBOUND_ALLOW):
	 * brokers, probed targets and platform endpoints are chosen by project admins.
	 */
	outbound?: OutboundPolicy;
}

export const BINDING_SETTINGS_SCHEMA = {
	reconcileMs: { type: "number", integer: true, min: 10 },
	leaderSlotMs: { type: "number", integer: true, min: 100 },
	retryBaseMs: { type: "number", integer: true, min: 1 },
	retryMaxMs: { type: "number", integer: true, min: 1 },
	outbound: { type: "object", optional: true },
} as const;

export const DEFAULT_BINDING_SETTINGS: BindingSourceSettings = {
	reconcileMs: 10_000,
	leaderSlotMs: 4_000,
	retryBaseMs: 1_000,
	retryMaxMs: 60_000,
};

/** What a listener is given for its binding. */
export interface ListenContext {
	binding: HookBinding;
	/**
	 * Stores the run this delivery asks for under `dedupKey` (scoped to where the hook is, so an
	 * edit of the hook's config keeps the keys of what was already delivered). Resolves once
	 * durable ("stored") or known ("duplicate"); rejects when the store did not acknowledge it —
	 * then do not acknowledge upstream.
	 */
	emit(delivery: BindingDelivery, dedupKey: string): Promise<EmitResult>;
	/** Aborted when the listener must stop (binding gone or changed, source stopping). */
	signal: AbortSignal;
	logger: SourceLogger;
	/** State shared by the replicas, scoped to this hook (e.g. a health check's last state). */
	state: SourceState;
	now(): number;
	/**
	 * Tells the source the listener failed after it started (connection lost for good…): it is
	 * stopped and started again after a backoff delay.
	 */
	fail(error: unknown): void;
	/**
	 * Checks a host (and port) this listener is about to connect to against the outbound
	 * allow-list; resolves with the addresses to connect to, rejects with OutboundRefusedError
	 * (the listener is then retried with backoff, the refusal in the binding's error).
	 */
	outbound(target: { label: string; host: string; port: number | null }): Promise<CheckedTarget>;
	/** Tells the source the listener works again (connected): clears its error and its backoff. */
	ok(): void;
}

export interface BindingListener {
	stop(): Promise<void>;
}

export interface BindingStatus {
	binding: string;
	project: string;
	workflow: string;
	node: string;
	type: string;
	state: "listening" | "starting" | "retrying" | "refused";
	error: string | null;
	emitted: number;
}

interface Running {
	binding: HookBinding;
	listener: BindingListener | null;
	abort: AbortController;
	state: BindingStatus["state"];
	error: string | null;
	emitted: number;
	backoff: Backoff;
	retryAt: number;
	starting: Promise<void> | null;
}

export abstract class BindingSource<S extends BindingSourceSettings = BindingSourceSettings>
	implements HookSource<S>
{
	abstract readonly name: string;
	abstract readonly idPrefix: string;
	/** The hook types it serves (src/hooks/hook-types.ts). */
	abstract readonly hookTypes: readonly string[];
	/** `all` replicas, or the one `leader`. */
	abstract readonly activeOn: "all" | "leader";
	readonly settingsSchema: Record<string, unknown> = BINDING_SETTINGS_SCHEMA;

	protected ctx: HookSourceContext<S> | null = null;
	#running = new Map<string, Running>();
	#leadership: Leadership | null = null;
	#emitted = 0;
	#lastEmitAt: number | null = null;
	#lastError: string | null = null;
	#reconciling: Promise<void> | null = null;
	#again = false;

	/** Starts listening for one binding; resolves once listening (connected, subscribed…). */
	protected abstract listen(ctx: ListenContext): Promise<BindingListener>;

	async start(ctx: HookSourceContext<S>): Promise<void> {
		this.ctx = ctx;
		if (this.activeOn === "leader") {
			this.#leadership = new Leadership(ctx.settings.leaderSlotMs, ctx, (leading) => {
				ctx.logger.info(
					`hook source ${this.name}: ${leading ? "leading" : "no longer leading"} on this replica`,
				);
				void this.refresh();
			});
			ctx.every(this.#leadership.tickMs, () => this.#leadership!.tick());
		}
		ctx.every(ctx.settings.reconcileMs, () => this.refresh());
		void this.refresh();
	}

	async stop(): Promise<void> {
		const ctx = this.ctx;
		this.ctx = null;
		this.#leadership?.resign();
		await this.#reconciling?.catch(() => {});
		await Promise.all([...this.#running.keys()].map((id) => this.#stopOne(id)));
		void ctx;
	}

	/** Whether this replica serves the bindings now (always, for `all` sources). */
	get active(): boolean {
		return this.activeOn === "all" || (this.#leadership?.leading ?? false);
	}

	/** Reads the bindings again and brings the listeners in step (coalesced: one pass at a time). */
	refresh(): Promise<void> {
		if (this.#reconciling) {
			this.#again = true;
			return this.#reconciling;
		}
		this.#reconciling = (async () => {
			try {
				do {
					this.#again = false;
					await this.#reconcile();
				} while (this.#again && this.ctx);
			} finally {
				this.#reconciling = null;
			}
		})();
		return this.#reconciling;
	}

	/** One leadership step now (tests drive it with an injected clock). */
	async leadershipTick(): Promise<boolean> {
		return this.#leadership ? this.#leadership.tick() : true;
	}

	async #reconcile(): Promise<void> {
		const ctx = this.ctx;
		if (!ctx) return;
		let wanted: HookBinding[] | null;
		try {
			wanted = this.active ? ((await ctx.ports.hookBindings?.([...this.hookTypes])) ?? null) : [];
			this.#lastError = null;
		} catch (e) {
			this.#lastError = `reading the hooks: ${(e as Error).message}`;
			ctx.logger.warn(`hook source ${this.name}: ${this.#lastError}`);
			return;
		}
		if (wanted === null) return; // The workflow service is not reachable: keep what runs.
		const byId = new Map(wanted.map((b) => [b.id, b]));
		for (const id of [...this.#running.keys()]) if (!byId.has(id)) await this.#stopOne(id);
		const now = ctx.now();
		for (const binding of byId.values()) {
			const r = this.#running.get(binding.id);
			if (!r) {
				this.#startOne(binding);
			} else if (r.state === "retrying" && r.retryAt <= now && !r.starting) {
				this.#startOne(binding, r);
			}
		}
	}

	#startOne(binding: HookBinding, previous?: Running): void {
		const ctx = this.ctx!;
		const r: Running = previous ?? {
			binding,
			listener: null,
			abort: new AbortController(),
			state: "starting",
			error: null,
			emitted: 0,
			backoff: new Backoff({ baseMs: ctx.settings.retryBaseMs, maxMs: ctx.settings.retryMaxMs }),
			retryAt: 0,
			starting: null,
		};
		this.#running.set(binding.id, r);
		if (binding.problem) {
			r.state = "refused";
			r.error = binding.problem;
			return;
		}
		if (previous) {
			r.abort = new AbortController();
			r.state = "starting";
		}
		const place = bindingPlace(binding);
		const lc: ListenContext = {
			binding,
			signal: r.abort.signal,
			logger: ctx.logger,
			now: () => ctx.now(),
			state: scopedState(ctx.state, place),
			emit: async (delivery, dedupKey) => {
				if (typeof dedupKey !== "string" || dedupKey === "")
					throw new Error("emit needs a non-empty dedupKey");
				const outcome = await ctx.emit(bindingEvent(binding, this.name, delivery), `${place}:${dedupKey}`);
				if (outcome === "stored") {
					r.emitted++;
					this.#emitted++;
					this.#lastEmitAt = ctx.now();
				}
				return outcome;
			},
			outbound: (target) => checkOutbound(target, ctx.settings.outbound ?? DEFAULT_OUTBOUND_POLICY),
			fail: (error) => {
				if (r.abort.signal.aborted || this.#running.get(binding.id) !== r) return;
				void this.#retryLater(r, error);
			},
			ok: () => {
				if (this.#running.get(binding.id) !== r) return;
				r.state = "listening";
				r.error = null;
				r.backoff.reset();
			},
		};
		const signal = r.abort.signal;
		r.starting = this.listen(lc).then(
			async (listener) => {
				r.starting = null;
				if (signal.aborted || this.#running.get(binding.id) !== r) {
					await listener.stop().catch(() => {});
					return;
				}
				r.listener = listener;
				if (r.state === "starting") {
					r.state = "listening";
					r.error = null;
				}
			},
			(e: unknown) => {
				r.starting = null;
				if (signal.aborted || this.#running.get(binding.id) !== r) return;
				void this.#retryLater(r, e);
			},
		);
	}

	async #retryLater(r: Running, error: unknown): Promise<void> {
		const ctx = this.ctx;
		r.abort.abort();
		const listener = r.listener;
		r.listener = null;
		await listener?.stop().catch(() => {});
		if (!ctx) return;
		const delay = r.backoff.next();
		r.state = "retrying";
		r.error = (error as Error)?.message ?? String(error);
		r.retryAt = ctx.now() + delay;
		ctx.logger.warn(
			`hook source ${this.name}: the ${r.binding.type} of ${r.binding.project}/${r.binding.workflow} (node ${r.binding.node}): ${r.error}; retrying in ${delay} ms`,
		);
		setTimeout(() => {
			if (this.ctx && this.#running.get(r.binding.id) === r && r.state === "retrying") {
				r.retryAt = 0; // due now, whatever the (injected) clock says
				void this.refresh();
			}
		}, delay).unref();
	}

	async #stopOne(id: string): Promise<void> {
		const r = this.#running.get(id);
		if (!r) return;
		this.#running.delete(id);
		r.abort.abort();
		await r.starting?.catch(() => {});
		const listener = r.listener;
		r.listener = null;
		await listener
			?.stop()
			.catch((e: unknown) =>
				this.ctx?.logger.warn(`hook source ${this.name}: stopping a listener: ${(e as Error).message}`),
			);
	}

	/** Each binding this replica serves, and how it is doing. */
	bindings(): BindingStatus[] {
		return [...this.#running.values()].map((r) => ({
			binding: r.binding.id,
			project: r.binding.project,
			workflow: r.binding.workflow,
			node: r.binding.node,
			type: r.binding.type,
			state: r.state,
			error: r.error,
			emitted: r.emitted,
		}));
	}

	health(): SourceHealth & { active: boolean; bindings: BindingStatus[] } {
		const bindings = this.bindings();
		const failing = bindings.find((b) => b.state === "retrying");
		return {
			ok: this.ctx !== null && this.#lastError === null && !failing,
			emitted: this.#emitted,
			lastEmitAt: this.#lastEmitAt,
			lastError: this.#lastError ?? failing?.error ?? null,
			active: this.active,
			bindings,
		};
	}
}

function scopedState(state: SourceState, scope: string): SourceState {
	return {
		get: (key) => state.get(`${scope}:${key}`),
		set: (key, value) => state.set(`${scope}:${key}`, value),
		delete: (key) => state.delete(`${scope}:${key}`),
	};
}
