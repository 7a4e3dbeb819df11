// `cds-ts/hooks`: what a hook source written outside this repository builds on (docs/hook-sdk.md).
// Built to dist/ as JavaScript with .d.ts types at `npm pack` (Node does not strip types under
// node_modules); a node loads such a source with CDS_HOOK_SOURCES. Only what a source needs is
// exported here, and nothing that reaches the broker or the store: the node provides those.

export {
	BINDING_SETTINGS_SCHEMA,
	BindingSource,
	type BindingListener,
	type BindingSourceSettings,
	type BindingStatus,
	DEFAULT_BINDING_SETTINGS,
	type ListenContext,
} from "./binding-source.ts";
export {
	type BindingDelivery,
	type BoundIntegration,
	bindingEvent,
	bindingPlace,
	type HookBinding,
	MAX_PAYLOAD_BYTES,
	payloadOfBody,
	storablePayload,
} from "./bindings.ts";
export { Backoff, type BackoffOptions, backoffDelay } from "./backoff.ts";
export { Leadership, type LeadershipPorts } from "./leadership.ts";
export {
	checkConfigAgainst,
	type HookConfigKey,
	type HookConfigKind,
	type HookConfigProblem,
	parseDuration,
	parseList,
} from "./hook-types.ts";
export {
	checkSourceSettings,
	type EmitResult,
	EmitTally,
	type HookIntent,
	type HookSource,
	type HookSourceContext,
	type SourceEvent,
	type SourceHealth,
	type SourceLogger,
	type SourcePorts,
	type SourceState,
	SourceSettingsError,
} from "./source.ts";
