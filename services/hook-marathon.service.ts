// `hook-marathon`: the Marathon event stream hook (src/hooks/sources/marathon.ts) as a service.
// The stream is a connection on a project's behalf: the outbound policy applies.

import type { ServiceSchema } from "moleculer";
import type { Config } from "../config/index.ts";
import { BindingSourceMixin, bindingSettings } from "../mixins/binding-source.mixin.ts";
import type { HookSourceOptions } from "../mixins/hook-source.mixin.ts";
import { MarathonSource } from "../src/hooks/sources/marathon.ts";

export default function HookMarathonService(
	config: Config,
	options: HookSourceOptions = {},
): ServiceSchema<any, any, any, any> {
	return {
		name: "hook-marathon",
		mixins: [
			BindingSourceMixin(
				() => new MarathonSource({ outbound: config.outbound }),
				() => bindingSettings(config),
				options,
			),
		],
	};
}
