// Gives a service `this.publicUrl()`: the gateway URL this node uses (services/support/public-url.ts).
// The node says at start which URL it uses, or that it knows none yet, and logs every change
// afterwards (an API node joining, leaving, or announcing another URL) — once per node.

import type { ServiceBroker, ServiceSchema } from "moleculer";
import type { Config } from "../config/index.ts";
import { apiUrlChoice, describeChoice, publicUrlOf } from "../services/support/public-url.ts";

/** How long a node gives the cluster's API nodes to be discovered before it warns. */
const DISCOVERY_GRACE_MS = 5_000;

interface Watch {
	last?: string;
	timer?: NodeJS.Timeout;
	users: number;
}
const watches = new WeakMap<ServiceBroker, Watch>();

function report(broker: ServiceBroker, config: Config, watch: Watch): void {
	const choice = apiUrlChoice(broker, config);
	const line = describeChoice(choice);
	if (line === watch.last) return;
	watch.last = line;
	if (choice.url) broker.logger.info(line);
	else broker.logger.warn(line);
}

export function PublicUrlMixin(config: Config): Partial<ServiceSchema> {
	return {
		methods: {
			/** The gateway URL for workers, webhooks and links; undefined while no API node is known. */
			publicUrl(): string | undefined {
				return publicUrlOf(this.broker, config);
			},
		},
		events: {
			"$services.changed"() {
				const watch = watches.get(this.broker);
				// Before the first report, discovery is still going on: the grace timer speaks.
				if (watch && watch.last !== undefined) report(this.broker, config, watch);
			},
		},
		started() {
			let watch = watches.get(this.broker);
			if (!watch) {
				watch = { users: 0 };
				watches.set(this.broker, watch);
				const w = watch;
				const now = apiUrlChoice(this.broker, config);
				if (now.url) report(this.broker, config, w);
				else {
					w.timer = setTimeout(() => report(this.broker, config, w), DISCOVERY_GRACE_MS);
					w.timer.unref();
				}
			}
			watch.users++;
		},
		stopped() {
			const watch = watches.get(this.broker);
			if (watch && --watch.users <= 0) {
				if (watch.timer) clearTimeout(watch.timer);
				watches.delete(this.broker);
			}
		},
	};
}
