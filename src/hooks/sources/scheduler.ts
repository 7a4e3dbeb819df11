// The cron scheduler as a hook source: every replica checks every schedule each loop and emits
// the due tick under `<schedule>:<tick name>`; the unique insert makes it one run per tick
// whatever the number of replicas or restarts (see docs/hooks.md for the wall-clock rule,
// daylight-saving transitions and the catch-up window).

import { scheduleIntent } from "../events.ts";
import { type CronSpec, dueTick, examinedAfter, parseCron } from "../cron.ts";
import { EmitTally, type HookSource, type HookSourceContext } from "../source.ts";

export interface SchedulerSettings {
	/** How often due ticks are looked for (ms). */
	loopMs: number;
	/** A tick missed while no scheduler ran is still run within this window (ms). */
	catchUpWindowMs: number;
}

export class SchedulerSource implements HookSource<SchedulerSettings> {
	readonly name = "scheduler";
	readonly idPrefix = "sched";
	readonly settingsSchema = {
		loopMs: { type: "number", integer: true, min: 10 },
		catchUpWindowMs: { type: "number", integer: true, min: 0 },
	} as const;
	#ctx: HookSourceContext<SchedulerSettings> | null = null;
	#examined = new Map<string, number>();
	#cronCache = new Map<string, CronSpec>();
	#tally = new EmitTally();

	async start(ctx: HookSourceContext<SchedulerSettings>): Promise<void> {
		this.#ctx = ctx;
		ctx.every(ctx.settings.loopMs, () => this.fireDue());
	}

	async stop(): Promise<void> {
		this.#ctx = null;
	}

	health() {
		return this.#tally.health(this.#ctx !== null);
	}

	/** One pass: emits each schedule's due tick; returns how many were new. */
	async fireDue(): Promise<number> {
		const ctx = this.#ctx;
		if (!ctx) return 0;
		const now = ctx.now();
		let fired = 0;
		for (const schedule of await ctx.ports.schedules()) {
			let spec = this.#cronCache.get(schedule.cron);
			try {
				spec ??= parseCron(schedule.cron);
				this.#cronCache.set(schedule.cron, spec);
			} catch (e) {
				ctx.logger.warn(`schedule ${schedule._id}: ${(e as Error).message}`);
				continue;
			}
			const key = `${schedule._id}@${schedule.sinceMs}`;
			const examined = this.#examined.get(key) ?? null;
			const due = dueTick({
				spec,
				timezone: schedule.timezone,
				examinedWallUntil: examined,
				now,
				since: schedule.sinceMs,
				catchUpWindowMs: ctx.settings.catchUpWindowMs,
			});
			this.#examined.set(key, examinedAfter(examined, now, schedule.timezone));
			if (!due) continue;
			// The insert under (schedule, tick) is the claim: one run per tick across replicas and restarts.
			const result = await ctx.emit(
				{
					project: schedule.project,
					origin: { event: "schedule" },
					intents: [
						scheduleIntent({
							id: schedule._id,
							workflow: schedule.workflow,
							tick: due.name,
							payload: schedule.payload,
						}),
					],
				},
				`${schedule._id}:${due.name}`,
			);
			if (this.#tally.record(result, now) === "stored") fired++;
		}
		return fired;
	}
}
