// The pure core of the run engine: interpolation, conditions, Lua conditions, log masking and
// the run / pipeline / step state machines. No Moleculer here: services wire these in.
export * from "./conditions.ts";
export * from "./interpolate.ts";
export * from "./lua.ts";
export * from "./mask.ts";
export * from "./pipeline-state.ts";
export * from "./state.ts";
