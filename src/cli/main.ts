// Entry point of the cds CLI: resolves argv against the command registry, parses the
// command's options with node:util parseArgs, runs it and maps errors to exit codes
// (0 ok, 1 failure, 2 usage or validation error). Never lets a stack trace through.

import { parseArgs } from "node:util";
import { registerAllCommands } from "./commands/index.ts";
import { createContext } from "./context.ts";
import {
	ApiError,
	CliFailure,
	EXIT_FAILURE,
	EXIT_OK,
	EXIT_USAGE,
	formatLocated,
	UsageError,
	ValidationError,
} from "./errors.ts";
import { commandHelp, groupHelp } from "./help.ts";
import type { CliIo } from "./io.ts";
import { CommandRegistry, type CommandSpec, type OptionValues } from "./registry.ts";

const HELP_FLAGS = new Set(["-h", "--help"]);

/** The registry with every built-in command. */
export function defaultRegistry(): CommandRegistry {
	const registry = new CommandRegistry();
	registerAllCommands(registry);
	return registry;
}

/** True when -h/--help appears before a `--` terminator. */
function wantsHelp(args: readonly string[]): boolean {
	for (const arg of args) {
		if (arg === "--") return false;
		if (HELP_FLAGS.has(arg)) return true;
	}
	return false;
}

/** Turns node:util parseArgs errors into short messages. */
function parseError(err: unknown): UsageError {
	const e = err as { code?: string; message?: string };
	const quoted = /'([^']+)'/.exec(e.message ?? "")?.[1];
	switch (e.code) {
		case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
			return new UsageError(`unknown option ${quoted ?? ""}`.trim());
		case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
			return new UsageError((e.message ?? "invalid option value").replace(/\.$/, ""));
		case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
			return new UsageError(`unexpected argument ${quoted ?? ""}`.trim());
		default:
			return new UsageError(e.message ?? String(err));
	}
}

function parseCommandArgs(
	command: CommandSpec,
	args: string[],
): { values: OptionValues; positionals: string[] } {
	const options = command.options ?? {};
	let parsed: ReturnType<typeof parseArgs>;
	try {
		parsed = parseArgs({
			args,
			options: Object.fromEntries(
				Object.entries(options).map(([name, spec]) => [
					name,
					{
						type: spec.type,
						...(spec.short ? { short: spec.short } : {}),
						...(spec.multiple ? { multiple: true } : {}),
					},
				]),
			),
			allowPositionals: true,
			strict: true,
		});
	} catch (err) {
		throw parseError(err);
	}
	const values = parsed.values as OptionValues;
	for (const [name, spec] of Object.entries(options)) {
		const value = values[name];
		if (spec.required && (value === undefined || value === "")) throw new UsageError(`missing --${name}`);
		for (const one of Array.isArray(value) ? value : [value]) {
			if (typeof one === "string" && spec.choices && !spec.choices.includes(one)) {
				throw new UsageError(`invalid --${name} "${one}": expected one of ${spec.choices.join(", ")}`);
			}
		}
	}
	const { min, max } = command.positionals ?? { min: 0, max: 0 };
	const count = parsed.positionals.length;
	if (count < min) {
		throw new UsageError(`missing argument${command.args ? `: expected ${command.args}` : ""}`);
	}
	if (max !== undefined && count > max) {
		throw new UsageError(`unexpected argument "${parsed.positionals[max]}"`);
	}
	return { values, positionals: parsed.positionals };
}

/** Prints the error in one line (plus located details) and returns its exit code. */
function report(io: CliIo, err: unknown): number {
	const line = (text: string) => io.stderr.write(`${text}\n`);
	if (err instanceof ApiError) {
		line(`error: ${err.message}`);
		for (const detail of err.details) line(formatLocated(detail));
		return err.status === 422 || err.status === 400 ? EXIT_USAGE : EXIT_FAILURE;
	}
	if (err instanceof ValidationError) {
		line(`error: ${err.message}`);
		for (const detail of err.details) line(detail);
		return EXIT_USAGE;
	}
	if (err instanceof UsageError) {
		line(`error: ${err.message}`);
		return EXIT_USAGE;
	}
	if (err instanceof CliFailure) {
		line(`error: ${err.message}`);
		return EXIT_FAILURE;
	}
	const e = err as { message?: unknown; code?: unknown };
	const code = typeof e?.code === "string" ? ` (${e.code})` : "";
	line(`error: ${typeof e?.message === "string" ? e.message : String(err)}${code}`);
	return EXIT_FAILURE;
}

/** Runs the CLI with argv (without node and script) and returns the process exit code. */
export async function main(argv: string[], io: CliIo, registry = defaultRegistry()): Promise<number> {
	const usageError = (message: string, usage: string) => {
		io.stderr.write(`error: ${message}\n\n${usage}`);
		return EXIT_USAGE;
	};

	if (argv[0] === "--version") argv = ["version", ...argv.slice(1)];
	if (argv[0] === "help") argv = [...argv.slice(1), "--help"];

	const resolved = registry.resolve(argv);
	if (resolved.kind === "unknown") {
		const where = ["cds", ...resolved.parent.path].join(" ");
		return usageError(
			`unknown command "${resolved.word}" for ${where}`,
			groupHelp(registry, resolved.parent),
		);
	}
	if (resolved.kind === "group") {
		const usage = groupHelp(registry, resolved.group);
		if (wantsHelp(resolved.rest)) {
			io.stdout.write(usage);
			return EXIT_OK;
		}
		if (resolved.rest.length === 0) return usageError("missing command", usage);
		return usageError(`unknown option ${resolved.rest[0]}`, usage);
	}

	const { command, rest } = resolved;
	if (wantsHelp(rest)) {
		io.stdout.write(commandHelp(command));
		return EXIT_OK;
	}
	try {
		const { values, positionals } = parseCommandArgs(command, rest);
		const code = await command.run(createContext(io, values, positionals));
		return code ?? EXIT_OK;
	} catch (err) {
		const code = report(io, err);
		if (err instanceof UsageError) io.stderr.write(`\n${commandHelp(command)}`);
		return code;
	}
}
