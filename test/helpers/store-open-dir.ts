// Child process for the embedded lock tests: tries to open the embedded store in the directory
// given as argv[2], prints the outcome as one JSON line and exits (closing the store if opened).

import { EmbeddedStore } from "../../src/store/embedded-store.ts";

const dir = process.argv[2];
if (!dir) {
	console.log(JSON.stringify({ ok: false, error: "usage: store-open-dir.ts <dataDir>" }));
	process.exit(2);
}
try {
	const store = await EmbeddedStore.open(dir);
	await store.close();
	console.log(JSON.stringify({ ok: true, pid: process.pid }));
} catch (err) {
	console.log(JSON.stringify({ ok: false, name: (err as Error).name, error: (err as Error).message }));
}
