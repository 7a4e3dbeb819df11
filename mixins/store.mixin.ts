// Gives a service its collections. The store is opened once per node and attached to the broker
// (a WeakMap, not a global, so a test can run several brokers each with its own store); the
// mixin opens the collections the service declares when it starts, creating their indexes.
//
//   mixins: [StoreMixin([{ name: "tokens", indexes: [{ fields: ["hash"], unique: true }] }])]
//   ...then `this.collections.tokens` inside actions and methods.

import type { Service, ServiceBroker, ServiceSchema } from "moleculer";
import type { Collection, CollectionSpec, Store } from "../src/store/types.ts";

const stores = new WeakMap<ServiceBroker, Store>();

export function attachStore(broker: ServiceBroker, store: Store): void {
	stores.set(broker, store);
}

export function storeOf(broker: ServiceBroker): Store {
	const store = stores.get(broker);
	if (!store) {
		throw new Error(
			`no store attached to broker ${broker?.nodeID ?? "(unknown)"}: call attachStore(broker, store) before starting services`,
		);
	}
	return store;
}

/** What the mixin adds to `this` in a service. */
export interface StoreServiceThis {
	collections: Record<string, Collection>;
}

export function StoreMixin(specs: CollectionSpec[]): Partial<ServiceSchema> {
	return {
		created() {
			const self = this as Service & StoreServiceThis;
			self.collections ??= {};
		},
		async started() {
			const self = this as Service & StoreServiceThis;
			const store = stores.get(self.broker);
			if (!store) {
				throw new Error(
					`service ${self.fullName} needs collections ${specs.map((s) => s.name).join(", ")} but broker ` +
						`${self.broker.nodeID} has no store: call attachStore(broker, store) before starting it`,
				);
			}
			self.collections ??= {};
			// All at once: an embedded collection's first open writes and syncs its file.
			const opened = await Promise.all(specs.map((spec) => store.collection(spec)));
			specs.forEach((spec, i) => {
				self.collections[spec.name] = opened[i]!;
			});
		},
	};
}
