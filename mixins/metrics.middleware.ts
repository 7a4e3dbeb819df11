// Metrics as a cross-cutting concern (kantab style): the middleware gives every broker its
// CdsMetrics (src/ops/cds-metrics.ts), sees every event the node emits or broadcasts (run and
// job life cycle, hook intents) without a line in the services that emit them, samples the event
// loop while the broker runs, and reads the timings of ended jobs in batches (every 15 s, and
// before each scrape) — never on the run engine's path. The `$metrics` service answers a node's
// snapshot; the gateway's /metrics merges every node's (services/api.service.ts).

import type { Middleware, ServiceBroker } from "moleculer";
import { RUN_COLLECTIONS } from "../src/engine/run-repository.ts";
import { CdsMetrics } from "../src/ops/cds-metrics.ts";
import type { Collection } from "../src/store/types.ts";
import { storeOf } from "./store.mixin.ts";

/** How often ended jobs' timings are read without a scrape asking. */
const JOB_TIMES_FLUSH_MS = 15_000;

export interface NodeMetrics {
	metrics: CdsMetrics;
	/** Reads the timings of the jobs ended since the last flush (one query). */
	flush(): Promise<void>;
}

const nodes = new WeakMap<ServiceBroker, NodeMetrics>();

/** The metrics of a broker built with MetricsMiddleware (moleculer.config.ts), else undefined. */
export function metricsOf(broker: ServiceBroker): NodeMetrics | undefined {
	return nodes.get(broker);
}

/** One instance per broker (brokerOptions builds new middlewares for each). */
export function MetricsMiddleware(): Middleware {
	let timer: NodeJS.Timeout | undefined;
	let metrics: CdsMetrics | undefined;
	return {
		name: "Metrics",
		created(broker: ServiceBroker) {
			const own = new CdsMetrics();
			metrics = own;
			let jobs: Promise<Collection<any>> | undefined;
			const openJobs = () => {
				jobs ??= storeOf(broker).collection(RUN_COLLECTIONS.jobs);
				jobs.catch(() => {
					jobs = undefined;
				});
				return jobs;
			};
			nodes.set(broker, { metrics: own, flush: () => own.flushJobs(openJobs) });
		},
		started(broker: ServiceBroker) {
			const node = nodes.get(broker);
			if (!node) return;
			node.metrics.start();
			timer = setInterval(() => void node.flush().catch(() => {}), JOB_TIMES_FLUSH_MS);
			timer.unref();
		},
		stopped(broker: ServiceBroker) {
			if (timer) clearInterval(timer);
			nodes.get(broker)?.metrics.stop();
		},
		emit(next: (...args: unknown[]) => unknown) {
			return (eventName: string, payload: unknown, opts: unknown) => {
				metrics?.onEvent(eventName, payload);
				return next(eventName, payload, opts);
			};
		},
		broadcast(next: (...args: unknown[]) => unknown) {
			return (eventName: string, payload: unknown, opts: unknown) => {
				metrics?.onEvent(eventName, payload);
				return next(eventName, payload, opts);
			};
		},
	} as unknown as Middleware;
}
