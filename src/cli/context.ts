// Builds the CommandContext handed to a command's run function.

import { resolveConfig, timeoutMs } from "./config.ts";
import { ApiClient } from "./http.ts";
import type { CliIo } from "./io.ts";
import type { CommandContext, OptionValues } from "./registry.ts";

export function createContext(io: CliIo, values: OptionValues, positionals: string[]): CommandContext {
	let client: Promise<ApiClient> | undefined;
	return {
		io,
		values,
		positionals,
		print: (line = "") => io.stdout.write(`${line}\n`),
		warn: (line) => io.stderr.write(`${line}\n`),
		printJson: (value) => io.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
		client() {
			client ??= resolveConfig(io.env).then(
				(config) =>
					new ApiClient({
						...config,
						timeoutMs: timeoutMs(io.env),
						onRetry: (message) => io.stderr.write(`${message}\n`),
					}),
			);
			return client;
		},
	};
}
