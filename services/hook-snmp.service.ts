// `hook-snmp`: the SNMP trap receiver (src/hooks/sources/snmp.ts) as a service, on every replica.

import type { ServiceSchema } from "moleculer";
import type { Config } from "../config/index.ts";
import { BindingSourceMixin, bindingSettings } from "../mixins/binding-source.mixin.ts";
import type { HookSourceOptions, HookSourceThis } from "../mixins/hook-source.mixin.ts";
import { SnmpSource } from "../src/hooks/sources/snmp.ts";

export default function HookSnmpService(
	config: Config,
	options: HookSourceOptions = {},
): ServiceSchema<any, any, any, any> {
	return {
		name: "hook-snmp",
		mixins: [
			BindingSourceMixin(
				() => new SnmpSource(),
				() => ({
					...bindingSettings(config),
					port: config.hooks.snmpPort,
					address: config.hooks.snmpAddress,
				}),
				options,
			),
		],
		actions: {
			/** Traps this replica received and dropped, and whether its receiver is open. */
			traps: {
				visibility: "public",
				params: {},
				handler(this: HookSourceThis<SnmpSource>) {
					return { node: this.broker.nodeID, ...this.source.counts() };
				},
			},
		},
	};
}
