// What the hook services of one node share: the processor of the `hook` service, which the
// sources running beside it tell about new events (a kick) and webhook deliveries (intake first).
// A WeakMap per broker, like the store: a test may run several brokers in one process.

import type { ServiceBroker } from "moleculer";
import type { HookProcessor } from "../../src/hooks/processor.ts";

const processors = new WeakMap<ServiceBroker, HookProcessor>();

export function setHookProcessor(broker: ServiceBroker, processor: HookProcessor | null): void {
	if (processor) processors.set(broker, processor);
	else processors.delete(broker);
}

/** This node's processor, when it runs one (`CDS_HOOKS_PROCESSOR=off` or no `hook` service: none). */
export function hookProcessorOf(broker: ServiceBroker): HookProcessor | undefined {
	return processors.get(broker);
}
