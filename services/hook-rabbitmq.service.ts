// `hook-rabbitmq`: the RabbitMQ hook (src/hooks/sources/rabbitmq.ts) as a service — every replica
// consumes each hook's queue; the broker shares the messages between them.

import type { ServiceSchema } from "moleculer";
import type { Config } from "../config/index.ts";
import { BindingSourceMixin, bindingSettings } from "../mixins/binding-source.mixin.ts";
import type { HookSourceOptions } from "../mixins/hook-source.mixin.ts";
import { RabbitMQSource } from "../src/hooks/sources/rabbitmq.ts";

export default function HookRabbitMQService(
	config: Config,
	options: HookSourceOptions = {},
): ServiceSchema<any, any, any, any> {
	return {
		name: "hook-rabbitmq",
		// A broker connection is made on the project's behalf: the outbound policy applies.
		mixins: [
			BindingSourceMixin(
				() => new RabbitMQSource({ outbound: config.outbound }),
				() => bindingSettings(config),
				options,
			),
		],
	};
}
