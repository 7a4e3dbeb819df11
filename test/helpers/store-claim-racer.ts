// Child process for the cross-process claim race. Environment:
//   RACE_MONGO_URL  store URL (database included)     RACE_OWNER   this racer's owner id
//   RACE_SCOPE      claim scope                        RACE_KEYS    how many keys (key-0 … key-N-1)
// Protocol: connects, prints "ready", waits for a line on stdin (the parent sends it to every
// racer at once, so they really collide), claims every key concurrently, then prints one JSON
// line: { owner, won: string[], lost: number, ms }.

import { once } from "node:events";
import { MongoStore } from "../../src/store/mongo-store.ts";

const env = (name: string): string => {
	const value = process.env[name];
	if (!value) throw new Error(`store-claim-racer needs ${name}`);
	return value;
};

const owner = env("RACE_OWNER");
const scope = env("RACE_SCOPE");
const keys = Array.from({ length: Number(env("RACE_KEYS")) }, (_, i) => `key-${i}`);

const store = await MongoStore.connect(env("RACE_MONGO_URL"));
try {
	console.log("ready");
	await once(process.stdin, "data");
	process.stdin.pause();
	const started = performance.now();
	const results = await Promise.all(keys.map((key) => store.claim(scope, key, owner)));
	const ms = performance.now() - started;
	const won = keys.filter((_, i) => results[i]!.won);
	console.log(JSON.stringify({ owner, won, lost: keys.length - won.length, ms }));
} finally {
	await store.close();
}
