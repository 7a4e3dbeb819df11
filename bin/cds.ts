// Runs the CLI in this process; bin/cds.mjs makes sure the Node is recent enough.

import { processIo } from "../src/cli/io.ts";
import { main } from "../src/cli/main.ts";

// `cds project list | head` closes the pipe early: that is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
	stream.on("error", (err: NodeJS.ErrnoException) => process.exit(err.code === "EPIPE" ? 0 : 1));
}

try {
	process.exitCode = await main(process.argv.slice(2), processIo());
} catch (err) {
	// main() reports every command failure itself; this only catches a broken installation.
	process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
	process.exitCode = 1;
}
