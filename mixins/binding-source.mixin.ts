// A hook source serving workflow hooks (src/hooks/binding-source.ts) as the Moleculer service
// `hook-<name>`: the HookSourceMixin plus what such a source needs of the cluster — its bindings
// read again at once when a workflow or an integration changes, and a `bindings` action for
// operators (what this replica serves, and how each listener is doing).

import type { ServiceSchema } from "moleculer";
import type { Config } from "../config/index.ts";
import type { BindingSource, BindingSourceSettings } from "../src/hooks/binding-source.ts";
import { HookSourceMixin, type HookSourceOptions, type HookSourceThis } from "./hook-source.mixin.ts";

/** The binding settings of every such source, from the node's configuration. */
export function bindingSettings(config: Config): BindingSourceSettings {
	return {
		reconcileMs: config.hooks.reconcileMs,
		leaderSlotMs: config.hooks.leaderSlotMs,
		retryBaseMs: config.hooks.sourceRetryBaseMs,
		retryMaxMs: config.hooks.sourceRetryMaxMs,
		outbound: config.outbound,
	};
}

export function BindingSourceMixin<S extends BindingSource<any>>(
	make: () => S,
	settings: () => unknown,
	options: HookSourceOptions = {},
): Partial<ServiceSchema<any, any, any, any>> {
	const refresh = {
		handler(this: HookSourceThis<S>) {
			if (!this.stopping) void this.source.refresh();
		},
	};
	return {
		mixins: [HookSourceMixin(make, settings, options)],
		actions: {
			/** The workflow hooks this replica serves, and the state of each listener. */
			bindings: {
				visibility: "public",
				params: {},
				handler(this: HookSourceThis<S>) {
					return {
						source: this.source.name,
						node: this.broker.nodeID,
						active: this.source.active,
						bindings: this.source.bindings(),
					};
				},
			},
			/** Reads the bindings again now and waits for the listeners to be in step (tests, the REPL). */
			refreshBindings: {
				visibility: "public",
				params: {},
				async handler(this: HookSourceThis<S>) {
					await this.source.refresh();
					return this.source.bindings();
				},
			},
		},
		events: {
			"workflow.updated": refresh,
			"workflow.deleted": refresh,
			"project.integrationChanged": refresh,
		},
	};
}
