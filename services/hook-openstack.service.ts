// `hook-openstack`: the OpenStack Nova and Swift hooks (src/hooks/sources/openstack.ts) as a
// service — every replica consumes each hook's notifications queue.

import type { ServiceSchema } from "moleculer";
import type { Config } from "../config/index.ts";
import { BindingSourceMixin, bindingSettings } from "../mixins/binding-source.mixin.ts";
import type { HookSourceOptions } from "../mixins/hook-source.mixin.ts";
import { OpenStackSource } from "../src/hooks/sources/openstack.ts";

export default function HookOpenStackService(
	config: Config,
	options: HookSourceOptions = {},
): ServiceSchema<any, any, any, any> {
	return {
		name: "hook-openstack",
		// A broker connection is made on the project's behalf: the outbound policy applies.
		mixins: [
			BindingSourceMixin(
				() => new OpenStackSource({ outbound: config.outbound }),
				() => bindingSettings(config),
				options,
			),
		],
	};
}
