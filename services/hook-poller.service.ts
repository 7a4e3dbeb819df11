// `hook-poller`: the `git ls-remote` repository poller (src/hooks/sources/poller.ts) as a service.

import type { ServiceSchema } from "moleculer";
import type { Config } from "../config/index.ts";
import { lsRemote } from "../src/hooks/refs.ts";
import { PollerSource } from "../src/hooks/sources/poller.ts";
import { HookSourceMixin, type HookSourceOptions, type HookSourceThis } from "../mixins/hook-source.mixin.ts";

export default function HookPollerService(
	config: Config,
	options: HookSourceOptions = {},
): ServiceSchema<any, any, any, any> {
	return {
		name: "hook-poller",
		mixins: [
			HookSourceMixin(
				// Polling is a connection on the project's behalf: the outbound policy and the
				// local-repository setting apply as when the repository was linked.
				() =>
					new PollerSource({
						lsRemote: (url) =>
							lsRemote(url, {
								outbound: { policy: config.outbound, allowLocal: config.repository.allowLocal },
							}),
					}),
				() => ({ loopMs: config.hooks.pollLoopMs }),
				options,
			),
		],
		actions: {
			/** One poller pass, for tests and the ops REPL: how many repositories this replica polled. */
			runPoller: {
				visibility: "public",
				params: {},
				handler(this: HookSourceThis<PollerSource>) {
					return this.source.pollDue();
				},
			},
		},
	};
}
