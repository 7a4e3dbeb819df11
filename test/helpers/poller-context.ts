// An in-memory HookSourceContext for the poller's unit tests: its state in a map, what it emits
// and logs collected, the ports the test gives over inert defaults.

import type { HookSourceContext, SourceEvent, SourcePorts } from "../../src/hooks/source.ts";
import type { PollerSettings } from "../../src/hooks/sources/poller.ts";

export function pollerContext(ports: Partial<SourcePorts> = {}) {
	const state = new Map<string, unknown>();
	const emitted: SourceEvent[] = [];
	const warnings: string[] = [];
	const ctx: HookSourceContext<PollerSettings> = {
		settings: { loopMs: 1000 },
		emit: async (event) => {
			emitted.push(event);
			return "stored";
		},
		now: () => 0,
		logger: { debug() {}, info() {}, warn: (m: unknown) => warnings.push(String(m)), error() {} },
		state: {
			get: async <T>(key: string) => (state.get(key) as T) ?? null,
			set: async (key, value) => void state.set(key, value),
			delete: async (key) => void state.delete(key),
		},
		once: async () => true,
		forget: async () => {},
		every: () => {},
		ports: {
			repositoryByHookUuid: async () => null,
			pollableRepositories: async () => [],
			schedules: async () => [],
			...ports,
		},
	};
	return { ctx, emitted, warnings, state };
}
