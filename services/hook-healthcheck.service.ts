// `hook-healthcheck`: the HTTP, TCP and UDP health check hooks (src/hooks/sources/healthcheck.ts)
// as a service. Probes are connections on a project's behalf: the outbound policy applies.

import type { ServiceSchema } from "moleculer";
import type { Config } from "../config/index.ts";
import { BindingSourceMixin, bindingSettings } from "../mixins/binding-source.mixin.ts";
import type { HookSourceOptions, HookSourceThis } from "../mixins/hook-source.mixin.ts";
import { HealthCheckSource } from "../src/hooks/sources/healthcheck.ts";

export default function HookHealthCheckService(
	config: Config,
	options: HookSourceOptions = {},
): ServiceSchema<any, any, any, any> {
	return {
		name: "hook-healthcheck",
		mixins: [
			BindingSourceMixin(
				() => new HealthCheckSource({ outbound: config.outbound }),
				() => ({ ...bindingSettings(config), minIntervalMs: config.hooks.healthcheckMinIntervalMs }),
				options,
			),
		],
		actions: {
			/** The status (up, down, unknown) and last probe of each check this replica runs. */
			checks: {
				visibility: "public",
				params: {},
				handler(this: HookSourceThis<HealthCheckSource>) {
					return { node: this.broker.nodeID, active: this.source.active, checks: this.source.checks() };
				},
			},
		},
	};
}
