#!/usr/bin/env node
// `npm start`: a CDS-TS node, its TypeScript modules served from the cache of their
// type-stripped JavaScript (bin/ts-cache.mjs) instead of stripped again at every start — about
// a third of a node's start-up CPU. `node server.ts` starts the same node without the cache.
// Plain JavaScript, so that an old Node gets a clear message instead of Node's
// ERR_UNKNOWN_FILE_EXTENSION.

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
	process.stderr.write(
		`CDS-TS needs Node.js 22.18 or newer (this is ${process.versions.node}): start it with \`npm start\`, which runs the Node 22 that \`npm install\` brought\n`,
	);
	process.exit(2);
}
const { enableTsCache } = await import("./ts-cache.mjs");
enableTsCache();
const { main } = await import("../server.ts");
await main();
