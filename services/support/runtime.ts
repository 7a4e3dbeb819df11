// What a node's services share besides the store: the configuration and the master
// secret box. Kept per broker (not global) so a test can run several brokers in one process.

import type { ServiceBroker } from "moleculer";
import type { Config } from "../../config/index.ts";
import type { ArtifactStore } from "../../src/artifacts/artifact-store.ts";
import type { SecretBox } from "../../src/crypto/secret-box.ts";

export interface Runtime {
	config: Config;
	/** Seals values at rest (password variables, project keys) with the master key. */
	secrets: SecretBox;
	/** Blobs: artifacts, caches, report files (GridFS with MongoDB, the data directory otherwise). */
	artifacts: ArtifactStore;
}

const runtimes = new WeakMap<ServiceBroker, Runtime>();

export function attachRuntime(broker: ServiceBroker, runtime: Runtime): void {
	runtimes.set(broker, runtime);
}

export function runtimeOf(broker: ServiceBroker): Runtime {
	const r = runtimes.get(broker);
	if (!r) throw new Error("no runtime attached to this broker: create brokers through createNode()");
	return r;
}
