// `npm run repl`: a full embedded node with the Moleculer REPL.
// `npm run repl -- --nats nats://host:4222`: a service-less node that joins a running
// cluster and opens the REPL on it (moleculer-cli's `connect` targets Moleculer 0.14).

import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { ServiceBroker } from "moleculer";
import { ConfigError, loadConfig } from "../config/index.ts";
import { hostEnv } from "../config/process-env.ts";
import { brokerOptions } from "../moleculer.config.ts";
import { startServer } from "../server.ts";
import { replCommands } from "../src/ops/repl-commands.ts";

async function main() {
	const { values } = parseArgs({
		options: { nats: { type: "string" }, help: { type: "boolean", short: "h" } },
		allowPositionals: false,
	});
	if (values.help) {
		process.stdout.write("usage: npm run repl [-- --nats nats://host:4222]\n");
		return;
	}
	let broker: ServiceBroker;
	if (values.nats) {
		const env = hostEnv();
		const config = loadConfig({
			...env,
			NATS_URL: values.nats,
			SERVICES: "",
			LOG_LEVEL: env.LOG_LEVEL ?? "warn",
		});
		broker = new ServiceBroker({
			...brokerOptions(config),
			nodeID: `repl-${hostname()}-${process.pid}`,
			replOptions: { customCommands: replCommands as any },
		});
		await broker.start();
	} else {
		const server = await startServer(hostEnv());
		broker = server.broker;
		broker.options.replOptions = { customCommands: replCommands as any };
	}
	await broker.repl();
}

main().catch((e) => {
	process.stderr.write(`cds-ts repl: ${e instanceof Error ? e.message : String(e)}\n`);
	process.exit(e instanceof ConfigError ? 2 : 1);
});
