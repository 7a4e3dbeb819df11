// The command registry: every command is a plain object with its path ("project create"),
// its options (node:util parseArgs shapes plus help text) and a run function. Command
// modules in src/cli/commands/ add themselves through register(registry); main.ts
// only resolves argv against the registry, so adding a command never touches main.ts.

import type { ApiClient } from "./http.ts";
import type { CliIo } from "./io.ts";

export interface OptionSpec {
	type: "string" | "boolean";
	short?: string;
	/** Placeholder shown in help, e.g. URL for `--api-url URL`. */
	valueName?: string;
	description: string;
	required?: boolean;
	/** Allowed values of a string option; anything else is a usage error. */
	choices?: readonly string[];
	/** A string option that may be given several times; its value is then a string[]. */
	multiple?: boolean;
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface CommandContext {
	io: CliIo;
	values: OptionValues;
	positionals: string[];
	/** Writes one line to stdout. */
	print(line?: string): void;
	/** Writes one line to stderr. */
	warn(line: string): void;
	/** Pretty-prints a value as JSON on stdout. */
	printJson(value: unknown): void;
	/** An API client built from the config (file + CDS_API_URL/CDS_TOKEN); fails if not logged in. */
	client(): Promise<ApiClient>;
}

export interface CommandSpec {
	/** Words that select the command, e.g. ["project", "create"]; all but the last must be groups. */
	path: readonly string[];
	summary: string;
	/** Positional synopsis for the usage line, e.g. "KEY NAME" or "PATH...". */
	args?: string;
	/** Accepted number of positionals; max undefined means unlimited. Default: none accepted. */
	positionals?: { min: number; max?: number };
	options?: Record<string, OptionSpec>;
	/** Extra paragraphs printed at the end of --help. */
	details?: string;
	/** Returns the exit code (undefined means 0). */
	run(ctx: CommandContext): Promise<number | undefined> | number | undefined;
}

export interface GroupSpec {
	path: readonly string[];
	summary: string;
}

export type Resolution =
	| { kind: "command"; command: CommandSpec; rest: string[] }
	| { kind: "group"; group: GroupSpec; rest: string[] }
	| { kind: "unknown"; word: string; parent: GroupSpec };

const ROOT: GroupSpec = { path: [], summary: "CDS-TS command-line client" };

function keyOf(path: readonly string[]): string {
	return path.join(" ");
}

export class CommandRegistry {
	readonly root: GroupSpec = ROOT;
	readonly #groups = new Map<string, GroupSpec>([["", ROOT]]);
	readonly #commands = new Map<string, CommandSpec>();

	addGroup(group: GroupSpec): void {
		const key = keyOf(group.path);
		if (group.path.length === 0 || this.#groups.has(key) || this.#commands.has(key)) {
			throw new Error(`command group "${key}" is empty or already registered`);
		}
		this.#requireParent(group.path);
		this.#groups.set(key, group);
	}

	add(command: CommandSpec): void {
		const key = keyOf(command.path);
		if (command.path.length === 0 || this.#groups.has(key) || this.#commands.has(key)) {
			throw new Error(`command "${key}" is empty or already registered`);
		}
		this.#requireParent(command.path);
		this.#commands.set(key, command);
	}

	/** Direct children (groups and commands) of a group, groups first, each sorted by name. */
	children(group: GroupSpec): { groups: GroupSpec[]; commands: CommandSpec[] } {
		const depth = group.path.length + 1;
		const prefix = keyOf(group.path);
		const under = (path: readonly string[]) => path.length === depth && keyOf(path.slice(0, -1)) === prefix;
		const byName = (a: { path: readonly string[] }, b: { path: readonly string[] }) =>
			a.path[depth - 1]!.localeCompare(b.path[depth - 1]!);
		return {
			groups: [...this.#groups.values()].filter((g) => under(g.path)).sort(byName),
			commands: [...this.#commands.values()].filter((c) => under(c.path)).sort(byName),
		};
	}

	/** Walks the leading words of argv down the group tree until a command is found. */
	resolve(argv: readonly string[]): Resolution {
		let group = ROOT;
		for (let i = 0; i < argv.length; i++) {
			const word = argv[i]!;
			if (word.startsWith("-")) break;
			const path = [...group.path, word];
			const command = this.#commands.get(keyOf(path));
			if (command) return { kind: "command", command, rest: argv.slice(i + 1) };
			const sub = this.#groups.get(keyOf(path));
			if (!sub) return { kind: "unknown", word, parent: group };
			group = sub;
		}
		return { kind: "group", group, rest: argv.slice(group.path.length) };
	}

	#requireParent(path: readonly string[]): void {
		const parent = keyOf(path.slice(0, -1));
		if (!this.#groups.has(parent)) throw new Error(`register group "${parent}" before "${keyOf(path)}"`);
	}
}
