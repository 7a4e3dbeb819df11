// Where a hatchery keeps its Mesos framework id between restarts: re-subscribing with it
// within the framework's failover_timeout keeps its tasks. In the cluster's store when there
// is one (MONGO_URL: any replica host can restart the hatchery), else in a file of the node's
// data directory (a single node already holds the embedded store's lock).

import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Store } from "../store/types.ts";

export interface FrameworkIdKeeper {
	load(): Promise<string | undefined>;
	save(id: string): Promise<void>;
	clear(): Promise<void>;
	close(): Promise<void>;
}

const COLLECTION = { name: "mesos_frameworks" };

export async function frameworkIdKeeper(
	hatchery: string,
	storeUrl: string | undefined,
	dataDir: string,
): Promise<FrameworkIdKeeper> {
	if (storeUrl) {
		const { MongoStore } = await import("../store/mongo-store.ts");
		const store: Store = await MongoStore.connect(storeUrl);
		const c = await store.collection(COLLECTION);
		return {
			async load() {
				const d = await c.findOne({ _id: hatchery });
				return typeof d?.frameworkId === "string" ? d.frameworkId : undefined;
			},
			save: (id) => c.replace({ _id: hatchery, frameworkId: id, savedAt: Date.now() }),
			clear: async () => {
				await c.remove({ _id: hatchery });
			},
			close: () => store.close(),
		};
	}
	const file = path.join(dataDir, `mesos-framework-${encodeURIComponent(hatchery)}.json`);
	return {
		async load() {
			try {
				return (JSON.parse(readFileSync(file, "utf8")) as { frameworkId?: string }).frameworkId;
			} catch {
				return undefined;
			}
		},
		async save(id) {
			mkdirSync(dataDir, { recursive: true });
			writeFileSync(file, JSON.stringify({ frameworkId: id, savedAt: Date.now() }));
		},
		async clear() {
			rmSync(file, { force: true });
		},
		async close() {},
	};
}
