// Quality over time: what is kept of a report, deltas, gates, ignores and history series.
export * from "./baseline.ts";
export * from "./compare.ts";
export * from "./format.ts";
export * from "./gates.ts";
export * from "./history.ts";
export * from "./ignores.ts";
export * from "./model.ts";
export * from "./severity-rank.ts";
export * from "./summarise.ts";
export * from "./ingest.ts";
