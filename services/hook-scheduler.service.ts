// `hook-scheduler`: the cron scheduler (src/hooks/sources/scheduler.ts) as a service. The
// schedules themselves are the `hook` service's (routes under /projects/{key}/workflows/{name}).

import type { ServiceSchema } from "moleculer";
import type { Config } from "../config/index.ts";
import { SchedulerSource } from "../src/hooks/sources/scheduler.ts";
import { HookSourceMixin, type HookSourceOptions, type HookSourceThis } from "../mixins/hook-source.mixin.ts";

export default function HookSchedulerService(
	config: Config,
	options: HookSourceOptions = {},
): ServiceSchema<any, any, any, any> {
	return {
		name: "hook-scheduler",
		mixins: [
			HookSourceMixin(
				() => new SchedulerSource(),
				() => ({ loopMs: config.hooks.scheduleLoopMs, catchUpWindowMs: config.hooks.catchUpWindowMs }),
				options,
			),
		],
		actions: {
			/** One scheduler pass, for tests and the ops REPL: how many ticks this replica fired. */
			runScheduler: {
				visibility: "public",
				params: {},
				handler(this: HookSourceThis<SchedulerSource>) {
					return this.source.fireDue();
				},
			},
		},
	};
}
